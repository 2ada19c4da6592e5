//! main-site as a reverse proxy for traffic that takes its time: a slow upload, a long
//! poll, server-sent events and a WebSocket all pass, where only a share page's head has
//! the short deadline; a client that stops mid-upload gets a 408.

use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use futures::{SinkExt, StreamExt};
use main_site::Args;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

use crate::support::{
    ID, Origin, PUBLIC_URL, RawOrigin, SHORT_TIMEOUT_MS, args, client, get_from, site_from,
    site_with_timeout, spawn_site,
};

/// One and a half times the short timeout: a pause no single wait may outlast.
const PAST_THE_TIMEOUT: Duration = Duration::from_millis(SHORT_TIMEOUT_MS * 3 / 2);

/// The test pieces of an upload: 60 of 10 KB, 100 ms apart, about 100 KB/s.
const UPLOAD_PIECES: usize = 60;
const UPLOAD_PIECE: usize = 10_000;
const UPLOAD_PAUSE: Duration = Duration::from_millis(100);

#[tokio::test]
async fn a_slow_upload_reaches_the_origin_whole_however_long_it_takes() {
    let origin = Origin::start(Router::new().route("/upload", post(|| async { "stored" }))).await;
    let site = site_with_timeout(&origin.url(), SHORT_TIMEOUT_MS).await;
    let upload: Vec<u8> = (0..UPLOAD_PIECES * UPLOAD_PIECE)
        .map(|n| (n % 251) as u8)
        .collect();
    let pieces: Vec<Bytes> = upload
        .chunks(UPLOAD_PIECE)
        .map(Bytes::copy_from_slice)
        .collect();
    // 60 pauses of 100 ms: the upload lasts 6 s, twelve times the timeout.
    let throttled = futures::stream::iter(pieces).then(|piece| async move {
        tokio::time::sleep(UPLOAD_PAUSE).await;
        Ok::<_, std::io::Error>(piece)
    });
    let answer = client()
        .post(format!("{}/upload", site.base()))
        .body(reqwest::Body::wrap_stream(throttled))
        .send()
        .await
        .expect("an answer");
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(answer.text().await.unwrap(), "stored");
    let seen = origin.last().body;
    assert_eq!(seen.len(), upload.len());
    assert!(seen == upload, "the origin got other bytes");
}

#[tokio::test]
async fn a_client_that_stops_mid_upload_gets_a_408() {
    let origin = RawOrigin::start(|socket| async move {
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(socket);
    })
    .await;
    // The client's silence is the only limit that can run out: the origin may take far
    // longer to answer, so the 408 never races the 504.
    let site = site_from(Args {
        upstream_timeout_ms: SHORT_TIMEOUT_MS,
        upstream_answer_timeout_ms: 60_000,
        ..args(&origin.url())
    })
    .await;
    let mut stream = tokio::net::TcpStream::connect(site.addr).await.unwrap();
    stream
        .write_all(b"POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n0123456789")
        .await
        .unwrap();
    // The other 990 bytes never come.
    let mut head = [0; 12];
    tokio::time::timeout(Duration::from_secs(20), stream.read_exact(&mut head))
        .await
        .expect("an answer rather than a hang")
        .unwrap();
    assert_eq!(&head, b"HTTP/1.1 408");
}

/// A body of `events` pieces, each after a pause past the timeout.
fn paused_events(events: usize) -> Body {
    Body::from_stream(futures::stream::iter(1..=events).then(|n| async move {
        tokio::time::sleep(PAST_THE_TIMEOUT).await;
        Ok::<_, std::io::Error>(format!("data: {n}\n\n"))
    }))
}

#[tokio::test]
async fn server_sent_events_flow_through_silences_longer_than_the_timeout() {
    let origin = Origin::start(
        Router::new()
            .route(
                "/events",
                get(|| async {
                    (
                        [(header::CONTENT_TYPE, "text/event-stream")],
                        paused_events(3),
                    )
                }),
            )
            .route(
                "/slow-text",
                get(|| async { ([(header::CONTENT_TYPE, "text/plain")], paused_events(3)) }),
            ),
    )
    .await;
    let site = site_with_timeout(&origin.url(), SHORT_TIMEOUT_MS).await;
    let events = get_from(site.addr, "/events").await;
    assert_eq!(events.status, StatusCode::OK);
    assert_eq!(events.text(), "data: 1\n\ndata: 2\n\ndata: 3\n\n");

    // Any other answer that stalls as long is still cut off, never finished short.
    let text = client()
        .get(format!("{}/slow-text", site.base()))
        .send()
        .await
        .expect("a head");
    assert!(text.bytes().await.is_err(), "a stalled body went out whole");
}

#[tokio::test]
async fn an_answer_whose_pieces_each_come_in_time_comes_whole_however_long_it_takes() {
    // Six pieces, each two fifths of the timeout after the last: well within the idle
    // limit each time, and together more than twice the timeout.
    let pause = Duration::from_millis(SHORT_TIMEOUT_MS * 2 / 5);
    let origin = Origin::start(Router::new().route(
        "/steady",
        get(move || async move {
            let pieces = futures::stream::iter(1..=6).then(move |n| async move {
                tokio::time::sleep(pause).await;
                Ok::<_, std::io::Error>(format!("piece {n}\n"))
            });
            (
                [(header::CONTENT_TYPE, "text/plain")],
                Body::from_stream(pieces),
            )
        }),
    ))
    .await;
    let site = site_with_timeout(&origin.url(), SHORT_TIMEOUT_MS).await;
    let answer = client()
        .get(format!("{}/steady", site.base()))
        .send()
        .await
        .expect("a head");
    let body = answer
        .text()
        .await
        .expect("the whole body, not one cut at the timeout");
    let expected: String = (1..=6).map(|n| format!("piece {n}\n")).collect();
    assert_eq!(body, expected);
}

