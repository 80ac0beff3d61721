//! The layer cache as docker users expect it: which steps print `Using cache` after which
//! change, explanations of misses, concurrency, and damaged or interrupted caches.

mod common;

use common::build_env::{built_id, cached, file_text, steps, write, BuildEnv};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

const APP: &str = "FROM BASE
WORKDIR /app
COPY requirements.txt .
RUN cat requirements.txt > /installed && echo installing
COPY . /app
RUN cat /app/app.py
";

fn app(env: &BuildEnv, name: &str) -> std::path::PathBuf {
    let ctx = env.context(
        name,
        APP,
        &[
            ("requirements.txt", "flask==3.0\n"),
            ("app.py", "print('hello')\n"),
            ("static/style.css", "body {}\n"),
        ],
    );
    write(&ctx, ".dockerignore", "*.log\n");
    write(&ctx, "debug.log", "one\n");
    ctx
}

#[test]
fn the_rules_of_the_layer_cache() {
    let env = BuildEnv::new();
    let ctx = app(&env, "app");

    let first = env.build_ok(&ctx, "app:1", &[]);
    assert!(
        steps(&first.stdout).iter().all(|(_, c)| !c),
        "{}",
        first.stdout
    );
    let id = built_id(&first.stdout);

    // Nothing changed: every step after FROM is cached, and the image is the same.
    let again = env.build_ok(&ctx, "app:1", &[]);
    for (text, c) in steps(&again.stdout).iter().skip(1) {
        assert!(c, "{text} not cached:\n{}", again.stdout);
    }
    assert_eq!(built_id(&again.stdout), id);

    // touch only: times never go into a key.
    let t = filetime::FileTime::from_unix_time(1_800_000_000, 0);
    filetime::set_file_mtime(ctx.join("app.py"), t).unwrap();
    filetime::set_file_mtime(ctx.join("requirements.txt"), t).unwrap();
    let touched = env.build_ok(&ctx, "app:1", &[]);
    assert_eq!(built_id(&touched.stdout), id, "{}", touched.stdout);

    // A file that .dockerignore excludes changes: no miss.
    write(&ctx, "debug.log", "two\n");
    let ignored = env.build_ok(&ctx, "app:1", &[]);
    assert_eq!(built_id(&ignored.stdout), id, "{}", ignored.stdout);

    // app.py changes: everything before `COPY . /app` is cached, it and what follows are not.
    write(&ctx, "app.py", "print('changed')\n");
    let edit = env.build_ok(&ctx, "app:1", &["--explain-cache"]);
    let out = &edit.stdout;
    assert!(cached(out, "WORKDIR"), "{out}");
    assert!(cached(out, "COPY requirements.txt"), "{out}");
    assert!(cached(out, "RUN cat requirements.txt"), "{out}");
    assert!(!cached(out, "COPY . /app"), "{out}");
    assert!(!cached(out, "RUN cat /app/app.py"), "{out}");
    assert!(out.contains("changed"), "{out}");
    assert!(
        out.contains(" ---> Cache miss: the copied files changed: changed app.py (content)"),
        "{out}"
    );

    // requirements.txt changes: the install step runs again.
    write(&ctx, "requirements.txt", "flask==3.1\n");
    let req = env.build_ok(&ctx, "app:1", &[]);
    assert!(cached(&req.stdout, "WORKDIR"), "{}", req.stdout);
    assert!(
        !cached(&req.stdout, "COPY requirements.txt"),
        "{}",
        req.stdout
    );
    assert!(
        !cached(&req.stdout, "RUN cat requirements.txt"),
        "{}",
        req.stdout
    );
    assert!(req.stdout.contains("installing"), "{}", req.stdout);

    // chmod +x on a copied file: that COPY misses, and the explanation names the mode.
    let p = ctx.join("app.py");
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    let chmod = env.build_ok(&ctx, "app:1", &["--explain-cache"]);
    assert!(
        cached(&chmod.stdout, "RUN cat requirements.txt"),
        "{}",
        chmod.stdout
    );
    assert!(!cached(&chmod.stdout, "COPY . /app"), "{}", chmod.stdout);
    assert!(
        chmod.stdout.contains("app.py (mode 0644 → 0755)"),
        "{}",
        chmod.stdout
    );

    // --no-cache runs everything; the next build hits again.
    let nc = env.build_ok(&ctx, "app:1", &["--no-cache"]);
    assert!(!nc.stdout.contains("Using cache"), "{}", nc.stdout);
    let after = env.build_ok(&ctx, "app:1", &[]);
    assert!(
        cached(&after.stdout, "RUN cat /app/app.py"),
        "{}",
        after.stdout
    );
}

