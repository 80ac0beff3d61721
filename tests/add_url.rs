//! ADD of URLs against a small HTTP server on 127.0.0.1, and the git-URL refusal.

mod copy_support;

use copy_support::{add, env};
use kiln::build::copy::CopyError;
use sha2::{Digest, Sha256};
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

const LAST_MODIFIED: &str = "Wed, 21 Oct 2015 07:28:00 GMT";
const LAST_MODIFIED_SECS: i64 = 1_445_412_480;
const BODY: &[u8] = b"downloaded content\n";

/// Serves fixed answers until dropped; the guard stops and joins the thread.
struct Server {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

fn gz_tar() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(3);
    h.set_mode(0o644);
    b.append_data(&mut h, "inner.txt", &b"abc"[..]).unwrap();
    let mut w = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    w.write_all(&b.into_inner().unwrap()).unwrap();
    w.finish().unwrap()
}

fn answer(path: &str) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let lm = ("Last-Modified".to_string(), LAST_MODIFIED.to_string());
    match path {
        "/files/data.bin" | "/" | "/files/with%20space.txt" => (200, vec![lm], BODY.to_vec()),
        "/nolm" => (200, vec![], BODY.to_vec()),
        "/archive.tar.gz" => (200, vec![lm], gz_tar()),
        _ => (404, vec![], b"not found".to_vec()),
    }
}

