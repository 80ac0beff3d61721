//! One registry's API: the authenticated request loop and the distribution spec's
//! primitives (manifests, blob existence, download with retry and resume, upload sessions).

use super::auth::{fetch_token, parse_challenges, Challenge, Credentials, Token};
use super::credentials::{default_config_dir, DockerConfig};
use super::transport::{
    backoff, base_url, error_chain, http_client, redact_url, retry_after, send_error, status_error,
};
use super::{BlobEvent, Options, ProgressFn, RegistryError, Result};
use crate::image::digest::Digest;
use crate::image::oci::{
    Descriptor, Index, Manifest, MEDIA_DOCKER_MANIFEST, MEDIA_DOCKER_MANIFEST_LIST,
    MEDIA_DOCKER_SCHEMA1, MEDIA_DOCKER_SCHEMA1_SIGNED, MEDIA_OCI_INDEX, MEDIA_OCI_MANIFEST,
};
use reqwest::blocking::{RequestBuilder, Response};
use reqwest::header::{self, HeaderValue};
use reqwest::StatusCode;
use sha2::Digest as _;
use std::collections::HashMap;
use std::io::{self, Read, Seek, Write};
use std::sync::Mutex;
use std::time::Instant;

/// Manifests bigger than this are refused (the OCI distribution spec's suggested limit).
pub const MAX_MANIFEST_SIZE: usize = 4 << 20;

/// Everything kiln asks for when fetching a manifest; schema 1 is listed only so that the
/// registry answers with it (and we can say why we refuse it) rather than with a 404.
const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.v1+prettyjws;q=0.5, application/vnd.docker.distribution.manifest.v1+json;q=0.5";

/// A destination for a blob download that can start over when a resume is impossible.
pub trait BlobSink: Write {
    /// Discards what was written so far.
    fn restart(&mut self) -> io::Result<()>;
}

impl BlobSink for Vec<u8> {
    fn restart(&mut self) -> io::Result<()> {
        self.clear();
        Ok(())
    }
}

impl BlobSink for std::fs::File {
    fn restart(&mut self) -> io::Result<()> {
        self.set_len(0)?;
        self.seek(io::SeekFrom::Start(0))?;
        Ok(())
    }
}

impl<T: BlobSink + ?Sized> BlobSink for Box<T> {
    fn restart(&mut self) -> io::Result<()> {
        (**self).restart()
    }
}

/// A manifest as the registry served it.
#[derive(Debug, Clone)]
pub struct FetchedManifest {
    pub bytes: Vec<u8>,
    pub media_type: String,
    pub digest: Digest,
}

/// A fetched manifest, parsed.
#[derive(Debug, Clone)]
pub enum ManifestKind {
    Image(Box<Manifest>),
    Index(Index),
}

impl FetchedManifest {
    pub fn is_index(&self) -> bool {
        self.media_type == MEDIA_OCI_INDEX || self.media_type == MEDIA_DOCKER_MANIFEST_LIST
    }

    pub fn parse(&self) -> Result<ManifestKind> {
        let invalid = |e: serde_json::Error| RegistryError::Invalid {
            what: format!("manifest {}", self.digest),
            reason: e.to_string(),
        };
        if self.is_index() {
            serde_json::from_slice(&self.bytes)
                .map(ManifestKind::Index)
                .map_err(invalid)
        } else {
            serde_json::from_slice(&self.bytes)
                .map(|m| ManifestKind::Image(Box::new(m)))
                .map_err(invalid)
        }
    }
}

/// Where a blob upload stands after its session was opened.
#[derive(Debug)]
pub enum UploadStart {
    /// The registry mounted the blob from the other repository: nothing to send.
    Mounted,
    /// Send the blob to this URL.
    Session(String),
}

#[derive(Default)]
struct AuthState {
    challenge: Option<Challenge>,
    tokens: HashMap<String, Token>,
    /// `None` until first needed: config.json and helpers are read only on a 401.
    creds: Option<Option<Credentials>>,
}

/// A client for one registry (`domain` as written in references, e.g. `docker.io`).
pub struct Client {
    domain: String,
    base: String,
    http: reqwest::blocking::Client,
    options: Options,
    auth: Mutex<AuthState>,
    /// Held while answering a challenge, so that parallel transfers share one token.
    auth_fetch: Mutex<()>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Client({})", self.base)
    }
}

