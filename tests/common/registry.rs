//! Real registries for tests: the distribution registry (`/usr/bin/docker-registry`) started on
//! a free loopback port with storage in a temp dir, optionally behind htpasswd or token auth;
//! a token server that signs real JWTs (with `openssl`) for the registry's `token` auth; a
//! loopback proxy that cuts or alters responses to exercise failure handling; and a builder
//! for small OCI image layouts. Every process and thread is stopped on Drop.

use base64::Engine as _;
use kiln::image::digest::Digest;
use kiln::image::oci::{self, Descriptor, Manifest, Platform};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const REGISTRY_BIN: &str = "/usr/bin/docker-registry";

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("binding a loopback port")
}

/// How the registry checks clients.
pub enum RegistryAuth<'a> {
    None,
    Htpasswd { user: &'a str, pass: &'a str },
    Token(&'a TokenServer),
}

/// A running distribution registry, killed (by PID) on Drop.
pub struct Registry {
    pub port: u16,
    pub dir: tempfile::TempDir,
    child: Child,
}

impl Registry {
    pub fn start(auth: RegistryAuth<'_>) -> Registry {
        assert!(
            Path::new(REGISTRY_BIN).exists(),
            "{REGISTRY_BIN} is missing: apt-get install docker-registry (see .ci/run)"
        );
        let mut dir = tempfile::tempdir().expect("temp dir");
        let storage = dir.path().join("storage");
        std::fs::create_dir_all(&storage).unwrap();
        let auth_yaml = match auth {
            RegistryAuth::None => String::new(),
            RegistryAuth::Htpasswd { user, pass } => {
                let out = Command::new("htpasswd")
                    .args(["-Bbn", user, pass])
                    .output()
                    .expect("htpasswd (apache2-utils) is needed");
                assert!(out.status.success(), "htpasswd failed");
                let file = dir.path().join("htpasswd");
                std::fs::write(&file, &out.stdout).unwrap();
                format!(
                    "auth:\n  htpasswd:\n    realm: kiln-test\n    path: {}\n",
                    file.display()
                )
            }
            RegistryAuth::Token(ts) => format!(
                "auth:\n  token:\n    realm: {}\n    service: {}\n    issuer: {}\n    rootcertbundle: {}\n",
                ts.realm(),
                TokenServer::SERVICE,
                TokenServer::ISSUER,
                ts.cert.display()
            ),
        };
        // The port is free when chosen but another process may take it before the registry
        // binds it: then start again on another one.
        for _ in 0..5 {
            let port = free_port();
            let config = format!(
                "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n{auth_yaml}",
                storage.display()
            );
            let config_path = dir.path().join("config.yml");
            std::fs::write(&config_path, config).unwrap();
            let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
            let child = Command::new(REGISTRY_BIN)
                .arg("serve")
                .arg(&config_path)
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .expect("starting docker-registry");
            let mut reg = Registry { port, dir, child };
            match reg.wait_ready() {
                Ok(()) => return reg,
                Err(log) if log.contains("address already in use") => {
                    dir = std::mem::replace(&mut reg.dir, tempfile::tempdir().unwrap());
                }
                Err(log) => panic!("registry did not start on port {port}: {log}"),
            }
        }
        panic!("no free port for the registry after 5 attempts");
    }

