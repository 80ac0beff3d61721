//! The context scan and selection digests on real directories: what changes a digest, what
//! does not, and what the metadata index saves.

use kiln::context::{
    index_dir_for, ContextError, ContextIndex, DigestOptions, IgnoreRules, ScanStats, Selection,
    RACY_WINDOW,
};
use kiln::image::digest::Digest;
use std::fs::{self, File, FileTimes};
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use tempfile::TempDir;

struct Fixture {
    ctx: TempDir,
    store: TempDir,
    ignore: String,
}

impl Fixture {
    fn new(files: &[(&str, &[u8])]) -> Fixture {
        let f = Fixture {
            ctx: TempDir::new().unwrap(),
            store: TempDir::new().unwrap(),
            ignore: String::new(),
        };
        for (path, data) in files {
            f.write(path, data);
        }
        f
    }

    fn with_ignore(mut self, text: &str) -> Fixture {
        self.ignore = text.to_string();
        self
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.ctx.path().join(rel)
    }

    fn write(&self, rel: &str, data: &[u8]) {
        let p = self.path(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, data).unwrap();
    }

    fn index_dir(&self) -> PathBuf {
        index_dir_for(self.store.path(), self.ctx.path())
    }

    /// A fresh index object each time, so that only the persisted index carries over.
    fn open(&self) -> ContextIndex {
        let rules = IgnoreRules::parse(&self.ignore).unwrap();
        ContextIndex::open(self.ctx.path(), self.index_dir(), rules)
    }

    fn scan(&self) -> (ContextIndex, ScanStats) {
        let mut idx = self.open();
        let stats = idx.scan().unwrap();
        (idx, stats)
    }

    fn digest(&self, sel: &[Selection]) -> Digest {
        let (idx, _) = self.scan();
        idx.digest_of(sel, DigestOptions::default()).unwrap()
    }

    fn all(&self) -> Digest {
        self.digest(&[Selection::tree(".")])
    }
}

/// Waits until everything written so far is older than the racy window, so the next scan's
/// index trusts it.
fn settle() {
    std::thread::sleep(RACY_WINDOW + Duration::from_millis(200));
}

fn set_mtime(path: &Path, t: SystemTime) {
    File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_times(FileTimes::new().set_modified(t))
        .unwrap();
}

fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

const BIG: usize = 3 * 1024 * 1024 + 17;

fn big_content() -> Vec<u8> {
    (0..BIG).map(|i| (i * 31 % 251) as u8).collect()
}

#[test]
fn touch_changes_nothing_and_an_unchanged_context_is_not_read_again() {
    let big = big_content();
    let f = Fixture::new(&[
        ("a.txt", b"alpha"),
        ("dir/b.txt", b"bravo"),
        ("big.bin", &big),
    ]);
    let total = 5 + 5 + big.len() as u64;
    settle();
    let (idx, cold) = f.scan();
    assert!(!cold.index_loaded);
    assert!(cold.index_saved);
    assert_eq!(
        (cold.files, cold.files_hashed, cold.files_reused),
        (3, 3, 0)
    );
    assert_eq!(cold.bytes_hashed, total);
    assert_eq!(cold.file_bytes, total);
    assert_eq!(cold.files_untrusted, 0);
    assert_eq!(cold.entries, 4);
    let before = idx
        .digest_of(&[Selection::tree(".")], DigestOptions::default())
        .unwrap();

    let index_file = fs::read_dir(f.index_dir())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let stamp = |p: &Path| {
        let md = fs::metadata(p).unwrap();
        (md.ino(), md.mtime(), md.mtime_nsec())
    };
    let saved = stamp(&index_file);
    let (_, warm) = f.scan();
    assert!(warm.index_loaded && warm.index_saved);
    assert_eq!(
        saved,
        stamp(&index_file),
        "an unchanged index is not rewritten"
    );
    assert_eq!(
        (warm.files_hashed, warm.bytes_hashed, warm.files_reused),
        (0, 0, 3)
    );

    set_mtime(
        &f.path("a.txt"),
        SystemTime::now() - Duration::from_secs(3600),
    );
    set_mtime(
        &f.path("big.bin"),
        SystemTime::now() + Duration::from_secs(60),
    );
    settle();
    let (idx, touched) = f.scan();
    assert_eq!(touched.files_hashed, 2, "the touched files are read again");
    assert_eq!(touched.bytes_hashed, 5 + big.len() as u64);
    let after = idx
        .digest_of(&[Selection::tree(".")], DigestOptions::default())
        .unwrap();
    assert_eq!(before, after);
    // big.bin's mtime is in the future: never trusted until the clock passes it.
    assert_eq!(touched.files_untrusted, 1);

    let (_, again) = f.scan();
    assert_eq!(
        (again.files_hashed, again.bytes_hashed),
        (1, big.len() as u64)
    );
    assert_eq!(again.files_reused, 2);
}

