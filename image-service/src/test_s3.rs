//! A real S3 server in the test process: s3s-fs (objects as files in a directory) behind
//! s3s's SigV4 check, served over HTTP on 127.0.0.1 with a random port.
//!
//! Tests talk to it with the real AWS SDK, so signing, headers, conditional writes and
//! error codes all go through the same code as against AWS. Compiled for this crate's
//! tests, and for other crates' tests with the `test-s3-server` feature; never in a
//! release build of the service.

use std::path::PathBuf;
use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

use crate::storage::S3Storage;

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
    let server = tokio::spawn(async move {
        let http = auto::Builder::new(TokioExecutor::new());
        // Connections live in this set so that aborting the server also drops every
        // kept-alive connection: a stopped server must really be gone.
        let mut connections = JoinSet::new();
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                // E.g. out of file descriptors: wait instead of spinning.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            };
            let connection = http
                .serve_connection(TokioIo::new(socket), service.clone())
                .into_owned();
            connections.spawn(async move {
                let _ = connection.await;
            });
            while connections.try_join_next().is_some() {}
        }
    });

    let s3 = TestS3 {
        endpoint: format!("http://{addr}"),
        bucket: BUCKET.to_owned(),
        access_key: ACCESS_KEY.to_owned(),
        secret_key: SECRET_KEY.to_owned(),
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
        let config = aws_sdk_s3::Config::builder()
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
            .retry_config(RetryConfig::disabled())
            .build();
        Client::from_conf(config)
    }

    /// Storage on [`BUCKET`] without a key prefix.
    pub fn storage(&self) -> S3Storage {
        S3Storage::with_client(self.client(), &self.bucket, None)
            .expect("the test bucket name is valid")
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

impl Drop for TestS3 {
    fn drop(&mut self) {
        self.server.abort();
    }
}
