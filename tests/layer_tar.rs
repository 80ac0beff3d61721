//! Upper dir → layer tar: whiteouts, opaque dirs, links, special files, xattrs, long names,
//! determinism; checked with the `tar` crate and with GNU tar as independent readers.

use kiln::exec::{self, Network, RootFs, SandboxSpec};
use kiln::image::digest::Digest;
use kiln::snapshot::upper::{write_layer, LayerOptions};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

fn busybox_lower(dir: &Path) {
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    std::fs::create_dir_all(dir.join("etc")).unwrap();
    std::fs::create_dir_all(dir.join("data/keep")).unwrap();
    std::fs::write(dir.join("data/keep/old"), "old").unwrap();
    std::fs::copy("/bin/busybox", dir.join("bin/busybox")).unwrap();
    for a in [
        "sh", "mkdir", "rm", "ln", "chmod", "mkfifo", "echo", "touch",
    ] {
        std::os::unix::fs::symlink("busybox", dir.join("bin").join(a)).unwrap();
    }
    std::fs::write(dir.join("etc/group"), "root:x:0:\n").unwrap();
    std::fs::write(dir.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").unwrap();
}

/// Runs `script` over a busybox lower and returns the temp dir holding `upper`.
fn run_in_overlay(script: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let b = tmp.path();
    busybox_lower(&b.join("lower"));
    for d in ["upper", "work", "merged"] {
        std::fs::create_dir_all(b.join(d)).unwrap();
    }
    let spec = SandboxSpec {
        root: RootFs::Overlay {
            lower: vec![b.join("lower")],
            upper: b.join("upper"),
            work: b.join("work"),
            merged: b.join("merged"),
        },
        args: vec!["/bin/sh".into(), "-c".into(), script.into()],
        env: vec!["PATH=/bin".into()],
        cwd: "/".into(),
        user: String::new(),
        hostname: "t".into(),
        network: Network::None,
        mounts: vec![],
        hosts_file: None,
        resolv_file: None,
        created_log: b.join("created"),
    };
    let mut out = Vec::new();
    let code = exec::run(&spec, Path::new(env!("CARGO_BIN_EXE_kiln")), |l| {
        out.extend_from_slice(l)
    })
    .unwrap();
    assert_eq!(code, 0, "{}", String::from_utf8_lossy(&out));
    let upper = b.join("upper");
    (tmp, upper)
}

#[derive(Debug)]
struct Seen {
    kind: tar::EntryType,
    mode: u32,
    link: Option<String>,
    data: Vec<u8>,
    xattrs: BTreeMap<String, Vec<u8>>,
}

fn read_layer(bytes: &[u8]) -> Vec<(String, Seen)> {
    let mut a = tar::Archive::new(bytes);
    let mut out = Vec::new();
    for e in a.entries().unwrap() {
        let mut e = e.unwrap();
        let name = String::from_utf8(e.path_bytes().to_vec()).unwrap();
        let mut xattrs = BTreeMap::new();
        if let Some(exts) = e.pax_extensions().unwrap() {
            for ext in exts {
                let ext = ext.unwrap();
                if let Some(k) = ext.key().unwrap().strip_prefix("SCHILY.xattr.") {
                    xattrs.insert(k.to_string(), ext.value_bytes().to_vec());
                }
            }
        }
        let h = e.header().clone();
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        out.push((
            name,
            Seen {
                kind: h.entry_type(),
                mode: h.mode().unwrap(),
                link: h
                    .link_name()
                    .unwrap()
                    .map(|l| l.to_string_lossy().into_owned()),
                data,
                xattrs,
            },
        ));
    }
    out
}

#[test]
fn run_diff_becomes_an_oci_layer() {
    let long = "d".repeat(60) + "/" + &"e".repeat(60) + "/" + &"f".repeat(60);
    let script = format!(
        "echo hi > /new; rm /etc/group; rm -rf /data; mkdir -p /data; echo n > /data/fresh; \
         ln /new /new.hard; ln -s /new /new.sym; echo s > /suid; chmod 4755 /suid; mkfifo /fifo; \
         mkdir -p /{long}; touch /{long}/x"
    );
    let (_tmp, upper) = run_in_overlay(&script);
    let bytes = write_layer(&upper, Vec::new(), &LayerOptions::default()).unwrap();
    let entries = read_layer(&bytes);
    let names: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
    let get = |n: &str| {
        &entries
            .iter()
            .find(|(x, _)| x == n)
            .unwrap_or_else(|| panic!("{n} missing in {names:?}"))
            .1
    };

    assert_eq!(get("new").data, b"hi\n");
    assert_eq!(get("etc/.wh.group").kind, tar::EntryType::Regular);
    assert!(names.contains(&"etc/"));
    let opq = names
        .iter()
        .position(|n| *n == "data/.wh..wh..opq")
        .expect("opaque marker");
    assert_eq!(
        names[opq - 1],
        "data/",
        "opaque marker follows its directory"
    );
    assert_eq!(get("data/fresh").data, b"n\n");
    let hard = get("new.hard");
    assert_eq!(
        (hard.kind, hard.link.as_deref()),
        (tar::EntryType::Link, Some("new"))
    );
    assert_eq!(get("new.sym").link.as_deref(), Some("/new"));
    assert_eq!(get("suid").mode, 0o4755);
    assert_eq!(get("fifo").kind, tar::EntryType::Fifo);
    assert!(
        names.contains(&format!("{long}/x").as_str()),
        "long name kept: {names:?}"
    );
    for n in &names {
        assert!(
            !n.starts_with("proc") && !n.starts_with("dev") && !n.starts_with("sys"),
            "sandbox stub {n} in layer"
        );
    }
    // Depth-first, byte-ordered.
    let top: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| !n.trim_end_matches('/').contains('/'))
        .collect();
    let mut sorted = top.clone();
    sorted.sort();
    assert_eq!(top, sorted);

    // GNU tar reads it too.
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), &bytes).unwrap();
    let out = std::process::Command::new("tar")
        .arg("-tf")
        .arg(f.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout)
        .lines()
        .any(|l| l == format!("{long}/x")));
}

