//! `kiln run` end to end: a busybox image put in a store through its API, run through the
//! kiln binary in the real sandbox.

mod common_store;

use common_store::{base_layer, manifest_json, Entry, Env};
use kiln::store::{LayerBlob, Store};
use std::process::Output;

/// `test/run:1`: the shared base layer plus /srv, an image Env, WorkingDir,
/// Entrypoint-less Cmd; `test/entry:1` the same files with an Entrypoint.
fn add_images(store: &Store) {
    let layer = base_layer(vec![
        Entry::File("etc/not-a-program", b"data\n", 0o644),
        Entry::Dir("srv"),
    ]);
    let rec = store.put_layer_tar(&layer[..]).unwrap();
    let blob: &LayerBlob = rec.uncompressed().unwrap();
    let layer = (blob.media_type.clone(), blob.digest.clone(), blob.size);
    for (name, config) in [
        (
            "docker.io/test/run:1",
            serde_json::json!({
                "Env": ["PATH=/bin", "FROM_IMAGE=image", "OVERRIDDEN=image"],
                "Cmd": ["echo", "default command"],
                "WorkingDir": "/srv",
            }),
        ),
        (
            "docker.io/test/entry:1",
            serde_json::json!({
                "Env": ["PATH=/bin"],
                "Entrypoint": ["echo", "entry"],
                "Cmd": ["image-cmd"],
            }),
        ),
    ] {
        let config = serde_json::to_vec(&serde_json::json!({
            "architecture": "amd64",
            "os": "linux",
            "config": config,
            "rootfs": {"type": "layers", "diff_ids": [rec.diff_id]},
        }))
        .unwrap();
        let cd = store.put_blob(&config, None).unwrap();
        let manifest = manifest_json((&cd, config.len() as u64), std::slice::from_ref(&layer));
        store.add_image(&manifest, &[name.to_string()]).unwrap();
    }
}

