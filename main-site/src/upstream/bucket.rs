//! An existing site's files in an S3 bucket, read through the AWS SDK the way a static
//! host serves them: `/` and `/docs/` are their `index.html`, an extensionless path that
//! names no object is one of a single-page app's routes and gets the app's `index.html`,
//! and the object's own headers (type, coding, validators, caching) go out with it.
//!
//! Only GET and HEAD; conditional and range headers go to S3, which answers them.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::operation::get_object::{GetObjectError, GetObjectOutput};
use aws_sdk_s3::primitives::DateTimeFormat;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use share_inject::gateway_error;

use crate::config::UpstreamTimeout;
use tokio::sync::OnceCell;

/// The bucket, and the client made on first use (the SDK reads its configuration
/// asynchronously, the router is built before any runtime work).
#[derive(Debug)]
pub struct Bucket {
    name: String,
    prefix: String,
    region: Option<String>,
    timeout: Duration,
    client: OnceCell<aws_sdk_s3::Client>,
}

impl Bucket {
    pub fn new(
        name: String,
        prefix: String,
        region: Option<String>,
        UpstreamTimeout(timeout): UpstreamTimeout,
    ) -> Self {
        Self {
            name,
            prefix,
            region,
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

    fn key(&self, path: &str) -> String {
        let mut key = path.trim_start_matches('/').to_owned();
        if key.is_empty() || key.ends_with('/') {
            key.push_str("index.html");
        }
        if self.prefix.is_empty() {
            key
        } else {
            format!("{}/{key}", self.prefix)
        }
    }
}

/// Answers one request from the bucket.
pub async fn serve(State(bucket): State<Arc<Bucket>>, request: Request) -> Response {
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, "GET, HEAD")],
        )
            .into_response();
    }
    let Ok(path) = percent_encoding::percent_decode_str(request.uri().path()).decode_utf8() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let head = request.method() == Method::HEAD;
    let headers = request.headers();
    let answer = match get(&bucket, &bucket.key(&path), headers).await {
        Err(Fetch::Missing) if !last_segment(&path).contains('.') => {
            get(&bucket, &bucket.key("/"), headers).await
        }
        answer => answer,
    };
    match answer {
        Ok(object) => respond(object, head),
        Err(Fetch::Missing) => StatusCode::NOT_FOUND.into_response(),
        Err(Fetch::NotModified) => StatusCode::NOT_MODIFIED.into_response(),
        Err(Fetch::Unsatisfiable) => StatusCode::RANGE_NOT_SATISFIABLE.into_response(),
        Err(Fetch::TimedOut) => gateway_error(StatusCode::GATEWAY_TIMEOUT).into_response(),
        Err(Fetch::Failed) => gateway_error(StatusCode::BAD_GATEWAY).into_response(),
    }
}

fn last_segment(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or_default()
}

/// Why an object did not come.
enum Fetch {
    /// No such key, or no permission to know (S3 answers 403 without `s3:ListBucket`).
    Missing,
    NotModified,
    Unsatisfiable,
    TimedOut,
    Failed,
}

async fn get(bucket: &Bucket, key: &str, headers: &HeaderMap) -> Result<GetObjectOutput, Fetch> {
    let text = |name| {
        headers
            .get(name)
            .and_then(|value: &HeaderValue| value.to_str().ok())
    };
    let request = bucket
        .client()
        .await
        .get_object()
        .bucket(&bucket.name)
        .key(key)
        .set_if_none_match(text(header::IF_NONE_MATCH).map(str::to_owned))
        .set_range(text(header::RANGE).map(str::to_owned))
        .send();
    match tokio::time::timeout(bucket.timeout, request).await {
        Err(_) => Err(Fetch::TimedOut),
        Ok(Ok(object)) => Ok(object),
        Ok(Err(error)) => Err(classify(&error)),
    }
}

fn classify(error: &SdkError<GetObjectError>) -> Fetch {
    if let SdkError::ServiceError(service) = error
        && matches!(service.err(), GetObjectError::NoSuchKey(_))
    {
        return Fetch::Missing;
    }
    match error.raw_response().map(|raw| raw.status().as_u16()) {
        Some(403 | 404) => Fetch::Missing,
        Some(304) => Fetch::NotModified,
        Some(416) => Fetch::Unsatisfiable,
        _ if matches!(error, SdkError::TimeoutError(_)) => Fetch::TimedOut,
        _ => {
            tracing::warn!(error = %aws_sdk_s3::error::DisplayErrorContext(error), "the site's bucket failed");
            Fetch::Failed
        }
    }
}

fn respond(object: GetObjectOutput, head: bool) -> Response {
    let status = if object.content_range.is_some() {
        StatusCode::PARTIAL_CONTENT
    } else {
        StatusCode::OK
    };
    let mut headers = HeaderMap::new();
    let last_modified = object
        .last_modified
        .and_then(|at| at.fmt(DateTimeFormat::HttpDate).ok());
    for (name, value) in [
        (header::CONTENT_TYPE, object.content_type),
        (header::CONTENT_ENCODING, object.content_encoding),
        (header::CONTENT_LANGUAGE, object.content_language),
        (header::CONTENT_DISPOSITION, object.content_disposition),
        (header::CACHE_CONTROL, object.cache_control),
        (header::ETAG, object.e_tag),
        (header::CONTENT_RANGE, object.content_range),
        (header::LAST_MODIFIED, last_modified),
        (
            header::CONTENT_LENGTH,
            object.content_length.map(|length| length.to_string()),
        ),
    ] {
        if let Some(value) = value.and_then(|value| HeaderValue::from_str(&value).ok()) {
            headers.insert(name, value);
        }
    }
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    let body = if head {
        Body::empty()
    } else {
        Body::from_stream(tokio_util::io::ReaderStream::new(
            object.body.into_async_read(),
        ))
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}
