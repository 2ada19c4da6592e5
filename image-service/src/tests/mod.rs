//! Behavioural tests of the image service, with real parts only: Debian's Chromium, the
//! render site, a local directory and an in-process S3 server (s3s-fs), real HTTP on
//! 127.0.0.1. A missing Chromium fails these tests with the command that installs it.
//!
//! `TEST_LOG=1` (or a filter such as `TEST_LOG=debug`) shows the service's logs.

/// Runs each `async fn scenario(backend: Backend)` as two tests, `local::scenario` and
/// `s3::scenario`: a backend that differs in anything a client can notice fails one.
macro_rules! on_both_backends {
    ($($scenario:ident),* $(,)?) => {
        mod local {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    super::$scenario(super::Backend::Local).await;
                }
            )*
        }
        mod s3 {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $scenario() {
                    super::$scenario(super::Backend::S3).await;
                }
            )*
        }
    };
}

mod backends;
mod browsers;
mod drills;
mod failures;
mod lambda;
mod logs;
mod paths;
mod support;