#[test]
fn content_change_is_seen_even_with_the_same_size_and_mtime() {
    let f = Fixture::new(&[("a.txt", b"hello"), ("b.txt", b"other")]);
    let old_mtime = fs::metadata(f.path("a.txt")).unwrap().modified().unwrap();
    settle();
    let (idx, _) = f.scan();
    let before_file = idx.content_digest("a.txt").unwrap().unwrap().clone();
    assert_eq!(before_file, Digest::of(b"hello"));
    let before = idx
        .digest_of(&[Selection::entry("a.txt")], DigestOptions::default())
        .unwrap();
    let other_before = idx
        .digest_of(&[Selection::entry("b.txt")], DigestOptions::default())
        .unwrap();

    f.write("a.txt", b"jello");
    set_mtime(&f.path("a.txt"), old_mtime);
    let (idx, stats) = f.scan();
    assert_eq!(stats.files_hashed, 1);
    assert_eq!(
        idx.content_digest("a.txt").unwrap().unwrap(),
        &Digest::of(b"jello")
    );
    let after = idx
        .digest_of(&[Selection::entry("a.txt")], DigestOptions::default())
        .unwrap();
    assert_ne!(before, after);
    let other_after = idx
        .digest_of(&[Selection::entry("b.txt")], DigestOptions::default())
        .unwrap();
    assert_eq!(other_before, other_after);
}

#[test]
fn permission_bits_change_the_digest() {
    let f = Fixture::new(&[("run.sh", b"#!/bin/sh\n"), ("d/x", b"x")]);
    chmod(&f.path("run.sh"), 0o644);
    let plain = f.all();
    chmod(&f.path("run.sh"), 0o755);
    let exec = f.all();
    assert_ne!(plain, exec, "chmod +x");
    chmod(&f.path("run.sh"), 0o4755);
    let setuid = f.all();
    assert_ne!(exec, setuid, "setuid");
    chmod(&f.path("run.sh"), 0o644);
    assert_eq!(plain, f.all(), "back to the original mode");
    chmod(&f.path("d"), 0o700);
    assert_ne!(plain, f.all(), "a directory's mode");
}

#[test]
fn owner_counts_only_when_asked() {
    let f = Fixture::new(&[("a", b"a")]);
    let sel = [Selection::tree(".")];
    let (idx, _) = f.scan();
    let without = idx.digest_of(&sel, DigestOptions::default()).unwrap();
    let owned = DigestOptions {
        include_owner: true,
    };
    let with = idx.digest_of(&sel, owned).unwrap();
    assert_ne!(without, with, "the option is part of the digest");
    match std::os::unix::fs::chown(f.path("a"), Some(4321), Some(4321)) {
        Ok(()) => {
            let (idx, _) = f.scan();
            assert_eq!(
                without,
                idx.digest_of(&sel, DigestOptions::default()).unwrap()
            );
            assert_ne!(with, idx.digest_of(&sel, owned).unwrap());
        }
        Err(e) => eprintln!("chown not permitted here ({e}); owner change not checked"),
    }
}