    /// Waits for `/v2/` to answer; the registry's log if it exited instead.
    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("exited with {status}: {}", self.log()));
            }
            if let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = s.write_all(b"GET /v2/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
                let mut first = String::new();
                if BufReader::new(s).read_line(&mut first).is_ok() && first.starts_with("HTTP/") {
                    return Ok(());
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!("no answer after 20 s: {}", self.log()))
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// `127.0.0.1:<port>`, the reference domain.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Where the registry keeps a blob's bytes on disk.
    pub fn blob_data_path(&self, digest: &Digest) -> PathBuf {
        let hex = digest.hex();
        self.dir
            .path()
            .join("storage/docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback HTTP server thread, stopped on Drop.
struct Server {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    fn start(handler: Arc<dyn Fn(TcpStream) + Send + Sync>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(conn) = conn else { continue };
                let h = handler.clone();
                std::thread::spawn(move || h(conn));
            }
        });
        Server {
            port,
            stop,
            thread: Some(thread),
        }
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

/// Reads an HTTP message head (through the blank line); returns it and any bytes read past.
fn read_head(s: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = buf.split_off(pos + 4);
            return Some((String::from_utf8_lossy(&buf).into_owned(), rest));
        }
        let n = s.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn header_value<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

fn respond(s: &mut TcpStream, status: &str, extra: &str, body: &str) {
    let _ = write!(
        s,
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n{body}",
        body.len()
    );
    let _ = s.flush();
}

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A token server for the registry's `token` auth: checks Basic credentials and issues
/// RS256 JWTs (signed by `openssl`) carrying the x5c certificate the registry trusts.
/// Anonymous requests get a token with no access, as public token servers do.
pub struct TokenServer {
    server: Server,
    pub cert: PathBuf,
    key: PathBuf,
    _dir: tempfile::TempDir,
    pub requests: Arc<AtomicUsize>,
    /// Scopes asked for, in order.
    pub scopes: Arc<Mutex<Vec<String>>>,
}

impl TokenServer {
    pub const SERVICE: &'static str = "kiln-test-registry";
    pub const ISSUER: &'static str = "kiln-test-token-issuer";

    pub fn start(user: &str, pass: &str) -> TokenServer {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("key.pem");
        let cert = dir.path().join("cert.pem");
        let st = Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            ])
            .args(["-subj", "/CN=kiln-test-token"])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("openssl");
        assert!(st.success(), "openssl req failed");
        let der = Command::new("openssl")
            .args(["x509", "-outform", "DER", "-in"])
            .arg(&cert)
            .output()
            .expect("openssl x509");
        assert!(der.status.success());
        let x5c = base64::engine::general_purpose::STANDARD.encode(&der.stdout);
        let requests = Arc::new(AtomicUsize::new(0));
        let scopes = Arc::new(Mutex::new(Vec::new()));
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
        );
        let (key2, req2, scopes2) = (key.clone(), requests.clone(), scopes.clone());
        let refresh = TokenServer::refresh_token_for(user);
        let server = Server::start(Arc::new(move |mut s: TcpStream| {
            let Some((head, body_start)) = read_head(&mut s) else {
                return;
            };
            req2.fetch_add(1, Ordering::SeqCst);
            let target = head.split_whitespace().nth(1).unwrap_or("/").to_string();
            let url = url::Url::parse(&format!("http://x{target}")).unwrap();
            let mut wanted = Vec::new();
            for (k, v) in url.query_pairs() {
                if k == "scope" {
                    wanted.push(v.to_string());
                }
            }
            // An OAuth refresh-token exchange (identitytoken in config.json).
            let form = if head.starts_with("POST ") {
                let len: usize = header_value(&head, "content-length")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                let mut body = body_start.clone();
                let mut chunk = [0u8; 1024];
                while body.len() < len {
                    match s.read(&mut chunk) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => body.extend_from_slice(&chunk[..n]),
                    }
                }
                url::form_urlencoded::parse(&body)
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect::<Vec<_>>()
            } else {
                Vec::new()
            };
            let field = |k: &str| form.iter().find(|(fk, _)| fk == k).map(|(_, v)| v.clone());
            for (k, v) in &form {
                if k == "scope" {
                    wanted.extend(v.split(' ').map(str::to_string));
                }
            }
            let refresh_ok = field("grant_type").as_deref() == Some("refresh_token")
                && field("refresh_token").as_deref() == Some(&refresh[..]);
            if !form.is_empty() && !refresh_ok {
                respond(
                    &mut s,
                    "401 Unauthorized",
                    "",
                    r#"{"error":"invalid refresh token"}"#,
                );
                return;
            }
            scopes2.lock().unwrap().extend(wanted.iter().cloned());
            let authed = match header_value(&head, "authorization") {
                None if refresh_ok => true,
                None => false,
                Some(a) if a == expected => true,
                Some(_) => {
                    respond(
                        &mut s,
                        "401 Unauthorized",
                        "",
                        r#"{"details":"incorrect username or password"}"#,
                    );
                    return;
                }
            };
            let access: Vec<serde_json::Value> = if authed {
                wanted
                    .iter()
                    .filter_map(|sc| {
                        let mut p = sc.splitn(3, ':');
                        let (t, n, a) = (p.next()?, p.next()?, p.next()?);
                        Some(serde_json::json!({"type": t, "name": n, "actions": a.split(',').collect::<Vec<_>>()}))
                    })
                    .collect()
            } else {
                Vec::new()
            };
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs();
            let header = serde_json::json!({"typ": "JWT", "alg": "RS256", "x5c": [x5c]});
            let claims = serde_json::json!({
                "iss": TokenServer::ISSUER,
                "sub": if authed { "user" } else { "" },
                "aud": TokenServer::SERVICE,
                "exp": now + 300,
                "nbf": now - 10,
                "iat": now,
                "jti": format!("{now}-{}", req2.load(Ordering::SeqCst)),
                "access": access,
            });
            let input = format!(
                "{}.{}",
                b64url(header.to_string().as_bytes()),
                b64url(claims.to_string().as_bytes())
            );
            let mut child = Command::new("openssl")
                .args(["dgst", "-sha256", "-sign"])
                .arg(&key2)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .expect("openssl dgst");
            child
                .stdin
                .take()
                .unwrap()
                .write_all(input.as_bytes())
                .unwrap();
            let sig = child.wait_with_output().unwrap().stdout;
            let token = format!("{input}.{}", b64url(&sig));
            let body = serde_json::json!({"token": token, "expires_in": 300}).to_string();
            respond(&mut s, "200 OK", "", &body);
        }));
        TokenServer {
            server,
            cert,
            key,
            _dir: dir,
            requests,
            scopes,
        }
    }

    /// The identity (refresh) token the server accepts for `user`.
    pub fn refresh_token_for(user: &str) -> String {
        format!("refresh-token-of-{user}")
    }

    pub fn realm(&self) -> String {
        format!("http://127.0.0.1:{}/token", self.server.port)
    }
}

