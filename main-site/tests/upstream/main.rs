//! main-site in front of an existing site (`--upstream`), over real HTTP end to end: a
//! test origin on port 0 (axum, or a raw socket where a test needs byte-level control),
//! a directory, or a bucket in test-kit's S3 server; the site's router on a real
//! listener; reqwest as the client, decoding nothing itself. Pages are the real-world
//! pages of `crates/share-inject/tests/pages`. Each test states what a crawler or the
//! site's owner would notice.
//!
//! One module per kind of upstream: an HTTP origin (`origin`, its HTTP in `origin_http`,
//! its failures in `origin_failures`, what it tells the origin and
//! hands back in `origin_forwarding`, slow uploads, long polls, events and WebSockets in
//! `origin_streaming`, what goes on the wire to it in `origin_wire`), a directory (`directory`), a bucket (`bucket`); the injector's
//! counters on the metrics address (`metrics`); what they share is in `support`.

mod bucket;
mod directory;
mod metrics;
mod origin;
mod origin_failures;
mod origin_forwarding;
mod origin_http;
mod origin_streaming;
mod origin_wire;
mod support;
