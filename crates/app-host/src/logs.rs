//! The apps' log subscriber and its redactor. Every line passes the redactor before it
//! is written, so no secret an app registered (the render token, the render site's
//! session cookie) is ever written, at any `RUST_LOG` level: at `trace`, chromiumoxide
//! logs every CDP command the image service sends, `Storage.setCookies` (the session
//! cookie) included.

use std::io::{self, Write};
use std::sync::{Arc, RwLock};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::util::SubscriberInitExt;

/// What a secret is replaced with in a log line.
pub const REDACTED: &str = "[redacted]";

/// Secrets no log line may contain, registered as the apps learn them.
static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Keeps `secret` out of every log line from now on (it is replaced by [`REDACTED`]).
pub fn redact_from_logs(secret: &str) {
    if secret.is_empty() {
        return;
    }
    let mut secrets = SECRETS
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !secrets.iter().any(|known| known == secret) {
        secrets.push(secret.to_owned());
    }
}

/// `line` with every registered secret replaced.
pub fn redacted(line: &str) -> String {
    let secrets = SECRETS
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    secrets.iter().fold(line.to_owned(), |line, secret| {
        line.replace(secret, REDACTED)
    })
}

/// A [`MakeWriter`] whose writers redact each line before passing it on. The fmt layer
/// formats a whole event before a single write, so a secret is never split across
/// writes.
#[derive(Debug, Clone)]
pub struct Redacting<M>(pub M);

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for Redacting<M> {
    type Writer = RedactingWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter(self.0.make_writer())
    }
}

/// See [`Redacting`].
#[derive(Debug)]
pub struct RedactingWriter<W>(W);

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let line = redacted(&String::from_utf8_lossy(buf));
        self.0.write_all(line.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// The default filter: `info`, and chromiumoxide's handler (the image service's browser
/// driver) only for errors, since it warns about every CDP event newer than its protocol
/// tables (dropped harmlessly). The other apps have no such target.
pub const DEFAULT_FILTER: &str = "info,chromiumoxide::handler=error";

/// The apps' log subscriber writing to `writer` through the redactor: JSON on Lambda
/// (CloudWatch indexes its fields), the readable format elsewhere.
pub fn subscriber<W>(
    json: bool,
    filter: EnvFilter,
    writer: W,
) -> Box<dyn tracing::Subscriber + Send + Sync>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(Redacting(writer));
    if json {
        Box::new(logs.json().finish())
    } else {
        Box::new(logs.finish())
    }
}

/// Installs the global log subscriber, on stdout; `RUST_LOG` overrides the default
/// filter. Records of the `log` crate (reqwest's, tungstenite's) are forwarded to it,
/// so they pass the redactor too.
pub fn init_tracing(json: bool) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let _ = subscriber(json, filter, io::stdout).try_init();
}

/// An in-memory log sink, for tests that read what an app logged.
#[derive(Debug, Clone, Default)]
pub struct CapturedLogs(Arc<std::sync::Mutex<Vec<u8>>>);

impl CapturedLogs {
    /// Everything written so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(
            &self
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
        .into_owned()
    }
}

impl Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for CapturedLogs {
    type Writer = Self;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_secrets_never_reach_a_line() {
        redact_from_logs("s3cr3t-token-value");
        redact_from_logs("");
        let logs = CapturedLogs::default();
        let mut writer = Redacting(logs.clone()).make_writer();
        writer
            .write_all(b"Sending SetCookies { value: \"s3cr3t-token-value\" }\n")
            .unwrap();
        assert_eq!(
            logs.text(),
            format!("Sending SetCookies {{ value: \"{REDACTED}\" }}\n")
        );
    }

    /// Through the whole subscriber, as an app's `main` installs it, in both formats.
    #[test]
    fn the_subscriber_redacts_events_and_their_fields() {
        redact_from_logs("another-s3cr3t");
        for json in [false, true] {
            let logs = CapturedLogs::default();
            let subscriber = subscriber(json, EnvFilter::new("info"), logs.clone());
            tracing::subscriber::with_default(subscriber, || {
                tracing::info!(cookie = "another-s3cr3t", "presenting another-s3cr3t");
            });
            let text = logs.text();
            assert!(text.contains("presenting"), "the event was written: {text}");
            assert!(!text.contains("another-s3cr3t"), "json {json}: {text}");
            assert_eq!(text.matches(REDACTED).count(), 2, "json {json}: {text}");
        }
    }
}