#[test]
fn ignored_files_do_not_count() {
    let f = Fixture::new(&[
        ("app.py", b"print(1)"),
        ("debug.log", b"1"),
        ("tmp/x", b"x"),
    ])
    .with_ignore("*.log\ntmp\n");
    let before = f.all();
    f.write("debug.log", b"a much longer log line");
    f.write("new.log", b"new");
    f.write("tmp/y", b"y");
    assert_eq!(before, f.all());
    let (idx, stats) = f.scan();
    assert_eq!(stats.files, 1);
    for hidden in ["debug.log", "tmp", "tmp/x"] {
        assert!(idx.get(hidden).unwrap().is_none(), "{hidden}");
        assert!(matches!(
            idx.digest_of(&[Selection::entry(hidden)], DigestOptions::default()),
            Err(ContextError::NotFound(_))
        ));
    }
    f.write("app.py", b"print(2)");
    assert_ne!(before, f.all());
}

#[test]
fn rename_changes_the_digest() {
    let f = Fixture::new(&[("src/a.rs", b"fn a() {}"), ("src/b.rs", b"fn b() {}")]);
    let before = f.digest(&[Selection::tree("src")]);
    fs::rename(f.path("src/b.rs"), f.path("src/c.rs")).unwrap();
    let after = f.digest(&[Selection::tree("src")]);
    assert_ne!(before, after);
    fs::rename(f.path("src/c.rs"), f.path("src/b.rs")).unwrap();
    assert_eq!(before, f.digest(&[Selection::tree("src")]));
}

#[test]
fn symlinks_are_entries_not_followed() {
    let f = Fixture::new(&[("target1", b"one"), ("target2", b"two")]);
    symlink("target1", f.path("link")).unwrap();
    symlink("/etc", f.path("etc")).unwrap();
    let (idx, stats) = f.scan();
    assert_eq!(stats.entries, 4, "/etc is not walked");
    let link = idx.get("link").unwrap().unwrap();
    assert_eq!(
        link.entry.link_target.as_deref(),
        Some(Path::new("target1"))
    );
    assert!(link.digest.is_none());
    let before = f.digest(&[Selection::entry("link")]);
    fs::remove_file(f.path("link")).unwrap();
    symlink("target2", f.path("link")).unwrap();
    assert_ne!(before, f.digest(&[Selection::entry("link")]));
    // Changing what the link points to does not change the link.
    let now = f.digest(&[Selection::entry("link")]);
    f.write("target2", b"TWO");
    assert_eq!(now, f.digest(&[Selection::entry("link")]));
}

