//! Failures across the apps: each outcome is the one the cache-policy table promises.
//! The fault drills of each dependency (browser, storage, render site) live with the
//! image service (`image-service/src/tests/drills.rs`).

use std::time::Duration;

use e2e::{Options, System, card_path, http_client, inspect_jpeg};
use image_service::RenderTarget;
use image_service::config::Config as ImageConfig;
use render_site::{RenderSiteConfig, RenderToken};
use reqwest::header;
use shared_ids::CURRENT_DESIGN;

async fn get(url: &str) -> reqwest::Response {
    http_client()
        .get(url)
        .send()
        .await
        .expect("the service answers")
}

fn max_age(response: &reqwest::Response) -> u64 {
    let cache_control = response.headers()[header::CACHE_CONTROL].to_str().unwrap();
    cache_control
        .split(", ")
        .find_map(|d| d.strip_prefix("max-age="))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no max-age in {cache_control}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn render_site_down_gives_a_short_lived_fallback_then_the_card_once_it_is_back() {
    // A port that refuses connections now and serves the render site later.
    let parked = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = parked.local_addr().unwrap();
    drop(parked);
    let token = RenderToken::generate();
    let mut limits = ImageConfig::local_defaults().limits;
    limits.render_timeout = Duration::from_secs(3);
    let system = System::start_with(Options {
        limits: Some(limits),
        render_target: Some(RenderTarget::Remote {
            base: shared_ids::BaseUrl::parse(&format!("http://{addr}")).unwrap(),
            token: token.clone(),
        }),
        ..Options::default()
    })
    .await;
    let path = card_path("55-44-33");
    let url = format!("{}{path}", system.image_service);

    let down = get(&url).await;
    assert_eq!(down.status(), 200);
    assert_eq!(down.headers()["x-ogshot-cache"], "fallback");
    assert!(
        max_age(&down) <= 300,
        "a fallback must not be cached for long"
    );
    assert_eq!(down.bytes().await.unwrap(), image_service::DEFAULT_IMAGE);
    assert!(
        system.stored_keys().await.is_empty(),
        "a fallback is never stored"
    );

    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let site = render_site::router(RenderSiteConfig::in_process(token));
    let site_task = tokio::spawn(async move {
        let _ = axum::serve(listener, site).await;
    });
    let back = get(&url).await;
    assert_eq!(back.headers()["x-ogshot-cache"], "miss");
    assert_eq!(max_age(&back), 31_536_000);
    let (w, h, variance) = inspect_jpeg(&back.bytes().await.unwrap());
    assert_eq!((w, h), (2400, 1260));
    assert!(variance > 100.0);
    assert_eq!(system.stored_keys().await, [&path[1..]]);
    site_task.abort();
    system.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hundred_concurrent_requests_for_a_new_id_render_it_once() {
    let system = System::start().await;
    let path = card_path("77-77-77");
    let url = format!("{}{path}", system.image_service);
    let client = http_client();
    let responses = futures::future::join_all((0..100).map(|_| {
        let client = client.clone();
        let url = url.clone();
        async move {
            let response = client.get(&url).send().await.unwrap();
            (response.status(), response.bytes().await.unwrap())
        }
    }))
    .await;
    let first = &responses[0].1;
    for (status, body) in &responses {
        assert_eq!(*status, 200);
        assert_eq!(body, first, "every request gets the same card");
    }
    assert_eq!(system.service.metrics().counts().renders, 1);
    assert_eq!(system.stored_keys().await, [&path[1..]]);
    system.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_bucket_holds_exactly_the_rendered_cards() {
    let system = System::start().await;
    let base = &system.image_service;
    let d = CURRENT_DESIGN.as_str();
    // `{d}` is the current design token.
    for path in [
        "/{d}/10-20-30.jpg",
        "/{d}/10-20-30.jpg?cache-buster=1",
        "/{d}/40-50-60.jpg",
        "/{d}/10-20-30.JPG",
        "/v0/10-20-31.jpg",
        "/{d}/%31%30-20-32.jpg",
        "/10-20-33.jpg",
        "/default.jpg",
        "/{d}/99-99-99.jpg",
    ] {
        let path = path.replace("{d}", d);
        assert_eq!(get(&format!("{base}{path}")).await.status(), 200, "{path}");
    }
    assert_eq!(
        system.stored_keys().await,
        ["10-20-30", "40-50-60", "99-99-99"].map(|id| format!("{d}/{id}.jpg"))
    );
    assert_eq!(system.service.metrics().counts().renders, 3);
    system.stop().await;
}