#[test]
fn build_args_and_stages() {
    let env = BuildEnv::new();
    let ctx = env.context(
        "args",
        "FROM BASE AS one
ARG V=default
RUN echo first
RUN echo value=$V > /v
FROM BASE AS two
RUN echo two > /two
FROM BASE
COPY --from=one /v /v
COPY --from=two /two /two
",
        &[],
    );
    env.build_ok(&ctx, "args:1", &["--build-arg", "V=1"]);
    // Same value: all cached. An unused build arg: no miss, and a warning.
    let same = env.build_ok(
        &ctx,
        "args:1",
        &["--build-arg", "V=1", "--build-arg", "UNUSED=x"],
    );
    assert!(!same.stdout.contains(" ---> Ran in"), "{}", same.stdout);
    assert!(same.all().contains("UNUSED"), "{}", same.all());
    // The arg a RUN sees changes: the RUNs after the ARG miss (both see it in their
    // environment, as BuildKit gives ARGs to every RUN), the explanation names it, and
    // stage `two` stays cached.
    let changed = env.build_ok(&ctx, "args:1", &["--build-arg", "V=2", "--explain-cache"]);
    let out = &changed.stdout;
    assert!(!cached(out, "RUN echo first"), "{out}");
    assert!(!cached(out, "RUN echo value"), "{out}");
    assert!(cached(out, "RUN echo two"), "{out}");
    assert!(!cached(out, "COPY --from=one"), "{out}");
    assert!(out.contains(r#"V="1" → V="2""#), "{out}");
    // --no-cache-filter: only that stage runs again.
    let f = env.build_ok(
        &ctx,
        "args:1",
        &["--build-arg", "V=2", "--no-cache-filter", "two"],
    );
    assert!(cached(&f.stdout, "RUN echo value"), "{}", f.stdout);
    assert!(!cached(&f.stdout, "RUN echo two"), "{}", f.stdout);
}

#[test]
fn dockerfiles_that_share_a_prefix_share_the_cache() {
    let env = BuildEnv::new();
    let a = env.context("a", "FROM BASE\nRUN echo shared > /s\nRUN echo a\n", &[]);
    let b = env.context("b", "FROM BASE\nRUN echo shared > /s\nRUN echo b\n", &[]);
    env.build_ok(&a, "a:1", &[]);
    let rb = env.build_ok(&b, "b:1", &[]);
    assert!(cached(&rb.stdout, "RUN echo shared"), "{}", rb.stdout);
    assert!(!cached(&rb.stdout, "RUN echo b"), "{}", rb.stdout);
}

#[test]
fn concurrent_builds_agree() {
    let env = BuildEnv::new();
    let ctx = env.context(
        "conc",
        "FROM BASE\nCOPY f /f\nRUN sleep 1 && cat /f > /g\nRUN echo done\n",
        &[("f", "content\n")],
    );
    // Pull first so that both builds race on the steps, not on the pull.
    let pull = env.kiln(&["pull", &env.base()]);
    assert_eq!(pull.code, 0, "{}", pull.all());
    let (r1, r2) = std::thread::scope(|s| {
        let h1 = s.spawn(|| env.build_ok(&ctx, "conc:1", &[]));
        let h2 = s.spawn(|| env.build_ok(&ctx, "conc:2", &[]));
        (h1.join().unwrap(), h2.join().unwrap())
    });
    assert_eq!(built_id(&r1.stdout), built_id(&r2.stdout));
    // Each step was made once: one of the builds used the other's result.
    let ran = |s: &str| s.matches(" ---> Ran in").count();
    assert_eq!(
        ran(&r1.stdout) + ran(&r2.stdout),
        3,
        "{}\n{}",
        r1.stdout,
        r2.stdout
    );
}

/// Every cache entry's layers exist in the store (what a killed build must not break).
fn entries_complete(store: &Path) -> usize {
    let mut n = 0;
    for e in std::fs::read_dir(store.join("cache/entries")).unwrap() {
        let e = e.unwrap();
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(e.path()).unwrap()).unwrap();
        for l in v["change"]["layers"].as_array().into_iter().flatten() {
            let d = l["digest"].as_str().unwrap();
            let hex = d.strip_prefix("sha256:").unwrap();
            assert!(
                store.join("blobs/sha256").join(hex).exists(),
                "entry {:?} names missing blob {d}",
                e.path()
            );
        }
        n += 1;
    }
    n
}

#[test]
fn damaged_and_interrupted_caches() {
    let env = BuildEnv::new();
    let ctx = env.context(
        "dmg",
        "FROM BASE\nRUN echo one > /one\nRUN echo two > /two\n",
        &[],
    );
    env.build_ok(&ctx, "dmg:1", &[]);
    // Remove the layer blob of the first RUN: its entry no longer verifies, the step runs
    // again, and the entry is repaired.
    let store = env.store();
    let mut removed = 0;
    for e in std::fs::read_dir(store.join("cache/entries")).unwrap() {
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(e.unwrap().path()).unwrap()).unwrap();
        if v["text"].as_str() == Some("RUN echo one > /one") {
            let d = v["change"]["layers"].as_array().unwrap().last().unwrap()["digest"]
                .as_str()
                .unwrap()
                .to_string();
            std::fs::remove_file(
                store
                    .join("blobs/sha256")
                    .join(d.strip_prefix("sha256:").unwrap()),
            )
            .unwrap();
            removed += 1;
        }
    }
    assert_eq!(removed, 1);
    let repaired = env.build_ok(&ctx, "dmg:1", &[]);
    assert!(
        !cached(&repaired.stdout, "RUN echo one"),
        "{}",
        repaired.stdout
    );
    let third = env.build_ok(&ctx, "dmg:1", &[]);
    assert!(cached(&third.stdout, "RUN echo one"), "{}", third.stdout);
    assert!(cached(&third.stdout, "RUN echo two"), "{}", third.stdout);

    // A build killed in the middle of a step leaves no entry for that step, and no entry
    // that names missing data; the next build completes.
    let slow = env.context(
        "slow",
        "FROM BASE\nRUN echo before > /b\nRUN sleep 30 && echo never > /n\n",
        &[],
    );
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("kiln"))
        .arg("--root")
        .arg(&store)
        .args(["build", "--progress", "plain", "-t", "slow:1"])
        .arg(&slow)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 256];
    while !String::from_utf8_lossy(&seen).contains("RUN sleep 30") {
        use std::io::Read;
        let n = out.read(&mut buf).unwrap();
        assert!(
            n > 0,
            "build ended early: {}",
            String::from_utf8_lossy(&seen)
        );
        seen.extend_from_slice(&buf[..n]);
    }
    std::thread::sleep(std::time::Duration::from_millis(500));
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(entries_complete(&store) >= 3);
    let fixed = env.context(
        "slow",
        "FROM BASE\nRUN echo before > /b\nRUN echo quick > /n\n",
        &[],
    );
    let done = env.build_ok(&fixed, "slow:1", &[]);
    assert!(cached(&done.stdout, "RUN echo before"), "{}", done.stdout);
    entries_complete(&store);
}

