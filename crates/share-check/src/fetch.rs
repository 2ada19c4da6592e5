//! One bounded fetch, the way a crawler makes it: its User-Agent and headers, redirects
//! followed by hand (so each one is seen and counted), at most `max_bytes` read, and the
//! whole exchange inside one deadline, so a server that trickles bytes cannot hold it.

use std::time::Duration;

use futures::StreamExt;
use reqwest::header::{HeaderMap, LOCATION};
use tokio::time::Instant;
use url::Url;

/// How long one fetch may take in all; past it the crawler has given up.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// What a fetch got.
#[derive(Debug)]
pub struct Fetched {
    /// The URL that answered last, after any redirects.
    pub url: Url,
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// More bytes were on offer than were read.
    pub truncated: bool,
    /// Every redirect, in order: its status and where it pointed.
    pub redirects: Vec<(u16, String)>,
    /// From sending the last request to its response headers.
    pub first_byte: Duration,
    /// From the first request to the last byte read.
    pub total: Duration,
}

/// Why a fetch got no answer.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("no complete answer within {0:?}")]
    Timeout(Duration),
    #[error("{0}")]
    Http(String),
    #[error("a redirect with no usable Location")]
    BadRedirect,
    #[error("more than {0} redirects")]
    TooManyRedirects(usize),
}

/// A request to make.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub user_agent: &'a str,
    pub headers: &'a std::collections::BTreeMap<String, String>,
    /// Redirects to follow; one more is an error.
    pub max_redirects: usize,
    pub max_bytes: usize,
    pub timeout: Duration,
}

/// The client every fetch shares: no redirect following (done by hand), no cookies, no
/// proxy from the environment, and a connect timeout.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .connect_timeout(Duration::from_secs(3))
        .build()
        .expect("the HTTP client builds")
}

/// Fetches `url` as `request` says, within its timeout.
pub async fn fetch(
    client: &reqwest::Client,
    url: Url,
    request: Request<'_>,
) -> Result<Fetched, FetchError> {
    tokio::time::timeout(request.timeout, fetch_unbounded(client, url, request))
        .await
        .unwrap_or(Err(FetchError::Timeout(request.timeout)))
}

async fn fetch_unbounded(
    client: &reqwest::Client,
    mut url: Url,
    request: Request<'_>,
) -> Result<Fetched, FetchError> {
    let started = Instant::now();
    let mut redirects = Vec::new();
    loop {
        let mut builder = client
            .get(url.clone())
            .header(reqwest::header::USER_AGENT, request.user_agent);
        for (name, value) in request.headers {
            builder = builder.header(name, value);
        }
        let sent = Instant::now();
        let response = builder.send().await.map_err(describe)?;
        let first_byte = sent.elapsed();
        let status = response.status().as_u16();
        if response.status().is_redirection() {
            let next = response
                .headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|location| url.join(location).ok())
                .ok_or(FetchError::BadRedirect)?;
            redirects.push((status, next.to_string()));
            if redirects.len() > request.max_redirects {
                return Err(FetchError::TooManyRedirects(request.max_redirects));
            }
            url = next;
            continue;
        }
        let headers = response.headers().clone();
        let mut body = Vec::new();
        let mut truncated = false;
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(describe)?;
            let room = request.max_bytes - body.len();
            if chunk.len() > room {
                body.extend_from_slice(&chunk[..room]);
                truncated = true;
                break;
            }
            body.extend_from_slice(&chunk);
        }
        return Ok(Fetched {
            url,
            status,
            headers,
            body,
            truncated,
            redirects,
            first_byte,
            total: started.elapsed(),
        });
    }
}

/// reqwest's error with its causes, e.g. "error sending request: ... certificate ...".
fn describe(error: reqwest::Error) -> FetchError {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    FetchError::Http(text)
}
