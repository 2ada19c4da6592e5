//! A real S3 server in the test process: s3s-fs (objects as files in a directory) behind
//! s3s's SigV4 check, served over HTTP on 127.0.0.1 with a random port.
//!
//! Tests talk to it with the real AWS SDK, so signing, headers, conditional writes and
//! error codes all go through the same code as against AWS. It can be made to fail the
//! way S3 really does ([`S3Fault`]): accept connections and never answer, answer every
//! request with 503 SlowDown, or serve reads and refuse every write. It keeps a log of the
//! requests it served ([`TestS3::requests`]), so that a test can tell what a client cost
//! it (a HEAD, not a GET of the whole object). It hands out what a
//! client needs (endpoint, bucket, keys, [`TestS3::config`]) and never builds an app's
//! storage backend: each app makes its own from that configuration, with its own
//! timeouts and retries.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

/// How the server misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum S3Fault {
    /// It answers as S3 does.
    None,
    /// It accepts connections and reads requests, but never sends a byte back: an S3
    /// (or a path to it) that has stopped answering.
    Blackhole,
    /// Every request gets `503 SlowDown`, S3's answer when it sheds load.
    SlowDown,
    /// Reads are served; every write gets `403 AccessDenied`, as from a bucket policy
    /// or a role that lost `s3:PutObject`.
    RefuseWrites,
}

/// The access key the server accepts.
pub const ACCESS_KEY: &str = "AKIAOGSHOTTEST";
/// The secret key the server accepts.
pub const SECRET_KEY: &str = "ogshot-test-secret-key";
/// The bucket [`start`] creates.
pub const BUCKET: &str = "ogshot-test";
/// The region clients sign for; s3s-fs accepts any.
pub const REGION: &str = "us-east-1";

/// A running server. Dropping it stops the server and closes its connections.
#[derive(Debug)]
pub struct TestS3 {
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
    pub bucket: String,
    pub access_key: String,
    pub secret_key: String,
    fault: watch::Sender<S3Fault>,
    requests: Arc<Mutex<Vec<String>>>,
    server: JoinHandle<()>,
}

/// Starts a server that keeps its buckets under `dir` and creates [`BUCKET`] in it.
///
/// # Panics
/// If `dir` cannot be created or the server cannot start: a test cannot go on without it.
pub async fn start(dir: impl Into<PathBuf>) -> TestS3 {
    let dir = dir.into();
    std::fs::create_dir_all(&dir).expect("create the test S3 directory");
    let fs = s3s_fs::FileSystem::new(&dir).expect("open the test S3 directory");
    let mut builder = s3s::service::S3ServiceBuilder::new(fs);
    builder.set_auth(s3s::auth::SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
    let service = builder.build();

    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the test S3 server");
    let addr = listener.local_addr().expect("the listener has an address");
    let fault = watch::channel(S3Fault::None).0;
    let mut faults = fault.subscribe();
    let requests = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&requests);
    let server = tokio::spawn(async move {
        let http = auto::Builder::new(TokioExecutor::new());
        // Connections live in this set so that aborting the server also drops every
        // kept-alive connection: a stopped server must really be gone. A new fault
        // drops them too, so kept-alive connections meet the fault at once.
        let mut connections = JoinSet::new();
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                _ = faults.changed() => {
                    connections.abort_all();
                    continue;
                }
            };
            let Ok((socket, _)) = accepted else {
                // E.g. out of file descriptors: wait instead of spinning.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            };
            let now = *faults.borrow_and_update();
            match now {
                S3Fault::None | S3Fault::RefuseWrites => {
                    let (service, dir, log) = (service.clone(), dir.clone(), Arc::clone(&log));
                    let refuse_writes = now == S3Fault::RefuseWrites;
                    let as_s3 = hyper::service::service_fn(
                        move |request: hyper::Request<hyper::body::Incoming>| {
                            let service = service.clone();
                            let path = percent_encoding::percent_decode_str(request.uri().path())
                                .decode_utf8_lossy();
                            log.lock()
                                .unwrap_or_else(PoisonError::into_inner)
                                .push(format!("{} {path}", request.method()));
                            let reads = matches!(
                                *request.method(),
                                hyper::Method::GET | hyper::Method::HEAD
                            );
                            let folder = reads && is_folder(&dir, request.uri().path());
                            async move {
                                if folder {
                                    Ok(no_such_key())
                                } else if refuse_writes && !reads {
                                    Ok(access_denied())
                                } else {
                                    hyper::service::Service::call(&service, request).await
                                }
                            }
                        },
                    );
                    let connection = http
                        .serve_connection(TokioIo::new(socket), as_s3)
                        .into_owned();
                    connections.spawn(async move {
                        let _ = connection.await;
                    });
                }
                S3Fault::Blackhole => {
                    connections.spawn(swallow(socket));
                }
                S3Fault::SlowDown => {
                    connections.spawn(slow_down(socket));
                }
            }
            while connections.try_join_next().is_some() {}
        }
    });

    let s3 = TestS3 {
        endpoint: format!("http://{addr}"),
        bucket: BUCKET.to_owned(),
        access_key: ACCESS_KEY.to_owned(),
        secret_key: SECRET_KEY.to_owned(),
        fault,
        requests,
        server,
    };
    s3.client()
        .create_bucket()
        .bucket(BUCKET)
        .send()
        .await
        .expect("create the test bucket");
    s3
}

