//! The S3 backend (any S3-compatible server too): one GET per lookup, one create-only
//! PUT per card, with timeouts and one quick retry so a slow S3 costs a request only
//! its share of the budget. It never decides "absent" anywhere but `is_not_found`.

use std::fmt;
use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{BehaviorVersion, Region};
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;
use shared_ids::IMAGE_CONTENT_TYPE;

use super::{PutOutcome, Storage, StorageError, StorageFuture, StorageKey, StoredImage};
use crate::cache_policy::CachePolicy;

/// Where the S3 backend keeps cards. Credentials are not part of it: they come from the
/// standard AWS chain (environment, profile, the Lambda role).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct S3Config {
    pub bucket: String,
    /// Prepended to every key, e.g. `cards` stores `cards/v1/12-34-10.jpg`. Segments of
    /// ASCII letters, digits, `-`, `_` and `.`, joined by `/`.
    pub prefix: Option<String>,
    /// An S3-compatible endpoint (MinIO, R2, an in-process test server) instead of AWS.
    pub endpoint: Option<String>,
    /// Address buckets as `endpoint/bucket` rather than `bucket.endpoint`, which most
    /// self-hosted servers need.
    pub force_path_style: bool,
    /// Overrides the region found by the standard chain.
    pub region: Option<String>,
}

/// Every S3 call's timeouts. A crawler gives up after a few seconds, so a slow S3 answer
/// is a failure, not something to wait out: in-region S3 connects in milliseconds and
/// sends a card's first byte well within 100 ms, so these bounds are only reached when
/// S3 (or the path to it) is in trouble. The caller's deadline bounds each call too.
pub fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_millis(500))
        .read_timeout(Duration::from_millis(1000))
        .operation_attempt_timeout(Duration::from_millis(1500))
        .operation_timeout(Duration::from_millis(3000))
        .build()
}

/// One retry, soon: enough for a dropped connection or a single 503 SlowDown, and it
/// fits the budget, where the SDK's default (3 attempts, backoff from 1 s) does not.
pub fn retries() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(2)
        .with_initial_backoff(Duration::from_millis(50))
        .with_max_backoff(Duration::from_millis(200))
}

/// Cards as objects in an S3 bucket, stored with the card's Cache-Control so that
/// CloudFront's S3 origin serves them with the same headers as the function does.
#[derive(Clone)]
pub struct S3Storage {
    client: Client,
    bucket: String,
    /// Empty, or the configured prefix followed by `/`.
    prefix: String,
}

