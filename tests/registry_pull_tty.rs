//! `kiln pull` and `kiln push` on a real terminal (a tmux pane): each layer keeps one line that
//! changes in place, with docker's bar, byte counts and speed while its blob moves, and its
//! last state after; colour only without `NO_COLOR`. Transfers go through a loopback proxy
//! that slows them down, so the screen is read while they are half-way.
//! Skipped (with a message) where tmux is not installed.

mod common;

use common::big_image::{push_random_image, random_layer, SlowProxy, SEED};
use common::registry::{build_oci_layout, layer_tar_gz, skopeo, Registry, RegistryAuth};
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// A tmux server of our own (its own socket), killed on Drop.
struct Tmux {
    socket: String,
}

impl Tmux {
    /// Runs `script` with sh in a pane `columns` wide; the pane stays after the script ends.
    fn run(script: &Path, columns: u16) -> Tmux {
        let socket = format!("kiln-test-{}", std::process::id());
        let t = Tmux { socket };
        let out = t.cmd(&[
            "new-session",
            "-d",
            "-s",
            "kiln",
            "-x",
            &columns.to_string(),
            "-y",
            "40",
            &format!("sh {}", script.display()),
        ]);
        assert!(
            out.status.success(),
            "tmux new-session: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        t
    }

    fn cmd(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .arg("-f")
            .arg("/dev/null")
            .args(args)
            .output()
            .expect("running tmux")
    }

    /// The pane's text with the colour and attribute sequences; with `joined`, lines the
    /// terminal wrapped are joined (as a copy would join them).
    fn screen(&self, joined: bool) -> String {
        let mut args = vec!["capture-pane", "-p", "-e", "-t", "kiln"];
        if joined {
            args.push("-J");
        }
        String::from_utf8_lossy(&self.cmd(&args).stdout).into_owned()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]);
    }
}

