//! An HTTP/1.1 `Upgrade` (a WebSocket, most often) tunnelled to the origin: the request
//! keeps its `Upgrade` and `Connection: upgrade` (hop-by-hop headers, dropped for every
//! other request), and once the origin switches protocols both connections are handed
//! over and their bytes copied both ways until either side closes. A tunnel has no idle
//! limit: a WebSocket's silences are the site's to choose.

use super::client::PooledBody;
use app_host::ConnectionSlot;
use axum::body::Body;
use axum::extract::Request;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::{StatusCode, Version};
use axum::response::Response;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;

/// What a request asks to switch to, and the way to its connection once it does.
#[derive(Debug)]
pub(super) struct Requested {
    protocol: HeaderValue,
    client: OnUpgrade,
    /// Held by the tunnel: an upgraded connection still counts toward `MAX_CONNECTIONS`.
    slot: Option<ConnectionSlot>,
}

/// The upgrade `request` asks for, if any: HTTP/1.1 with `Upgrade` and a `Connection`
/// that names it (HTTP/2 has no such mechanism), on a server that can hand its
/// connection over (Lambda's cannot: there the request goes on as any other).
pub(super) fn requested(request: &mut Request) -> Option<Requested> {
    if request.version() != Version::HTTP_11 || request.extensions().get::<OnUpgrade>().is_none() {
        return None;
    }
    let headers = request.headers();
    let names_upgrade = (headers.get_all(header::CONNECTION).iter())
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|name| name.trim().eq_ignore_ascii_case("upgrade"));
    let protocol = headers.get(header::UPGRADE)?.clone();
    names_upgrade.then(|| Requested {
        protocol,
        slot: request.extensions().get::<ConnectionSlot>().cloned(),
        client: hyper::upgrade::on(request),
    })
}

impl Requested {
    /// Puts back, on the request to the origin, the headers that ask it to switch.
    pub(super) fn ask(&self, headers: &mut HeaderMap) {
        set_switch(headers, self.protocol.clone());
    }

    /// The client's answer to an origin that switched protocols: its `101` with its
    /// headers, the tunnel running beside it from then on.
    pub(super) fn tunnel(
        self,
        origin: hyper::Response<PooledBody>,
        mut headers: HeaderMap,
    ) -> Response {
        let protocol = (origin.headers().get(header::UPGRADE).cloned()).unwrap_or(self.protocol);
        set_switch(&mut headers, protocol);
        tokio::spawn(async move {
            let _slot = self.slot;
            let (client, origin) = tokio::join!(self.client, hyper::upgrade::on(origin));
            let (mut client, mut origin) = match (client, origin) {
                (Ok(client), Ok(origin)) => (TokioIo::new(client), TokioIo::new(origin)),
                (Err(error), _) => {
                    tracing::warn!(%error, "the client's upgrade failed");
                    return;
                }
                (_, Err(error)) => {
                    tracing::warn!(%error, "the origin's upgrade failed");
                    return;
                }
            };
            if let Err(error) = tokio::io::copy_bidirectional(&mut client, &mut origin).await {
                tracing::debug!(%error, "an upgraded connection ended");
            }
        });
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        *response.headers_mut() = headers;
        response
    }
}

fn set_switch(headers: &mut HeaderMap, protocol: HeaderValue) {
    headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(header::UPGRADE, protocol);
}