impl TestS3 {
    /// A client with the right credentials.
    pub fn client(&self) -> Client {
        self.client_with_secret(&self.secret_key)
    }

    /// A client that signs with `secret_key`, e.g. a wrong one.
    ///
    /// Retries are off: the server never fails transiently, so a retry would only slow
    /// down the tests of failures.
    pub fn client_with_secret(&self, secret_key: &str) -> Client {
        let config = self
            .signing_with(secret_key)
            .retry_config(RetryConfig::disabled())
            .build();
        Client::from_conf(config)
    }

    /// The SDK configuration of a client with the right credentials, with the SDK's
    /// default timeouts and retries: an app sets its own, as it does against AWS, so
    /// that a faulty server costs it what a faulty S3 would.
    pub fn config(&self) -> aws_sdk_s3::config::Builder {
        self.signing_with(&self.secret_key)
    }

    fn signing_with(&self, secret_key: &str) -> aws_sdk_s3::config::Builder {
        aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(REGION))
            .credentials_provider(Credentials::new(
                &self.access_key,
                secret_key,
                None,
                None,
                "ogshot-test-s3",
            ))
            .endpoint_url(&self.endpoint)
            .force_path_style(true)
    }

    /// Every object key in [`BUCKET`], sorted.
    pub async fn keys(&self) -> Vec<String> {
        let listed = self
            .client()
            .list_objects_v2()
            .bucket(&self.bucket)
            .send()
            .await
            .expect("list the test bucket");
        let mut keys: Vec<String> = listed
            .contents()
            .iter()
            .filter_map(|object| object.key().map(str::to_owned))
            .collect();
        keys.sort();
        keys
    }

    /// Every request served so far (not those a fault swallowed or refused unread), oldest
    /// first, as `METHOD /bucket/key` with the key decoded and no query.
    pub fn requests(&self) -> Vec<String> {
        self.requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Makes the server misbehave from now on (or behave again, with [`S3Fault::None`]).
    /// Open connections are dropped, so clients meet the new behaviour at once.
    pub fn set_fault(&self, fault: S3Fault) {
        self.fault.send_replace(fault);
    }

    /// Stops the server and closes its connections; later requests fail to connect.
    /// Stopping a stopped server does nothing.
    pub async fn stop(&mut self) {
        self.server.abort();
        if !self.server.is_finished() {
            let _ = (&mut self.server).await;
        }
    }
}

/// Reads whatever arrives and never answers.
async fn swallow(mut socket: TcpStream) {
    let mut sink = [0_u8; 8192];
    while matches!(socket.read(&mut sink).await, Ok(n) if n > 0) {}
    // The client gave up and closed: hold nothing more.
}

/// Reads one request (its head and a `Content-Length` body) and answers 503 SlowDown,
/// with the XML error body S3 sends.
async fn slow_down(mut socket: TcpStream) {
    let mut request = Vec::new();
    let mut chunk = [0_u8; 8192];
    let head_end = loop {
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&chunk[..n]),
        }
        if let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
    };
    let head = String::from_utf8_lossy(&request[..head_end]).to_ascii_lowercase();
    let body_len: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|len| len.trim().parse().ok())
        .unwrap_or(0);
    let mut read = request.len() - head_end;
    while read < body_len {
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => read += n,
        }
    }
    let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code>\
                <Message>Please reduce your request rate.</Message>\
                <RequestId>OGSHOTTEST</RequestId></Error>";
    let response = format!(
        "HTTP/1.1 503 Slow Down\r\ncontent-type: application/xml\r\ncontent-length: {}\r\n\
         x-amz-request-id: OGSHOTTEST\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = socket.write_all(response.as_bytes()).await;
    let _ = socket.shutdown().await;
}