fn have_tmux() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs `kiln ARGS` in a pane until it exits; returns the screens seen while it ran (read
/// every 20 ms) and the last one, as shown and with wrapped lines joined.
fn run_in_pane(
    dir: &Path,
    columns: u16,
    env: &[(&str, &str)],
    args: &[&str],
) -> (Vec<String>, Screen) {
    let kiln = env!("CARGO_BIN_EXE_kiln");
    let mut script = String::from("unset KILN_INSECURE_REGISTRIES NO_COLOR\n");
    for (k, v) in env {
        script.push_str(&format!("export {k}='{v}'\n"));
    }
    script.push_str(&format!("'{kiln}' {}\n", args.join(" ")));
    script.push_str("echo \"[exit $?]\"\nexec sleep 600\n");
    let path = dir.join(format!("run-{}.sh", args[0]));
    std::fs::write(&path, script).unwrap();
    let tmux = Tmux::run(&path, columns);
    let deadline = Instant::now() + Duration::from_secs(180);
    let mut seen = Vec::new();
    loop {
        let s = tmux.screen(false);
        if s.contains("[exit ") {
            break;
        }
        assert!(Instant::now() < deadline, "kiln did not finish:\n{s}");
        seen.push(s);
        std::thread::sleep(Duration::from_millis(20));
    }
    let last = Screen {
        shown: tmux.screen(false),
        joined: tmux.screen(true),
    };
    (seen, last)
}

/// A pane's last screen.
struct Screen {
    shown: String,
    joined: String,
}

/// The screen's lines without trailing blanks and escape sequences, up to the last that is
/// not empty (an empty line among them stays: the display must not leave one).
fn lines(screen: &str) -> Vec<String> {
    let esc = regex::Regex::new("\x1b\\[[0-9;]*m").unwrap();
    let mut out: Vec<String> = esc
        .replace_all(screen, "")
        .lines()
        .map(|l| l.trim_end().to_string())
        .collect();
    while out.last().is_some_and(|l| l.is_empty()) {
        out.pop();
    }
    out
}

/// A bar line: `<id>: <verb> [<50 columns>] <done>/<total>  <speed>/s`; on a narrow terminal
/// the same without the bar.
fn bar_line(id: &str, verb: &str) -> regex::Regex {
    regex::Regex::new(&format!(
        r"^{id}: {verb} (?:\[(=*>? *)\])? +[0-9.]+[kMG]?B/[0-9.]+MB  [0-9.]+[kMG]?B/s$"
    ))
    .unwrap()
}

/// Progress lines met in `screens`; bars are checked to be 50 columns wide, and to be there
/// or not as `with_bar` says.
fn bars_seen(screens: &[String], re: &regex::Regex, with_bar: bool) -> Vec<String> {
    let mut out = Vec::new();
    for s in screens {
        for l in lines(s) {
            if let Some(c) = re.captures(&l) {
                match c.get(1) {
                    Some(bar) => {
                        assert!(with_bar, "a bar on a narrow terminal: {l}");
                        assert_eq!(bar.as_str().len(), 50, "bar not 50 columns: {l}");
                    }
                    None => assert!(!with_bar, "no bar on a wide terminal: {l}"),
                }
                out.push(l);
            }
        }
    }
    out
}

#[test]
fn pull_and_push_draw_bars_on_a_terminal() {
    if !have_tmux() {
        eprintln!("SKIPPED: tmux is not installed (apt-get install tmux); the terminal display is untested");
        return;
    }
    let reg = Registry::start(RegistryAuth::None);
    let other = Registry::start(RegistryAuth::None);
    let tmp = tempfile::tempdir().unwrap();
    let (_, img) = push_random_image(&reg, &tmp.path().join("layout"), "tty/big", "1", 50 << 20);
    let short = img.layers[0].digest.short().to_string();
    // 50 MiB at 25 MB/s: about two seconds on screen.
    let proxy = SlowProxy::start(reg.port, 25_000_000);
    let name = format!("{}/tty/big:1", proxy.host());
    let root = tmp.path().join("store");
    let cfg = tmp.path().join("docker");
    let root_s = root.display().to_string();
    let cfg_s = cfg.display().to_string();

    // Pull, without colour.
    let (during, last) = run_in_pane(
        tmp.path(),
        150,
        &[("DOCKER_CONFIG", &cfg_s), ("NO_COLOR", "1")],
        &["--root", &root_s, "pull", &name],
    );
    let bars = bars_seen(&during, &bar_line(&short, "Downloading"), true);
    assert!(
        !bars.is_empty(),
        "no Downloading bar seen; last screen while running:\n{}",
        during.last().map_or("", String::as_str)
    );
    let last = last.joined;
    assert!(!last.contains('\x1b'), "colour despite NO_COLOR:\n{last:?}");
    let end = lines(&last);
    assert_eq!(
        end,
        [
            "1: Pulling from tty/big".to_string(),
            format!("{short}: Pull complete"),
            format!("Digest: {}", img.manifest_digest),
            format!("Status: Downloaded newer image for {name}"),
            name.clone(),
            "[exit 0]".to_string(),
        ],
        "screen after the pull:\n{last}"
    );
    let re = bar_line(&short, "Downloading");
    let with_bar: Vec<&String> = during
        .iter()
        .filter(|s| lines(s).iter().any(|l| re.is_match(l)))
        .collect();
    let mid = with_bar[with_bar.len() / 2];
    eprintln!(
        "--- during the pull ---\n{}\n--- after ---\n{}",
        lines(mid).join("\n"),
        end.join("\n")
    );

    // Push to another registry, in colour, on a terminal too narrow for a bar: chunks go up
    // with a Pushing line.
    let oproxy = SlowProxy::start(other.port, 25_000_000);
    let far = format!("{}/tty/far:2", oproxy.host());
    let st = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(["--root", &root_s, "tag", &name, &far])
        .status()
        .unwrap();
    assert!(st.success());
    let (during, last) = run_in_pane(
        tmp.path(),
        80,
        &[("DOCKER_CONFIG", &cfg_s)],
        &["--root", &root_s, "push", &far],
    );
    let bars = bars_seen(&during, &bar_line(&short, "Pushing"), false);
    assert!(
        !bars.is_empty(),
        "no Pushing bar seen; last screen while running:\n{}",
        during.last().map_or("", String::as_str)
    );
    // The layer's last state is drawn in colour (green).
    let last = last.joined;
    assert!(
        last.contains("\x1b[32mPushed"),
        "no coloured final state:\n{last:?}"
    );
    let end = lines(&last);
    assert_eq!(
        end,
        [
            format!("The push refers to repository [{}/tty/far]", oproxy.host()),
            format!("{short}: Pushed"),
            format!(
                "2: digest: {} size: {}",
                img.manifest_digest,
                img.manifest_bytes.len()
            ),
            "[exit 0]".to_string(),
        ],
        "screen after the push:\n{last}"
    );
    eprintln!(
        "--- during the push ---\n{}\n--- after ---\n{}",
        bars.last().unwrap(),
        end.join("\n")
    );

    // An image sharing the big layer, plus a small one: a line for each, in manifest order.
    let img2 = build_oci_layout(
        &tmp.path().join("layout2"),
        "amd64",
        &[
            random_layer(50 << 20, SEED),
            layer_tar_gz(&[("small.txt", b"small".to_vec())]),
        ],
        "2",
    );
    assert_eq!(img2.layers[0].digest, img.layers[0].digest);
    skopeo(&[
        "copy",
        "--dest-tls-verify=false",
        &format!("oci:{}:2", img2.dir.display()),
        &format!("docker://{}/tty/big:2", reg.host()),
    ]);
    let name2 = format!("{}/tty/big:2", proxy.host());
    let (_, last) = run_in_pane(
        tmp.path(),
        150,
        &[("DOCKER_CONFIG", &cfg_s), ("NO_COLOR", "1")],
        &["--root", &root_s, "pull", &name2],
    );
    assert_eq!(
        lines(&last.shown),
        [
            "2: Pulling from tty/big".to_string(),
            format!("{short}: Already exists"),
            format!("{}: Pull complete", img2.layers[1].digest.short()),
            format!("Digest: {}", img2.manifest_digest),
            format!("Status: Downloaded newer image for {name2}"),
            name2.clone(),
            "[exit 0]".to_string(),
        ],
        "screen after the second pull:\n{}",
        last.shown
    );
}
