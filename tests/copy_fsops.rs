//! `fsops::Root`: every operation stays inside the root, whatever symlinks the tree holds.
//! Each test checks the host side: the files outside the root are untouched.

use kiln::fsops::{FileKind, Root};
use std::fs;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

struct Fixture {
    _tmp: tempfile::TempDir,
    root_dir: PathBuf,
    outside: PathBuf,
    victim: PathBuf,
    root: Root,
}

/// A root with hostile symlinks next to an `outside` directory holding a `victim` file.
fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let root_dir = tmp.path().join("root");
    let outside = tmp.path().join("outside");
    fs::create_dir_all(root_dir.join("etc")).unwrap();
    fs::create_dir_all(&outside).unwrap();
    fs::write(
        root_dir.join("etc/passwd"),
        "root:x:0:0:in-root:/root:/bin/sh\n",
    )
    .unwrap();
    let victim = outside.join("victim");
    fs::write(&victim, "host data").unwrap();
    fs::set_permissions(&victim, fs::Permissions::from_mode(0o640)).unwrap();
    symlink("/", root_dir.join("to-slash")).unwrap();
    symlink("/etc", root_dir.join("to-etc")).unwrap();
    symlink("../../..", root_dir.join("up")).unwrap();
    symlink("../outside", root_dir.join("rel-out")).unwrap();
    symlink(&outside, root_dir.join("abs-out")).unwrap();
    symlink(&victim, root_dir.join("victim-link")).unwrap();
    fs::create_dir(root_dir.join("d")).unwrap();
    symlink("../../../outside/victim", root_dir.join("d/deep-victim")).unwrap();
    let root = Root::open(&root_dir).unwrap();
    Fixture {
        _tmp: tmp,
        root_dir,
        outside,
        victim,
        root,
    }
}

impl Fixture {
    fn assert_outside_untouched(&self) {
        let names: Vec<_> = fs::read_dir(&self.outside)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("victim")]);
        assert_eq!(fs::read_to_string(&self.victim).unwrap(), "host data");
        let m = fs::metadata(&self.victim).unwrap();
        assert_eq!(m.mode() & 0o7777, 0o640);
        assert_eq!(m.nlink(), 1);
    }
}

fn unique(tag: &str) -> String {
    format!("kiln-fsops-{tag}-{}", std::process::id())
}

#[test]
fn writes_through_symlinks_to_slash_and_etc_stay_inside() {
    let f = fixture();
    let n1 = unique("slash");
    let n2 = unique("etc");
    f.root
        .write_file(&Path::new("to-slash").join(&n1), 0o644, &mut &b"one"[..])
        .unwrap();
    f.root
        .write_file(&Path::new("/to-etc").join(&n2), 0o644, &mut &b"two"[..])
        .unwrap();
    assert_eq!(fs::read_to_string(f.root_dir.join(&n1)).unwrap(), "one");
    assert_eq!(
        fs::read_to_string(f.root_dir.join("etc").join(&n2)).unwrap(),
        "two"
    );
    assert!(!Path::new("/").join(&n1).exists());
    assert!(!Path::new("/etc").join(&n2).exists());
    f.assert_outside_untouched();
}

#[test]
fn relative_dotdot_symlinks_are_clamped_at_the_root() {
    let f = fixture();
    f.root
        .write_file(Path::new("up/a.txt"), 0o644, &mut &b"x"[..])
        .unwrap();
    assert_eq!(fs::read_to_string(f.root_dir.join("a.txt")).unwrap(), "x");
    // `../outside` from the root is `/outside` inside it, which does not exist.
    assert!(f
        .root
        .write_file(Path::new("rel-out/new"), 0o644, &mut &b"x"[..])
        .is_err());
    // An absolute host path is read as a path inside the root too.
    assert!(f
        .root
        .write_file(Path::new("abs-out/new"), 0o644, &mut &b"x"[..])
        .is_err());
    // `..` written in the path itself never climbs out either.
    f.root
        .write_file(Path::new("../../../../b.txt"), 0o644, &mut &b"y"[..])
        .unwrap();
    assert_eq!(fs::read_to_string(f.root_dir.join("b.txt")).unwrap(), "y");
    f.assert_outside_untouched();
}