#[test]
fn cache_mounts_persist_and_stay_out_of_layers() {
    let env = BuildEnv::new();
    let ctx = env.context(
        "cm",
        "FROM BASE\nRUN --mount=type=cache,target=/c echo x >> /c/count && wc -l < /c/count > /seen\n",
        &[],
    );
    env.build_ok(&ctx, "cm:1", &[]);
    env.build_ok(&ctx, "cm:1", &["--no-cache"]);
    let names = env.image_files("cm:1");
    let seen = common::build_env::file_text(&names, "seen");
    assert_eq!(seen.as_deref(), Some("2\n"), "{names:?}");
    assert!(
        !names.iter().any(|(n, _)| n.starts_with("c/") || n == "c"),
        "cache mount contents leaked into a layer: {names:?}"
    );
}

#[test]
fn pruning_the_cache() {
    let env = BuildEnv::new();
    let ctx = env.context(
        "pr",
        "FROM BASE\nRUN --mount=type=cache,target=/c echo x > /c/f && echo one > /one\nRUN echo two > /two\n",
        &[],
    );
    env.build_ok(&ctx, "pr:1", &[]);
    let df = env.kiln(&["system", "df"]);
    assert_eq!(df.code, 0, "{}", df.all());
    let line = |name: &str| {
        df.stdout
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} in {}", df.stdout))
            .split_whitespace()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(line("Build Cache")[2], "2", "{}", df.stdout); // 2 entries (RUN, RUN)
    assert_eq!(line("Cache mounts")[2], "1", "{}", df.stdout);

    // Entries that the tagged image was built from are not dangling: kept, still hit.
    let recent = env.kiln(&["builder", "prune", "-f", "--filter", "until=24h"]);
    assert_eq!(recent.code, 0, "{}", recent.all());
    let p = env.kiln(&["builder", "prune", "-f"]);
    assert_eq!(p.code, 0, "{}", p.all());
    assert!(cached(
        &env.build_ok(&ctx, "pr:1", &[]).stdout,
        "RUN echo two"
    ));

    // Without the image, `image prune` keeps the layers the cache holds...
    assert_eq!(env.kiln(&["rmi", "pr:1"]).code, 0);
    assert_eq!(env.kiln(&["image", "prune", "-f"]).code, 0);
    let r = env.build_ok(&ctx, "pr:1", &[]);
    assert!(cached(&r.stdout, "RUN echo two"), "{}", r.stdout);
    // ...and `builder prune --all` removes them: everything runs again.
    assert_eq!(env.kiln(&["rmi", "pr:1"]).code, 0);
    let all = env.kiln(&["builder", "prune", "--all", "-f"]);
    assert_eq!(all.code, 0, "{}", all.all());
    assert!(all.stdout.contains("Total:"), "{}", all.stdout);
    let entries = std::fs::read_dir(env.store().join("cache/entries"))
        .unwrap()
        .count();
    assert_eq!(entries, 0);
    let again = env.build_ok(&ctx, "pr:1", &[]);
    assert!(!again.stdout.contains("Using cache"), "{}", again.stdout);
    let bad = env.kiln(&["builder", "prune", "--filter", "since=1h"]);
    assert_eq!(bad.code, 1, "{}", bad.all());
}