/// What a [`TamperProxy`] does to the traffic it relays.
#[derive(Clone)]
pub enum Tamper {
    /// Closes the connection after this many body bytes of a blob GET, `times` times.
    CutBlobs {
        after: usize,
        times: Arc<AtomicUsize>,
    },
    /// Like `CutBlobs`, and hides `Accept-Ranges` so that the client must start over.
    CutBlobsNoRanges {
        after: usize,
        times: Arc<AtomicUsize>,
    },
    /// Replaces the `Content-Type` of manifest GETs.
    ManifestContentType(String),
    /// Replaces the `Docker-Content-Digest` of manifest GETs.
    ManifestDigestHeader(String),
    /// Answers requests with this method whose path contains `path` with `status` (and
    /// `Retry-After: 1` for 429), `times` times, without asking the registry.
    Fail {
        method: &'static str,
        path: &'static str,
        status: u16,
        times: Arc<AtomicUsize>,
    },
}

/// A loopback proxy in front of a real registry that alters what it relays. Each request
/// gets its own upstream connection (`Connection: close`).
pub struct TamperProxy {
    server: Server,
    /// Request heads seen, in order.
    pub requests: Arc<Mutex<Vec<String>>>,
}

impl TamperProxy {
    pub fn start(upstream_port: u16, tamper: Tamper) -> TamperProxy {
        let requests = Arc::new(Mutex::new(Vec::new()));
        let reqs = requests.clone();
        let server = Server::start(Arc::new(move |mut client: TcpStream| {
            let Some((head, extra)) = read_head(&mut client) else {
                return;
            };
            reqs.lock().unwrap().push(head.clone());
            if let Tamper::Fail {
                method,
                path,
                status,
                times,
            } = &tamper
            {
                let mut parts = head.split_whitespace();
                let (m, p) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
                if m == *method
                    && p.contains(path)
                    && times
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| t.checked_sub(1))
                        .is_ok()
                {
                    let extra = if *status == 429 {
                        "Retry-After: 1\r\n"
                    } else {
                        ""
                    };
                    respond(
                        &mut client,
                        &format!("{status} Injected"),
                        extra,
                        r#"{"errors":[{"code":"UNAVAILABLE","message":"injected failure"}]}"#,
                    );
                    let _ = client.shutdown(Shutdown::Both);
                    return;
                }
            }
            let mut lines: Vec<&str> = head
                .trim_end()
                .lines()
                .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
                .collect();
            lines.push("Connection: close");
            let new_head = format!("{}\r\n\r\n", lines.join("\r\n"));
            let Ok(mut up) = TcpStream::connect(("127.0.0.1", upstream_port)) else {
                return;
            };
            if up.write_all(new_head.as_bytes()).is_err() || up.write_all(&extra).is_err() {
                return;
            }
            let (mut c_in, mut u_out) = (client.try_clone().unwrap(), up.try_clone().unwrap());
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut c_in, &mut u_out);
            });
            let Some((resp_head, body_start)) = read_head(&mut up) else {
                return;
            };
            let mut parts = head.split_whitespace();
            let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            let blob_get = method == "GET" && path.contains("/blobs/sha256:");
            let mut resp_head = resp_head;
            let mut cut = None;
            match &tamper {
                Tamper::CutBlobs { after, times } | Tamper::CutBlobsNoRanges { after, times }
                    if blob_get =>
                {
                    if matches!(tamper, Tamper::CutBlobsNoRanges { .. }) {
                        resp_head = resp_head
                            .split("\r\n")
                            .filter(|l| !l.to_ascii_lowercase().starts_with("accept-ranges:"))
                            .collect::<Vec<_>>()
                            .join("\r\n");
                    }
                    if times
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| t.checked_sub(1))
                        .is_ok()
                    {
                        cut = Some(*after);
                    }
                }
                Tamper::ManifestContentType(v) | Tamper::ManifestDigestHeader(v)
                    if method == "GET" && path.contains("/manifests/") =>
                {
                    let name = match &tamper {
                        Tamper::ManifestContentType(_) => "Content-Type",
                        _ => "Docker-Content-Digest",
                    };
                    let prefix = format!("{}:", name.to_ascii_lowercase());
                    resp_head = resp_head
                        .split("\r\n")
                        .map(|l| {
                            if l.to_ascii_lowercase().starts_with(&prefix) {
                                format!("{name}: {v}")
                            } else {
                                l.to_string()
                            }
                        })
                        .collect::<Vec<_>>()
                        .join("\r\n");
                }
                _ => {}
            }
            if client.write_all(resp_head.as_bytes()).is_err() {
                return;
            }
            match cut {
                Some(after) => {
                    let mut body = body_start;
                    let mut chunk = [0u8; 8192];
                    while body.len() < after {
                        match up.read(&mut chunk) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => body.extend_from_slice(&chunk[..n]),
                        }
                    }
                    body.truncate(after);
                    let _ = client.write_all(&body);
                }
                None => {
                    let _ = client.write_all(&body_start);
                    let _ = std::io::copy(&mut up, &mut client);
                }
            }
            let _ = client.shutdown(Shutdown::Both);
            let _ = up.shutdown(Shutdown::Both);
        }));
        TamperProxy { server, requests }
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.server.port)
    }
}