#[test]
fn a_damaged_index_means_hashing_again() {
    let f = Fixture::new(&[("a", b"alpha"), ("b/c", b"charlie")]);
    settle();
    let good = f.all();
    let index_files: Vec<PathBuf> = fs::read_dir(f.index_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(index_files.len(), 1, "only the index, no temporary left");
    let file = &index_files[0];
    let pristine = fs::read(file).unwrap();
    assert!(f.scan().1.index_loaded);

    let mut flipped = pristine.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x40;
    let damages: Vec<Vec<u8>> = vec![
        flipped,
        pristine[..pristine.len() / 3].to_vec(),
        Vec::new(),
        b"not an index at all".to_vec(),
        vec![0xff; 4096],
    ];
    for (i, bytes) in damages.into_iter().enumerate() {
        fs::write(file, &bytes).unwrap();
        let (idx, stats) = f.scan();
        assert!(!stats.index_loaded, "damage {i}");
        assert_eq!(stats.files_hashed, 2, "damage {i}");
        assert_eq!(stats.bytes_hashed, 12, "damage {i}");
        let d = idx
            .digest_of(&[Selection::tree(".")], DigestOptions::default())
            .unwrap();
        assert_eq!(d, good, "damage {i}");
        // The scan rewrote a good index.
        assert!(f.scan().1.index_loaded);
    }
    // An index directory that cannot be written only costs the save.
    fs::remove_dir_all(f.index_dir()).unwrap();
    fs::write(f.index_dir(), b"a file where the directory should be").unwrap();
    let (idx, stats) = f.scan();
    assert!(!stats.index_saved);
    assert_eq!(
        idx.digest_of(&[Selection::tree(".")], DigestOptions::default())
            .unwrap(),
        good
    );
}

#[test]
fn a_file_changed_within_the_racy_window_is_hashed_again() {
    let f = Fixture::new(&[("old", b"settled")]);
    settle();
    let written = std::time::Instant::now();
    f.write("fresh", b"just written");
    let (_, first) = f.scan();
    if written.elapsed() > RACY_WINDOW / 2 {
        eprintln!("machine too slow to scan within the racy window; not checked");
        return;
    }
    assert_eq!(first.files_hashed, 2);
    assert_eq!(first.files_untrusted, 1);
    let (_, second) = f.scan();
    assert_eq!(second.files_hashed, 1, "the fresh file is not trusted yet");
    assert_eq!(second.bytes_hashed, 12);
    assert_eq!(second.files_reused, 1);
    settle();
    let (_, third) = f.scan();
    assert_eq!(third.files_hashed, 1, "still racy at the last save");
    let (_, fourth) = f.scan();
    assert_eq!((fourth.files_hashed, fourth.files_reused), (0, 2));
}

#[test]
fn same_content_elsewhere_gives_the_same_digests() {
    let files: &[(&str, &[u8])] = &[
        ("Dockerfile", b"FROM scratch\n"),
        ("src/main.rs", b"fn main() {}\n"),
        ("src/lib/mod.rs", b"pub mod x;\n"),
        ("README", b"readme"),
    ];
    let one = Fixture::new(files);
    let big = big_content();
    one.write("data/big.bin", &big);
    std::thread::sleep(Duration::from_millis(50));
    let two = Fixture::new(&[]);
    // Written in another order, at other times, so inodes and times all differ.
    for (p, d) in files.iter().rev() {
        two.write(p, d);
    }
    two.write("data/big.bin", &big);
    set_mtime(
        &two.path("README"),
        SystemTime::UNIX_EPOCH + Duration::from_secs(1),
    );
    for rel in ["src", "src/lib", "data", "."] {
        chmod(&one.path(rel), 0o755);
        chmod(&two.path(rel), 0o755);
    }
    assert_ne!(one.index_dir(), two.index_dir());
    let sels: Vec<Vec<Selection>> = vec![
        vec![Selection::tree(".")],
        vec![Selection::tree("src")],
        vec![Selection::entry("README"), Selection::tree("data")],
        vec![Selection::entry("src")],
    ];
    for sel in &sels {
        assert_eq!(one.digest(sel), two.digest(sel), "{sel:?}");
    }
    let big_digest = Digest::of(&big);
    let (idx, _) = two.scan();
    assert_eq!(
        idx.content_digest("data/big.bin").unwrap(),
        Some(&big_digest)
    );
}

#[test]
fn selections_are_exact() {
    let f = Fixture::new(&[("a", b"a"), ("b", b"b"), ("dir/x", b"x"), ("dir2/y", b"y")]);
    let (idx, _) = f.scan();
    let d = |sel: &[Selection]| idx.digest_of(sel, DigestOptions::default()).unwrap();
    let ab = d(&[Selection::entry("a"), Selection::entry("b")]);
    assert_ne!(
        ab,
        d(&[Selection::entry("b"), Selection::entry("a")]),
        "order"
    );
    assert_ne!(d(&[Selection::tree("dir")]), d(&[Selection::entry("dir")]));
    assert_eq!(
        d(&[Selection::tree("./dir/")]),
        d(&[Selection::tree("dir")])
    );
    assert_eq!(d(&[Selection::tree("/dir")]), d(&[Selection::tree("dir")]));
    // `dir` must not take `dir2` along.
    let under: Vec<_> = idx
        .entries_under("dir")
        .unwrap()
        .iter()
        .map(|e| e.entry.path.clone())
        .collect();
    assert_eq!(under, vec![PathBuf::from("dir/x")]);
    assert!(matches!(
        idx.digest_of(&[Selection::entry("missing")], DigestOptions::default()),
        Err(ContextError::NotFound(_))
    ));
    assert!(matches!(
        idx.digest_of(&[Selection::entry("../a")], DigestOptions::default()),
        Err(ContextError::OutsideContext(_))
    ));
    let unscanned = f.open();
    assert!(matches!(
        unscanned.digest_of(&[Selection::entry("a")], DigestOptions::default()),
        Err(ContextError::NotScanned)
    ));
}
