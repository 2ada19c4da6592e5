//! An existing site's files in an S3 bucket (under a prefix), read through the AWS SDK
//! and served as a static host serves them (`static_site` decides which object), with
//! the object's own headers (type, coding, validators, caching).
//!
//! Range headers go to S3, which answers them; the conditions of a GET or HEAD are
//! answered here from the object's metadata (HeadObject), so that a 304 carries its
//! validators and caching headers. A HEAD never fetches the object, and a key S3 would
//! refuse is no file rather than a request that fails.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::primitives::{DateTime, DateTimeFormat};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use share_inject::gateway_error;
use tokio::sync::OnceCell;

use super::static_site::{self, SiteFiles};
use crate::config::UpstreamTimeout;

/// The bucket, and the client made on first use (the SDK reads its configuration
/// asynchronously, the router is built before any runtime work).
#[derive(Debug)]
pub struct Bucket {
    name: String,
    prefix: String,
    region: Option<String>,
    spa: bool,
    timeout: Duration,
    client: OnceCell<aws_sdk_s3::Client>,
}

impl Bucket {
    pub fn new(
        name: String,
        prefix: String,
        region: Option<String>,
        spa: bool,
        UpstreamTimeout(timeout): UpstreamTimeout,
    ) -> Self {
        Self {
            name,
            prefix,
            region,
            spa,
            timeout,
            client: OnceCell::new(),
        }
    }

    async fn client(&self) -> &aws_sdk_s3::Client {
        self.client
            .get_or_init(|| async {
                let shared = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
                let mut config = aws_sdk_s3::config::Builder::from(&shared);
                if let Some(region) = &self.region {
                    config = config.region(aws_sdk_s3::config::Region::new(region.clone()));
                }
                // A local S3-protocol server (tests, MinIO) is addressed by path.
                if std::env::var_os("AWS_ENDPOINT_URL_S3").is_some()
                    || std::env::var_os("AWS_ENDPOINT_URL").is_some()
                {
                    config = config.force_path_style(true);
                }
                aws_sdk_s3::Client::from_conf(config.build())
            })
            .await
    }

    /// The object key of a site file, or `None` for one longer than S3 takes (a path
    /// within the limit may pass it under the prefix, or with `index.html` after it).
    fn key(&self, file: &str) -> Option<String> {
        let key = if self.prefix.is_empty() {
            file.to_owned()
        } else {
            format!("{}/{file}", self.prefix)
        };
        (key.len() <= static_site::MAX_KEY_BYTES).then_some(key)
    }

    /// Runs one S3 request within the upstream timeout; `Ok(None)`: no such key.
    async fn within_timeout<T, E: std::error::Error + 'static>(
        &self,
        request: impl Future<Output = Result<T, SdkError<E>>>,
    ) -> Result<Option<T>, Fetch> {
        match tokio::time::timeout(self.timeout, request).await {
            Err(_) => Err(Fetch::TimedOut),
            Ok(Ok(object)) => Ok(Some(object)),
            Ok(Err(error)) => classify(&error).map(|()| None),
        }
    }

    async fn get(&self, key: String, range: Option<String>) -> Result<Option<Object>, Fetch> {
        let request = self
            .client()
            .await
            .get_object()
            .bucket(&self.name)
            .key(key)
            .set_range(range)
            .send();
        let object = self.within_timeout(request).await?;
        Ok(object.map(|object| {
            let body = Body::from_stream(tokio_util::io::ReaderStream::new(
                object.body.into_async_read(),
            ));
            Object {
                metadata: metadata_of!(object),
                body,
            }
        }))
    }

    async fn head(&self, key: String, range: Option<String>) -> Result<Option<Metadata>, Fetch> {
        let request = self
            .client()
            .await
            .head_object()
            .bucket(&self.name)
            .key(key)
            .set_range(range)
            .send();
        let object = self.within_timeout(request).await?;
        Ok(object.map(|object| metadata_of!(object)))
    }

    /// The answer for `key`: a HEAD asks S3 for the object's metadata only, and so does a
    /// GET with conditions first, which are answered here from that metadata.
    async fn answer(
        &self,
        key: String,
        method: &Method,
        headers: &HeaderMap,
    ) -> Result<Option<Response>, Fetch> {
        let range = headers
            .get(header::RANGE)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let condition = Condition::of(headers);
        if *method == Method::HEAD || condition.is_some() {
            let head = *method == Method::HEAD;
            let for_head = range.clone().filter(|_| head);
            let Some(metadata) = self.head(key.clone(), for_head).await? else {
                return Ok(None);
            };
            if condition.is_some_and(|condition| condition.holds(&metadata)) {
                return Ok(Some(metadata.not_modified()));
            }
            if head {
                return Ok(Some(metadata.respond(Body::empty())));
            }
        }
        let object = self.get(key, range).await?;
        Ok(object.map(|Object { metadata, body }| metadata.respond(body)))
    }
}

