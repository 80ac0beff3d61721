//! The registry auth handshake: `WWW-Authenticate` challenges, bearer tokens fetched from the
//! challenge's realm (anonymously, with Basic credentials, or with an identity token), and
//! Basic auth. Secrets are kept out of every `Debug`, log line and error message.

use super::transport::registry_message;
use super::RegistryError;
use base64::Engine as _;
use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

/// What a user logged in with.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    Basic {
        username: String,
        password: String,
    },
    /// An OAuth refresh token (`identitytoken` in config.json).
    IdentityToken {
        username: String,
        token: String,
    },
}

impl Credentials {
    pub fn username(&self) -> &str {
        match self {
            Credentials::Basic { username, .. } | Credentials::IdentityToken { username, .. } => {
                username
            }
        }
    }

    /// The `Authorization: Basic …` value, for Basic credentials.
    pub fn basic_header(&self) -> Option<String> {
        match self {
            Credentials::Basic { username, password } => Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"))
            )),
            Credentials::IdentityToken { .. } => None,
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::Basic { username, .. } => {
                write!(
                    f,
                    "Basic {{ username: {username:?}, password: <redacted> }}"
                )
            }
            Credentials::IdentityToken { username, .. } => {
                write!(
                    f,
                    "IdentityToken {{ username: {username:?}, token: <redacted> }}"
                )
            }
        }
    }
}

/// One parsed `WWW-Authenticate` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// Lowercased scheme: `bearer` or `basic`.
    pub scheme: String,
    pub params: BTreeMap<String, String>,
}

impl Challenge {
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params.get(key).map(String::as_str)
    }
}

/// Parses `Bearer realm="…",service="…",scope="…"` (RFC 7235 auth-params, quoted or not).
/// Several challenges in one header are split on the scheme tokens.
pub fn parse_challenges(header: &str) -> Vec<Challenge> {
    let mut out: Vec<Challenge> = Vec::new();
    let mut rest = header.trim();
    while !rest.is_empty() {
        // A scheme token, then params up to the next scheme token.
        let scheme_end = rest
            .find(|c: char| c.is_whitespace() || c == ',')
            .unwrap_or(rest.len());
        let scheme = rest[..scheme_end].to_ascii_lowercase();
        rest = rest[scheme_end..].trim_start_matches([',', ' ', '\t']);
        let mut params = BTreeMap::new();
        while let Some(eq) = rest.find('=') {
            let key = rest[..eq].trim();
            if key.is_empty() || key.contains([' ', ',', '\t']) {
                break; // the next challenge's scheme
            }
            let after = &rest[eq + 1..];
            let (value, remainder) = if let Some(q) = after.strip_prefix('"') {
                let mut value = String::new();
                let mut chars = q.char_indices();
                let mut end = q.len();
                while let Some((i, c)) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some((_, n)) = chars.next() {
                                value.push(n);
                            }
                        }
                        '"' => {
                            end = i + 1;
                            break;
                        }
                        c => value.push(c),
                    }
                }
                (value, &q[end.min(q.len())..])
            } else {
                let end = after.find(',').unwrap_or(after.len());
                (after[..end].trim().to_string(), &after[end..])
            };
            params.insert(key.to_ascii_lowercase(), value);
            rest = remainder.trim_start_matches([',', ' ', '\t']);
        }
        if !scheme.is_empty() {
            out.push(Challenge { scheme, params });
        }
        if rest.len() == header.len() {
            break;
        }
    }
    out
}