#[tokio::test]
async fn a_long_poll_gets_its_late_answer_while_a_late_share_page_gets_a_504() {
    let late = || async {
        tokio::time::sleep(PAST_THE_TIMEOUT).await;
        (
            [(header::CONTENT_TYPE, "text/html")],
            "<!doctype html><title>News</title>",
        )
            .into_response()
    };
    let origin = Origin::start(Router::new().route("/poll", get(late))).await;
    // UPSTREAM_ANSWER_TIMEOUT_MS at its default, two minutes.
    let site = site_from(Args {
        upstream_timeout_ms: SHORT_TIMEOUT_MS,
        ..args(&origin.url())
    })
    .await;
    let poll = get_from(site.addr, "/poll").await;
    assert_eq!(poll.status, StatusCode::OK);
    assert!(poll.text().contains("News"), "{}", poll.text());

    let share = get_from(site.addr, &format!("/poll?social={ID}")).await;
    assert_eq!(share.status, StatusCode::GATEWAY_TIMEOUT);
}

/// A WebSocket origin that sends back every message it gets.
async fn echo_origin() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(mut socket) = tokio_tungstenite::accept_async(stream).await else {
                    return;
                };
                while let Some(Ok(message)) = socket.next().await {
                    if message.is_close() || socket.send(message).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    format!("http://{addr}")
}

/// Through the binary, so through the listener every app is served on.
#[tokio::test]
async fn a_websocket_is_tunnelled_to_the_origin_both_ways() {
    let origin = echo_origin().await;
    let (_process, addr) = spawn_site(
        "main-site (websocket)",
        tokio::process::Command::new(env!("CARGO_BIN_EXE_main-site"))
            .env_clear()
            .env("UPSTREAM", &origin)
            .env("PUBLIC_URL", PUBLIC_URL),
    )
    .await;
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut socket, answer) = tokio_tungstenite::client_async(format!("ws://{addr}/chat"), stream)
        .await
        .expect("the handshake passes the proxy");
    assert_eq!(answer.status(), StatusCode::SWITCHING_PROTOCOLS);
    for said in ["hello", "and again"] {
        socket.send(Message::text(said)).await.unwrap();
        let heard = tokio::time::timeout(Duration::from_secs(20), socket.next())
            .await
            .expect("the echo comes back")
            .expect("an open socket")
            .expect("a message");
        assert_eq!(heard, Message::text(said));
    }
    socket.close(None).await.unwrap();
}

/// An upgraded connection is still a connection: with `MAX_CONNECTIONS=1`, a second
/// client waits until the WebSocket closes.
#[tokio::test]
async fn a_websocket_holds_its_place_among_max_connections() {
    let origin = echo_origin().await;
    let (_process, addr) = spawn_site(
        "main-site (websocket, one connection)",
        tokio::process::Command::new(env!("CARGO_BIN_EXE_main-site"))
            .env_clear()
            .env("UPSTREAM", &origin)
            .env("PUBLIC_URL", PUBLIC_URL)
            .env("MAX_CONNECTIONS", "1"),
    )
    .await;
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut socket, _) = tokio_tungstenite::client_async(format!("ws://{addr}/chat"), stream)
        .await
        .expect("the handshake passes the proxy");
    let mut second = tokio::net::TcpStream::connect(addr).await.unwrap();
    second
        .write_all(b"GET /page HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    socket.send(Message::text("still here")).await.unwrap();
    let heard = socket.next().await.expect("an open socket").unwrap();
    assert_eq!(
        heard,
        Message::text("still here"),
        "the tunnel works meanwhile"
    );
    // A negative check: it can only miss the fault on a machine too slow to answer the
    // second client within the wait, never fail a correct proxy.
    let early = tokio::time::timeout(PAST_THE_TIMEOUT * 2, second.readable()).await;
    assert!(
        early.is_err(),
        "the second client was served while the WebSocket held the only connection"
    );
    socket.close(None).await.unwrap();
    drop(socket);
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), second.read_to_end(&mut answer))
        .await
        .expect("served once the WebSocket is gone")
        .unwrap();
    assert!(answer.starts_with(b"HTTP/1.1 "), "{answer:?}");
}

/// `HEADER_TIMEOUT_MS` reaches the binary's listener: a connection that never finishes its
/// request line is closed, not held.
#[tokio::test]
async fn the_binarys_listener_closes_a_half_open_connection_at_its_header_timeout() {
    let origin = echo_origin().await;
    let (_process, addr) = spawn_site(
        "main-site (header timeout)",
        tokio::process::Command::new(env!("CARGO_BIN_EXE_main-site"))
            .env_clear()
            .env("UPSTREAM", &origin)
            .env("PUBLIC_URL", PUBLIC_URL)
            .env("HEADER_TIMEOUT_MS", SHORT_TIMEOUT_MS.to_string()),
    )
    .await;
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    socket.write_all(b"GET / HT").await.unwrap();
    let mut rest = Vec::new();
    // Far past the timeout, far below the 20 s default.
    let closed = tokio::time::timeout(Duration::from_secs(8), socket.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "the connection was still open after 8 s");
}