/// A small OCI image layout written by hand.
pub struct TestImage {
    pub dir: PathBuf,
    pub config: Descriptor,
    pub config_bytes: Vec<u8>,
    pub layers: Vec<Descriptor>,
    pub manifest_bytes: Vec<u8>,
    pub manifest_digest: Digest,
}

impl TestImage {
    pub fn blobs(&self) -> Vec<Descriptor> {
        std::iter::once(self.config.clone())
            .chain(self.layers.iter().cloned())
            .collect()
    }

    pub fn blob(&self, d: &Digest) -> Vec<u8> {
        std::fs::read(self.dir.join("blobs/sha256").join(d.hex())).unwrap()
    }

    /// A descriptor of the manifest with a platform, for an index.
    pub fn index_entry(&self, arch: &str) -> Descriptor {
        Descriptor {
            media_type: oci::MEDIA_OCI_MANIFEST.into(),
            digest: self.manifest_digest.clone(),
            size: self.manifest_bytes.len() as u64,
            platform: Some(Platform {
                architecture: arch.into(),
                os: "linux".into(),
                os_version: None,
                os_features: vec![],
                variant: None,
            }),
            annotations: BTreeMap::new(),
            urls: vec![],
        }
    }
}

fn write_blob(dir: &Path, bytes: &[u8], media_type: &str) -> Descriptor {
    let d = Digest::of(bytes);
    let p = dir.join("blobs/sha256");
    std::fs::create_dir_all(&p).unwrap();
    std::fs::write(p.join(d.hex()), bytes).unwrap();
    Descriptor {
        media_type: media_type.into(),
        digest: d,
        size: bytes.len() as u64,
        platform: None,
        annotations: BTreeMap::new(),
        urls: vec![],
    }
}

