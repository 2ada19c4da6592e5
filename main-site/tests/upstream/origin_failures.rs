//! main-site as a reverse proxy in front of an origin that fails: silent, trickling,
//! dead, dying before its head or mid-page; each gets a gateway answer or an aborted
//! one, never a hang or a shortened page. And a slow origin's share streams: its first
//! bytes arrive while the origin is still sending.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderValue, StatusCode};
use share_inject::INJECT_HEADER;
use tokio::io::AsyncWriteExt;

use crate::support::{
    GATEWAY_ANSWER_WITHIN, ID, PUBLIC_URL, RawOrigin, SHORT_TIMEOUT_MS, card_url, chunk, client,
    get_from, page, share_problems, site, site_with_timeout, spawn_site,
};

#[tokio::test]
async fn a_silent_or_trickling_origin_gets_a_504_no_store_within_the_deadline() {
    let silent = RawOrigin::start(|socket| async move {
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(socket);
    })
    .await;
    let trickled_head = RawOrigin::start(|mut socket| async move {
        let _ = socket.write_all(b"HTTP/1.1 200 OK\r\n").await;
        for n in 0..300 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let line = format!("X-Trickle-{n}: 1\r\n");
            if socket.write_all(line.as_bytes()).await.is_err() {
                return;
            }
        }
    })
    .await;
    // The head comes at once; the page's own head never does.
    let trickled_page = RawOrigin::start(|mut socket| async move {
        let _ = socket
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n<!doctype html>")
            .await;
        for _ in 0..300 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if socket.write_all(b" ").await.is_err() {
                return;
            }
        }
    })
    .await;

    let share = format!("/?social={ID}");
    for (what, origin, target) in [
        ("silent, a share", &silent, share.as_str()),
        ("silent, no share", &silent, "/"),
        ("trickled headers, a share", &trickled_head, share.as_str()),
        ("trickled headers, no share", &trickled_head, "/"),
        ("trickled page, a share", &trickled_page, share.as_str()),
    ] {
        let site = site_with_timeout(&origin.url(), SHORT_TIMEOUT_MS).await;
        let started = Instant::now();
        let answer = get_from(site.addr, target).await;
        let took = started.elapsed();
        assert_eq!(answer.status, StatusCode::GATEWAY_TIMEOUT, "{what}");
        assert_eq!(answer.header("cache-control"), Some("no-store"), "{what}");
        assert!(
            took < GATEWAY_ANSWER_WITHIN,
            "{what}: the 504 took {took:?}"
        );
    }
}

#[tokio::test]
async fn a_dead_origin_gets_a_502_no_store() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("an address")
    };
    let site = site_with_timeout(&format!("http://{closed}"), SHORT_TIMEOUT_MS).await;
    for target in ["/".to_owned(), format!("/?social={ID}")] {
        let answer = get_from(site.addr, &target).await;
        assert_eq!(answer.status, StatusCode::BAD_GATEWAY, "{target}");
        assert_eq!(answer.header("cache-control"), Some("no-store"), "{target}");
    }
}

#[tokio::test]
async fn the_logs_name_the_upstream_at_start_up_and_on_every_502_and_504() {
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        format!("http://{}", listener.local_addr().expect("an address"))
    };
    // Its head comes at once; the page's own head never does (no element at all, so no
    // insertion point): the inject layer's 504.
    let stalled_page = RawOrigin::start(|mut socket| async move {
        let _ = socket
            .write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 9000\r\n\r\n<!doctype html>",
            )
            .await;
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    for (upstream, target, status) in [
        (dead, "/".to_owned(), StatusCode::BAD_GATEWAY),
        (
            stalled_page.url(),
            format!("/?social={ID}"),
            StatusCode::GATEWAY_TIMEOUT,
        ),
    ] {
        let (mut process, addr) = spawn_site(
            "main-site (logs)",
            tokio::process::Command::new(env!("CARGO_BIN_EXE_main-site"))
                .env_clear()
                .env("UPSTREAM", &upstream)
                .env("UPSTREAM_TIMEOUT_MS", SHORT_TIMEOUT_MS.to_string())
                .env("PUBLIC_URL", PUBLIC_URL),
        )
        .await;
        let start_up = process.wait_for("share tags", Duration::from_secs(1)).await;
        assert!(
            start_up.contains(&upstream) && start_up.contains(PUBLIC_URL),
            "{start_up}"
        );

        let answer = get_from(addr, &target).await;
        assert_eq!(answer.status, status, "{upstream}");
        // "502 Bad Gateway", never a port number that holds "502".
        let failed = process
            .wait_for(&status.to_string(), Duration::from_secs(10))
            .await;
        assert!(failed.contains(&upstream), "{failed}");
    }
}