impl SiteFiles for Bucket {
    async fn send(
        &self,
        file: &str,
        method: &Method,
        headers: &HeaderMap,
    ) -> Result<Option<Response>, Response> {
        let Some(key) = self.key(file) else {
            return Ok(None);
        };
        match self.answer(key, method, headers).await {
            Ok(answer) => Ok(answer),
            Err(Fetch::Unsatisfiable) => {
                Ok(Some(StatusCode::RANGE_NOT_SATISFIABLE.into_response()))
            }
            Err(failed) => Err(failed.gateway_error()),
        }
    }

    async fn holds(&self, file: &str) -> Result<bool, Response> {
        let Some(key) = self.key(file) else {
            return Ok(false);
        };
        match self.head(key, None).await {
            Ok(found) => Ok(found.is_some()),
            Err(failed) => Err(failed.gateway_error()),
        }
    }
}

/// Answers one request from the bucket.
pub async fn serve(State(bucket): State<Arc<Bucket>>, request: Request) -> Response {
    static_site::answer(bucket.as_ref(), bucket.spa, request).await
}

/// Why an object did not come.
enum Fetch {
    Unsatisfiable,
    TimedOut,
    Failed,
}

impl Fetch {
    fn gateway_error(&self) -> Response {
        let status = match self {
            Self::TimedOut => StatusCode::GATEWAY_TIMEOUT,
            _ => StatusCode::BAD_GATEWAY,
        };
        gateway_error(status).into_response()
    }
}

/// `Ok`: no such key, or no permission to know (S3 answers 403 without
/// `s3:ListBucket`).
fn classify<E: std::error::Error + 'static>(error: &SdkError<E>) -> Result<(), Fetch> {
    match error.raw_response().map(|raw| raw.status().as_u16()) {
        Some(403 | 404) => Ok(()),
        Some(416) => Err(Fetch::Unsatisfiable),
        _ if matches!(error, SdkError::TimeoutError(_)) => Err(Fetch::TimedOut),
        _ => {
            tracing::warn!(error = %aws_sdk_s3::error::DisplayErrorContext(error), "the site's bucket failed");
            Err(Fetch::Failed)
        }
    }
}

/// An object's body, with its metadata.
struct Object {
    metadata: Metadata,
    body: Body,
}

/// What a client is told about an object, as GetObject and HeadObject both give it.
struct Metadata {
    content_type: Option<String>,
    content_encoding: Option<String>,
    content_language: Option<String>,
    content_disposition: Option<String>,
    cache_control: Option<String>,
    expires: Option<String>,
    e_tag: Option<String>,
    last_modified: Option<DateTime>,
    content_length: Option<i64>,
    content_range: Option<String>,
}

/// The [`Metadata`] of a GetObject or HeadObject output, whose fields are named alike.
macro_rules! metadata_of {
    ($object:expr) => {
        Metadata {
            content_type: $object.content_type,
            content_encoding: $object.content_encoding,
            content_language: $object.content_language,
            content_disposition: $object.content_disposition,
            cache_control: $object.cache_control,
            expires: $object.expires_string,
            e_tag: $object.e_tag,
            last_modified: $object.last_modified,
            content_length: $object.content_length,
            content_range: $object.content_range,
        }
    };
}
use metadata_of;

