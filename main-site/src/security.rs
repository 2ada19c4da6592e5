//! The security headers of every main-site response: a CSP that allows no script and
//! one image origin, and the usual hardening headers. It never reads the request.

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::config::Config;

/// Adds the security headers every response carries.
///
/// The page is static HTML with one same-origin stylesheet and one image from the
/// configured image origin, so the CSP allows exactly that and nothing else: no
/// scripts at all, no framing, no form targets, no `<base>` rewrites.
pub fn with_security_headers(router: Router, config: &Config) -> Router {
    let csp = format!(
        "default-src 'none'; img-src 'self' {}; style-src 'self'; base-uri 'none'; \
         form-action 'none'; frame-ancestors 'none'",
        config.site.image_base.origin()
    );
    let mut headers: Vec<(HeaderName, String)> = vec![
        (header::CONTENT_SECURITY_POLICY, csp),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff".into()),
        (
            header::REFERRER_POLICY,
            "strict-origin-when-cross-origin".into(),
        ),
        (header::X_FRAME_OPTIONS, "DENY".into()),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin".into(),
        ),
        (
            HeaderName::from_static("permissions-policy"),
            "camera=(), microphone=(), geolocation=(), interest-cohort=()".into(),
        ),
    ];
    // HSTS over plain http is ignored by browsers and would only mislead; send it only
    // when the site is really served over https.
    if config.site.public_url.is_https() {
        headers.push((
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=63072000; includeSubDomains".into(),
        ));
    }
    headers.into_iter().fold(router, |router, (name, value)| {
        let value = HeaderValue::from_str(&value).expect("security header values are ASCII");
        router.layer(SetResponseHeaderLayer::overriding(name, value))
    })
}
