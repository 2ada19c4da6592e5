//! A directory of a site's files, served as a static host serves them (`static_site`
//! decides which file; tower-http's `ServeFile` sends it, with its type, validators
//! and ranges).
//!
//! A file is served only if its canonical path (symlinks resolved) is inside the
//! directory: a symlink may point at another file of the site, never out of it.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::HeaderMap;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use share_inject::gateway_error;
use tower::ServiceExt;
use tower_http::services::ServeFile;

use super::static_site::{self, SiteFiles};

/// The site's directory.
#[derive(Debug)]
pub struct Directory {
    /// Canonical, as config holds it.
    root: PathBuf,
    spa: bool,
}

impl Directory {
    pub fn new(root: PathBuf, spa: bool) -> Self {
        Self { root, spa }
    }

    /// The canonical path of the regular file at `file` inside the directory, if any.
    async fn find(&self, file: &str) -> Result<Option<PathBuf>, Response> {
        let found = async {
            let path = tokio::fs::canonicalize(self.root.join(file)).await?;
            let is_file = tokio::fs::metadata(&path).await?.is_file();
            Ok::<_, io::Error>((is_file && path.starts_with(&self.root)).then_some(path))
        };
        match found.await {
            Ok(path) => Ok(path),
            Err(error) if names_nothing(&error) => Ok(None),
            Err(error) => {
                tracing::warn!(%error, "the site's directory could not be read");
                Err(gateway_error(StatusCode::BAD_GATEWAY).into_response())
            }
        }
    }
}

/// The errors of a path that leads to no file (a component missing, or not a
/// directory, a name too long, no permission), as against a file system that fails.
fn names_nothing(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::NotFound
            | io::ErrorKind::NotADirectory
            | io::ErrorKind::InvalidFilename
            | io::ErrorKind::InvalidInput
            | io::ErrorKind::PermissionDenied
    )
}

impl SiteFiles for Directory {
    async fn send(
        &self,
        file: &str,
        method: &Method,
        headers: &HeaderMap,
    ) -> Result<Option<Response>, Response> {
        let Some(path) = self.find(file).await? else {
            return Ok(None);
        };
        let mut request = Request::new(Body::empty());
        *request.method_mut() = method.clone();
        *request.headers_mut() = headers.clone();
        let answer = ServeFile::new(path)
            .oneshot(request)
            .await
            .unwrap_or_else(|never| match never {});
        // Gone since it was found: as if it had never been there.
        if answer.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        Ok(Some(answer.map(Body::new)))
    }

    async fn holds(&self, file: &str) -> Result<bool, Response> {
        Ok(self.find(file).await?.is_some())
    }
}

/// Answers one request from the directory.
pub async fn serve(State(directory): State<Arc<Directory>>, request: Request) -> Response {
    static_site::answer(directory.as_ref(), directory.spa, request).await
}
