//! Signing in: the gate every protected route sits behind, the form it answers with,
//! and the POST that checks a token and sets the session cookie.
//!
//! The token travels only in a header, a cookie or a form body: never in a URL, and
//! never back out in a page.

use axum::Form;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use leptos::prelude::*;
use serde::Deserialize;

use crate::{SiteState, auth};

/// Where a designer lands after signing in.
const AFTER_SIGNIN: &str = "/preview";

/// The sign-in page: a single form posting the token in the request body, so it never
/// appears in a URL, a history entry or an access log.
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
                    <form method="post" action="/signin">
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
            (
                header::LOCATION,
                AFTER_SIGNIN.parse().expect("a static path"),
            ),
        ],
    )
        .into_response()
}

/// Middleware: lets a request through only when it carries the token; otherwise 401
/// with the sign-in form and nothing else.
pub async fn require_token(
    State(state): State<SiteState>,
    request: Request,
    next: Next,
) -> Response {
    if state.token.authorizes(request.headers()) {
        return next.run(request).await;
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