impl S3Storage {
    /// Connects with the standard AWS credential and region chain, with the
    /// [`timeouts`] and [`retries`] that keep a storage call inside a response budget.
    pub async fn connect(config: &S3Config) -> Result<Self, StorageError> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .timeout_config(timeouts())
            .retry_config(retries());
        if let Some(region) = &config.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(endpoint) = &config.endpoint {
            loader = loader.endpoint_url(endpoint);
        }
        let shared = loader.load().await;
        if shared.region().is_none() {
            return Err(StorageError::Config(
                "no AWS region: configure one or set AWS_REGION".to_owned(),
            ));
        }
        let s3 = aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(config.force_path_style)
            .build();
        Self::with_client(
            Client::from_conf(s3),
            &config.bucket,
            config.prefix.as_deref(),
        )
    }

    /// Builds its client from `config`, e.g. one pointed at an in-process test server,
    /// with the same [`timeouts`] and [`retries`] as [`connect`](Self::connect), so a
    /// faulty server costs the service what a faulty S3 would.
    pub fn with_config(
        config: aws_sdk_s3::config::Builder,
        bucket: &str,
        prefix: Option<&str>,
    ) -> Result<Self, StorageError> {
        let config = config
            .timeout_config(timeouts())
            .retry_config(retries())
            .build();
        Self::with_client(Client::from_conf(config), bucket, prefix)
    }

    /// Uses a ready client as it is, its timeouts and retries included.
    pub fn with_client(
        client: Client,
        bucket: &str,
        prefix: Option<&str>,
    ) -> Result<Self, StorageError> {
        if bucket.is_empty() {
            return Err(StorageError::Config(
                "the S3 bucket name is empty".to_owned(),
            ));
        }
        Ok(Self {
            client,
            bucket: bucket.to_owned(),
            prefix: normalise_prefix(prefix)?,
        })
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The object key of a card: the prefix, if any, then the storage key.
    pub fn object_key(&self, key: &StorageKey) -> String {
        format!("{}{key}", self.prefix)
    }

    async fn get_object(&self, key: &StorageKey) -> Result<Option<StoredImage>, StorageError> {
        let object = self.object_key(key);
        let response = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&object)
            .send()
            .await;
        let output = match response {
            Ok(output) => output,
            Err(e) if is_not_found(&e) => return Ok(None),
            Err(e) => return Err(s3_error("GetObject", object, e)),
        };
        let etag = output.e_tag().map(quoted);
        let bytes = output
            .body
            .collect()
            .await
            .map_err(|e| s3_error("GetObject (body)", object, e))?
            .into_bytes();
        let etag = etag.unwrap_or_else(|| super::content_etag(&bytes));
        Ok(Some(StoredImage { bytes, etag }))
    }

    async fn put_object(&self, key: &StorageKey, jpeg: Bytes) -> Result<PutOutcome, StorageError> {
        let object = self.object_key(key);
        let response = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(&object)
            .body(ByteStream::from(jpeg))
            .content_type(IMAGE_CONTENT_TYPE)
            .cache_control(CachePolicy::Card.cache_control())
            // Create-only: S3 refuses with 412 if the key exists, so a concurrent
            // render never replaces a stored card. Servers without conditional writes
            // ignore the header and store, which is harmless for identical renders.
            .if_none_match("*")
            .send()
            .await;
        match response {
            Ok(_) => Ok(PutOutcome::Stored),
            Err(e) if is_already_stored(&e) => Ok(PutOutcome::AlreadyExists),
            Err(e) => Err(s3_error("PutObject", object, e)),
        }
    }
}

/// The object the write probe puts, beside the cards under the prefix. A card key starts
/// with a design token, never a dot, so this is no card's key, and CloudFront's viewer
/// function sends its path to the default image.
pub const WRITE_PROBE_OBJECT: &str = ".ogshot-write-probe";

impl S3Storage {
    /// A create-only PUT of the sentinel. S3 checks a request's authorisation before its
    /// precondition, so a 412 for an existing sentinel proves writes are accepted as
    /// well as a fresh write does, and the bucket holds one sentinel, not one per probe.
    async fn put_sentinel(&self) -> Result<(), StorageError> {
        let object = format!("{}{WRITE_PROBE_OBJECT}", self.prefix);
        let response = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(&object)
            .body(ByteStream::from_static(b"ogshot write probe"))
            .content_type("text/plain")
            .if_none_match("*")
            .send()
            .await;
        match response {
            Ok(_) => Ok(()),
            Err(e) if is_already_stored(&e) => Ok(()),
            Err(e) => Err(s3_error("PutObject", object, e)),
        }
    }
}

impl Storage for S3Storage {
    fn get<'a>(&'a self, key: &'a StorageKey) -> StorageFuture<'a, Option<StoredImage>> {
        Box::pin(self.get_object(key))
    }

    fn put_if_absent<'a>(
        &'a self,
        key: &'a StorageKey,
        jpeg: Bytes,
    ) -> StorageFuture<'a, PutOutcome> {
        Box::pin(self.put_object(key, jpeg))
    }

    fn probe_write(&self) -> StorageFuture<'_, ()> {
        Box::pin(self.put_sentinel())
    }
}