#[test]
fn pull_re_resolves_the_base() {
    use common::build_env::busybox_layer;
    use common::registry::{build_oci_layout, layer_tar_gz, skopeo};
    let env = BuildEnv::new();
    let ctx = env.context(
        "pull",
        "FROM BASE\nRUN cat /version 2>/dev/null || echo none\n",
        &[],
    );
    env.build_ok(&ctx, "pull:1", &[]);
    // A new image under the same tag in the registry.
    let img = build_oci_layout(
        &env.tmp.path().join("base2"),
        "amd64",
        &[
            busybox_layer(),
            layer_tar_gz(&[("version", b"2\n".to_vec())]),
        ],
        "1",
    );
    skopeo(&[
        "copy",
        "--dest-tls-verify=false",
        &format!("oci:{}:1", img.dir.display()),
        &format!("docker://{}", env.base()),
    ]);
    // Without --pull the stored base is used: all cached.
    let same = env.build_ok(&ctx, "pull:1", &[]);
    assert!(cached(&same.stdout, "RUN cat /version"), "{}", same.stdout);
    // With --pull the new base is fetched and the step runs on it.
    let pulled = env.build_ok(&ctx, "pull:1", &["--pull", "--explain-cache"]);
    assert!(
        !cached(&pulled.stdout, "RUN cat /version"),
        "{}",
        pulled.stdout
    );
    assert!(pulled.stdout.contains("\n2\n"), "{}", pulled.stdout);
    assert!(
        pulled.stdout.contains("a new or changed base image"),
        "{}",
        pulled.stdout
    );
}