impl Metadata {
    fn last_modified(&self) -> Option<String> {
        (self.last_modified.as_ref()).and_then(|at| at.fmt(DateTimeFormat::HttpDate).ok())
    }

    /// The object's answer with `body` (empty for a HEAD).
    fn respond(self, body: Body) -> Response {
        let status = if self.content_range.is_some() {
            StatusCode::PARTIAL_CONTENT
        } else {
            StatusCode::OK
        };
        let last_modified = self.last_modified();
        let mut response = Response::new(body);
        *response.status_mut() = status;
        insert_all(
            response.headers_mut(),
            [
                (header::CONTENT_TYPE, self.content_type),
                (header::CONTENT_ENCODING, self.content_encoding),
                (header::CONTENT_LANGUAGE, self.content_language),
                (header::CONTENT_DISPOSITION, self.content_disposition),
                (header::CACHE_CONTROL, self.cache_control),
                (header::EXPIRES, self.expires),
                (header::ETAG, self.e_tag),
                (header::CONTENT_RANGE, self.content_range),
                (header::LAST_MODIFIED, last_modified),
                (
                    header::CONTENT_LENGTH,
                    self.content_length.map(|length| length.to_string()),
                ),
            ],
        );
        (response.headers_mut()).insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
        response
    }

    /// The 304 for an object the client holds, with what RFC 9110 15.4.5 has it keep:
    /// the validators and the caching headers a cache refreshes its copy with.
    fn not_modified(self) -> Response {
        let last_modified = self.last_modified();
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        insert_all(
            response.headers_mut(),
            [
                (header::ETAG, self.e_tag),
                (header::LAST_MODIFIED, last_modified),
                (header::CACHE_CONTROL, self.cache_control),
                (header::EXPIRES, self.expires),
            ],
        );
        response
    }
}

fn insert_all<const N: usize>(
    headers: &mut HeaderMap,
    values: [(header::HeaderName, Option<String>); N],
) {
    for (name, value) in values {
        if let Some(value) = value.and_then(|value| HeaderValue::from_str(&value).ok()) {
            headers.insert(name, value);
        }
    }
}

/// The condition of a GET or HEAD that a 304 answers (RFC 9110 13.1.2, 13.1.3). It is
/// answered here rather than by S3, whose 304 is not documented to carry the object's
/// caching headers, and whose rule for both conditions at once is not the RFC's.
enum Condition {
    NoneMatch(String),
    ModifiedSince(DateTime),
}

impl Condition {
    /// `If-None-Match` when there is one (a recipient ignores `If-Modified-Since` then),
    /// else a valid `If-Modified-Since` of one date.
    fn of(headers: &HeaderMap) -> Option<Self> {
        if let Some(tags) = headers.get(header::IF_NONE_MATCH) {
            return Some(Self::NoneMatch(
                tags.to_str().unwrap_or_default().to_owned(),
            ));
        }
        let mut dates = headers.get_all(header::IF_MODIFIED_SINCE).iter();
        let (Some(date), None) = (dates.next(), dates.next()) else {
            return None;
        };
        let date = DateTime::from_str(date.to_str().ok()?, DateTimeFormat::HttpDate).ok()?;
        Some(Self::ModifiedSince(date))
    }

    /// Whether the client already holds the object: one of its tags is the object's by
    /// weak comparison (or `*`), or the object is no newer than its date.
    fn holds(&self, object: &Metadata) -> bool {
        match self {
            Self::NoneMatch(tags) => {
                let opaque = |tag: &str| tag.trim().trim_start_matches("W/").to_owned();
                let current = object.e_tag.as_deref().map(opaque);
                tags.split(',').any(|tag| {
                    tag.trim() == "*" || current.as_ref().is_some_and(|etag| *etag == opaque(tag))
                })
            }
            Self::ModifiedSince(date) => object
                .last_modified
                .is_some_and(|modified| modified.secs() <= date.secs()),
        }
    }
}
