//! COPY with docker's (BuildKit's) rules, on real files: a context dir and a destination root
//! with its own /etc/passwd and /etc/group.

mod copy_support;

use copy_support::{env, req, PASSWD};
use kiln::build::copy::{list_sources, run, CopyError, CopyRequest, SourceRoot};
use kiln::context::dockerignore::Matcher;
use kiln::fsops::{FileKind, Root};
use std::fs;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

#[test]
fn file_to_directory_and_file_destinations() {
    let e = env();
    e.file("hello.txt", "hello\n");
    e.copy(&req(&["hello.txt"], "/dst/")).unwrap();
    e.copy(&req(&["hello.txt"], "/dst2/renamed/")).unwrap();
    e.copy(&req(&["hello.txt"], "/dst3")).unwrap();
    fs::create_dir(e.at("existing")).unwrap();
    e.copy(&req(&["hello.txt"], "/existing")).unwrap();
    assert_eq!(e.read("/dst/hello.txt"), "hello\n");
    assert_eq!(e.read("/dst2/renamed/hello.txt"), "hello\n");
    assert_eq!(e.meta("/dst3"), ("file", 0o644, 0, 0));
    assert_eq!(e.read("/existing/hello.txt"), "hello\n");
    assert_eq!(e.meta("/dst"), ("dir", 0o755, 0, 0));
    assert_eq!(e.meta("/dst2/renamed"), ("dir", 0o755, 0, 0));
}

#[test]
fn a_directory_source_copies_its_contents() {
    let e = env();
    e.file("src/a.txt", "a");
    e.file("src/sub/b.txt", "b");
    e.file("src/sub/deeper/c.txt", "c");
    e.file("top.txt", "top");
    fs::set_permissions(e.ctx.join("src/sub"), fs::Permissions::from_mode(0o750)).unwrap();
    fs::set_permissions(e.ctx.join("src"), fs::Permissions::from_mode(0o700)).unwrap();
    e.copy(&req(&["src/"], "/dst/")).unwrap();
    e.copy(&req(&["src"], "/dst2")).unwrap();
    e.copy(&req(&["src/sub"], "/dst3/")).unwrap();
    e.copy(&req(&["."], "/whole/")).unwrap();
    assert_eq!(e.read("/dst/a.txt"), "a");
    assert_eq!(e.read("/dst/sub/deeper/c.txt"), "c");
    // The created top directory is 0755; nested ones keep the source's mode.
    assert_eq!(e.meta("/dst"), ("dir", 0o755, 0, 0));
    assert_eq!(e.meta("/dst/sub"), ("dir", 0o750, 0, 0));
    assert_eq!(e.meta("/dst2"), ("dir", 0o755, 0, 0));
    assert_eq!(e.read("/dst2/sub/b.txt"), "b");
    assert_eq!(e.read("/dst3/b.txt"), "b");
    assert_eq!(e.read("/dst3/deeper/c.txt"), "c");
    assert!(!e.exists("/dst3/sub"));
    assert_eq!(e.meta("/whole/src"), ("dir", 0o700, 0, 0));
    assert_eq!(e.read("/whole/src/sub/deeper/c.txt"), "c");
    assert_eq!(e.read("/whole/top.txt"), "top");
}

