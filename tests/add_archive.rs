//! ADD of local tar archives: detected by content, extracted path-safely with the headers'
//! metadata, in every compression docker reads.

mod copy_support;

use copy_support::{add, env, Env};
use std::fs;
use std::io::Write;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

const MTIME: u64 = 1_500_000_000;

fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_size(size);
    h.set_mtime(MTIME);
    h.set_uid(0);
    h.set_gid(0);
    h
}

/// A tar with files, dirs, a symlink, a hard link, special bits and a foreign owner.
fn sample_tar() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let dir = |b: &mut tar::Builder<Vec<u8>>, p: &str, mode: u32| {
        let mut h = header(tar::EntryType::Directory, mode, 0);
        b.append_data(&mut h, p, &[][..]).unwrap();
    };
    let file = |b: &mut tar::Builder<Vec<u8>>, p: &str, mode: u32, data: &[u8]| {
        let mut h = header(tar::EntryType::Regular, mode, data.len() as u64);
        b.append_data(&mut h, p, data).unwrap();
    };
    dir(&mut b, "top/", 0o755);
    file(&mut b, "top/a.txt", 0o644, b"hello from archive\n");
    let mut h = header(tar::EntryType::Link, 0o644, 0);
    b.append_link(&mut h, "top/hard", "top/a.txt").unwrap();
    let mut h = header(tar::EntryType::Symlink, 0o777, 0);
    b.append_link(&mut h, "top/link", "a.txt").unwrap();
    dir(&mut b, "top/bin/", 0o750);
    file(&mut b, "top/bin/run.sh", 0o755, b"#!/bin/sh\necho hi\n");
    dir(&mut b, "top/empty/", 0o700);
    let mut h = header(tar::EntryType::Regular, 0o600, 5);
    h.set_uid(1234);
    h.set_gid(5678);
    b.append_data(&mut h, "top/owned.txt", &b"owned"[..])
        .unwrap();
    file(&mut b, "rootfile.txt", 0o640, b"root file here\n");
    file(&mut b, "x/setuid", 0o4755, b"setuid!\n");
    file(&mut b, ".wh.not-a-whiteout", 0o644, b"just a name\n");
    b.into_inner().unwrap()
}