/// `repository:<repo>:pull`.
pub fn pull_scope(repo: &str) -> String {
    format!("repository:{repo}:pull")
}

/// `repository:<repo>:pull,push`.
pub fn push_scope(repo: &str) -> String {
    format!("repository:{repo}:pull,push")
}

impl Client {
    /// A client that looks credentials up in docker's config when the registry asks.
    pub fn new(domain: &str, options: Options) -> Result<Client> {
        Ok(Client {
            domain: domain.to_string(),
            base: base_url(domain, &options),
            http: http_client(&options)?,
            options,
            auth: Mutex::new(AuthState::default()),
            auth_fetch: Mutex::new(()),
        })
    }

    /// A client that uses exactly these credentials (or none), ignoring docker's config.
    pub fn with_credentials(
        domain: &str,
        options: Options,
        creds: Option<Credentials>,
    ) -> Result<Client> {
        let c = Client::new(domain, options)?;
        c.lock_auth().creds = Some(creds);
        Ok(c)
    }

    pub fn domain(&self) -> &str {
        &self.domain
    }

    pub fn options(&self) -> &Options {
        &self.options
    }

    /// The registry API's base URL (`http://127.0.0.1:5000`).
    pub fn base_url(&self) -> &str {
        &self.base
    }

    fn lock_auth(&self) -> std::sync::MutexGuard<'_, AuthState> {
        self.auth.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// The `Authorization` value to send for `scopes` without asking anyone, if known.
    fn cached_auth(&self, scopes: &[String]) -> Option<String> {
        let st = self.lock_auth();
        let ch = st.challenge.as_ref()?;
        match ch.scheme.as_str() {
            "basic" => st.creds.as_ref()?.as_ref()?.basic_header(),
            "bearer" => {
                let t = st.tokens.get(&scopes.join(" "))?;
                (t.expires > Instant::now()).then(|| format!("Bearer {}", t.value))
            }
            _ => None,
        }
    }

    fn credentials(&self) -> Result<Option<Credentials>> {
        if let Some(c) = &self.lock_auth().creds {
            return Ok(c.clone());
        }
        let dir = self
            .options
            .docker_config_dir
            .clone()
            .unwrap_or_else(default_config_dir);
        let found = DockerConfig::load(&dir)?.get(&self.domain)?;
        self.lock_auth().creds = Some(found.clone());
        Ok(found)
    }