#[test]
fn capabilities_are_kept_and_output_is_deterministic() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("tree");
    std::fs::create_dir_all(dir.join("usr/bin")).unwrap();
    let bin = dir.join("usr/bin/ping");
    std::fs::write(&bin, b"binary").unwrap();
    // VFS_CAP_REVISION_2 with the effective flag, CAP_NET_RAW (13) permitted.
    let mut cap = Vec::new();
    cap.extend_from_slice(&0x0200_0001u32.to_le_bytes());
    cap.extend_from_slice(&(1u32 << 13).to_le_bytes());
    cap.extend_from_slice(&0u32.to_le_bytes());
    cap.extend_from_slice(&0u32.to_le_bytes());
    cap.extend_from_slice(&0u32.to_le_bytes());
    let c = std::ffi::CString::new(bin.to_str().unwrap()).unwrap();
    let r = unsafe {
        libc::setxattr(
            c.as_ptr(),
            c"security.capability".as_ptr(),
            cap.as_ptr().cast(),
            cap.len(),
            0,
        )
    };
    assert_eq!(r, 0, "setxattr: {}", std::io::Error::last_os_error());

    let opts = LayerOptions {
        source_date_epoch: Some(1_000_000),
    };
    let a = write_layer(&dir, Vec::new(), &opts).unwrap();
    let b = write_layer(&dir, Vec::new(), &opts).unwrap();
    assert_eq!(Digest::of(&a), Digest::of(&b));
    let entries = read_layer(&a);
    let ping = &entries.iter().find(|(n, _)| n == "usr/bin/ping").unwrap().1;
    assert_eq!(ping.xattrs.get("security.capability"), Some(&cap));

    // A copy of the tree with other inode numbers and later mtimes gives the same bytes.
    let copy = tmp.path().join("copy");
    let st = std::process::Command::new("cp")
        .args(["-a", "--"])
        .arg(&dir)
        .arg(&copy)
        .status()
        .unwrap();
    assert!(st.success());
    std::process::Command::new("touch")
        .arg(copy.join("usr/bin/ping"))
        .status()
        .unwrap();
    let c2 = write_layer(&copy, Vec::new(), &opts).unwrap();
    assert_eq!(
        Digest::of(&a),
        Digest::of(&c2),
        "mtimes past SOURCE_DATE_EPOCH are clamped"
    );
}