/// A bearer token and when to stop using it.
#[derive(Clone)]
pub struct Token {
    pub value: String,
    pub expires: Instant,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

#[derive(serde::Deserialize)]
struct TokenResponse {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
}

/// Fetches a bearer token for `scopes` from the challenge's realm. Basic credentials go in
/// an `Authorization` header of a GET (as docker does); an identity token is exchanged with
/// an OAuth `refresh_token` POST.
pub fn fetch_token(
    http: &reqwest::blocking::Client,
    challenge: &Challenge,
    scopes: &[String],
    creds: Option<&Credentials>,
) -> Result<Token, RegistryError> {
    let realm = challenge
        .param("realm")
        .ok_or_else(|| RegistryError::Invalid {
            what: "auth challenge".into(),
            reason: "bearer challenge without a realm".into(),
        })?;
    let realm_url = url::Url::parse(realm).map_err(|e| RegistryError::Invalid {
        what: "auth realm".into(),
        reason: e.to_string(),
    })?;
    let service = challenge.param("service");
    let req = match creds {
        Some(Credentials::IdentityToken { token, .. }) => {
            let mut form: Vec<(&str, &str)> = vec![
                ("grant_type", "refresh_token"),
                ("refresh_token", token),
                ("client_id", "kiln"),
            ];
            if let Some(s) = service {
                form.push(("service", s));
            }
            let scope = scopes.join(" ");
            if !scope.is_empty() {
                form.push(("scope", &scope));
            }
            let body = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(form)
                .finish();
            http.post(realm_url.clone())
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .body(body)
        }
        other => {
            let mut u = realm_url.clone();
            {
                let mut q = u.query_pairs_mut();
                if let Some(s) = service {
                    q.append_pair("service", s);
                }
                for s in scopes {
                    q.append_pair("scope", s);
                }
                if let Some(c) = other {
                    q.append_pair("account", c.username());
                }
            }
            let mut r = http.get(u);
            if let Some(h) = other.and_then(Credentials::basic_header) {
                r = r.header(reqwest::header::AUTHORIZATION, h);
            }
            r
        }
    };
    let host = realm_url.host_str().unwrap_or("token server").to_string();
    let resp = req
        .send()
        .map_err(|e| super::transport::send_error(&host, e))?;
    let status = resp.status();
    if !status.is_success() {
        let body = resp.text().unwrap_or_default();
        let detail = registry_message(&body)
            .or_else(|| token_server_message(&body))
            .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_lowercase());
        let message = format!("token server {host} refused: {detail}");
        return Err(match status.as_u16() {
            401 => RegistryError::Unauthorized { message },
            403 => RegistryError::Denied { message },
            s => RegistryError::Http {
                url: super::transport::redact_url(realm),
                status: s,
                message,
            },
        });
    }
    let body: TokenResponse = resp.json().map_err(|e| RegistryError::Invalid {
        what: "token response".into(),
        reason: e.to_string(),
    })?;
    let value = body
        .token
        .filter(|t| !t.is_empty())
        .or(body.access_token)
        .ok_or_else(|| RegistryError::Invalid {
            what: "token response".into(),
            reason: "no token in the response".into(),
        })?;
    // Docker's minimum lifetime is 60 s; renew a little early.
    let ttl = body.expires_in.unwrap_or(60).max(60);
    Ok(Token {
        value,
        expires: Instant::now() + Duration::from_secs(ttl.saturating_sub(10)),
    })
}

/// `{"details": "…"}` or `{"error": "…"}` bodies some token servers send.
fn token_server_message(body: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    ["details", "error_description", "error", "message"]
        .iter()
        .find_map(|k| v.get(*k).and_then(|m| m.as_str()).map(str::to_string))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bearer_challenge() {
        let c = parse_challenges(
            r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:library/nginx:pull""#,
        );
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].scheme, "bearer");
        assert_eq!(c[0].param("realm"), Some("https://auth.example/token"));
        assert_eq!(c[0].param("service"), Some("registry.example"));
        assert_eq!(c[0].param("scope"), Some("repository:library/nginx:pull"));
    }

    #[test]
    fn parses_basic_and_several_challenges() {
        let c = parse_challenges(r#"Basic realm="basic-realm""#);
        assert_eq!(c[0].scheme, "basic");
        assert_eq!(c[0].param("realm"), Some("basic-realm"));
        let c = parse_challenges(r#"Basic realm="a, b", Bearer realm=x,error="in\"valid""#);
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].param("realm"), Some("a, b"));
        assert_eq!(c[1].scheme, "bearer");
        assert_eq!(c[1].param("realm"), Some("x"));
        assert_eq!(c[1].param("error"), Some("in\"valid"));
    }

    #[test]
    fn debug_redacts_secrets() {
        let c = Credentials::Basic {
            username: "alice".into(),
            password: "hunter2".into(),
        };
        let d = format!("{c:?}");
        assert!(d.contains("alice") && !d.contains("hunter2"), "{d}");
        let c = Credentials::IdentityToken {
            username: "<token>".into(),
            token: "sekrit".into(),
        };
        assert!(!format!("{c:?}").contains("sekrit"));
        assert_eq!(
            Credentials::Basic {
                username: "u".into(),
                password: "p".into()
            }
            .basic_header()
            .as_deref(),
            Some("Basic dTpw")
        );
    }
}