#[tokio::test]
async fn an_origin_that_dies_before_its_head_gets_a_502_no_store() {
    let hang_up = RawOrigin::start(|socket| async move { drop(socket) }).await;
    let half_a_status_line = RawOrigin::start(|mut socket| async move {
        let _ = socket.write_all(b"HTTP/1.1 20").await;
    })
    .await;
    for origin in [&hang_up, &half_a_status_line] {
        let site = site(&origin.url()).await;
        for target in ["/".to_owned(), format!("/?social={ID}")] {
            let answer = get_from(site.addr, &target).await;
            assert_eq!(answer.status, StatusCode::BAD_GATEWAY, "{target}");
            assert_eq!(answer.header("cache-control"), Some("no-store"), "{target}");
        }
    }
}

#[tokio::test]
async fn an_origin_that_dies_mid_page_aborts_the_answer_instead_of_shortening_it() {
    // Cut off well after the page's head, so a share has been decided by then.
    const PAGE: &str = "telegram__post-full-image.html";
    let whole = page(PAGE);
    let sent = whole.len() * 3 / 4;
    let short_length = RawOrigin::start(move |mut socket| {
        let whole = whole.clone();
        async move {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n",
                whole.len()
            );
            let _ = socket.write_all(head.as_bytes()).await;
            let _ = socket.write_all(&whole[..sent]).await;
        }
    })
    .await;
    let whole = page(PAGE);
    let no_last_chunk = RawOrigin::start(move |mut socket| {
        let whole = whole.clone();
        async move {
            let mut answer =
                b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n"
                    .to_vec();
            answer.extend(chunk(&whole[..sent]));
            let _ = socket.write_all(&answer).await;
        }
    })
    .await;

    for (what, origin) in [
        ("short length", &short_length),
        ("no last chunk", &no_last_chunk),
    ] {
        let site = site(&origin.url()).await;
        for target in ["/".to_owned(), format!("/?social={ID}")] {
            let response = client()
                .get(format!("{}{target}", site.base()))
                .send()
                .await
                .expect("the head came");
            assert_eq!(response.status(), StatusCode::OK, "{what} {target}");
            let body = response.bytes().await;
            assert!(
                body.is_err(),
                "{what} {target}: a cut-off page read as whole ({} bytes)",
                body.map(|b| b.len()).unwrap_or_default()
            );
        }
    }
}

#[tokio::test]
async fn a_shares_first_bytes_arrive_while_the_origin_is_still_sending() {
    let head = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
        <title>A post</title><meta property=\"og:image\" content=\"https://origin.example/own.jpg\">";
    // Past any prescan of the page's charset, so the rest cannot be waited for.
    let first = format!("{head}<style>{}</style>", "p { margin: 0 }\n".repeat(200));
    let rest = "</head><body><p>The rest of the post.</p></body></html>";
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    let released = Arc::new(Mutex::new(Some(released)));
    let first_sent = first.clone();
    let origin = RawOrigin::start(move |mut socket| {
        let released = released.lock().expect("lock").take();
        let first = first_sent.clone();
        async move {
            let mut answer =
                b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n"
                    .to_vec();
            answer.extend(chunk(first.as_bytes()));
            let _ = socket.write_all(&answer).await;
            if let Some(released) = released {
                let _ = released.await;
            }
            let _ = socket.write_all(&chunk(rest.as_bytes())).await;
            let _ = socket.write_all(b"0\r\n\r\n").await;
        }
    })
    .await;
    let site = site(&origin.url()).await;

    let mut response = tokio::time::timeout(
        Duration::from_secs(10),
        client()
            .get(format!("{}/post?social={ID}", site.base()))
            .send(),
    )
    .await
    .expect("the head came before the origin finished")
    .expect("an answer");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response
            .headers()
            .get(INJECT_HEADER)
            .map(HeaderValue::as_bytes),
        Some(&b"injected"[..])
    );
    let mut got = Vec::new();
    let card = card_url(ID);
    while !String::from_utf8_lossy(&got).contains(&card) {
        let piece = tokio::time::timeout(Duration::from_secs(10), response.chunk())
            .await
            .expect("our tags came before the origin finished")
            .expect("a body");
        got.extend(piece.expect("more body, the origin is still sending"));
    }

    release.send(()).expect("the origin waits");
    while let Some(piece) = response.chunk().await.expect("the rest") {
        got.extend(piece);
    }
    let page = String::from_utf8(got).expect("UTF-8");
    assert!(page.ends_with(rest), "{page}");
    let problems = share_problems(&page, &format!("/post?social={ID}"), ID);
    assert!(problems.is_empty(), "{problems:#?}");
}
