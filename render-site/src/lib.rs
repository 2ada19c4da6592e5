//! ogshot's render site: the page Chromium screenshots, and the designers' gallery.
//!
//! `GET /card/<id>` answers a self-contained 1200x630 card document (Leptos SSR, inline
//! CSS, bundled fonts, no request to any other origin) that signals readiness through
//! `window.ogshotReady`. Every route but `/healthz` (and the sign-in form's POST)
//! requires the render token; the token never appears in a URL, a log line or a page.
//! The router holds no global state, so an image service can mount its own instance
//! in-process with a per-process random token.

pub mod auth;
pub mod card;
pub mod config;
pub mod gallery;
pub mod networks;
pub mod signin;

use std::borrow::Cow;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use shared_ids::{BaseUrl, SocialId};
use tower_http::set_header::SetResponseHeaderLayer;

pub use auth::RenderToken;
pub use card::{DRAWN_FUNCTION, READY_EXPRESSION, SWAP_FUNCTION, card_page_path};
use card_wording::Content;
pub use config::{Args, Config, ConfigError, DesignSource, RenderSiteConfig, ShareSource};

/// Card and sign-in pages load only same-origin resources. Inline `<style>` needs
/// `'unsafe-inline'` for styles only; scripts stay `'self'`, and sanitised content can
/// carry no `style` attribute or tag anyway.
const CSP: &str = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
                   object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'";

/// The designers' pages' script (`assets/preview.js`): the missing-glyph check. Not a
/// card asset, so not part of the design fingerprint: it never changes a card.
const PREVIEW_SCRIPT: &str = include_str!("../assets/preview.js");

/// Token-protected pages must not be kept by any shared cache.
const PRIVATE_NO_STORE: &str = "private, no-store";

/// Shared state of one render-site router instance.
#[derive(Debug, Clone)]
pub struct SiteState {
    token: RenderToken,
    design: Arc<DesignSource>,
    image_base: Option<BaseUrl>,
    share_text: Arc<ShareSource>,
    secure_cookie: bool,
}

/// Builds the render site's router; the same router serves locally, in-process inside
/// the image service, and on AWS Lambda.
pub fn router(config: RenderSiteConfig) -> Router {
    let state = SiteState {
        token: config.token,
        design: Arc::new(config.design),
        image_base: config.image_base,
        share_text: Arc::new(config.share_text),
        secure_cookie: config.secure_cookie,
    };
    let protected = Router::new()
        .route("/", get(|| async { Redirect::to("/preview") }))
        .route("/card/{id}", get(card_page))
        .route("/preview", get(preview))
        .route("/preview/{id}", get(network_preview))
        .route("/assets/{*name}", get(asset))
        .fallback(|| async { (StatusCode::NOT_FOUND, "not found") })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            signin::require_token,
        ));
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/signin", post(signin::submit))
        .merge(protected)
        .with_state(state)
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static(PRIVATE_NO_STORE),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("SAMEORIGIN"),
        ))
        .layer(app_host::route_trace_layer("unmatched"))
}

/// A design file that could not be re-read in `--dev` mode: the designer's own edit,
/// shown to them with the line that is wrong.
struct DesignError(String);

impl IntoResponse for DesignError {
    fn into_response(self) -> Response {
        tracing::warn!(error = %self.0, "design files could not be re-read");
        (StatusCode::INTERNAL_SERVER_ERROR, self.0).into_response()
    }
}

impl SiteState {
    fn design(&self) -> Result<(Cow<'_, Content>, Cow<'static, str>), DesignError> {
        match self.design.as_ref() {
            DesignSource::Fixed(content) => {
                Ok((Cow::Borrowed(content), Cow::Borrowed(card::CARD_CSS)))
            }
            DesignSource::Reload {
                content_file,
                css_file,
            } => {
                let content =
                    Content::load(content_file).map_err(|e| DesignError(e.to_string()))?;
                let css = std::fs::read_to_string(css_file)
                    .map_err(|e| DesignError(format!("cannot read {}: {e}", css_file.display())))?;
                Ok((Cow::Owned(content), Cow::Owned(css)))
            }
        }
    }
}

