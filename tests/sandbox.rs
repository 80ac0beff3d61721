//! The RUN sandbox against a real busybox root: namespaces, mounts, users, overlay diffs,
//! exit codes, and nothing left mounted afterwards.

use kiln::exec::{self, Mount, MountKind, Network, RootFs, SandboxSpec};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

const BUSYBOX: &str = "/bin/busybox";

fn helper() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_kiln"))
}

/// A minimal root: busybox with a few applet links, passwd/group with an unprivileged user.
fn busybox_root(dir: &Path) {
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    std::fs::create_dir_all(dir.join("etc")).unwrap();
    std::fs::copy(BUSYBOX, dir.join("bin/busybox")).unwrap();
    for applet in [
        "sh", "echo", "cat", "ls", "id", "hostname", "rm", "mkdir", "touch", "grep", "wc",
    ] {
        std::os::unix::fs::symlink("busybox", dir.join("bin").join(applet)).unwrap();
    }
    std::fs::write(
        dir.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("etc/group"),
        "root:x:0:\nstaff:x:50:app\napp:x:1000:\n",
    )
    .unwrap();
}

struct Setup {
    _tmp: tempfile::TempDir,
    base: PathBuf,
}

impl Setup {
    fn new() -> Setup {
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path().to_path_buf();
        Setup { _tmp: tmp, base }
    }

    fn spec(&self, root: RootFs, script: &str) -> SandboxSpec {
        let hosts = self.base.join("hosts");
        std::fs::write(&hosts, "127.0.0.1 localhost\n").unwrap();
        let resolv = self.base.join("resolv.conf");
        std::fs::write(&resolv, "nameserver 127.0.0.53\n").unwrap();
        SandboxSpec {
            root,
            args: vec!["/bin/sh".into(), "-c".into(), script.into()],
            env: vec!["PATH=/bin".into()],
            cwd: "/".into(),
            user: String::new(),
            hostname: "kilnhost".into(),
            network: Network::Host,
            mounts: vec![],
            hosts_file: Some(hosts),
            resolv_file: Some(resolv),
            created_log: self.base.join("created"),
        }
    }

    fn overlay(&self) -> RootFs {
        let lower = self.base.join("lower");
        busybox_root(&lower);
        for d in ["upper", "work", "merged"] {
            std::fs::create_dir_all(self.base.join(d)).unwrap();
        }
        RootFs::Overlay {
            lower: vec![lower],
            upper: self.base.join("upper"),
            work: self.base.join("work"),
            merged: self.base.join("merged"),
        }
    }
}

fn run(spec: &SandboxSpec) -> (i32, String) {
    let mut out = Vec::new();
    let code = exec::run(spec, &helper(), |l| out.extend_from_slice(l)).unwrap();
    (code, String::from_utf8_lossy(&out).into_owned())
}

fn mounted_anywhere(path: &Path) -> bool {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .contains(path.to_str().unwrap())
}

#[test]
fn runs_as_pid_one_with_hostname_hosts_and_devices() {
    let s = Setup::new();
    let root = s.overlay();
    let spec = s.spec(
        root,
        "echo pid=$$; hostname; cat /etc/hosts /etc/resolv.conf; ls /dev; echo home=$HOME; cat /proc/1/cmdline | wc -c",
    );
    let (code, out) = run(&spec);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("pid=1\n"), "{out}");
    assert!(out.contains("kilnhost\n"), "{out}");
    assert!(out.contains("127.0.0.1 localhost"), "{out}");
    assert!(out.contains("nameserver 127.0.0.53"), "{out}");
    for dev in [
        "null", "zero", "random", "urandom", "tty", "ptmx", "pts", "shm", "full",
    ] {
        assert!(out.lines().any(|l| l == dev), "/dev/{dev} missing: {out}");
    }
    assert!(out.contains("home=/root"), "{out}");
    assert!(
        !mounted_anywhere(&s.base.join("merged")),
        "overlay left mounted"
    );
}

