//! The core behaviour, written once and run on both storage backends: a local directory
//! and the S3 protocol. A backend that differs in anything a client can notice fails here.
//! (The failure drills, `drills.rs`, run on both too.)

use futures::future::join_all;

use super::paths::{assert_default_or_4xx, invalid_paths, raw_request};
use super::support::{Backend, Harness, ServiceReply, assert_rendered_card, send_raw};
use test_kit::card_path;

/// The id the core scenario renders.
const ID: &str = "12-34-10";

on_both_backends!(
    the_first_get_renders_and_stores_and_the_second_is_served_from_storage,
    a_hundred_concurrent_gets_of_a_new_id_render_and_store_once,
    invalid_paths_get_the_default_image_and_write_nothing,
);

async fn the_first_get_renders_and_stores_and_the_second_is_served_from_storage(backend: Backend) {
    let h = Harness::start(backend).await;
    let path = &card_path(ID);
    let key = &path[1..];

    let first = h.get(path).await;
    let card = first.assert_card("first GET").to_vec();
    assert_eq!(first.cache_status(), Some("miss"));
    assert_rendered_card(&card, "first GET");
    let timing = first
        .header("server-timing")
        .expect("a Server-Timing header");
    for metric in ["storage;dur=", "render;dur=", "total;dur="] {
        assert!(timing.contains(metric), "{metric} missing from {timing:?}");
    }
    assert_eq!(
        first.header("content-length"),
        Some(card.len().to_string().as_str())
    );
    assert_eq!(h.counts().renders, 1);
    assert_eq!(h.stored_keys().await, [key]);
    assert_eq!(h.store.stored_card(key).await, card, "stored as served");

    let second = h.get(path).await;
    assert_eq!(second.assert_card("second GET"), card);
    assert_eq!(second.cache_status(), Some("hit"));
    assert!(second.header("server-timing").is_some());
    let counts = h.counts();
    assert_eq!((counts.renders, counts.hits), (1, 1), "no second render");

    let etag = second.header("etag").expect("an ETag").to_owned();
    let revalidated = h.send("GET", path, &[("If-None-Match", &etag)]).await;
    assert_eq!(revalidated.status, 304);
    assert!(revalidated.body.is_empty());
    assert_eq!(revalidated.header("etag"), Some(etag.as_str()));
    assert_eq!(revalidated.cache_control(), second.cache_control());

    // What a crawler fetching the first half megabyte gets: exactly those bytes.
    let head_of_card = h.send("GET", path, &[("Range", "bytes=0-524288")]).await;
    let last = card.len().min(524_289) - 1;
    assert_eq!(head_of_card.status, 206);
    assert_eq!(
        head_of_card.header("content-range"),
        Some(format!("bytes 0-{last}/{}", card.len()).as_str())
    );
    assert_eq!(head_of_card.body, card[..=last]);
    let middle = h.send("GET", path, &[("Range", "bytes=100-199")]).await;
    assert_eq!(middle.status, 206);
    assert_eq!(middle.body, card[100..200]);
    let beyond = h
        .send("GET", path, &[("Range", &format!("bytes={}-", card.len()))])
        .await;
    assert_eq!(beyond.status, 416);
    assert_eq!(
        beyond.header("content-range"),
        Some(format!("bytes */{}", card.len()).as_str())
    );

    let head = h.send("HEAD", path, &[]).await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty(), "HEAD has no body");
    assert_eq!(head.entity_headers(), second.entity_headers());

    assert_eq!(h.counts().renders, 1);
    assert_eq!(h.stored_keys().await, [key]);
    h.stop().await;
}

async fn a_hundred_concurrent_gets_of_a_new_id_render_and_store_once(backend: Backend) {
    let h = Harness::start(backend).await;
    let path = card_path("55-66-77");

    let replies = join_all((0..100).map(|_| h.get(&path))).await;

    let card = replies[0].assert_card("GET 0").to_vec();
    assert_rendered_card(&card, "GET 0");
    for (i, reply) in replies.iter().enumerate() {
        assert!(
            reply.assert_card(&format!("GET {i}")) == card,
            "GET {i}: other bytes"
        );
    }
    assert_eq!(h.counts().renders, 1, "one render for 100 requests");
    assert_eq!(h.stored_keys().await, [&path[1..]]);
    h.stop().await;
}

async fn invalid_paths_get_the_default_image_and_write_nothing(backend: Backend) {
    let h = Harness::start(backend).await;
    let paths = invalid_paths();
    assert!(paths.len() >= 100, "only {} paths", paths.len());

    let mut refused = Vec::new();
    for path in &paths {
        for method in ["GET", "HEAD"] {
            let reply = send_raw(h.addr, &raw_request(method, path))
                .await
                .unwrap_or_else(|e| panic!("{method} {}: {e}", shown(path)));
            assert_default_or_4xx(&reply, method, path);
            if reply.status != 200 && method == "GET" {
                refused.push(format!("{} {}", reply.status, shown(path)));
            }
        }
    }
    // Most must reach the service itself, or this would only test hyper's parser.
    assert!(
        paths.len() - refused.len() >= 100,
        "refused before the service: {refused:#?}"
    );

    let counts = h.counts();
    assert_eq!(
        (counts.renders, counts.fallbacks),
        (0, 0),
        "nothing rendered"
    );
    assert!(counts.defaults > 0);
    assert_eq!(
        h.stored_keys().await,
        Vec::<String>::new(),
        "nothing stored"
    );
    h.stop().await;
}

fn shown(path: &str) -> String {
    path.chars().take(80).collect()
}