impl fmt::Debug for S3Storage {
    // The client's configuration is no one's business in a log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Storage")
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// The one place that decides "absent" for S3: a 404 answer. NoSuchBucket is a 404 too,
/// but a missing bucket is a misconfiguration to report, not a card to render.
fn is_not_found<E: ProvideErrorMetadata>(err: &SdkError<E>) -> bool {
    match err {
        SdkError::ServiceError(service) => {
            service.raw().status().as_u16() == 404 && service.err().code() != Some("NoSuchBucket")
        }
        _ => false,
    }
}

/// A create-only put that lost: 412 PreconditionFailed (the key exists), or 409
/// ConditionalRequestConflict (another create-only put of the key is in flight).
fn is_already_stored<E: ProvideErrorMetadata>(err: &SdkError<E>) -> bool {
    match err {
        SdkError::ServiceError(service) => match service.raw().status().as_u16() {
            412 => true,
            409 => service.err().code() == Some("ConditionalRequestConflict"),
            _ => false,
        },
        _ => false,
    }
}

fn s3_error(
    operation: &'static str,
    object: String,
    source: impl std::error::Error + Send + Sync + 'static,
) -> StorageError {
    StorageError::S3 {
        operation,
        object,
        detail: DisplayErrorContext(&source).to_string(),
        source: Box::new(source),
    }
}

fn quoted(etag: &str) -> String {
    if etag.starts_with('"') {
        etag.to_owned()
    } else {
        format!("\"{etag}\"")
    }
}

fn normalise_prefix(prefix: Option<&str>) -> Result<String, StorageError> {
    let Some(prefix) = prefix
        .map(|p| p.trim_matches('/'))
        .filter(|p| !p.is_empty())
    else {
        return Ok(String::new());
    };
    let segment_ok = |segment: &str| {
        !segment.is_empty()
            && segment != "."
            && segment != ".."
            && segment
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    };
    if prefix.len() > 256 || !prefix.split('/').all(segment_ok) {
        return Err(StorageError::Config(format!(
            "the S3 key prefix {prefix:?} must be segments of ASCII letters, digits, '-', '_' \
             and '.' joined by '/'"
        )));
    }
    Ok(format!("{prefix}/"))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use shared_ids::{CURRENT_DESIGN, SocialId};
    use test_kit::s3::TestS3;

    use super::*;

    fn key(id: &str) -> StorageKey {
        StorageKey::new(CURRENT_DESIGN, SocialId::parse(id).unwrap())
    }

    /// The service's own client configuration on the test server's bucket.
    fn unprefixed(server: &TestS3) -> S3Storage {
        S3Storage::with_config(server.config(), &server.bucket, None).unwrap()
    }

    fn jpeg(text: &str) -> Bytes {
        Bytes::from([b"\xFF\xD8\xFF".as_slice(), text.as_bytes()].concat())
    }

    #[tokio::test]
    async fn a_stored_card_reads_back_with_the_card_headers() {
        let dir = tempfile::tempdir().unwrap();
        let server = test_kit::s3::start(dir.path()).await;
        let storage = unprefixed(&server);
        let key = key("12-34-10");

        assert_eq!(
            storage.put_if_absent(&key, jpeg("card")).await.unwrap(),
            PutOutcome::Stored
        );
        let stored = storage.get(&key).await.unwrap().expect("stored");
        assert_eq!(stored.bytes, jpeg("card"));
        assert!(
            stored.etag.len() > 2 && stored.etag.starts_with('"') && stored.etag.ends_with('"'),
            "{}",
            stored.etag
        );

        let head = server
            .client()
            .head_object()
            .bucket(&server.bucket)
            .key(format!("{CURRENT_DESIGN}/12-34-10.jpg"))
            .send()
            .await
            .unwrap();
        assert_eq!(head.content_type(), Some("image/jpeg"));
        assert_eq!(
            head.cache_control(),
            Some("public, max-age=31536000, immutable")
        );
        assert_eq!(head.e_tag(), Some(stored.etag.as_str()));
    }

    #[tokio::test]
    async fn a_missing_card_is_none_and_a_second_put_keeps_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let server = test_kit::s3::start(dir.path()).await;
        let storage: Arc<dyn Storage> = Arc::new(unprefixed(&server));
        let key = key("99-00-42");

        assert_eq!(storage.get(&key).await.unwrap(), None);
        storage.put_if_absent(&key, jpeg("first")).await.unwrap();
        assert_eq!(
            storage.put_if_absent(&key, jpeg("second")).await.unwrap(),
            PutOutcome::AlreadyExists
        );
        assert_eq!(
            storage.get(&key).await.unwrap().unwrap().bytes,
            jpeg("first")
        );
    }