fn check_sample(e: &Env, d: &str) {
    let p = |s: &str| format!("{d}/{s}");
    assert_eq!(e.meta(d), ("dir", 0o755, 0, 0));
    assert_eq!(
        fs::read_to_string(e.at(&p("top/a.txt"))).unwrap(),
        "hello from archive\n"
    );
    assert_eq!(e.meta(&p("top/a.txt")), ("file", 0o644, 0, 0));
    assert_eq!(
        fs::metadata(e.at(&p("top/a.txt"))).unwrap().ino(),
        fs::metadata(e.at(&p("top/hard"))).unwrap().ino()
    );
    assert_eq!(
        fs::read_link(e.at(&p("top/link"))).unwrap(),
        PathBuf::from("a.txt")
    );
    assert_eq!(e.meta(&p("top/bin")), ("dir", 0o750, 0, 0));
    assert_eq!(e.meta(&p("top/bin/run.sh")), ("file", 0o755, 0, 0));
    assert_eq!(e.meta(&p("top/empty")), ("dir", 0o700, 0, 0));
    assert_eq!(e.meta(&p("top/owned.txt")), ("file", 0o600, 1234, 5678));
    assert_eq!(e.meta(&p("rootfile.txt")), ("file", 0o640, 0, 0));
    assert_eq!(e.meta(&p("x/setuid")), ("file", 0o4755, 0, 0));
    // A parent the archive does not list is created 0755.
    assert_eq!(e.meta(&p("x")), ("dir", 0o755, 0, 0));
    assert_eq!(e.meta(&p(".wh.not-a-whiteout")), ("file", 0o644, 0, 0));
    for f in ["top/a.txt", "top/bin", "top/empty", "rootfile.txt"] {
        assert_eq!(
            fs::symlink_metadata(e.at(&p(f))).unwrap().mtime(),
            MTIME as i64,
            "{f}"
        );
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut w = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    w.write_all(data).unwrap();
    w.finish().unwrap()
}

fn bzip(data: &[u8]) -> Vec<u8> {
    let mut w = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
    w.write_all(data).unwrap();
    w.finish().unwrap()
}

fn xz(data: &[u8]) -> Vec<u8> {
    let mut w = liblzma::write::XzEncoder::new(Vec::new(), 6);
    w.write_all(data).unwrap();
    w.finish().unwrap()
}

#[test]
fn extracts_every_compression_detected_by_content() {
    let e = env();
    let t = sample_tar();
    fs::write(e.ctx.join("archive.tar"), &t).unwrap();
    fs::write(e.ctx.join("archive.tar.gz"), gzip(&t)).unwrap();
    fs::write(e.ctx.join("archive.tar.bz2"), bzip(&t)).unwrap();
    fs::write(e.ctx.join("archive.tar.xz"), xz(&t)).unwrap();
    fs::write(
        e.ctx.join("archive.tar.zst"),
        zstd::encode_all(&t[..], 3).unwrap(),
    )
    .unwrap();
    // The name says nothing: content decides.
    fs::write(e.ctx.join("no-extension"), gzip(&t)).unwrap();
    e.add("archive.tar", "/ext/").unwrap();
    e.add("archive.tar.gz", "/extgz").unwrap();
    e.add("archive.tar.bz2", "/extbz2/").unwrap();
    e.add("archive.tar.xz", "/extxz/").unwrap();
    e.add("archive.tar.zst", "/extzst/").unwrap();
    e.add("no-extension", "/extnone/").unwrap();
    for d in ["/ext", "/extgz", "/extbz2", "/extxz", "/extzst", "/extnone"] {
        check_sample(&e, d);
    }
}

#[test]
fn archives_made_by_the_system_tar_are_extracted() {
    let e = env();
    let src = e.ctx.join("tree");
    fs::create_dir_all(src.join("d")).unwrap();
    fs::write(src.join("d/f.txt"), "from system tar\n").unwrap();
    fs::set_permissions(src.join("d/f.txt"), fs::Permissions::from_mode(0o751)).unwrap();
    symlink("d/f.txt", src.join("l")).unwrap();
    for (flag, name) in [
        ("-cf", "sys.tar"),
        ("-czf", "sys.tgz"),
        ("-cjf", "sys.tbz"),
        ("-cJf", "sys.txz"),
    ] {
        let st = Command::new("tar")
            .args([
                flag,
                e.ctx.join(name).to_str().unwrap(),
                "-C",
                src.to_str().unwrap(),
                ".",
            ])
            .status()
            .unwrap();
        assert!(st.success());
        let d = format!("/{name}-out/");
        e.add(name, &d).unwrap();
        assert_eq!(
            fs::read_to_string(e.at(&format!("{d}d/f.txt"))).unwrap(),
            "from system tar\n"
        );
        assert_eq!(e.meta(&format!("{d}d/f.txt")).1, 0o751);
        assert_eq!(
            fs::read_link(e.at(&format!("{d}l"))).unwrap(),
            PathBuf::from("d/f.txt")
        );
        // The archive's "./" entry leaves the destination directory as created.
        assert_eq!(e.meta(&d).1, 0o755);
    }
}

#[test]
fn non_archives_are_copied_and_copy_never_extracts() {
    let e = env();
    fs::write(e.ctx.join("fake.tar"), "not really a tar").unwrap();
    fs::write(e.ctx.join("fake.tar.gz"), "not gzip either").unwrap();
    fs::write(e.ctx.join("notes.txt"), "notes here\n").unwrap();
    // Gzip that is not a tar inside.
    fs::write(e.ctx.join("text.gz"), gzip(b"plain text, gzipped")).unwrap();
    fs::write(e.ctx.join("real.tar.gz"), gzip(&sample_tar())).unwrap();
    e.add("fake.tar", "/added/").unwrap();
    e.add("fake.tar.gz", "/added/").unwrap();
    e.add("notes.txt", "/added-renamed.txt").unwrap();
    e.add("text.gz", "/added/").unwrap();
    assert_eq!(
        fs::read_to_string(e.at("/added/fake.tar")).unwrap(),
        "not really a tar"
    );
    assert_eq!(
        fs::read_to_string(e.at("/added/fake.tar.gz")).unwrap(),
        "not gzip either"
    );
    assert_eq!(
        fs::read_to_string(e.at("/added-renamed.txt")).unwrap(),
        "notes here\n"
    );
    assert!(e.at("/added/text.gz").is_file());
    let mut copy = add("real.tar.gz", "/raw/");
    copy.is_add = false;
    e.copy(&copy).unwrap();
    assert_eq!(
        fs::read(e.at("/raw/real.tar.gz")).unwrap(),
        fs::read(e.ctx.join("real.tar.gz")).unwrap()
    );
    // ADD of a directory copies it like COPY (archives inside are not extracted).
    fs::create_dir(e.ctx.join("dir")).unwrap();
    fs::write(e.ctx.join("dir/in.tar"), sample_tar()).unwrap();
    e.add("dir/", "/added-dir/").unwrap();
    assert!(e.at("/added-dir/in.tar").is_file());
}

/// A raw tar entry whose name the `tar` crate's builder would refuse.
fn raw_entry(out: &mut Vec<u8>, name: &str, kind: tar::EntryType, link: &str, data: &[u8]) {
    let mut h = header(kind, 0o644, data.len() as u64);
    {
        let gnu = h.as_gnu_mut().unwrap();
        gnu.name = [0; 100];
        gnu.name[..name.len()].copy_from_slice(name.as_bytes());
        gnu.linkname = [0; 100];
        gnu.linkname[..link.len()].copy_from_slice(link.as_bytes());
    }
    h.set_cksum();
    out.extend_from_slice(h.as_bytes());
    out.extend_from_slice(data);
    let pad = (512 - data.len() % 512) % 512;
    out.extend(std::iter::repeat_n(0u8, pad));
}

#[test]
fn hostile_archive_entries_stay_inside_the_destination() {
    let e = env();
    let outside = e.root.parent().unwrap().join("outside");
    fs::create_dir(&outside).unwrap();
    let n = format!("kiln-add-test-{}", std::process::id());
    let mut t = Vec::new();
    raw_entry(
        &mut t,
        "../../escape.txt",
        tar::EntryType::Regular,
        "",
        b"e1",
    );
    raw_entry(
        &mut t,
        &format!("/{n}.abs"),
        tar::EntryType::Regular,
        "",
        b"e2",
    );
    raw_entry(
        &mut t,
        "sub/../../../up.txt",
        tar::EntryType::Regular,
        "",
        b"e3",
    );
    raw_entry(&mut t, "to-root", tar::EntryType::Symlink, "/", b"");
    raw_entry(&mut t, "to-up", tar::EntryType::Symlink, "../../../..", b"");
    raw_entry(
        &mut t,
        &format!("to-root/{n}.via-link"),
        tar::EntryType::Regular,
        "",
        b"e4",
    );
    raw_entry(
        &mut t,
        "to-up/outside/x",
        tar::EntryType::Regular,
        "",
        b"e5",
    );
    raw_entry(&mut t, "hard", tar::EntryType::Link, "/../escape.txt", b"");
    t.extend(std::iter::repeat_n(0u8, 1024));
    fs::write(e.ctx.join("evil.tar"), &t).unwrap();
    e.add("evil.tar", "/x/").unwrap();
    let d = e.at("/x");
    assert_eq!(fs::read_to_string(d.join("escape.txt")).unwrap(), "e1");
    assert_eq!(
        fs::read_to_string(d.join(format!("{n}.abs"))).unwrap(),
        "e2"
    );
    assert_eq!(fs::read_to_string(d.join("up.txt")).unwrap(), "e3");
    assert_eq!(
        fs::read_to_string(d.join(format!("{n}.via-link"))).unwrap(),
        "e4"
    );
    assert_eq!(fs::read_to_string(d.join("outside/x")).unwrap(), "e5");
    assert_eq!(
        fs::metadata(d.join("hard")).unwrap().ino(),
        fs::metadata(d.join("escape.txt")).unwrap().ino()
    );
    // Nothing landed outside the destination directory, in the root or on the host.
    assert!(!e.at("/escape.txt").exists());
    assert!(!e.at("/up.txt").exists());
    assert!(!Path::new("/").join(format!("{n}.abs")).exists());
    assert!(!Path::new("/").join(format!("{n}.via-link")).exists());
    assert_eq!(fs::read_dir(&outside).unwrap().count(), 0);
}

#[test]
fn archive_entries_replace_and_merge_existing_files() {
    let e = env();
    fs::create_dir_all(e.at("/ext/top/a.txt")).unwrap(); // a dir where the archive has a file
    fs::write(e.at("/ext/rootfile.txt"), "old").unwrap();
    fs::create_dir_all(e.at("/ext/top/bin")).unwrap();
    fs::write(e.at("/ext/top/bin/keep"), "kept").unwrap();
    fs::write(e.ctx.join("a.tar"), sample_tar()).unwrap();
    e.add("a.tar", "/ext/").unwrap();
    check_sample(&e, "/ext");
    assert_eq!(
        fs::read_to_string(e.at("/ext/top/bin/keep")).unwrap(),
        "kept"
    );
}

#[test]
fn chown_applies_to_the_created_directory_not_to_archive_entries() {
    let e = env();
    fs::write(e.ctx.join("a.tar"), sample_tar()).unwrap();
    let mut r = add("a.tar", "/owned/ext/");
    r.chown = Some("app:staff".into());
    e.copy(&r).unwrap();
    assert_eq!(e.meta("/owned"), ("dir", 0o755, 1000, 50));
    assert_eq!(e.meta("/owned/ext"), ("dir", 0o755, 1000, 50));
    assert_eq!(
        e.meta("/owned/ext/top/owned.txt"),
        ("file", 0o600, 1234, 5678)
    );
    assert_eq!(e.meta("/owned/ext/top/a.txt"), ("file", 0o644, 0, 0));
}

#[test]
fn add_with_wildcards_extracts_each_archive() {
    let e = env();
    let mut one = tar::Builder::new(Vec::new());
    let mut h = header(tar::EntryType::Regular, 0o644, 3);
    one.append_data(&mut h, "one.txt", &b"one"[..]).unwrap();
    let mut two = tar::Builder::new(Vec::new());
    let mut h = header(tar::EntryType::Regular, 0o644, 3);
    two.append_data(&mut h, "two.txt", &b"two"[..]).unwrap();
    fs::write(e.ctx.join("p1.tar"), one.into_inner().unwrap()).unwrap();
    fs::write(e.ctx.join("p2.tar.gz"), gzip(&two.into_inner().unwrap())).unwrap();
    e.add("p*", "/both/").unwrap();
    assert_eq!(fs::read_to_string(e.at("/both/one.txt")).unwrap(), "one");
    assert_eq!(fs::read_to_string(e.at("/both/two.txt")).unwrap(), "two");
}

#[test]
fn a_corrupt_archive_fails_with_the_archive_named() {
    let e = env();
    let mut t = gzip(&sample_tar());
    let n = t.len();
    t.truncate(n / 2);
    fs::write(e.ctx.join("broken.tar.gz"), &t).unwrap();
    let err = e.add("broken.tar.gz", "/b/").unwrap_err().to_string();
    assert!(err.contains("broken.tar.gz"), "{err}");
}