async fn card_page(State(state): State<SiteState>, uri: Uri) -> Response {
    // The raw path, not the percent-decoded `Path` value: `%31%32-34-10` is not an
    // alias of `12-34-10` anywhere in ogshot.
    let raw = uri.path().strip_prefix("/card/").unwrap_or_default();
    let Ok(id) = SocialId::parse(raw) else {
        return (StatusCode::NOT_FOUND, "no such card").into_response();
    };
    match state.design() {
        Ok((content, css)) => Html(card::render(id, &content.card_text(id), &css)).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn preview(State(state): State<SiteState>) -> Response {
    let (content, _) = match state.design() {
        Ok(design) => design,
        Err(e) => return e.into_response(),
    };
    let ids = gallery::gallery_ids(content.samples());
    let dev = matches!(state.design.as_ref(), DesignSource::Reload { .. });
    let html = gallery::render(&ids, state.image_base.as_ref(), dev);
    (
        [(header::CONTENT_SECURITY_POLICY, preview_csp(&state))],
        Html(html),
    )
        .into_response()
}

async fn network_preview(State(state): State<SiteState>, uri: Uri) -> Response {
    let raw = uri.path().strip_prefix("/preview/").unwrap_or_default();
    let Ok(id) = SocialId::parse(raw) else {
        return (StatusCode::NOT_FOUND, "no such card").into_response();
    };
    // Re-read under --dev, so a broken edit shows here as on every other page.
    let content = match state.design() {
        Ok((content, _)) => content.into_owned(),
        Err(e) => return e.into_response(),
    };
    let share = share_text(&state, &content, id).await;
    let image = state.image_base.as_ref().map(|base| base.card_url(id));
    let dev = matches!(state.design.as_ref(), DesignSource::Reload { .. });
    let html = networks::render(id, &share, image.as_deref(), dev);
    (
        [(header::CONTENT_SECURITY_POLICY, preview_csp(&state))],
        Html(html),
    )
        .into_response()
}

/// What a share of `id` says: the main site's own share page when it is configured and
/// answers, otherwise the same text from share-tags, which the main site's page uses.
/// Nothing of the request goes into it.
async fn share_text(state: &SiteState, content: &Content, id: SocialId) -> networks::Share {
    let built = |site_name: &str, public_url: &BaseUrl, origin: String| {
        let text = share_tags::ShareText::new(site_name, content, Some(id));
        networks::Share {
            title: text.title,
            description: text.description,
            image_alt: text.image_alt,
            domain: networks::domain(public_url.origin()),
            origin,
        }
    };
    match state.share_text.as_ref() {
        ShareSource::Built {
            site_name,
            public_url,
        } => built(
            site_name,
            public_url,
            "built as the main site builds it (set MAIN_SITE_URL to read it from the main site)"
                .into(),
        ),
        ShareSource::MainSite(main) => match networks::fetch_share(main, id).await {
            Ok(share) => share,
            Err(why) => built(
                "ogshot",
                main,
                format!("the main site did not answer ({why}); built as it builds it"),
            ),
        },
    }
}

/// The designers' pages show the image service's JPEGs: allow its origin for images.
fn preview_csp(state: &SiteState) -> HeaderValue {
    let csp = match &state.image_base {
        Some(base) => CSP.replace(
            "img-src 'self' data:",
            &format!("img-src 'self' data: {}", base.origin()),
        ),
        None => CSP.to_owned(),
    };
    HeaderValue::from_str(&csp).expect("origins are ASCII")
}

async fn asset(Path(name): Path<String>) -> Response {
    if name == "preview.js" {
        return (
            [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
            PREVIEW_SCRIPT,
        )
            .into_response();
    }
    match card::asset(&name) {
        Some(asset) => (
            [
                (header::CONTENT_TYPE, asset.content_type),
                // A warm browser renders many cards: let it keep fonts and the script.
                (header::CACHE_CONTROL, "private, max-age=86400"),
            ],
            asset.bytes,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

#[cfg(test)]
mod tests;