    #[tokio::test]
    async fn a_prefix_is_prepended_to_every_object_key() {
        let dir = tempfile::tempdir().unwrap();
        let server = test_kit::s3::start(dir.path()).await;
        let storage =
            S3Storage::with_client(server.client(), &server.bucket, Some("/og/cards/")).unwrap();
        let key = key("12-34-10");

        assert_eq!(
            storage.object_key(&key),
            format!("og/cards/{CURRENT_DESIGN}/12-34-10.jpg")
        );
        storage.put_if_absent(&key, jpeg("card")).await.unwrap();
        assert_eq!(unprefixed(&server).get(&key).await.unwrap(), None);
        assert!(storage.get(&key).await.unwrap().is_some());
    }

    #[tokio::test]
    async fn wrong_credentials_are_an_error_not_an_absence() {
        let dir = tempfile::tempdir().unwrap();
        let server = test_kit::s3::start(dir.path()).await;
        let storage = S3Storage::with_client(
            server.client_with_secret("not-the-secret"),
            &server.bucket,
            None,
        )
        .unwrap();
        let key = key("12-34-10");

        let err = storage.get(&key).await.unwrap_err();
        assert!(err.to_string().contains("SignatureDoesNotMatch"), "{err}");
        let err = storage.put_if_absent(&key, jpeg("card")).await.unwrap_err();
        assert!(
            matches!(
                err,
                StorageError::S3 {
                    operation: "PutObject",
                    ..
                }
            ),
            "{err}"
        );
        assert!(
            !err.to_string().contains("not-the-secret")
                && !err.to_string().contains(test_kit::s3::SECRET_KEY),
            "{err}"
        );
    }

    /// s3s-fs answers a missing bucket with NoSuchKey, so AWS's NoSuchBucket (also a
    /// 404) and the conditional-write conflicts are checked on built answers here.
    #[test]
    fn answers_are_classified_by_status_and_code() {
        use aws_sdk_s3::config::http::HttpResponse;
        use aws_sdk_s3::error::ErrorMetadata;
        use aws_sdk_s3::operation::get_object::GetObjectError;
        use aws_sdk_s3::primitives::SdkBody;

        let answer = |status: u16, code: &str| {
            SdkError::service_error(
                GetObjectError::generic(ErrorMetadata::builder().code(code).build()),
                HttpResponse::new(status.try_into().unwrap(), SdkBody::empty()),
            )
        };
        let cases = [
            (404, "NoSuchKey", true, false),
            (404, "NotFound", true, false),
            (404, "NoSuchBucket", false, false),
            (403, "AccessDenied", false, false),
            (412, "PreconditionFailed", false, true),
            (409, "ConditionalRequestConflict", false, true),
            (409, "OperationAborted", false, false),
            (500, "InternalError", false, false),
        ];
        for (status, code, not_found, already_stored) in cases {
            let err = answer(status, code);
            assert_eq!(is_not_found(&err), not_found, "{status} {code}");
            assert_eq!(is_already_stored(&err), already_stored, "{status} {code}");
        }
    }

    #[tokio::test]
    async fn a_stopped_server_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut server = test_kit::s3::start(dir.path()).await;
        let storage = unprefixed(&server);
        let key = key("12-34-10");
        storage.put_if_absent(&key, jpeg("card")).await.unwrap();

        server.stop().await;
        assert!(storage.get(&key).await.is_err());
        assert!(storage.put_if_absent(&key, jpeg("card")).await.is_err());
    }

    #[test]
    fn prefixes_are_normalised_or_refused() {
        let ok = |p| normalise_prefix(p).unwrap();
        assert_eq!(ok(None), "");
        assert_eq!(ok(Some("")), "");
        assert_eq!(ok(Some("/")), "");
        assert_eq!(ok(Some("cards")), "cards/");
        assert_eq!(ok(Some("/og/cards/")), "og/cards/");
        for bad in ["a//b", "../x", "a/./b", "a b", "a?b", "é", "a\\b"] {
            assert!(normalise_prefix(Some(bad)).is_err(), "{bad:?}");
        }
        let client = Client::from_conf(
            aws_sdk_s3::Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .build(),
        );
        assert!(S3Storage::with_client(client, "", None).is_err());
    }
}