    /// Answers a 401: remembers the challenge and gets what it asks for.
    /// `sent` is what the refused request carried: when another thread got a fresh token for
    /// the same scopes meanwhile, that one is used instead of asking the token server again.
    fn authorize(
        &self,
        resp: &Response,
        scopes: &[String],
        sent: Option<&str>,
    ) -> Result<Option<String>> {
        let _one_at_a_time = self.auth_fetch.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(cached) = self.cached_auth(scopes) {
            if Some(cached.as_str()) != sent {
                return Ok(Some(cached));
            }
        }
        let header = resp
            .headers()
            .get_all(header::WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join(", ");
        let challenges = parse_challenges(&header);
        let Some(ch) = challenges
            .iter()
            .find(|c| c.scheme == "bearer")
            .or_else(|| challenges.iter().find(|c| c.scheme == "basic"))
            .cloned()
        else {
            return Ok(None);
        };
        let creds = self.credentials()?;
        let value = match ch.scheme.as_str() {
            "basic" => creds.as_ref().and_then(Credentials::basic_header),
            _ => {
                let mut wanted: Vec<String> = scopes.to_vec();
                if wanted.is_empty() {
                    if let Some(s) = ch.param("scope") {
                        wanted.push(s.to_string());
                    }
                }
                let token = fetch_token(&self.http, &ch, &wanted, creds.as_ref())?;
                let v = format!("Bearer {}", token.value);
                self.lock_auth().tokens.insert(scopes.join(" "), token);
                Some(v)
            }
        };
        self.lock_auth().challenge = Some(ch);
        Ok(value)
    }

    /// Sends a request built by `build`, answering one auth challenge. The response may be
    /// any status; callers map errors. `build` is called again for the authorised retry, so
    /// bodies must be re-creatable.
    pub fn send(
        &self,
        scopes: &[String],
        build: &dyn Fn(&reqwest::blocking::Client) -> RequestBuilder,
    ) -> Result<Response> {
        let auth = self.cached_auth(scopes);
        let mut req = build(&self.http);
        if let Some(a) = &auth {
            req = req.header(header::AUTHORIZATION, a);
        }
        let resp = req.send().map_err(|e| send_error(&self.domain, e))?;
        if resp.status() != StatusCode::UNAUTHORIZED {
            return Ok(resp);
        }
        let Some(new_auth) = self.authorize(&resp, scopes, auth.as_deref())? else {
            return Ok(resp);
        };
        if auth.as_deref() == Some(new_auth.as_str()) && !new_auth.starts_with("Bearer") {
            // The same Basic credentials were just refused: asking again will not help.
            return Ok(resp);
        }
        tracing::debug!(registry = %self.domain, "retrying with authorization");
        build(&self.http)
            .header(header::AUTHORIZATION, new_auth)
            .send()
            .map_err(|e| send_error(&self.domain, e))
    }

    /// Runs an idempotent request again after transient failures (dropped connections,
    /// 5xx, 429), with backoff; auth failures and 404s come back at once.
    fn retrying<T>(&self, what: &str, f: impl Fn() -> Result<T>) -> Result<T> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match f() {
                Err(e) if e.is_transient() && attempt < self.options.max_attempts => {
                    tracing::debug!(%what, attempt, error = %e, "retrying");
                    std::thread::sleep(backoff(self.options.backoff, attempt));
                }
                Err(e) if e.is_transient() && attempt > 1 => {
                    return Err(RegistryError::RetriesExhausted {
                        what: what.to_string(),
                        attempts: attempt,
                        last: Box::new(e),
                    })
                }
                other => return other,
            }
        }
    }

    /// `GET /v2/`: checks that the registry answers and that the credentials are accepted.
    pub fn ping(&self) -> Result<()> {
        let url = self.url("/v2/");
        let resp = self.send(&[], &|h| h.get(&url))?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(status_error(resp, "registry API"))
        }
    }

    /// Fetches a manifest by tag or digest, checking its digest against the one asked for
    /// and the registry's `Docker-Content-Digest`.
    pub fn get_manifest(&self, repo: &str, reference: &str) -> Result<FetchedManifest> {
        self.retrying(&format!("manifest {repo}:{reference}"), || {
            self.get_manifest_once(repo, reference)
        })
    }

    fn get_manifest_once(&self, repo: &str, reference: &str) -> Result<FetchedManifest> {
        let url = self.url(&format!("/v2/{repo}/manifests/{reference}"));
        let scopes = [pull_scope(repo)];
        let resp = self.send(&scopes, &|h| {
            h.get(&url).header(header::ACCEPT, MANIFEST_ACCEPT)
        })?;
        let what = format!("manifest for {}/{repo}:{reference}", self.domain);
        if !resp.status().is_success() {
            return Err(status_error(resp, &what));
        }
        let header_digest = resp
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let content_type = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or(v).trim().to_string());
        let mut bytes = Vec::new();
        resp.take(MAX_MANIFEST_SIZE as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| RegistryError::io(format!("reading {what}"), e))?;
        if bytes.len() > MAX_MANIFEST_SIZE {
            return Err(RegistryError::Invalid {
                what,
                reason: format!("larger than {MAX_MANIFEST_SIZE} bytes"),
            });
        }
        let digest = Digest::of(&bytes);
        let expected = if reference.starts_with("sha256:") {
            Some(reference.to_string())
        } else {
            header_digest.filter(|d| d.starts_with("sha256:"))
        };
        if let Some(exp) = expected {
            if exp != digest.as_str() {
                return Err(RegistryError::DigestMismatch {
                    what,
                    expected: exp,
                    actual: digest.to_string(),
                });
            }
        }
        let media_type = manifest_media_type(content_type.as_deref(), &bytes);
        let reference_name = format!("{}/{repo}:{reference}", self.domain);
        match media_type.as_str() {
            MEDIA_OCI_INDEX
            | MEDIA_OCI_MANIFEST
            | MEDIA_DOCKER_MANIFEST
            | MEDIA_DOCKER_MANIFEST_LIST => {}
            MEDIA_DOCKER_SCHEMA1 | MEDIA_DOCKER_SCHEMA1_SIGNED => {
                return Err(RegistryError::Schema1 {
                    reference: reference_name,
                    media_type,
                })
            }
            _ => {
                return Err(RegistryError::UnknownMediaType {
                    reference: reference_name,
                    media_type,
                })
            }
        }
        Ok(FetchedManifest {
            bytes,
            media_type,
            digest,
        })
    }

    /// Stores a manifest under a tag or digest; returns its digest.
    pub fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<Digest> {
        self.retrying(&format!("manifest {repo}:{reference}"), || {
            self.put_manifest_once(repo, reference, media_type, bytes)
        })
    }

    fn put_manifest_once(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<Digest> {
        let url = self.url(&format!("/v2/{repo}/manifests/{reference}"));
        let scopes = [push_scope(repo)];
        let resp = self.send(&scopes, &|h| {
            h.put(&url)
                .header(header::CONTENT_TYPE, media_type)
                .body(bytes.to_vec())
        })?;
        if !resp.status().is_success() {
            return Err(status_error(resp, &format!("repository {repo}")));
        }
        let digest = Digest::of(bytes);
        if let Some(d) = resp
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
        {
            if d.starts_with("sha256:") && d != digest.as_str() {
                return Err(RegistryError::DigestMismatch {
                    what: format!("pushed manifest for {repo}:{reference}"),
                    expected: digest.to_string(),
                    actual: d.to_string(),
                });
            }
        }
        Ok(digest)
    }

    /// `HEAD` a blob: its size if the registry has it.
    pub fn blob_exists(
        &self,
        repo: &str,
        digest: &Digest,
        scopes: &[String],
    ) -> Result<Option<u64>> {
        self.retrying(&format!("blob {digest}"), || {
            self.blob_exists_once(repo, digest, scopes)
        })
    }

    fn blob_exists_once(
        &self,
        repo: &str,
        digest: &Digest,
        scopes: &[String],
    ) -> Result<Option<u64>> {
        let url = self.url(&format!("/v2/{repo}/blobs/{digest}"));
        let resp = self.send(scopes, &|h| h.head(&url))?;
        match resp.status() {
            s if s.is_success() => Ok(Some(
                resp.headers()
                    .get(header::CONTENT_LENGTH)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0),
            )),
            StatusCode::NOT_FOUND => Ok(None),
            _ => Err(status_error(resp, &format!("blob {digest}"))),
        }
    }

    /// Downloads a blob into `out`, verifying size and digest. Transient failures are retried
    /// with backoff, resuming with a `Range` request when the registry supports it.
    pub fn fetch_blob(
        &self,
        repo: &str,
        desc: &Descriptor,
        out: &mut dyn BlobSink,
        progress: ProgressFn<'_>,
    ) -> Result<()> {
        let mut st = Download {
            hasher: sha2::Sha256::new(),
            done: 0,
            ranges: false,
        };
        let what = format!("blob {}", desc.digest);
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.fetch_blob_once(repo, desc, out, &mut st, progress) {
                Ok(()) => break,
                Err(e) if e.is_transient() && attempt < self.options.max_attempts => {
                    let pause = backoff(self.options.backoff, attempt);
                    tracing::debug!(%what, attempt, error = %e, "retrying download");
                    progress(
                        &desc.digest,
                        BlobEvent::Retrying {
                            attempt,
                            reason: e.to_string(),
                        },
                    );
                    std::thread::sleep(pause);
                }
                Err(e) if attempt > 1 && e.is_transient() => {
                    return Err(RegistryError::RetriesExhausted {
                        what,
                        attempts: attempt,
                        last: Box::new(e),
                    })
                }
                Err(e) => return Err(e),
            }
        }
        if st.done != desc.size {
            return Err(RegistryError::SizeMismatch {
                what,
                expected: desc.size,
                actual: st.done,
            });
        }
        let actual = Digest::from_hasher(st.hasher);
        if actual != desc.digest {
            return Err(RegistryError::DigestMismatch {
                what,
                expected: desc.digest.to_string(),
                actual: actual.to_string(),
            });
        }
        Ok(())
    }

    fn fetch_blob_once(
        &self,
        repo: &str,
        desc: &Descriptor,
        out: &mut dyn BlobSink,
        st: &mut Download,
        progress: ProgressFn<'_>,
    ) -> Result<()> {
        let url = self.url(&format!("/v2/{repo}/blobs/{}", desc.digest));
        let scopes = [pull_scope(repo)];
        let range = (st.done > 0 && st.ranges).then(|| format!("bytes={}-", st.done));
        let resp = self.send(&scopes, &|h| {
            let r = h.get(&url);
            match &range {
                Some(v) => r.header(header::RANGE, v),
                None => r,
            }
        })?;
        let what = format!("blob {}", desc.digest);
        let status = resp.status();
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            if let Some(wait) = retry_after(&resp) {
                std::thread::sleep(wait.min(std::time::Duration::from_secs(10)));
            }
            return Err(status_error(resp, &what));
        }
        if resp
            .headers()
            .get(header::ACCEPT_RANGES)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"bytes"))
        {
            st.ranges = true;
        }
        match status {
            StatusCode::PARTIAL_CONTENT if st.done > 0 => {
                let start = resp
                    .headers()
                    .get(header::CONTENT_RANGE)
                    .and_then(|v| v.to_str().ok())
                    .and_then(content_range_start);
                if start != Some(st.done) {
                    return Err(RegistryError::Invalid {
                        what,
                        reason: "the registry resumed at the wrong offset".into(),
                    });
                }
                tracing::debug!(%what, offset = st.done, "resuming download");
            }
            StatusCode::OK => {
                if st.done > 0 {
                    out.restart()
                        .map_err(|e| RegistryError::local(format!("restarting {what}"), e))?;
                    st.hasher = sha2::Sha256::new();
                    st.done = 0;
                }
            }
            _ => return Err(status_error(resp, &what)),
        }
        // A response that arrives whole but short means the registry's blob is not the one
        // described: that is a mismatch to report, not a cut connection to resume.
        let announced = resp.content_length();
        let started_at = st.done;
        let mut body = resp;
        let mut buf = vec![0u8; 256 << 10];
        loop {
            let n = match body.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(RegistryError::io(
                        format!("downloading {what}"),
                        io::Error::new(e.kind(), error_chain(&e)),
                    ))
                }
            };
            if st.done + n as u64 > desc.size {
                return Err(RegistryError::SizeMismatch {
                    what,
                    expected: desc.size,
                    actual: st.done + n as u64,
                });
            }
            out.write_all(&buf[..n])
                .map_err(|e| RegistryError::local(format!("writing {what}"), e))?;
            st.hasher.update(&buf[..n]);
            st.done += n as u64;
            progress(
                &desc.digest,
                BlobEvent::Progress {
                    done: st.done,
                    total: desc.size,
                },
            );
        }
        if st.done < desc.size && announced == Some(st.done - started_at) {
            return Err(RegistryError::SizeMismatch {
                what,
                expected: desc.size,
                actual: st.done,
            });
        }
        if st.done < desc.size {
            return Err(RegistryError::io(
                format!("downloading {what}"),
                io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("connection closed after {} of {} bytes", st.done, desc.size),
                ),
            ));
        }
        Ok(())
    }

    /// Opens an upload session, or mounts `digest` from repository `from` when given (a 202
    /// answer to a mount means the registry declined and opened a normal session instead).
    pub fn start_upload(
        &self,
        repo: &str,
        mount: Option<(&Digest, &str)>,
        scopes: &[String],
    ) -> Result<UploadStart> {
        let mut url =
            url::Url::parse(&self.url(&format!("/v2/{repo}/blobs/uploads/"))).map_err(|e| {
                RegistryError::Invalid {
                    what: "upload URL".into(),
                    reason: e.to_string(),
                }
            })?;
        if let Some((d, from)) = mount {
            url.query_pairs_mut()
                .append_pair("mount", d.as_str())
                .append_pair("from", from);
        }
        let resp = self.send(scopes, &|h| {
            h.post(url.clone())
                .header(header::CONTENT_LENGTH, HeaderValue::from_static("0"))
        })?;
        match resp.status() {
            StatusCode::CREATED if mount.is_some() => Ok(UploadStart::Mounted),
            StatusCode::ACCEPTED => Ok(UploadStart::Session(self.location(&resp)?)),
            _ => Err(status_error(resp, &format!("repository {repo}"))),
        }
    }

    /// Sends a whole blob to an upload session and closes it.
    pub fn put_blob(
        &self,
        location: &str,
        digest: &Digest,
        bytes: &[u8],
        scopes: &[String],
    ) -> Result<()> {
        let url = with_digest(location, digest)?;
        let resp = self.send(scopes, &|h| {
            h.put(url.clone())
                .header(header::CONTENT_TYPE, "application/octet-stream")
                .body(bytes.to_vec())
        })?;
        if resp.status() == StatusCode::CREATED {
            Ok(())
        } else {
            Err(status_error(resp, &format!("blob {digest}")))
        }
    }

    /// Sends one chunk (`start` is its offset in the blob); returns the session's next URL.
    pub fn patch_chunk(
        &self,
        location: &str,
        start: u64,
        bytes: &[u8],
        scopes: &[String],
    ) -> Result<String> {
        let end = start + bytes.len() as u64 - 1;
        let resp = self.send(scopes, &|h| {
            h.patch(location)
                .header(header::CONTENT_TYPE, "application/octet-stream")
                .header(header::CONTENT_RANGE, format!("{start}-{end}"))
                .body(bytes.to_vec())
        })?;
        if resp.status() == StatusCode::ACCEPTED {
            self.location(&resp)
        } else {
            Err(status_error(resp, "upload chunk"))
        }
    }

    /// Closes a chunked upload session, naming the digest of everything sent.
    pub fn finish_upload(&self, location: &str, digest: &Digest, scopes: &[String]) -> Result<()> {
        self.put_blob(location, digest, &[], scopes)
    }

    /// The absolute URL in a response's `Location` (registries may send relative ones).
    fn location(&self, resp: &Response) -> Result<String> {
        let loc = resp
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| RegistryError::Invalid {
                what: format!("answer from {}", redact_url(resp.url().as_str())),
                reason: "no Location header".into(),
            })?;
        resp.url()
            .join(loc)
            .map(|u| u.to_string())
            .map_err(|e| RegistryError::Invalid {
                what: "upload location".into(),
                reason: e.to_string(),
            })
    }
}