/// Whether a path-style `/{bucket}/{key}` names a folder of s3s-fs's disk, which S3 has
/// no notion of: there, `docs` is a key that does not exist, whatever keys start with
/// `docs/` (s3s-fs would answer 500).
fn is_folder(dir: &std::path::Path, path: &str) -> bool {
    let decoded = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
    // `/{bucket}/` with no key is the bucket itself (a listing), never a folder.
    decoded
        .trim_start_matches('/')
        .split_once('/')
        .is_some_and(|(bucket, key)| !key.is_empty() && dir.join(bucket).join(key).is_dir())
}

/// S3's answer to a key that does not exist.
fn no_such_key() -> hyper::Response<s3s::Body> {
    let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code>\
                <Message>The specified key does not exist.</Message>\
                <RequestId>OGSHOTTEST</RequestId></Error>";
    hyper::Response::builder()
        .status(404)
        .header("content-type", "application/xml")
        .header("x-amz-request-id", "OGSHOTTEST")
        .body(s3s::Body::from(body.to_owned()))
        .expect("a valid response")
}

/// S3's answer to a write the caller may not make.
fn access_denied() -> hyper::Response<s3s::Body> {
    let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code>\
                <Message>Access Denied</Message><RequestId>OGSHOTTEST</RequestId></Error>";
    hyper::Response::builder()
        .status(403)
        .header("content-type", "application/xml")
        .header("x-amz-request-id", "OGSHOTTEST")
        .body(s3s::Body::from(body.to_owned()))
        .expect("a valid response")
}

impl Drop for TestS3 {
    fn drop(&mut self) {
        self.server.abort();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use aws_sdk_s3::error::ProvideErrorMetadata;
    use aws_sdk_s3::primitives::ByteStream;

    use super::*;

    async fn put(s3: &TestS3, key: &str) -> Result<(), String> {
        s3.client()
            .put_object()
            .bucket(&s3.bucket)
            .key(key)
            .body(ByteStream::from_static(b"card"))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| e.code().unwrap_or("no code").to_owned())
    }

    async fn get(s3: &TestS3, key: &str) -> Result<(), String> {
        s3.client()
            .get_object()
            .bucket(&s3.bucket)
            .key(key)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| e.code().unwrap_or("no code").to_owned())
    }

    #[tokio::test]
    async fn each_fault_fails_as_s3_does_and_none_serves_again() {
        let dir = tempfile::tempdir().unwrap();
        let s3 = start(dir.path()).await;
        put(&s3, "a.jpg").await.unwrap();
        assert_eq!(s3.keys().await, ["a.jpg"]);

        s3.set_fault(S3Fault::RefuseWrites);
        assert_eq!(put(&s3, "b.jpg").await, Err("AccessDenied".to_owned()));
        get(&s3, "a.jpg").await.expect("reads are served");

        s3.set_fault(S3Fault::SlowDown);
        assert_eq!(get(&s3, "a.jpg").await, Err("SlowDown".to_owned()));

        s3.set_fault(S3Fault::Blackhole);
        let waited = tokio::time::timeout(Duration::from_millis(300), get(&s3, "a.jpg")).await;
        assert!(waited.is_err(), "a blackholed server answered: {waited:?}");

        s3.set_fault(S3Fault::None);
        get(&s3, "a.jpg").await.expect("served again");
        assert_eq!(s3.keys().await, ["a.jpg"], "no refused write was stored");
        let log = s3.requests();
        assert!(
            log.contains(&"PUT /ogshot-test/a.jpg".to_owned()),
            "{log:?}"
        );
        assert!(
            log.contains(&"GET /ogshot-test/a.jpg".to_owned()),
            "{log:?}"
        );
    }

    #[tokio::test]
    async fn a_wrong_secret_is_refused_and_a_stopped_server_refuses_connections() {
        let dir = tempfile::tempdir().unwrap();
        let mut s3 = start(dir.path()).await;
        let wrong = s3
            .client_with_secret("not-the-secret")
            .list_objects_v2()
            .bucket(&s3.bucket)
            .send()
            .await
            .unwrap_err();
        assert_eq!(wrong.code(), Some("SignatureDoesNotMatch"), "{wrong:?}");

        s3.stop().await;
        assert!(get(&s3, "a.jpg").await.is_err());
    }
}
