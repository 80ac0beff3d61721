//! Links in the image never lead a build step onto the host: with `/etc2 -> /etc` and
//! `/x -> /` in the base image, COPY, ADD (of a tar) and WORKDIR through them write inside the
//! image, under the link's target there.

mod build_support;

use build_support::common_store::Entry;
use build_support::{read, Env};
use std::path::Path;

#[test]
fn copy_add_and_workdir_through_links_stay_in_the_rootfs() {
    let env = Env::with_base(vec![
        Entry::Symlink("etc2", "/etc"),
        Entry::Symlink("x", "/"),
    ]);
    let tag = format!("kiln-path-safety-{}", std::process::id());
    let mut t = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(1_700_000_000);
    h.set_size(6);
    h.set_entry_type(tar::EntryType::Regular);
    t.append_data(&mut h, "inner.txt", &b"inner\n"[..]).unwrap();
    let ctx = env.context(
        "links",
        &format!(
            "FROM BASE\n\
             COPY f.txt /etc2/{tag}\n\
             COPY f.txt /x/etc/{tag}-2\n\
             ADD t.tar /x/added-{tag}/\n\
             WORKDIR /x/wd-{tag}\n\
             RUN pwd > here.txt\n"
        ),
        &[("f.txt", "copied\n")],
    );
    std::fs::write(ctx.join("t.tar"), t.into_inner().unwrap()).unwrap();
    let out = env.path("out");
    env.kiln(&[
        "build",
        "-t",
        "links:1",
        "-o",
        &out.display().to_string(),
        &ctx.display().to_string(),
    ])
    .ok();

    // Nothing on the host.
    for p in [
        format!("/etc/{tag}"),
        format!("/etc/{tag}-2"),
        format!("/added-{tag}"),
        format!("/wd-{tag}"),
    ] {
        assert!(!Path::new(&p).exists(), "{p} written on the host");
    }
    // Everything in the image, under the links' targets.
    assert_eq!(read(&out.join(format!("etc/{tag}"))), "copied\n");
    assert_eq!(read(&out.join(format!("etc/{tag}-2"))), "copied\n");
    assert_eq!(read(&out.join(format!("added-{tag}/inner.txt"))), "inner\n");
    assert!(out.join(format!("wd-{tag}")).is_dir());
    assert!(std::fs::symlink_metadata(out.join("etc2"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(std::fs::symlink_metadata(out.join("x"))
        .unwrap()
        .file_type()
        .is_symlink());
    let image = env.image("links:1");
    let paths: Vec<String> = env
        .layers(&image)
        .into_iter()
        .skip(1)
        .flatten()
        .map(|(p, _)| p.trim_end_matches('/').to_string())
        .collect();
    for want in [
        format!("etc/{tag}"),
        format!("etc/{tag}-2"),
        format!("added-{tag}/inner.txt"),
        format!("wd-{tag}"),
        format!("wd-{tag}/here.txt"),
    ] {
        assert!(paths.contains(&want), "{want} not in the layers: {paths:?}");
    }
    assert!(
        !paths
            .iter()
            .any(|p| p.starts_with("etc2/") || p.starts_with("x/")),
        "a layer writes through a link: {paths:?}"
    );
    // The step ran in the directory the link leads to (the shell shows the physical path).
    assert_eq!(
        read(&out.join(format!("wd-{tag}/here.txt"))),
        format!("/wd-{tag}\n")
    );
}