fn env() -> Env {
    let env = Env::new();
    add_images(&env.store());
    env
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Runs `kiln run ARGS`, returning the exit code, stdout and stderr.
fn run(env: &Env, args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["run", "--rm"];
    all.extend_from_slice(args);
    let out: Output = env.kiln(&all);
    (
        out.status.code().unwrap_or(-1),
        text(&out.stdout),
        text(&out.stderr),
    )
}

/// Mount points that mention the store (the overlay and the sandbox's own mounts).
fn store_mounts(env: &Env) -> Vec<String> {
    let root = env.root();
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter(|l| l.contains(root.to_str().unwrap()))
        .map(str::to_string)
        .collect()
}

#[test]
fn exit_codes_pass_through_and_nothing_is_left() {
    let env = env();
    let (code, _, _) = run(&env, &["test/run:1", "sh", "-c", "exit 3"]);
    assert_eq!(code, 3);
    let (code, out, err) = run(&env, &["test/run:1"]);
    assert_eq!((code, out.as_str()), (0, "default command\n"), "{err}");
    let (code, out, err) = run(
        &env,
        &[
            "test/run:1",
            "sh",
            "-c",
            "echo to-out; echo to-err >&2; exit 0",
        ],
    );
    assert_eq!(code, 0);
    assert_eq!(out, "to-out\n");
    assert_eq!(err, "to-err\n");
    // The program never sees a terminal without -t.
    let (_, out, _) = run(
        &env,
        &[
            "test/run:1",
            "sh",
            "-c",
            "[ -t 1 ] && echo tty || echo pipe",
        ],
    );
    assert_eq!(out, "pipe\n");
    assert!(store_mounts(&env).is_empty(), "{:?}", store_mounts(&env));
    let tmp: Vec<_> = std::fs::read_dir(env.root().join("tmp"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(tmp.is_empty(), "work dirs left behind: {tmp:?}");
}

#[test]
fn commands_that_cannot_start() {
    let env = env();
    let (code, _, err) = run(&env, &["test/run:1", "no-such-program"]);
    assert_eq!(code, 127, "{err}");
    assert!(err.contains("executable file not found"), "{err}");
    let (code, _, err) = run(&env, &["test/run:1", "/etc/not-a-program"]);
    assert_eq!(code, 126, "{err}");
    assert!(err.contains("ermission denied"), "{err}");
    let (code, out, err) = run(&env, &["test/no-such-image:1", "true"]);
    assert_eq!(code, 125);
    assert!(out.is_empty());
    assert!(
        err.contains("Unable to find image 'test/no-such-image:1' locally"),
        "{err}"
    );
    let (code, _, err) = run(&env, &["-u", "nobody", "test/run:1", "true"]);
    assert_eq!(code, 125);
    assert!(err.contains("unable to find user nobody"), "{err}");
    let (code, _, err) = run(&env, &["-w", "relative", "test/run:1", "true"]);
    assert_eq!(code, 125);
    assert!(err.contains("needs to be an absolute path"), "{err}");
    assert!(store_mounts(&env).is_empty());
}

#[test]
fn hostname_is_the_short_container_id() {
    let env = env();
    let (code, out, err) = run(
        &env,
        &[
            "test/run:1",
            "sh",
            "-c",
            "hostname; echo $HOSTNAME; cat /etc/hosts",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let mut lines = out.lines();
    let name = lines.next().unwrap().to_string();
    assert_eq!(name.len(), 12, "{out}");
    assert!(name
        .chars()
        .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    assert_eq!(lines.next(), Some(name.as_str()));
    assert!(
        out.lines()
            .any(|l| l.starts_with("127.0.0.1") && l.split_whitespace().any(|w| w == name)),
        "{out}"
    );
    // A new container, a new ID.
    let (_, again, _) = run(&env, &["test/run:1", "hostname"]);
    assert_eq!(again.trim().len(), 12);
    assert_ne!(again.trim(), name);
}

#[test]
fn env_workdir_and_user() {
    let env = env();
    let (code, out, err) = run(
        &env,
        &[
            "-e",
            "OVERRIDDEN=flag",
            "-e",
            "NEW=value with spaces",
            "test/run:1",
            "env",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let vars: Vec<&str> = out.lines().collect();
    for want in [
        "PATH=/bin",
        "FROM_IMAGE=image",
        "OVERRIDDEN=flag",
        "NEW=value with spaces",
        "HOME=/root",
    ] {
        assert!(vars.contains(&want), "{want} missing from {out}");
    }
    assert!(!vars.contains(&"OVERRIDDEN=image"), "{out}");

    let (_, out, _) = run(&env, &["test/run:1", "pwd"]);
    assert_eq!(out, "/srv\n");
    let (_, out, _) = run(&env, &["-w", "/made/for/you", "test/run:1", "pwd"]);
    assert_eq!(out, "/made/for/you\n");

    let (_, out, _) = run(&env, &["test/run:1", "id", "-u"]);
    assert_eq!(out, "0\n");
    let (_, out, err) = run(
        &env,
        &[
            "-u",
            "app",
            "test/run:1",
            "sh",
            "-c",
            "id -u; id -g; echo $HOME",
        ],
    );
    assert_eq!(out, "1000\n1000\n/home/app\n", "{err}");
    let (_, out, _) = run(&env, &["--user", "4242:7", "test/run:1", "id"]);
    assert!(out.starts_with("uid=4242 gid=7"), "{out}");
}

#[test]
fn entrypoint_and_command() {
    let env = env();
    let (_, out, _) = run(&env, &["test/entry:1"]);
    assert_eq!(out, "entry image-cmd\n");
    let (_, out, _) = run(&env, &["test/entry:1", "given", "-n"]);
    assert_eq!(out, "entry given -n\n");
    // --entrypoint drops the image's CMD unless a command is given.
    let (code, out, err) = run(&env, &["--entrypoint", "hostname", "test/entry:1"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim().len(), 12);
    let (_, out, _) = run(
        &env,
        &["--entrypoint", "/bin/echo", "test/entry:1", "x", "y"],
    );
    assert_eq!(out, "x y\n");
    let (_, out, _) = run(
        &env,
        &["--entrypoint", "", "test/entry:1", "echo", "cleared"],
    );
    assert_eq!(out, "cleared\n");
    let (code, _, err) = run(&env, &["--entrypoint", "", "test/entry:1"]);
    assert_eq!(code, 125);
    assert!(err.contains("no command specified"), "{err}");
}

#[test]
fn network_none_and_names() {
    let env = env();
    let (code, out, err) = run(
        &env,
        &["--network", "none", "test/run:1", "ls", "/sys/class/net"],
    );
    assert_eq!((code, out.as_str()), (0, "lo\n"), "{err}");
    let (code, _, _) = run(&env, &["--name", "web-1", "test/run:1", "true"]);
    assert_eq!(code, 0);
    let (code, _, err) = run(&env, &["--name", "bad name", "test/run:1", "true"]);
    assert_eq!(code, 125);
    assert!(err.contains("Invalid container name"), "{err}");
}

#[test]
fn a_signal_to_kiln_ends_the_container_and_kiln_cleans_up() {
    let env = env();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_kiln"))
        .arg("--root")
        .arg(env.root())
        .args([
            "run",
            "--rm",
            "test/run:1",
            "sh",
            "-c",
            "echo started; sleep 60",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 8];
    std::io::Read::read_exact(&mut stdout, &mut first).unwrap();
    assert_eq!(&first, b"started\n");
    let started = std::time::Instant::now();
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    assert_eq!(status.code(), Some(128 + libc::SIGTERM), "{status:?}");
    let tmp: Vec<_> = std::fs::read_dir(env.root().join("tmp"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(tmp.is_empty(), "work dirs left behind: {tmp:?}");
}
