//! The render token and the session cookie derived from it: validation, constant-time
//! checks of what a request presents, and registration with the log redactor.
//!
//! A leaf: it knows no route, page or state of the site (the gate that answers with the
//! sign-in form is `signin::require_token`), and it never logs or displays the secret.

use std::fmt;

use axum::http::{HeaderMap, HeaderValue, header};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Name of the designers' session cookie.
pub const COOKIE_NAME: &str = "ogshot_render";

/// Domain separation: the cookie carries a value derived from the token, not the token
/// itself, so a browser's cookie jar never holds the secret an operator configured.
const COOKIE_DERIVATION: &[u8] = b"ogshot render-site cookie v1\0";

/// The render token: the one secret that lets a client see cards.
///
/// Presented values are hashed and the fixed-length digests compared in constant time,
/// so neither the token's content nor its length leaks through response timing.
/// `Debug` is redacted; the secret is only readable through [`RenderToken::expose`].
#[derive(Clone)]
pub struct RenderToken {
    secret: String,
    secret_digest: [u8; 32],
    cookie_value: String,
    cookie_digest: [u8; 32],
}

/// Why a configured token is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("RENDER_TOKEN must not be empty")]
    Empty,
    #[error("RENDER_TOKEN must be at most 512 bytes")]
    TooLong,
    #[error("RENDER_TOKEN may only contain visible ASCII characters (no spaces)")]
    Charset,
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl RenderToken {
    /// Accepts an operator-chosen token. It must be header-safe: it travels in an
    /// `Authorization: Bearer` header.
    pub fn new(secret: impl Into<String>) -> Result<Self, TokenError> {
        let secret = secret.into();
        if secret.is_empty() {
            return Err(TokenError::Empty);
        }
        if secret.len() > 512 {
            return Err(TokenError::TooLong);
        }
        if !secret.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(TokenError::Charset);
        }
        let mut derivation = COOKIE_DERIVATION.to_vec();
        derivation.extend_from_slice(secret.as_bytes());
        let cookie_value = hex(&sha256(&derivation));
        Ok(Self {
            secret_digest: sha256(secret.as_bytes()),
            cookie_digest: sha256(cookie_value.as_bytes()),
            cookie_value,
            secret,
        })
    }

    /// A fresh random 256-bit token, e.g. for an in-process render site or `--dev`.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).expect("the OS random source is available");
        Self::new(hex(&bytes)).expect("hex is visible ASCII")
    }

    /// The secret itself, for a client that must present it. Never log it.
    pub fn expose(&self) -> &str {
        &self.secret
    }

    /// `Authorization` header value presenting this token, marked sensitive so that
    /// HTTP tooling redacts it.
    pub fn bearer_header(&self) -> HeaderValue {
        let mut value = HeaderValue::from_str(&format!("Bearer {}", self.secret))
            .expect("tokens are visible ASCII");
        value.set_sensitive(true);
        value
    }

    /// The session cookie's value for this token.
    pub fn cookie_value(&self) -> &str {
        &self.cookie_value
    }

    /// Keeps the token and its cookie value out of every log line from now on, in this
    /// process (app-host's redactor): whoever holds the token registers it before
    /// anything could log it.
    pub fn redact_from_logs(&self) {
        app_host::redact_from_logs(&self.secret);
        app_host::redact_from_logs(&self.cookie_value);
    }

    /// Whether a presented bearer token matches, in constant time.
    pub fn matches_secret(&self, presented: &str) -> bool {
        bool::from(sha256(presented.as_bytes()).ct_eq(&self.secret_digest))
    }

    fn matches_cookie(&self, presented: &str) -> bool {
        bool::from(sha256(presented.as_bytes()).ct_eq(&self.cookie_digest))
    }

    /// Whether a request carries the token, by `Authorization: Bearer` or cookie.
    pub fn authorizes(&self, headers: &HeaderMap) -> bool {
        let bearer = headers
            .get_all(header::AUTHORIZATION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.strip_prefix("Bearer "))
            .any(|presented| self.matches_secret(presented));
        bearer || cookies(headers, COOKIE_NAME).any(|presented| self.matches_cookie(presented))
    }
}

impl fmt::Debug for RenderToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RenderToken(<redacted>)")
    }
}

/// Values of every cookie called `name` in the request's `Cookie` headers.
fn cookies<'a>(headers: &'a HeaderMap, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(move |pair| {
            let (key, value) = pair.trim().split_once('=')?;
            (key == name).then_some(value)
        })
}

/// The `Set-Cookie` value that signs a designer in.
pub fn session_cookie(token: &RenderToken, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let mut value = HeaderValue::from_str(&format!(
        "{COOKIE_NAME}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age=2592000{secure}",
        token.cookie_value()
    ))
    .expect("the cookie is visible ASCII");
    value.set_sensitive(true);
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (k.clone(), HeaderValue::from_str(v).unwrap()))
            .collect()
    }

    #[test]
    fn bearer_and_cookie_authorize_and_nothing_else_does() {
        let token = RenderToken::new("s3cret-token").unwrap();
        assert!(token.authorizes(&headers(&[(header::AUTHORIZATION, "Bearer s3cret-token")])));
        let cookie = format!("a=b; {COOKIE_NAME}={}", token.cookie_value());
        assert!(token.authorizes(&headers(&[(header::COOKIE, &cookie)])));
        for wrong in [
            vec![],
            vec![(header::AUTHORIZATION, "Bearer s3cret-tokeN")],
            vec![(header::AUTHORIZATION, "Bearer s3cret-token ")],
            vec![(header::AUTHORIZATION, "Bearer s3cret")],
            vec![(header::AUTHORIZATION, "bearer s3cret-token")],
            vec![(header::AUTHORIZATION, "s3cret-token")],
            vec![(header::AUTHORIZATION, "Basic czNjcmV0LXRva2Vu")],
            vec![(header::COOKIE, "ogshot_render=s3cret-token")],
            vec![(header::COOKIE, "other=abc")],
        ] {
            assert!(!token.authorizes(&headers(&wrong)), "{wrong:?}");
        }
    }

    #[test]
    fn the_secret_stays_out_of_debug_and_the_cookie() {
        let token = RenderToken::new("s3cret-token").unwrap();
        assert!(!format!("{token:?}").contains("s3cret"));
        assert!(!token.cookie_value().contains("s3cret"));
        let cookie = session_cookie(&token, true);
        let cookie = cookie.to_str().unwrap();
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
        assert!(cookie.ends_with("; Secure"));
    }

    #[test]
    fn unusable_tokens_are_refused() {
        assert_eq!(RenderToken::new("").unwrap_err(), TokenError::Empty);
        assert_eq!(RenderToken::new("a b").unwrap_err(), TokenError::Charset);
        assert_eq!(RenderToken::new("é").unwrap_err(), TokenError::Charset);
        assert_eq!(
            RenderToken::new("x".repeat(513)).unwrap_err(),
            TokenError::TooLong
        );
        let generated = RenderToken::generate();
        assert_eq!(generated.expose().len(), 64);
        assert_ne!(generated.expose(), RenderToken::generate().expose());
    }
}