/// A gzipped layer tar holding `files` (path, contents), mode 0755, fixed mtime.
pub fn layer_tar_gz(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for (path, data) in files {
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(0o755);
        h.set_mtime(1_700_000_000);
        h.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut h, path, &data[..]).unwrap();
    }
    let raw = tar.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&raw).unwrap();
    gz.finish().unwrap()
}

/// Writes an OCI layout in `dir` with one image of the given layers, tagged `tag`.
pub fn build_oci_layout(dir: &Path, arch: &str, layers: &[Vec<u8>], tag: &str) -> TestImage {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let layer_descs: Vec<Descriptor> = layers
        .iter()
        .map(|l| write_blob(dir, l, oci::MEDIA_OCI_LAYER_GZIP))
        .collect();
    // diff_ids are the uncompressed digests.
    let diff_ids: Vec<String> = layers
        .iter()
        .map(|l| {
            let mut raw = Vec::new();
            flate2::read::GzDecoder::new(&l[..])
                .read_to_end(&mut raw)
                .unwrap();
            Digest::of(&raw).to_string()
        })
        .collect();
    let config_bytes = serde_json::to_vec(&serde_json::json!({
        "architecture": arch,
        "os": "linux",
        "config": {"Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }))
    .unwrap();
    let config = write_blob(dir, &config_bytes, oci::MEDIA_OCI_CONFIG);
    let manifest = Manifest {
        schema_version: 2,
        media_type: Some(oci::MEDIA_OCI_MANIFEST.into()),
        config: config.clone(),
        layers: layer_descs.clone(),
        annotations: BTreeMap::new(),
    };
    let manifest_bytes = serde_json::to_vec(&manifest).unwrap();
    let mdesc = write_blob(dir, &manifest_bytes, oci::MEDIA_OCI_MANIFEST);
    let mut entry = mdesc.clone();
    entry
        .annotations
        .insert(oci::ANNOTATION_REF_NAME.into(), tag.into());
    let index = serde_json::json!({"schemaVersion": 2, "manifests": [entry]});
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    TestImage {
        dir: dir.to_path_buf(),
        config,
        config_bytes,
        layers: layer_descs,
        manifest_bytes,
        manifest_digest: mdesc.digest,
    }
}

/// Runs skopeo; panics with its stderr on failure.
pub fn skopeo(args: &[&str]) -> String {
    let out = Command::new("skopeo")
        .args(args)
        .output()
        .expect("skopeo is needed (see .ci/run)");
    assert!(
        out.status.success(),
        "skopeo {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The busybox-static binary, a realistic layer payload.
pub fn busybox() -> Vec<u8> {
    std::fs::read("/bin/busybox").expect("/bin/busybox (busybox-static) is needed")
}