#[test]
fn cache_mount_sharing_modes() {
    let env = BuildEnv::new();
    assert_eq!(env.kiln(&["pull", &env.base()]).code, 0);
    // Two different steps (so that their cache keys differ and both run) that each claim the
    // cache mount for a second: with sharing=locked they take turns, so neither sees the
    // other's claim.
    let step = |who: &str| {
        format!(
            "FROM BASE\nRUN --mount=type=cache,id=shared-c,target=/c,sharing=locked \
             test ! -e /c/busy && touch /c/busy && echo {who} && sleep 1 && rm /c/busy\n"
        )
    };
    let a = env.context("lock-a", &step("a"), &[]);
    let b = env.context("lock-b", &step("b"), &[]);
    std::thread::scope(|s| {
        let h1 = s.spawn(|| env.build_ok(&a, "lock:a", &[]));
        let h2 = s.spawn(|| env.build_ok(&b, "lock:b", &[]));
        h1.join().unwrap();
        h2.join().unwrap();
    });
    // sharing=private: a build that finds the cache in use gets its own, empty one.
    let p = env.context(
        "private",
        "FROM BASE\nRUN --mount=type=cache,id=priv-c,target=/c,sharing=private \
         touch /c/mine && ls /c | wc -l > /count\n",
        &[],
    );
    env.build_ok(&p, "priv:1", &[]);
    let files = env.image_files("priv:1");
    assert_eq!(
        common::build_env::file_text(&files, "count").as_deref(),
        Some("1\n")
    );
}

/// Serves one body (changeable) at every path on a loopback port and counts the requests.
struct CountingServer {
    port: u16,
    body: std::sync::Arc<std::sync::Mutex<String>>,
    hits: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl CountingServer {
    fn start(body: &str) -> CountingServer {
        use std::io::{BufRead, Write};
        use std::sync::atomic::Ordering;
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let body = std::sync::Arc::new(std::sync::Mutex::new(body.to_string()));
        let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (b, h, s) = (body.clone(), hits.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            for conn in l.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(mut conn) = conn else { continue };
                let mut r = std::io::BufReader::new(conn.try_clone().unwrap());
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                }
                h.fetch_add(1, Ordering::SeqCst);
                let text = b.lock().unwrap().clone();
                let _ = write!(
                    conn,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\
                     Last-Modified: Wed, 21 Oct 2015 07:28:00 GMT\r\n\r\n{text}",
                    text.len()
                );
            }
        });
        CountingServer {
            port,
            body,
            hits,
            stop,
            thread: Some(thread),
        }
    }

    fn hits(&self) -> usize {
        self.hits.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl Drop for CountingServer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let _ = std::net::TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// ADD of a URL is keyed by what it serves: each build downloads it once, for the key, and a
/// step that runs copies that download instead of fetching it again.
#[test]
fn add_url_is_keyed_by_content_and_downloaded_once_per_build() {
    let env = BuildEnv::new();
    let server = CountingServer::start("first\n");
    let url = format!("http://127.0.0.1:{}/files/data.txt", server.port);
    let ctx = env.context(
        "addurl",
        &format!("FROM BASE\nADD {url} /data.txt\nRUN cat /data.txt > /seen\n"),
        &[],
    );
    let first = env.build_ok(&ctx, "addurl:1", &[]);
    assert_eq!(server.hits(), 1, "{}", first.stdout);
    let files = env.image_files("addurl:1");
    assert_eq!(file_text(&files, "seen").as_deref(), Some("first\n"));

    let again = env.build_ok(&ctx, "addurl:1", &[]);
    assert_eq!(server.hits(), 2);
    assert!(cached(&again.stdout, "ADD "), "{}", again.stdout);

    *server.body.lock().unwrap() = "second\n".to_string();
    let changed = env.build_ok(&ctx, "addurl:1", &[]);
    assert_eq!(server.hits(), 3, "{}", changed.stdout);
    assert!(!cached(&changed.stdout, "ADD "), "{}", changed.stdout);
    let files = env.image_files("addurl:1");
    assert_eq!(file_text(&files, "seen").as_deref(), Some("second\n"));
}
