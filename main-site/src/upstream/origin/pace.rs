//! How long each kind of traffic may keep the proxy waiting. A request's body goes to
//! the origin as it arrives, with an idle limit between its pieces and no total: a slow
//! upload is as long as it is. The answer's head is waited for from the request's last
//! byte (a long poll answers late by design); a share page's own head has the inject
//! layer's shorter deadline on top. The answer's body streams with the idle limit
//! between its pieces, except a server-sent event stream, whose silences are the
//! site's to choose.

use std::future::Future;
use std::time::Duration;

use axum::body::BodyDataStream;
use axum::http::HeaderMap;
use axum::http::header;
use bytes::Bytes;
use futures::{Stream, StreamExt};
use tokio::sync::watch;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The client stopped sending its request's body for longer than the idle limit.
#[derive(Debug, thiserror::Error)]
#[error("the client's request body stalled")]
pub(super) struct ClientStalled;

/// Whether the request failed because the client's body stalled (a 408, not the
/// origin's fault).
pub(super) fn client_stalled(error: &(dyn std::error::Error + 'static)) -> bool {
    caused_by(error, <dyn std::error::Error>::is::<ClientStalled>)
}

/// Whether `error` or any error under it is one that `is` picks out.
pub(super) fn caused_by(
    error: &(dyn std::error::Error + 'static),
    is: impl Fn(&(dyn std::error::Error + 'static)) -> bool,
) -> bool {
    let mut next = Some(error);
    while let Some(error) = next {
        if is(error) {
            return true;
        }
        next = match error.downcast_ref::<std::io::Error>() {
            // An `io::Error`'s `source` skips the error it wraps.
            Some(io) => io.get_ref().map(|inner| inner as _),
            None => error.source(),
        };
    }
    false
}

/// The client's body as the origin gets it, and the signal each of its pieces sends, so
/// the wait for the answer counts from the last one.
pub(super) fn request_body(
    body: BodyDataStream,
    idle: Duration,
) -> (
    impl Stream<Item = Result<Bytes, BoxError>> + Send + 'static,
    watch::Receiver<()>,
) {
    let (progress, heard) = watch::channel(());
    let stream = futures::stream::unfold(Some((body, progress)), move |state| async move {
        let (mut body, progress) = state?;
        match tokio::time::timeout(idle, body.next()).await {
            Ok(Some(Ok(chunk))) => {
                progress.send_replace(());
                Some((Ok(chunk), Some((body, progress))))
            }
            Ok(None) => None,
            Ok(Some(Err(error))) => Some((Err(error.into()), None)),
            Err(_) => Some((Err(ClientStalled.into()), None)),
        }
    });
    (stream, heard)
}

/// The signal of a request that has no body: already done.
pub(super) fn nothing_to_hear() -> watch::Receiver<()> {
    watch::channel(()).1
}

/// `answer`, unless it takes longer than `wait` after the request's last piece (`heard`
/// changes with each piece, and closes when the body is done).
pub(super) async fn answer_within<F: Future>(
    answer: F,
    wait: Duration,
    mut heard: watch::Receiver<()>,
) -> Option<F::Output> {
    tokio::pin!(answer);
    loop {
        tokio::select! {
            answer = &mut answer => return Some(answer),
            changed = heard.changed() => {
                if changed.is_err() {
                    return tokio::time::timeout(wait, answer).await.ok();
                }
            }
            () = tokio::time::sleep(wait) => return None,
        }
    }
}

/// Whether an answer is a server-sent event stream, which may be silent for as long as
/// it likes.
pub(super) fn is_event_stream(headers: &HeaderMap) -> bool {
    (headers.get(header::CONTENT_TYPE))
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("text/event-stream"))
}

/// The origin's body, ended with an error when it stalls longer than `idle` (`None`:
/// never): hyper then aborts the answer rather than finishing a short page.
pub(super) fn answer_body<S, E>(
    body: S,
    idle: Option<Duration>,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send
where
    S: Stream<Item = Result<Bytes, E>> + Send + 'static,
    E: std::error::Error + Send + Sync + 'static,
{
    futures::stream::unfold(Some(Box::pin(body)), move |body| async move {
        let mut body = body?;
        let next = match idle {
            Some(idle) => tokio::time::timeout(idle, body.next()).await,
            None => Ok(body.next().await),
        };
        match next {
            Ok(Some(Ok(chunk))) => Some((Ok(chunk), Some(body))),
            Ok(None) => None,
            Ok(Some(Err(error))) => {
                tracing::warn!(
                    error = &error as &dyn std::error::Error,
                    "the origin's body failed"
                );
                Some((Err(std::io::Error::other(error)), None))
            }
            Err(_) => {
                tracing::warn!(?idle, "the origin's body stalled");
                Some((Err(std::io::ErrorKind::TimedOut.into()), None))
            }
        }
    })
}