#[test]
fn wildcards_match_files_and_directories() {
    let e = env();
    for (p, c) in [
        ("a.txt", "a"),
        ("b.txt", "b"),
        ("zz.txt", "zz"),
        ("abc", "abc"),
        ("a1c", "a1c"),
        ("abcd", "abcd"),
        ("ax.log", "ax"),
        ("bx.dat", "bx"),
        ("c.md", "c"),
        ("dir1/inner.txt", "inner"),
        ("dir2/x/y.txt", "y"),
        ("sub/s.txt", "s"),
    ] {
        e.file(p, c);
    }
    e.copy(&req(&["*.txt"], "/w1/")).unwrap();
    e.copy(&req(&["a?c"], "/w2/")).unwrap();
    e.copy(&req(&["[ab]*"], "/w3/")).unwrap();
    e.copy(&req(&["dir*"], "/w4/")).unwrap();
    e.copy(&req(&["*.md", "b.txt"], "/w5/")).unwrap();
    e.copy(&req(&["s*/*.txt"], "/w6/")).unwrap();
    let names = |d: &str| {
        let mut v: Vec<String> = fs::read_dir(e.at(d))
            .unwrap()
            .map(|x| x.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(names("/w1"), ["a.txt", "b.txt", "zz.txt"]);
    assert_eq!(names("/w2"), ["a1c", "abc"]);
    assert_eq!(
        names("/w3"),
        ["a.txt", "a1c", "abc", "abcd", "ax.log", "b.txt", "bx.dat"]
    );
    // Matched directories copy their contents.
    assert_eq!(names("/w4"), ["inner.txt", "x"]);
    assert_eq!(e.read("/w4/x/y.txt"), "y");
    assert_eq!(names("/w5"), ["b.txt", "c.md"]);
    assert_eq!(names("/w6"), ["s.txt"]);
    // A wildcard that matches nothing copies nothing (BuildKit allows an empty wildcard).
    let s = e.copy(&req(&["*.nothing"], "/w7/")).unwrap();
    assert_eq!(s.files, 0);
    // One match to a file destination renames it.
    e.copy(&req(&["*.md"], "/renamed.md")).unwrap();
    assert_eq!(e.read("/renamed.md"), "c");
}

#[test]
fn several_sources_need_a_directory_destination() {
    let e = env();
    e.file("a.txt", "a");
    e.file("b.txt", "b");
    let want = "When using COPY with more than one source file, the destination must be a directory and end with a /";
    let err = e.copy(&req(&["a.txt", "b.txt"], "/x")).unwrap_err();
    assert_eq!(err.to_string(), want);
    let err = e.copy(&req(&["*.txt"], "/x")).unwrap_err();
    assert_eq!(err.to_string(), want);
    let mut add = req(&["a.txt", "b.txt"], "/x");
    add.is_add = true;
    assert!(e
        .copy(&add)
        .unwrap_err()
        .to_string()
        .starts_with("When using ADD"));
    assert!(!e.exists("/x"));
    // `.` is a directory destination.
    let mut r = req(&["a.txt", "b.txt"], ".");
    r.workdir = "/app".into();
    e.copy(&r).unwrap();
    assert_eq!(e.read("/app/a.txt"), "a");
    assert_eq!(e.read("/app/b.txt"), "b");
}

#[test]
fn relative_destinations_follow_workdir() {
    let e = env();
    e.file("f", "f");
    let mut r = req(&["f"], "sub/");
    r.workdir = "/work/dir".into();
    e.copy(&r).unwrap();
    r.dest = "named".into();
    e.copy(&r).unwrap();
    r.dest = "../up".into();
    e.copy(&r).unwrap();
    assert_eq!(e.read("/work/dir/sub/f"), "f");
    assert_eq!(e.read("/work/dir/named"), "f");
    assert_eq!(e.read("/work/up"), "f");
}

#[test]
fn missing_sources_fail_with_dockers_message() {
    let e = env();
    e.file("present", "p");
    let err = e.copy(&req(&["present", "missing"], "/d/")).unwrap_err();
    assert!(matches!(err, CopyError::NotFound(_)));
    assert_eq!(
        err.to_string(),
        "COPY failed: file not found in build context or excluded by .dockerignore: stat missing: file does not exist"
    );
    // Nothing was copied: sources are checked before writing.
    assert!(!e.exists("/d"));
    let stage = tempfile::tempdir().unwrap();
    fs::create_dir(stage.path().join("out")).unwrap();
    let from = Root::open(stage.path()).unwrap();
    let dest = Root::open(&e.root).unwrap();
    let err = run(
        &req(&["/out/missing"], "/x"),
        SourceRoot::Rootfs(&from),
        &dest,
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "COPY failed: \"/out/missing\": not found");
}

#[test]
fn sources_never_leave_the_context() {
    let e = env();
    let secret = e.ctx.parent().unwrap().join("secret");
    fs::write(&secret, "host secret").unwrap();
    symlink("../secret", e.ctx.join("rel-escape")).unwrap();
    symlink(&secret, e.ctx.join("abs-escape")).unwrap();
    symlink("/etc/passwd", e.ctx.join("host-passwd")).unwrap();
    for src in [
        "../secret",
        "rel-escape",
        "abs-escape",
        "host-passwd",
        "/../../secret",
    ] {
        let err = e.copy(&req(&[src], "/got")).unwrap_err();
        assert!(matches!(err, CopyError::NotFound(_)), "{src}: {err}");
    }
    assert!(!e.exists("/got"));
    // Inside the context the same links resolve against the context's own files.
    e.file("secret", "ctx secret");
    e.copy(&req(&["rel-escape"], "/got")).unwrap();
    assert_eq!(e.read("/got"), "ctx secret");
    // `..` in a source stays at the context root.
    e.copy(&req(&["../../secret"], "/got2")).unwrap();
    assert_eq!(e.read("/got2"), "ctx secret");
}

#[test]
fn symlinks_named_are_followed_and_inside_dirs_are_kept() {
    let e = env();
    e.file("target.txt", "target\n");
    symlink("target.txt", e.ctx.join("link-rel")).unwrap();
    symlink("/target.txt", e.ctx.join("link-abs")).unwrap();
    e.file("dir/file", "f");
    symlink("../target.txt", e.ctx.join("dir/inner-link")).unwrap();
    symlink("/abs/elsewhere", e.ctx.join("dir/abs-link")).unwrap();
    symlink("does-not-exist", e.ctx.join("dir/dangling")).unwrap();
    symlink(".", e.ctx.join("dir/self")).unwrap();
    e.copy(&req(&["link-rel"], "/l/link-rel")).unwrap();
    e.copy(&req(&["link-abs"], "/l/")).unwrap();
    e.copy(&req(&["dir/"], "/l/dir/")).unwrap();
    assert_eq!(e.meta("/l/link-rel"), ("file", 0o644, 0, 0));
    assert_eq!(e.read("/l/link-rel"), "target\n");
    // Followed, but named after the link.
    assert_eq!(e.read("/l/link-abs"), "target\n");
    for (name, target) in [
        ("inner-link", "../target.txt"),
        ("abs-link", "/abs/elsewhere"),
        ("dangling", "does-not-exist"),
        ("self", "."),
    ] {
        let p = e.at("/l/dir").join(name);
        assert_eq!(fs::read_link(&p).unwrap(), PathBuf::from(target), "{name}");
    }
}

#[test]
fn dockerignore_hides_files_everywhere() {
    let e = env();
    e.file("keep.txt", "k");
    e.file("drop.log", "d");
    e.file("dir/a.txt", "a");
    e.file("dir/b.log", "b");
    e.file("dir/important.log", "i");
    e.file("secret/key", "s");
    e.file("keep-me/inner.txt", "in");
    fs::write(
        e.ctx.join(".dockerignore"),
        "*.log\n**/*.log\n!dir/important.log\nsecret\n.dockerignore\n",
    )
    .unwrap();
    e.copy(&req(&["."], "/ctx/")).unwrap();
    assert!(e.exists("/ctx/keep.txt"));
    assert!(!e.exists("/ctx/drop.log"));
    assert!(!e.exists("/ctx/dir/b.log"));
    assert!(e.exists("/ctx/dir/important.log"));
    assert!(!e.exists("/ctx/secret"));
    assert!(!e.exists("/ctx/.dockerignore"));
    assert_eq!(e.read("/ctx/keep-me/inner.txt"), "in");
    // Named or matched, an excluded file does not exist.
    let err = e.copy(&req(&["drop.log"], "/x")).unwrap_err();
    assert!(err
        .to_string()
        .contains("stat drop.log: file does not exist"));
    assert!(e.copy(&req(&["secret/key"], "/x")).is_err());
    e.copy(&req(&["*.log"], "/logs/")).unwrap();
    assert!(!e.exists("/logs/drop.log"));
    // A symlink to an excluded file leads nowhere.
    symlink("drop.log", e.ctx.join("to-drop")).unwrap();
    assert!(e.copy(&req(&["to-drop"], "/x")).is_err());
}

#[test]
fn dockerignore_exclusions_keep_the_parent_directory() {
    let e = env();
    e.file("logs/a.log", "a");
    e.file("logs/keep.log", "k");
    fs::write(e.ctx.join(".dockerignore"), "logs\n!logs/keep.log\n").unwrap();
    e.copy(&req(&["logs"], "/l/")).unwrap();
    assert!(e.exists("/l/keep.log"));
    assert!(!e.exists("/l/a.log"));
}

#[test]
fn metadata_is_kept_and_owner_is_root() {
    let e = env();
    let f = e.file("tool", "#!/bin/sh\n");
    std::os::unix::fs::chown(&f, Some(1234), Some(4321)).unwrap();
    fs::set_permissions(&f, fs::Permissions::from_mode(0o4755)).unwrap();
    let g = e.file("d/sgid", "x");
    fs::set_permissions(&g, fs::Permissions::from_mode(0o2750)).unwrap();
    fs::create_dir(e.ctx.join("d/tmp")).unwrap();
    fs::set_permissions(e.ctx.join("d/tmp"), fs::Permissions::from_mode(0o1777)).unwrap();
    let old = filetime(&f, 1_000_000_000);
    filetime(&e.ctx.join("d/tmp"), 1_100_000_000);
    e.copy(&req(&["tool"], "/bin/")).unwrap();
    e.copy(&req(&["d"], "/d/")).unwrap();
    assert_eq!(e.meta("/bin/tool"), ("file", 0o4755, 0, 0));
    assert_eq!(e.meta("/d/sgid"), ("file", 0o2750, 0, 0));
    assert_eq!(e.meta("/d/tmp"), ("dir", 0o1777, 0, 0));
    assert_eq!(fs::metadata(e.at("/bin/tool")).unwrap().mtime(), old);
    assert_eq!(fs::metadata(e.at("/d/tmp")).unwrap().mtime(), 1_100_000_000);
}

fn filetime(p: &Path, secs: i64) -> i64 {
    let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
    let ts = [
        libc::timespec {
            tv_sec: secs,
            tv_nsec: 0,
        },
        libc::timespec {
            tv_sec: secs,
            tv_nsec: 0,
        },
    ];
    // SAFETY: valid path and two timespecs.
    let r = unsafe { libc::utimensat(libc::AT_FDCWD, c.as_ptr(), ts.as_ptr(), 0) };
    assert_eq!(r, 0);
    secs
}

#[test]
fn hardlinks_within_one_copy_stay_links() {
    let e = env();
    let one = e.file("hl/one", "one\n");
    fs::create_dir(e.ctx.join("hl/sub")).unwrap();
    fs::hard_link(&one, e.ctx.join("hl/one-link")).unwrap();
    fs::hard_link(&one, e.ctx.join("hl/sub/deep-link")).unwrap();
    e.file("hl/solo", "solo");
    e.copy(&req(&["hl"], "/copied/")).unwrap();
    let ino = |p: &str| fs::metadata(e.at(p)).unwrap().ino();
    assert_eq!(ino("/copied/one"), ino("/copied/one-link"));
    assert_eq!(ino("/copied/one"), ino("/copied/sub/deep-link"));
    assert_ne!(ino("/copied/one"), ino("/copied/solo"));
    assert_eq!(fs::metadata(e.at("/copied/one")).unwrap().nlink(), 3);
}

#[test]
fn chown_by_name_and_number() {
    let e = env();
    e.file("f.txt", "f");
    e.file("d/x", "x");
    e.file("d/sub/y", "y");
    let with = |src: &str, dest: &str, chown: &str| {
        let mut r = req(&[src], dest);
        r.chown = Some(chown.to_string());
        e.copy(&r)
    };
    with("f.txt", "/owned/f.txt", "app:staff").unwrap();
    with("d/", "/owned-dir/", "app").unwrap();
    with("f.txt", "/new/deep/f.txt", "svc:svcgrp").unwrap();
    with("d", "/nob/", "nobody:nogroup").unwrap();
    with("f.txt", "/n/", "1234").unwrap();
    with("f.txt", "/n/svc.txt", "svc").unwrap();
    with("f.txt", "/n/mixed", "1001:staff").unwrap();
    with("f.txt", "/n/nums", "7:8").unwrap();
    // Created parent directories take the owner too.
    assert_eq!(e.meta("/owned"), ("dir", 0o755, 1000, 50));
    assert_eq!(e.meta("/owned/f.txt"), ("file", 0o644, 1000, 50));
    assert_eq!(e.meta("/owned-dir"), ("dir", 0o755, 1000, 1000));
    assert_eq!(e.meta("/owned-dir/sub/y"), ("file", 0o644, 1000, 1000));
    assert_eq!(e.meta("/new"), ("dir", 0o755, 1001, 1002));
    assert_eq!(e.meta("/new/deep"), ("dir", 0o755, 1001, 1002));
    assert_eq!(e.meta("/nob/sub"), ("dir", 0o755, 65534, 65534));
    // A number alone is uid:uid; a name alone takes the passwd group.
    assert_eq!(e.meta("/n"), ("dir", 0o755, 1234, 1234));
    assert_eq!(e.meta("/n/f.txt"), ("file", 0o644, 1234, 1234));
    assert_eq!(e.meta("/n/svc.txt"), ("file", 0o644, 1001, 1002));
    assert_eq!(e.meta("/n/mixed"), ("file", 0o644, 1001, 50));
    assert_eq!(e.meta("/n/nums"), ("file", 0o644, 7, 8));
    let err = with("f.txt", "/z", "ghost").unwrap_err().to_string();
    assert!(err.contains("unable to find user ghost"), "{err}");
    let err = with("f.txt", "/z", "app:ghosts").unwrap_err().to_string();
    assert!(err.contains("unable to find group ghosts"), "{err}");
}

#[test]
fn chown_names_come_from_the_destination_root_only() {
    let e = env();
    e.file("f", "f");
    // The destination's /etc is a symlink to the host's /etc: names resolve inside the root,
    // where that path is the root's own (now missing) /etc.
    fs::remove_dir_all(e.at("/etc")).unwrap();
    symlink("/etc", e.at("/etc")).unwrap();
    let mut r = req(&["f"], "/f");
    r.chown = Some("root".into());
    let err = e.copy(&r).unwrap_err().to_string();
    assert!(err.contains("unable to find user root"), "{err}");
}

#[test]
fn chmod_sets_permission_bits_of_files_and_dirs() {
    let e = env();
    let s = e.file("d/tool", "x");
    fs::set_permissions(&s, fs::Permissions::from_mode(0o4700)).unwrap();
    e.file("d/sub/f", "f");
    let mut r = req(&["d"], "/m/");
    r.chmod = Some("751".into());
    e.copy(&r).unwrap();
    assert_eq!(e.meta("/m/tool"), ("file", 0o4751, 0, 0));
    assert_eq!(e.meta("/m/sub"), ("dir", 0o751, 0, 0));
    assert_eq!(e.meta("/m/sub/f"), ("file", 0o751, 0, 0));
    // The created destination directory itself is 0755.
    assert_eq!(e.meta("/m"), ("dir", 0o755, 0, 0));
    r.chmod = Some("u+x".into());
    assert!(e.copy(&r).unwrap_err().to_string().contains("--chmod"));
}

#[test]
fn exclude_patterns_drop_entries_below_each_source() {
    let e = env();
    e.file("app/main.go", "m");
    e.file("app/debug.log", "d");
    e.file("app/tmp/cache", "c");
    e.file("app/keep/x.log", "k");
    e.file("home.txt", "h");
    e.file("homedir/a", "a");
    let mut r = req(&["app"], "/app/");
    r.excludes = vec!["*.log".into(), "tmp".into()];
    e.copy(&r).unwrap();
    assert!(e.exists("/app/main.go"));
    assert!(!e.exists("/app/debug.log"));
    assert!(!e.exists("/app/tmp"));
    // `*.log` is anchored: keep/x.log stays.
    assert!(e.exists("/app/keep/x.log"));
    let mut r = req(&["hom*"], "/h/");
    r.excludes = vec!["*.txt".into()];
    e.copy(&r).unwrap();
    assert!(!e.exists("/h/home.txt"));
    assert!(e.exists("/h/a"));
}

#[test]
fn parents_keep_the_source_path() {
    let e = env();
    e.file("x/a.txt", "a");
    e.file("y/z/b.txt", "b");
    e.file("p/q/deep/c.txt", "c");
    fs::set_permissions(e.ctx.join("y"), fs::Permissions::from_mode(0o750)).unwrap();
    let mut r = req(&["x/a.txt", "y/z/b.txt", "p/q/./deep"], "/dst/");
    r.parents = true;
    e.copy(&r).unwrap();
    assert_eq!(e.read("/dst/x/a.txt"), "a");
    assert_eq!(e.read("/dst/y/z/b.txt"), "b");
    assert_eq!(e.meta("/dst/y"), ("dir", 0o750, 0, 0));
    // Below a `/./` pivot only the rest of the path is kept.
    assert_eq!(e.read("/dst/deep/c.txt"), "c");
    assert!(!e.exists("/dst/p"));
    let mut r = req(&["*/*.txt"], "/w/");
    r.parents = true;
    e.copy(&r).unwrap();
    assert_eq!(e.read("/w/x/a.txt"), "a");
    assert!(!e.exists("/w/y"));
}

#[test]
fn link_flag_changes_nothing_in_the_files() {
    let e = env();
    e.file("a", "a");
    let mut r = req(&["a"], "/l/");
    r.link = true;
    e.copy(&r).unwrap();
    assert_eq!(e.meta("/l/a"), ("file", 0o644, 0, 0));
}

#[test]
fn overwriting_and_merging() {
    let e = env();
    e.file("src/a.txt", "new a");
    e.file("src/sub/b.txt", "b");
    fs::create_dir(e.at("/exist")).unwrap();
    fs::set_permissions(e.at("/exist"), fs::Permissions::from_mode(0o700)).unwrap();
    std::os::unix::fs::chown(e.at("/exist"), Some(1000), Some(1000)).unwrap();
    fs::write(e.at("/exist/old"), "old").unwrap();
    fs::write(e.at("/exist/a.txt"), "old a").unwrap();
    e.copy(&req(&["src/"], "/exist/")).unwrap();
    assert_eq!(e.meta("/exist"), ("dir", 0o700, 1000, 1000));
    assert_eq!(e.read("/exist/old"), "old");
    assert_eq!(e.read("/exist/a.txt"), "new a");
    assert_eq!(e.meta("/exist/sub"), ("dir", 0o755, 0, 0));
    fs::create_dir(e.at("/exist2")).unwrap();
    fs::set_permissions(e.at("/exist2"), fs::Permissions::from_mode(0o750)).unwrap();
    let mut r = req(&["src"], "/exist2");
    r.chown = Some("1001:1002".into());
    e.copy(&r).unwrap();
    assert_eq!(e.meta("/exist2"), ("dir", 0o750, 0, 0));
    assert_eq!(e.meta("/exist2/a.txt"), ("file", 0o644, 1001, 1002));
    assert_eq!(e.meta("/exist2/sub"), ("dir", 0o755, 1001, 1002));
    fs::write(e.at("/replace-me"), "old").unwrap();
    fs::set_permissions(e.at("/replace-me"), fs::Permissions::from_mode(0o600)).unwrap();
    e.copy(&req(&["src/a.txt"], "/replace-me")).unwrap();
    assert_eq!(e.read("/replace-me"), "new a");
    assert_eq!(e.meta("/replace-me"), ("file", 0o644, 0, 0));
    // A directory in the way of a file, and a file in the way of a directory, are errors.
    fs::create_dir_all(e.at("/t/a.txt")).unwrap();
    let err = e.copy(&req(&["src/"], "/t/")).unwrap_err().to_string();
    assert!(err.contains("cannot replace directory"), "{err}");
    fs::write(e.at("/u"), "file").unwrap();
    fs::create_dir_all(e.at("/v")).unwrap();
    fs::write(e.at("/v/sub"), "file").unwrap();
    let err = e.copy(&req(&["src/"], "/v/")).unwrap_err().to_string();
    assert!(err.contains("cannot copy to non-directory"), "{err}");
}

#[test]
fn destination_symlinks_are_followed_inside_the_root() {
    let e = env();
    e.file("f", "data");
    e.file("dir/g", "g");
    fs::create_dir(e.at("/real")).unwrap();
    symlink("/real", e.at("/lnk")).unwrap();
    e.copy(&req(&["f"], "/lnk")).unwrap();
    assert_eq!(e.read("/real/f"), "data");
    e.copy(&req(&["dir"], "/lnk/")).unwrap();
    assert_eq!(e.read("/real/g"), "g");
    // A link to the host's /etc (or up and out) is the root's /etc.
    let n = format!("kiln-copy-test-{}", std::process::id());
    symlink("/etc", e.at("/hostetc")).unwrap();
    symlink("../../../../..", e.at("/up")).unwrap();
    let mut r = req(&["f"], &format!("/hostetc/{n}"));
    e.copy(&r).unwrap();
    r.dest = format!("/up/etc/{n}.2");
    e.copy(&r).unwrap();
    assert_eq!(e.read(&format!("/etc/{n}")), "data");
    assert_eq!(e.read(&format!("/etc/{n}.2")), "data");
    assert!(!Path::new("/etc").join(&n).exists());
    // A dangling link at the destination is written through to its (in-root) target.
    symlink("/made/by/copy", e.at("/dangling")).unwrap();
    e.copy(&req(&["f"], "/dangling")).unwrap();
    assert_eq!(e.read("/made/by/copy"), "data");
    // Links at the end of the destination, absolute and relative, to the host's files.
    let host_passwd = fs::read("/etc/passwd").ok();
    symlink("/etc/passwd", e.at("/end-abs")).unwrap();
    symlink(format!("../../../../../../etc/{n}.rel"), e.at("/end-rel")).unwrap();
    e.copy(&req(&["f"], "/end-abs")).unwrap();
    e.copy(&req(&["f"], "/end-rel")).unwrap();
    assert_eq!(e.read("/etc/passwd"), "data");
    assert_eq!(e.read(&format!("/etc/{n}.rel")), "data");
    assert_eq!(fs::read("/etc/passwd").ok(), host_passwd);
    assert!(!Path::new("/etc").join(format!("{n}.rel")).exists());
    // A link to `/` in the middle.
    symlink("/", e.at("/slash")).unwrap();
    e.copy(&req(&["dir/"], "/slash/slash/via-slash/")).unwrap();
    assert_eq!(e.read("/via-slash/g"), "g");
}

#[test]
fn special_files_from_another_root() {
    let e = env();
    let stage = tempfile::tempdir().unwrap();
    let s = stage.path();
    fs::create_dir(s.join("d")).unwrap();
    let fifo = std::ffi::CString::new(s.join("d/fifo").to_str().unwrap()).unwrap();
    // SAFETY: valid path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o640) }, 0);
    let _sock = std::os::unix::net::UnixListener::bind(s.join("d/sock")).unwrap();
    fs::write(s.join("d/plain"), "p").unwrap();
    let from = Root::open(s).unwrap();
    let dest = Root::open(&e.root).unwrap();
    run(&req(&["/d"], "/out/"), SourceRoot::Rootfs(&from), &dest).unwrap();
    let m = fs::symlink_metadata(e.at("/out/fifo")).unwrap();
    assert!(std::os::unix::fs::FileTypeExt::is_fifo(&m.file_type()));
    assert_eq!(m.mode() & 0o7777, 0o640);
    // Sockets are skipped, as BuildKit's copier does.
    assert!(!e.exists("/out/sock"));
    assert_eq!(e.read("/out/plain"), "p");
}

#[test]
fn copy_to_root_keeps_existing_directories() {
    let e = env();
    e.file("rootfs/etc/app.conf", "conf");
    e.file("rootfs/usr/local/bin/tool", "tool");
    fs::set_permissions(e.ctx.join("rootfs/etc"), fs::Permissions::from_mode(0o700)).unwrap();
    e.file("single.txt", "single\n");
    e.file("rootfs/tmp/x", "x");
    fs::set_permissions(e.ctx.join("rootfs/tmp"), fs::Permissions::from_mode(0o755)).unwrap();
    fs::set_permissions(e.at("/etc"), fs::Permissions::from_mode(0o755)).unwrap();
    fs::create_dir(e.at("/tmp")).unwrap();
    fs::set_permissions(e.at("/tmp"), fs::Permissions::from_mode(0o1777)).unwrap();
    std::os::unix::fs::chown(e.at("/tmp"), Some(1000), Some(1000)).unwrap();
    fs::set_permissions(e.root.as_path(), fs::Permissions::from_mode(0o751)).unwrap();
    e.copy(&req(&["rootfs/"], "/")).unwrap();
    e.copy(&req(&["single.txt"], "/")).unwrap();
    assert_eq!(e.read("/etc/app.conf"), "conf");
    assert_eq!(e.read("/etc/passwd"), PASSWD);
    assert_eq!(e.read("/single.txt"), "single\n");
    assert_eq!(e.read("/usr/local/bin/tool"), "tool");
    // The root itself keeps its metadata; nested existing directories take the source's
    // mode and owner (BuildKit's copier does: a 1777 /tmp becomes the context's 0755).
    assert_eq!(fs::metadata(&e.root).unwrap().mode() & 0o7777, 0o751);
    assert_eq!(e.meta("/etc").1, 0o700);
    assert_eq!(e.meta("/tmp"), ("dir", 0o755, 0, 0));
}

fn set_xattr(p: &Path, name: &str, value: &[u8]) {
    let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
    let n = std::ffi::CString::new(name).unwrap();
    // SAFETY: valid strings and buffer for the call.
    let r = unsafe {
        libc::setxattr(
            c.as_ptr(),
            n.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    assert_eq!(
        r,
        0,
        "setxattr {}: {}",
        p.display(),
        std::io::Error::last_os_error()
    );
}

fn get_xattr(p: &Path, name: &str) -> Option<Vec<u8>> {
    let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
    let n = std::ffi::CString::new(name).unwrap();
    let mut buf = vec![0u8; 256];
    // SAFETY: valid strings and buffer for the call.
    let r = unsafe { libc::lgetxattr(c.as_ptr(), n.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    (r >= 0).then(|| {
        buf.truncate(r as usize);
        buf
    })
}

#[test]
fn extended_attributes_are_copied() {
    let e = env();
    let f = e.file("x/f", "f");
    set_xattr(&f, "user.kiln.test", b"on-file");
    set_xattr(&e.ctx.join("x"), "user.kiln.dir", b"on-dir");
    e.copy(&req(&["."], "/c/")).unwrap();
    let mut r = req(&["x/f"], "/owned");
    r.chown = Some("app".into());
    e.copy(&r).unwrap();
    assert_eq!(
        get_xattr(&e.at("/c/x/f"), "user.kiln.test").unwrap(),
        b"on-file"
    );
    assert_eq!(
        get_xattr(&e.at("/c/x"), "user.kiln.dir").unwrap(),
        b"on-dir"
    );
    assert_eq!(
        get_xattr(&e.at("/owned"), "user.kiln.test").unwrap(),
        b"on-file"
    );
}

#[test]
fn copy_from_another_root_keeps_owners() {
    let e = env();
    let stage = tempfile::tempdir().unwrap();
    let s = stage.path();
    fs::create_dir_all(s.join("out/sub")).unwrap();
    fs::write(s.join("out/x"), "built\n").unwrap();
    fs::write(s.join("out/sub/y"), "y\n").unwrap();
    std::os::unix::fs::chown(s.join("out/sub"), Some(1000), Some(1000)).unwrap();
    std::os::unix::fs::chown(s.join("out/sub/y"), Some(1000), Some(1000)).unwrap();
    fs::set_permissions(s.join("out/sub"), fs::Permissions::from_mode(0o700)).unwrap();
    fs::set_permissions(s.join("out/sub/y"), fs::Permissions::from_mode(0o640)).unwrap();
    fs::hard_link(s.join("out/x"), s.join("out/x-link")).unwrap();
    let from = Root::open(s).unwrap();
    let dest = Root::open(&e.root).unwrap();
    let go = |r: CopyRequest| run(&r, SourceRoot::Rootfs(&from), &dest).unwrap();
    go(req(&["/out/x"], "/x"));
    go(req(&["/out/sub"], "/sub-by-index"));
    go(req(&["/out/"], "/all/"));
    go(req(&["/out/sub/y", "/out/x"], "/two/"));
    assert_eq!(e.meta("/x"), ("file", 0o644, 0, 0));
    assert_eq!(e.meta("/sub-by-index"), ("dir", 0o755, 0, 0));
    assert_eq!(e.meta("/sub-by-index/y"), ("file", 0o640, 1000, 1000));
    assert_eq!(e.meta("/all/sub"), ("dir", 0o700, 1000, 1000));
    assert_eq!(e.meta("/two/y"), ("file", 0o640, 1000, 1000));
    assert_eq!(
        fs::metadata(e.at("/all/x")).unwrap().ino(),
        fs::metadata(e.at("/all/x-link")).unwrap().ino()
    );
}

#[test]
fn copy_rejects_urls_and_flags_out_of_place() {
    let e = env();
    e.file("a", "a");
    let err = e
        .copy(&req(&["http://127.0.0.1:9/x"], "/x"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("source can't be a URL for COPY"), "{err}");
    let mut r = req(&["a"], "/x");
    r.checksum = Some(format!("sha256:{}", "0".repeat(64)));
    assert!(e.copy(&r).is_err());
    let mut r = req(&["a"], "/x");
    r.keep_git_dir = true;
    assert!(e
        .copy(&r)
        .unwrap_err()
        .to_string()
        .contains("--keep-git-dir"));
}

#[test]
fn listing_selected_sources_is_deterministic() {
    let e = env();
    e.file("src/b.txt", "bb");
    e.file("src/a.txt", "a");
    e.file("src/z.log", "z");
    e.file("other.txt", "o");
    symlink("a.txt", e.ctx.join("src/link")).unwrap();
    fs::write(e.ctx.join(".dockerignore"), "*.log\n**/*.log\n").unwrap();
    let ctx = Root::open(&e.ctx).unwrap();
    let ignore = Matcher::from_ignore_file("*.log\n**/*.log\n").unwrap();
    let from = SourceRoot::Context {
        root: &ctx,
        ignore: Some(&ignore),
    };
    let r = req(&["src", "other.txt"], "/d/");
    let a = list_sources(&r, from).unwrap();
    let b = list_sources(&r, from).unwrap();
    assert_eq!(a, b);
    let got: Vec<(usize, &str, FileKind, u64, Option<&str>)> = a
        .iter()
        .map(|x| {
            (
                x.source,
                x.path.as_str(),
                x.kind,
                x.size,
                x.link_target.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (0, "src", FileKind::Dir, 0, None),
            (0, "src/a.txt", FileKind::File, 1, None),
            (0, "src/b.txt", FileKind::File, 2, None),
            (0, "src/link", FileKind::Symlink, 0, Some("a.txt")),
            (1, "other.txt", FileKind::File, 1, None),
        ]
    );
    assert!(a.iter().all(|x| x.uid == 0 && x.gid == 0));
    assert_eq!(a[1].mode, 0o644);
    assert!(list_sources(&req(&["nope"], "/d/"), from).is_err());
    // Nothing was written anywhere.
    assert!(!e.exists("/d"));
}

#[test]
fn nested_copy_meets_destination_links_as_non_directories() {
    let e = env();
    e.file("tree/sub/deeper/f", "data");
    e.file("tree/sub/g", "g");
    let outside = e.tmp.path().join("outside");
    fs::create_dir(&outside).unwrap();
    // Below the top level, a symlink where the source has a directory is not a directory:
    // the copy fails rather than writing through it, inside the root or out of it.
    fs::create_dir_all(e.at("/dst")).unwrap();
    symlink(&outside, e.at("/dst/sub")).unwrap();
    let err = e.copy(&req(&["tree"], "/dst")).unwrap_err();
    assert!(
        err.to_string().contains("cannot copy to non-directory"),
        "{err}"
    );
    assert_eq!(fs::read_dir(&outside).unwrap().count(), 0);
    // A file in the way of a nested file is replaced; a nested link to a file is replaced,
    // not written through.
    fs::remove_file(e.at("/dst/sub")).unwrap();
    fs::create_dir_all(e.at("/dst/sub/deeper")).unwrap();
    let victim = outside.join("victim");
    fs::write(&victim, "host").unwrap();
    symlink(&victim, e.at("/dst/sub/deeper/f")).unwrap();
    fs::write(e.at("/dst/sub/g"), "old").unwrap();
    let s = e.copy(&req(&["tree"], "/dst")).unwrap();
    assert_eq!(s.files, 2);
    assert_eq!(e.read("/dst/sub/deeper/f"), "data");
    assert_eq!(e.read("/dst/sub/g"), "g");
    assert_eq!(fs::read_to_string(&victim).unwrap(), "host");
    // Nested directories take the source's mode.
    let m = fs::metadata(e.at("/dst/sub/deeper")).unwrap();
    let src = fs::metadata(e.ctx.join("tree/sub/deeper")).unwrap();
    assert_eq!(m.mode() & 0o7777, src.mode() & 0o7777);
    assert_eq!(m.mtime(), src.mtime());
}

#[test]
fn big_and_small_files_keep_content_mode_and_times() {
    let e = env();
    // Above and below the size where the copy switches from a buffer to the kernel.
    let big: Vec<u8> = (0..3 * 1024 * 1024 + 17)
        .map(|i| (i * 7 % 251) as u8)
        .collect();
    let small: Vec<u8> = (0..5000).map(|i| (i % 13) as u8).collect();
    fs::create_dir_all(e.ctx.join("d")).unwrap();
    fs::write(e.ctx.join("d/big"), &big).unwrap();
    fs::write(e.ctx.join("d/small"), &small).unwrap();
    fs::write(e.ctx.join("d/empty"), b"").unwrap();
    fs::set_permissions(e.ctx.join("d/big"), fs::Permissions::from_mode(0o4751)).unwrap();
    let s = e.copy(&req(&["d"], "/out/")).unwrap();
    assert_eq!(s.files, 3);
    assert_eq!(s.bytes, (big.len() + small.len()) as u64);
    assert_eq!(fs::read(e.at("/out/big")).unwrap(), big);
    assert_eq!(fs::read(e.at("/out/small")).unwrap(), small);
    assert_eq!(fs::read(e.at("/out/empty")).unwrap(), b"");
    for name in ["big", "small", "empty"] {
        let src = fs::metadata(e.ctx.join("d").join(name)).unwrap();
        let dst = fs::metadata(e.at("/out").join(name)).unwrap();
        assert_eq!(dst.mode(), src.mode(), "{name}");
        assert_eq!(
            (dst.mtime(), dst.mtime_nsec()),
            (src.mtime(), src.mtime_nsec())
        );
        assert_eq!((dst.uid(), dst.gid()), (0, 0));
    }
}