#[test]
fn mkdir_all_through_symlinks_creates_inside() {
    let f = fixture();
    let created = f
        .root
        .mkdir_all(Path::new("up/to-etc/x/y"), 0o750, Some((12, 34)))
        .unwrap();
    assert_eq!(
        created,
        vec![
            PathBuf::from("/up/to-etc/x"),
            PathBuf::from("/up/to-etc/x/y")
        ]
    );
    let m = fs::metadata(f.root_dir.join("etc/x/y")).unwrap();
    assert!(m.is_dir());
    assert_eq!(m.mode() & 0o7777, 0o750);
    assert_eq!((m.uid(), m.gid()), (12, 34));
    // A dangling symlink is not a directory to create things in ...
    assert!(f
        .root
        .mkdir_all(Path::new("abs-out/inside"), 0o755, None)
        .is_err());
    // ... but where it points, read inside the root, is.
    let at = f.root.resolve(Path::new("abs-out/inside")).unwrap();
    f.root.mkdir_all(&at, 0o755, None).unwrap();
    assert!(f
        .root_dir
        .join(f.outside.strip_prefix("/").unwrap())
        .join("inside")
        .is_dir());
    f.assert_outside_untouched();
}

#[test]
fn final_symlink_is_replaced_not_followed() {
    let f = fixture();
    f.root
        .write_file(Path::new("victim-link"), 0o600, &mut &b"mine"[..])
        .unwrap();
    let m = fs::symlink_metadata(f.root_dir.join("victim-link")).unwrap();
    assert!(m.is_file());
    f.root
        .symlink(Path::new("/nowhere"), Path::new("d/deep-victim"))
        .unwrap();
    assert_eq!(
        fs::read_link(f.root_dir.join("d/deep-victim")).unwrap(),
        PathBuf::from("/nowhere")
    );
    f.assert_outside_untouched();
}

#[test]
fn metadata_changes_never_follow_a_final_symlink() {
    let f = fixture();
    f.root.set_mode(Path::new("victim-link"), 0o777).unwrap();
    f.root
        .set_owner(Path::new("victim-link"), 4321, 4321)
        .unwrap();
    f.root
        .set_times(Path::new("victim-link"), (1, 0), (1, 0))
        .unwrap();
    f.root.set_mode(Path::new("d/deep-victim"), 0o4777).unwrap();
    f.assert_outside_untouched();
    let victim_meta = fs::metadata(&f.victim).unwrap();
    assert_ne!(victim_meta.uid(), 4321);
    assert_ne!(victim_meta.mtime(), 1);
    // The link itself got the owner and time.
    let l = fs::symlink_metadata(f.root_dir.join("victim-link")).unwrap();
    assert_eq!((l.uid(), l.mtime()), (4321, 1));
}

#[test]
fn hardlink_and_remove_do_not_reach_outside() {
    let f = fixture();
    // Linking "through" a symlink links the symlink itself.
    f.root
        .hardlink(Path::new("victim-link"), Path::new("hl"))
        .unwrap();
    assert!(fs::symlink_metadata(f.root_dir.join("hl"))
        .unwrap()
        .file_type()
        .is_symlink());
    // The victim's own path, read inside the root, does not exist.
    assert!(f.root.hardlink(&f.victim, Path::new("hl2")).is_err());
    f.root.remove(Path::new("victim-link")).unwrap();
    f.root.remove_all(Path::new("d")).unwrap();
    f.root.remove_all(Path::new("abs-out")).unwrap();
    assert!(!f.root_dir.join("d").exists());
    f.assert_outside_untouched();
}

#[test]
fn reads_resolve_inside_the_root() {
    let f = fixture();
    let mut s = String::new();
    use std::io::Read;
    f.root
        .open_read(Path::new("to-etc/passwd"))
        .unwrap()
        .read_to_string(&mut s)
        .unwrap();
    assert!(s.contains("in-root"));
    assert!(f.root.open_read(Path::new("victim-link")).is_err());
    assert!(f.root.open_read(Path::new("d/deep-victim")).is_err());
    let names = f.root.read_dir(Path::new("up")).unwrap();
    assert!(names.iter().any(|n| n == "to-etc"));
    assert_eq!(
        f.root.stat(Path::new("to-slash")).unwrap().kind,
        FileKind::Dir
    );
    assert_eq!(
        f.root.lstat(Path::new("to-slash")).unwrap().kind,
        FileKind::Symlink
    );
    assert_eq!(
        f.root.read_link(Path::new("up")).unwrap(),
        PathBuf::from("../../..")
    );
    assert_eq!(
        f.root
            .resolve(Path::new("up/to-slash/to-etc/passwd"))
            .unwrap(),
        PathBuf::from("/etc/passwd")
    );
    assert_eq!(
        f.root.resolve(Path::new("to-etc/missing/../x")).unwrap(),
        PathBuf::from("/etc/x")
    );
    f.assert_outside_untouched();
}

