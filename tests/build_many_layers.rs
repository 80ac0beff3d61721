//! A build deeper than the classic overlay mount-option limit allows: 130 RUN steps each add
//! a layer, then one RUN sees all of their files through a single overlay mount.

mod build_support;

use build_support::{read, Env};

#[test]
fn one_hundred_thirty_layers() {
    let env = Env::new();
    let mut df = String::from("FROM BASE\n");
    for i in 0..130 {
        df.push_str(&format!("RUN echo {i} > /layer-{i:03}\n"));
    }
    df.push_str("RUN ls / | grep -c '^layer-' > /count && cat /layer-000 /layer-129 > /ends\n");
    let ctx = env.context("deep", &df, &[]);
    let out = env.path("out");
    env.kiln(&[
        "build",
        "-t",
        "deep:1",
        "-o",
        &out.display().to_string(),
        &ctx.display().to_string(),
    ])
    .ok();
    assert_eq!(read(&out.join("count")), "130\n");
    assert_eq!(read(&out.join("ends")), "0\n129\n");
    let image = env.image("deep:1");
    assert_eq!(image.config.rootfs.diff_ids.len(), 1 + 130 + 1);
}
