//! A directory of a site's files served as a static host serves them (tower-http's
//! `ServeDir`), with the fallback a single-page app needs: a path without a file
//! extension that names no file is one of the app's own routes, so it gets the app's
//! `index.html`. A missing asset (`/app.js`) stays a 404.

use std::convert::Infallible;
use std::path::Path;

use axum::body::Body;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;
use tower::util::BoxCloneSyncService;
use tower_http::services::{ServeDir, ServeFile};

/// The service that answers from `dir`.
pub fn service(dir: &Path) -> BoxCloneSyncService<Request, Response, Infallible> {
    let index = ServeFile::new(dir.join("index.html"));
    let app_route = tower::service_fn(move |request: Request| {
        let index = index.clone();
        async move {
            let last = request.uri().path().rsplit('/').next().unwrap_or_default();
            if last.contains('.') {
                return Ok::<_, Infallible>(StatusCode::NOT_FOUND.into_response());
            }
            let answer = index.oneshot(request).await?;
            Ok(answer.map(Body::new))
        }
    });
    let files = ServeDir::new(dir)
        .append_index_html_on_directories(true)
        .fallback(app_route);
    BoxCloneSyncService::new(files.map_response(|answer| answer.map(Body::new)))
}
