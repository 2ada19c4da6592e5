//! Signing in: the gate every protected route sits behind, the form it answers with,
//! and the POSTs that check a token, set the session cookie and go on.
//!
//! The token travels only in a header, a cookie or a form body: never in a URL, and
//! never back out in a page.
//!
//! A designer who asked for a page and signed in lands on that page. The form has no
//! `action`, so the browser posts it back to the URL that was asked for (a wrong token
//! keeps it there, for the next try), and the gate answers a right one with a redirect
//! to that URL's path: nothing of the request is written into the page, and the path
//! is taken only when a browser reads it as one of this site's
//! ([`same_site_path`]), so the sign-in is never an open redirect.

use axum::Form;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use leptos::prelude::*;
use serde::Deserialize;

use crate::{SiteState, auth};

/// Where a designer lands after signing in at `/signin`, or at a path that is not a
/// same-site path.
const AFTER_SIGNIN: &str = "/preview";

/// The sign-in page: a single form posting the token in the request body, so it never
/// appears in a URL, a history entry or an access log. It posts to the URL it is shown
/// at (no `action`), which is how the page that was asked for comes back after sign-in.
pub fn page(error: Option<&'static str>) -> Html<String> {
    Html(
        view! {
            <!DOCTYPE html>
            <html lang="en">
                <head>
                    <meta charset="utf-8"/>
                    <title>"Sign in · ogshot render site"</title>
                    <style>
                        "body{font:16px/1.5 system-ui,sans-serif;max-width:28rem;margin:12vh auto;padding:0 1rem}
                         input,button{font:inherit;padding:.5rem .7rem}input{width:100%;box-sizing:border-box}
                         .error{color:#b00020}"
                    </style>
                </head>
                <body>
                    <h1>"ogshot render site"</h1>
                    <p>"Cards and the designers' gallery need the render token."</p>
                    {error.map(|e| view! { <p class="error">{e}</p> })}
                    <form method="post">
                        <label for="token">"Render token"</label>
                        <input id="token" name="token" type="password" autocomplete="current-password" required=""/>
                        <p><button type="submit">"Sign in"</button></p>
                    </form>
                </body>
            </html>
        }
        .to_html(),
    )
}

#[derive(Deserialize)]
pub struct SigninForm {
    token: String,
}

impl std::fmt::Debug for SigninForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigninForm { token: <redacted> }")
    }
}

/// `POST /signin`: a correct token sets the session cookie and goes to the gallery.
pub async fn submit(State(state): State<SiteState>, Form(form): Form<SigninForm>) -> Response {
    sign_in(&state, &form, HeaderValue::from_static(AFTER_SIGNIN))
}

/// Middleware: lets a request through only when it carries the token. Otherwise a POST
/// of the sign-in form is a sign-in at this URL, and anything else is answered 401
/// with the sign-in form and nothing else.
pub async fn require_token(
    State(state): State<SiteState>,
    request: Request,
    next: Next,
) -> Response {
    if state.token.authorizes(request.headers()) {
        return next.run(request).await;
    }
    if request.method() == Method::POST {
        let back = return_path(request.uri());
        if let Ok(Form(form)) = Form::<SigninForm>::from_request(request, &()).await {
            return sign_in(&state, &form, back);
        }
    }
    (
        StatusCode::UNAUTHORIZED,
        [(
            header::WWW_AUTHENTICATE,
            "Bearer realm=\"ogshot render site\"",
        )],
        page(None),
    )
        .into_response()
}

/// Checks a submitted token: a right one sets the session cookie and goes on to
/// `then`, a wrong one gets the form again, with what went wrong.
fn sign_in(state: &SiteState, form: &SigninForm, then: HeaderValue) -> Response {
    if !state.token.matches_secret(&form.token) {
        return (
            StatusCode::UNAUTHORIZED,
            page(Some("That token is not right.")),
        )
            .into_response();
    }
    (
        StatusCode::SEE_OTHER,
        [
            (
                header::SET_COOKIE,
                auth::session_cookie(&state.token, state.secure_cookie),
            ),
            (header::LOCATION, then),
        ],
    )
        .into_response()
}

/// Where a sign-in at `uri` goes on to: its path and query when they are a same-site
/// path, else the gallery.
fn return_path(uri: &Uri) -> HeaderValue {
    uri.path_and_query()
        .and_then(|target| same_site_path(target.as_str()))
        .and_then(|path| HeaderValue::from_str(path).ok())
        .unwrap_or_else(|| HeaderValue::from_static(AFTER_SIGNIN))
}

/// `raw` if a browser given it as a redirect's `Location` stays on this site: one `/`
/// first (`//host` and `/\host` name another host, as does anything with a scheme), and
/// only visible ASCII without a backslash after it (browsers drop tabs and line breaks
/// from a URL and read `\` as `/`, which would make `/\t/host` and `/\\host` hosts too).
fn same_site_path(raw: &str) -> Option<&str> {
    let rest = raw.strip_prefix('/')?;
    let plain = raw
        .bytes()
        .all(|byte| byte.is_ascii_graphic() && byte != b'\\');
    (plain && !rest.starts_with('/')).then_some(raw)
}

#[cfg(test)]
mod tests {
    use super::same_site_path;

    #[test]
    fn only_a_same_site_path_is_a_return_path() {
        for path in [
            "/",
            "/preview",
            "/preview/12-34-10",
            "/card/12-34-10?compare=1&x=%2F%2Fevil.example",
            // A path that only looks like a host when decoded: browsers do not decode it.
            "/%2F%2Fevil.example",
            "/%5Cevil.example",
            "/preview//twice",
        ] {
            assert_eq!(same_site_path(path), Some(path), "{path}");
        }
        for hostile in [
            "",
            "preview",
            "evil.example",
            "//evil.example",
            "//evil.example/preview",
            "///evil.example",
            "/\\evil.example",
            "/\\/evil.example",
            "\\\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/ /evil.example",
            "/preview\r\nSet-Cookie: a=b",
            "/preview\\..\\evil",
            "https://evil.example/preview",
            "http:/evil.example",
            "javascript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            " /preview",
            "/préview",
        ] {
            assert_eq!(same_site_path(hostile), None, "{hostile:?}");
        }
    }
}