#[test]
fn exit_codes_pass_through() {
    let s = Setup::new();
    let root = s.overlay();
    let (code, _) = run(&s.spec(root.clone(), "exit 3"));
    assert_eq!(code, 3);
    let mut spec = s.spec(root, "");
    spec.args = vec!["no-such-program".into()];
    let (code, out) = run(&spec);
    assert_eq!(code, 127);
    assert!(out.contains("executable file not found"), "{out}");
}

#[test]
fn overlay_upper_holds_exactly_the_diff() {
    let s = Setup::new();
    let root = s.overlay();
    let (code, out) = run(&s.spec(
        root,
        "echo new > /added; rm /etc/group; mkdir -p /var/x; echo hi > /etc/passwd",
    ));
    assert_eq!(code, 0, "{out}");
    let upper = s.base.join("upper");
    assert_eq!(
        std::fs::read_to_string(upper.join("added")).unwrap(),
        "new\n"
    );
    let wh = std::fs::symlink_metadata(upper.join("etc/group")).unwrap();
    assert!(
        wh.file_type().is_char_device() && wh.rdev() == 0,
        "deletion should be an overlay whiteout"
    );
    assert!(upper.join("var/x").is_dir());
    // The sandbox's own mount points and stub files are not part of the diff.
    for stub in ["proc", "sys", "dev", "etc/hosts", "etc/resolv.conf"] {
        assert!(
            std::fs::symlink_metadata(upper.join(stub)).is_err(),
            "{stub} leaked into the diff"
        );
    }
    assert!(
        !s.base.join("lower/added").exists(),
        "lower layer must stay untouched"
    );
}

#[test]
fn user_and_groups_from_the_image() {
    let s = Setup::new();
    let root = s.overlay();
    let mut spec = s.spec(root, "id -u; id -g; id -G; echo $HOME");
    spec.user = "app".into();
    let (code, out) = run(&spec);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out, "1000\n1000\n1000 50\n/home/app\n");
    let root = s.overlay_again();
    let mut spec = s.spec(root, "true");
    spec.user = "ghost".into();
    let err = exec::run(&spec, &helper(), |_| {}).unwrap_err();
    assert!(
        err.to_string().contains("unable to find user ghost"),
        "{err}"
    );
}

impl Setup {
    fn overlay_again(&self) -> RootFs {
        RootFs::Overlay {
            lower: vec![self.base.join("lower")],
            upper: self.base.join("upper"),
            work: self.base.join("work"),
            merged: self.base.join("merged"),
        }
    }
}

#[test]
fn network_none_has_only_loopback() {
    let s = Setup::new();
    let root = s.overlay();
    let mut spec = s.spec(root, "ls /sys/class/net");
    spec.network = Network::None;
    let (code, out) = run(&spec);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out, "lo\n");
}

#[test]
fn bind_and_tmpfs_mounts_leave_no_trace() {
    let s = Setup::new();
    let root = s.overlay();
    let src = s.base.join("ctx");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("f"), "from context\n").unwrap();
    let mut spec = s.spec(
        root,
        "cat /mnt/ctx/f; echo x > /mnt/ctx/g || echo readonly; echo t > /scratch/t; cat /scratch/t",
    );
    spec.mounts = vec![
        Mount {
            target: "/mnt/ctx".into(),
            kind: MountKind::Bind {
                source: src.clone(),
                readonly: true,
            },
            remove_created: true,
        },
        Mount {
            target: "/scratch".into(),
            kind: MountKind::Tmpfs { size: None },
            remove_created: true,
        },
    ];
    let (code, out) = run(&spec);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("from context\n"), "{out}");
    assert!(out.contains("readonly"), "{out}");
    assert!(!src.join("g").exists());
    let upper = s.base.join("upper");
    assert!(
        !upper.join("mnt").exists() && !upper.join("scratch").exists(),
        "mount points leaked"
    );
}