struct Download {
    hasher: sha2::Sha256,
    done: u64,
    ranges: bool,
}

/// `bytes 100-199/200` → 100.
fn content_range_start(v: &str) -> Option<u64> {
    let r = v.trim().strip_prefix("bytes")?.trim_start();
    r.split('-').next()?.trim().parse().ok()
}

fn with_digest(location: &str, digest: &Digest) -> Result<url::Url> {
    let mut u = url::Url::parse(location).map_err(|e| RegistryError::Invalid {
        what: "upload location".into(),
        reason: e.to_string(),
    })?;
    u.query_pairs_mut().append_pair("digest", digest.as_str());
    Ok(u)
}

/// The manifest's media type: the `Content-Type` header unless it is generic, else the
/// `mediaType` field, else schema 1 if it looks like one (it has no `mediaType`).
fn manifest_media_type(content_type: Option<&str>, bytes: &[u8]) -> String {
    if let Some(ct) = content_type {
        if !ct.is_empty()
            && ct != "application/json"
            && ct != "text/plain"
            && ct != "application/octet-stream"
        {
            return ct.to_string();
        }
    }
    let v: serde_json::Value = serde_json::from_slice(bytes).unwrap_or_default();
    if let Some(mt) = v.get("mediaType").and_then(|m| m.as_str()) {
        return mt.to_string();
    }
    match v.get("schemaVersion").and_then(|s| s.as_u64()) {
        Some(1) => MEDIA_DOCKER_SCHEMA1.to_string(),
        Some(2) if v.get("manifests").is_some() => MEDIA_OCI_INDEX.to_string(),
        Some(2) if v.get("config").is_some() => MEDIA_OCI_MANIFEST.to_string(),
        _ => content_type.unwrap_or("").to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_type_detection() {
        assert_eq!(
            manifest_media_type(Some(MEDIA_DOCKER_MANIFEST), b"{}"),
            MEDIA_DOCKER_MANIFEST
        );
        assert_eq!(
            manifest_media_type(
                Some("application/json"),
                br#"{"schemaVersion":1,"fsLayers":[]}"#
            ),
            MEDIA_DOCKER_SCHEMA1
        );
        assert_eq!(
            manifest_media_type(None, br#"{"schemaVersion":2,"manifests":[]}"#),
            MEDIA_OCI_INDEX
        );
        assert_eq!(content_range_start("bytes 100-199/200"), Some(100));
        assert_eq!(content_range_start("items 1-2"), None);
    }

    #[test]
    fn file_sink_restarts_from_empty() {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(b"partial").unwrap();
        f.restart().unwrap();
        f.write_all(b"ok").unwrap();
        f.seek(io::SeekFrom::Start(0)).unwrap();
        let mut s = String::new();
        f.read_to_string(&mut s).unwrap();
        assert_eq!(s, "ok");
    }
}