fn serve(mut s: TcpStream) {
    let mut r = BufReader::new(s.try_clone().unwrap());
    let mut line = String::new();
    if r.read_line(&mut line).is_err() {
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    loop {
        let mut h = String::new();
        if r.read_line(&mut h).is_err() || h == "\r\n" || h.is_empty() {
            break;
        }
    }
    let (code, headers, body) = answer(&path);
    let mut resp = format!(
        "HTTP/1.1 {code} X\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        resp.push_str(&format!("{k}: {v}\r\n"));
    }
    resp.push_str("\r\n");
    let _ = s.write_all(resp.as_bytes());
    let _ = s.write_all(&body);
}

impl Server {
    fn start() -> Server {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            for conn in l.incoming() {
                if flag.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(s) = conn {
                    serve(s);
                }
            }
        });
        Server {
            port,
            stop,
            thread: Some(thread),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn sha(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

#[test]
fn downloads_into_a_directory_with_mode_0600_and_last_modified() {
    let srv = Server::start();
    let e = env();
    let s = e.copy(&add(&srv.url("/files/data.bin"), "/dl/")).unwrap();
    assert_eq!((s.files, s.bytes), (1, BODY.len() as u64));
    let p = e.at("/dl/data.bin");
    assert_eq!(fs::read(&p).unwrap(), BODY);
    let m = fs::metadata(&p).unwrap();
    assert_eq!(m.mode() & 0o7777, 0o600);
    assert_eq!((m.uid(), m.gid()), (0, 0));
    assert_eq!(m.mtime(), LAST_MODIFIED_SECS);
    assert_eq!(fs::metadata(e.at("/dl")).unwrap().mode() & 0o7777, 0o755);
}

#[test]
fn file_destinations_names_and_missing_last_modified() {
    let srv = Server::start();
    let e = env();
    e.copy(&add(&srv.url("/nolm"), "/named.bin")).unwrap();
    let m = fs::metadata(e.at("/named.bin")).unwrap();
    assert_eq!(fs::read(e.at("/named.bin")).unwrap(), BODY);
    // No Last-Modified: the time of the download.
    let now = chrono::Utc::now().timestamp();
    assert!((now - m.mtime()).abs() < 300, "{}", m.mtime());
    e.copy(&add(&srv.url("/"), "/root-url/")).unwrap();
    assert!(e.at("/root-url/__unnamed__").is_file());
    e.copy(&add(&srv.url("/files/with%20space.txt"), "/sp/"))
        .unwrap();
    assert!(e.at("/sp/with space.txt").is_file());
    fs::create_dir(e.at("/existing")).unwrap();
    e.copy(&add(&srv.url("/files/data.bin"), "/existing"))
        .unwrap();
    assert!(e.at("/existing/data.bin").is_file());
}

#[test]
fn remote_archives_are_not_extracted() {
    let srv = Server::start();
    let e = env();
    e.copy(&add(&srv.url("/archive.tar.gz"), "/r/")).unwrap();
    assert_eq!(fs::read(e.at("/r/archive.tar.gz")).unwrap(), gz_tar());
    assert!(!e.at("/r/inner.txt").exists());
}

#[test]
fn chown_and_chmod_apply_to_downloads() {
    let srv = Server::start();
    let e = env();
    let mut r = add(&srv.url("/files/data.bin"), "/o/");
    r.chown = Some("app".into());
    r.chmod = Some("644".into());
    e.copy(&r).unwrap();
    let m = fs::metadata(e.at("/o/data.bin")).unwrap();
    assert_eq!((m.uid(), m.gid(), m.mode() & 0o7777), (1000, 1000, 0o644));
    assert_eq!(fs::metadata(e.at("/o")).unwrap().uid(), 1000);
}

#[test]
fn checksum_is_verified() {
    let srv = Server::start();
    let e = env();
    let mut r = add(&srv.url("/files/data.bin"), "/ok/");
    r.checksum = Some(sha(BODY));
    e.copy(&r).unwrap();
    assert!(e.at("/ok/data.bin").is_file());
    let wrong = format!("sha256:{}", "ab".repeat(32));
    let mut r = add(&srv.url("/files/data.bin"), "/bad/");
    r.checksum = Some(wrong.clone());
    let err = e.copy(&r).unwrap_err();
    assert!(matches!(err, CopyError::Checksum { .. }));
    let msg = err.to_string();
    assert!(msg.contains(&wrong), "{msg}");
    assert!(msg.contains(&sha(BODY)), "{msg}");
    assert!(!e.at("/bad").exists());
    let mut r = add(&srv.url("/files/data.bin"), "/bad/");
    r.checksum = Some("md5:abc".into());
    assert!(e.copy(&r).unwrap_err().to_string().contains("--checksum"));
    // A checksum on a local source is refused.
    fs::write(e.ctx.join("local"), "x").unwrap();
    let mut r = add("local", "/l");
    r.checksum = Some(sha(b"x"));
    assert!(e
        .copy(&r)
        .unwrap_err()
        .to_string()
        .contains("non-HTTP(S) sources"));
}

#[test]
fn http_errors_are_reported() {
    let srv = Server::start();
    let e = env();
    let err = e
        .copy(&add(&srv.url("/nope"), "/n/"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("404"), "{err}");
    assert!(err.contains("/nope"), "{err}");
    assert!(!e.at("/n").exists());
}

#[test]
fn git_sources_are_not_supported() {
    let e = env();
    for u in [
        "git@github.com:owner/repo.git",
        "https://example.invalid/owner/repo.git",
        "https://example.invalid/owner/repo.git#main",
        "git://example.invalid/repo",
    ] {
        let err = e.copy(&add(u, "/src/")).unwrap_err().to_string();
        assert!(err.contains("not supported"), "{u}: {err}");
    }
    let mut r = add("git@github.com:owner/repo.git", "/src/");
    r.keep_git_dir = true;
    assert!(e
        .copy(&r)
        .unwrap_err()
        .to_string()
        .contains("not supported"));
    fs::write(e.ctx.join("f"), "f").unwrap();
    let mut r = add("f", "/f");
    r.keep_git_dir = true;
    assert!(e
        .copy(&r)
        .unwrap_err()
        .to_string()
        .contains("--keep-git-dir"));
}

#[test]
fn mixed_local_and_remote_sources_into_one_directory() {
    let srv = Server::start();
    let e = env();
    fs::write(e.ctx.join("local.txt"), "local").unwrap();
    let mut r = add("local.txt", "/mix/");
    r.sources.push(srv.url("/files/data.bin"));
    e.copy(&r).unwrap();
    assert!(e.at("/mix/local.txt").is_file());
    assert!(e.at("/mix/data.bin").is_file());
    r.dest = "/mix-file".into();
    assert!(e
        .copy(&r)
        .unwrap_err()
        .to_string()
        .contains("more than one source"));
}
