//! HTTP plumbing shared by the client: which scheme a registry is reached over, the
//! reqwest client, turning error responses into [`RegistryError`]s, and retry pauses.

use super::{Options, RegistryError};
use crate::image::reference::{api_host, is_loopback_host};
use reqwest::blocking::Response;
use std::time::Duration;

/// `http` for loopback and listed insecure registries (as docker does), `https` otherwise.
pub fn scheme_for(domain: &str, options: &Options) -> &'static str {
    let host = api_host(domain);
    if is_loopback_host(host) || options.insecure.iter().any(|i| i == host || i == domain) {
        "http"
    } else {
        "https"
    }
}

/// The base URL of a registry's API (`https://registry-1.docker.io`).
pub fn base_url(domain: &str, options: &Options) -> String {
    format!("{}://{}", scheme_for(domain, options), api_host(domain))
}

/// A blocking HTTP client with the system's TLS roots and no transparent decompression
/// (digests are over the compressed bytes).
pub fn http_client(options: &Options) -> Result<reqwest::blocking::Client, RegistryError> {
    reqwest::blocking::Client::builder()
        .user_agent(options.user_agent.clone())
        .timeout(None)
        .connect_timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| RegistryError::Invalid {
            what: "HTTP client".into(),
            reason: e.to_string(),
        })
}

/// Maps a failed send (no response) to an error naming the registry.
pub fn send_error(registry: &str, e: reqwest::Error) -> RegistryError {
    RegistryError::Unreachable {
        registry: registry.to_string(),
        reason: error_chain(&e),
        // A refused connection or unknown host will not heal in a few seconds; a timeout
        // or a connection dropped mid-request may.
        retryable: !e.is_connect() || e.is_timeout(),
    }
}

/// The error and its causes on one line (reqwest's own Display hides the cause).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let m = c.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        cur = c.source();
    }
    s
}

/// Turns a non-success response into an error, using the registry's JSON error body.
pub fn status_error(resp: Response, what: &str) -> RegistryError {
    let status = resp.status().as_u16();
    let url = redact_url(resp.url().as_str());
    let body = resp.text().unwrap_or_default();
    let message = registry_message(&body).unwrap_or_else(|| {
        let t = body.trim();
        if t.is_empty() || t.len() > 300 {
            reqwest::StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("error")
                .to_lowercase()
        } else {
            t.to_string()
        }
    });
    match status {
        401 => RegistryError::Unauthorized { message },
        403 => RegistryError::Denied { message },
        404 => RegistryError::NotFound {
            what: what.to_string(),
            message,
        },
        _ => RegistryError::Http {
            url,
            status,
            message,
        },
    }
}

/// The distribution spec's `{"errors":[{"code":…,"message":…}]}` as one line.
pub fn registry_message(body: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    let errors = v.get("errors")?.as_array()?;
    let parts: Vec<String> = errors
        .iter()
        .map(|e| {
            let msg = e.get("message").and_then(|m| m.as_str()).unwrap_or("");
            let code = e.get("code").and_then(|m| m.as_str()).unwrap_or("");
            if msg.is_empty() {
                code.to_lowercase()
            } else {
                msg.to_string()
            }
        })
        .filter(|s| !s.is_empty())
        .collect();
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// A URL without userinfo or query (upload URLs carry state tokens in the query).
pub fn redact_url(u: &str) -> String {
    match url::Url::parse(u) {
        Ok(mut p) => {
            let _ = p.set_username("");
            let _ = p.set_password(None);
            p.set_query(None);
            p.to_string()
        }
        Err(_) => "<url>".to_string(),
    }
}

/// The pause before retry number `attempt` (1-based): `base`, 2×, 4×…, capped at 30 s.
pub fn backoff(base: Duration, attempt: u32) -> Duration {
    let factor = 1u32 << attempt.saturating_sub(1).min(6);
    base.saturating_mul(factor).min(Duration::from_secs(30))
}

/// The server's `Retry-After` in seconds, if any (capped by the caller).
pub fn retry_after(resp: &Response) -> Option<Duration> {
    resp.headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_plain_http_and_hub_is_https() {
        let o = Options {
            insecure: vec!["reg.example:5000".into()],
            ..Options::default()
        };
        assert_eq!(base_url("127.0.0.1:5000", &o), "http://127.0.0.1:5000");
        assert_eq!(base_url("localhost", &o), "http://localhost");
        assert_eq!(base_url("docker.io", &o), "https://registry-1.docker.io");
        assert_eq!(base_url("reg.example:5000", &o), "http://reg.example:5000");
        assert_eq!(base_url("reg.example", &o), "https://reg.example");
    }

    #[test]
    fn registry_error_bodies() {
        let b =
            r#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{}}]}"#;
        assert_eq!(registry_message(b).as_deref(), Some("manifest unknown"));
        assert_eq!(registry_message("not json"), None);
        assert_eq!(
            redact_url("http://u:p@h:1/v2/x/blobs/uploads/abc?_state=secret"),
            "http://h:1/v2/x/blobs/uploads/abc"
        );
    }

    #[test]
    fn insecure_lists() {
        assert_eq!(
            super::super::parse_insecure_list(" a.example:5000 , https://b.example/,, "),
            vec!["a.example:5000".to_string(), "b.example".to_string()]
        );
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let b = Duration::from_millis(100);
        assert_eq!(backoff(b, 1), b);
        assert_eq!(backoff(b, 3), Duration::from_millis(400));
        assert_eq!(backoff(Duration::from_secs(10), 9), Duration::from_secs(30));
    }
}