#[test]
fn symlink_loops_fail_cleanly() {
    let f = fixture();
    symlink("loop-b", f.root_dir.join("loop-a")).unwrap();
    symlink("loop-a", f.root_dir.join("loop-b")).unwrap();
    assert!(f.root.resolve(Path::new("loop-a/x")).is_err());
    assert!(f
        .root
        .write_file(Path::new("loop-a/x"), 0o644, &mut &b""[..])
        .is_err());
}

#[test]
fn modes_are_exact_and_keep_special_bits() {
    let f = fixture();
    f.root
        .write_file(Path::new("s"), 0o4755, &mut &b"#!"[..])
        .unwrap();
    assert_eq!(
        fs::metadata(f.root_dir.join("s")).unwrap().mode() & 0o7777,
        0o4755
    );
    f.root.mkdir(Path::new("sticky"), 0o1777).unwrap();
    assert_eq!(
        fs::metadata(f.root_dir.join("sticky")).unwrap().mode() & 0o7777,
        0o1777
    );
    let e = f.root.write_file(Path::new("sticky"), 0o644, &mut &b""[..]);
    assert!(e
        .unwrap_err()
        .to_string()
        .contains("cannot replace directory"));
}

#[test]
fn the_root_itself_takes_metadata() {
    let f = fixture();
    f.root.set_mode(Path::new("/"), 0o750).unwrap();
    f.root.set_owner(Path::new("/"), 7, 8).unwrap();
    f.root.set_times(Path::new("/"), (5, 0), (6, 0)).unwrap();
    let m = fs::metadata(&f.root_dir).unwrap();
    assert_eq!(
        (m.mode() & 0o7777, m.uid(), m.gid(), m.mtime()),
        (0o750, 7, 8, 6)
    );
    assert!(f.root.remove(Path::new("/")).is_err());
    f.assert_outside_untouched();
}

#[test]
fn open_dirs_take_only_single_entry_names() {
    let f = fixture();
    let d = f.root.dir(Path::new("/d")).unwrap();
    for bad in ["", ".", "..", "../outside", "a/b"] {
        let name = std::ffi::OsStr::new(bad);
        assert!(d.try_lstat(name).is_err(), "{bad:?} accepted by lstat");
        assert!(d.create_file(name).is_err(), "{bad:?} accepted by create");
        assert!(d.open_dir(name).is_err(), "{bad:?} accepted by open_dir");
        assert!(d.mkdir(name).is_err(), "{bad:?} accepted by mkdir");
    }
    // The directory was reached through the root: `/to-slash/d` is the root's own `d`.
    let via_link = f.root.dir(Path::new("/to-slash/d")).unwrap();
    assert_eq!(via_link.names().unwrap(), vec!["deep-victim"]);
    f.assert_outside_untouched();
}

#[test]
fn open_dir_entries_never_follow_a_final_symlink() {
    let f = fixture();
    let top = f.root.dir(Path::new("/")).unwrap();
    // Symlinks to directories outside are not entered, and files behind them not opened.
    assert!(top.open_dir("abs-out".as_ref()).is_err());
    assert!(top.open_dir("rel-out".as_ref()).is_err());
    assert!(top.open_file("victim-link".as_ref()).is_err());
    let m = top.try_lstat("victim-link".as_ref()).unwrap().unwrap();
    assert_eq!(m.kind, FileKind::Symlink);
    // Creating over a symlink replaces the link; a directory in the way is an error.
    let mut out = top.create_file("victim-link".as_ref()).unwrap();
    std::io::Write::write_all(&mut out, b"mine").unwrap();
    drop(out);
    assert_eq!(
        fs::read_to_string(f.root_dir.join("victim-link")).unwrap(),
        "mine"
    );
    assert!(top.create_file("d".as_ref()).is_err());
    assert!(f.root_dir.join("d/deep-victim").is_symlink());
    // Names come sorted bytewise.
    let names = top.names().unwrap();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    assert!(names.iter().any(|n| n == "to-etc"));
    f.assert_outside_untouched();
}
