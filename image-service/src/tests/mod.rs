//! Behavioural tests of the image service, with real parts only: Debian's Chromium, the
//! render site, a local directory and an in-process S3 server (s3s-fs), real HTTP on
//! 127.0.0.1. A missing Chromium fails these tests with the command that installs it.
//!
//! `TEST_LOG=1` (or a filter such as `TEST_LOG=debug`) shows the service's logs.

mod backends;
mod browsers;
mod drills;
mod failures;
mod lambda;
mod logs;
mod paths;
mod support;
