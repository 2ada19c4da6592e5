//! Failures across the apps: a render site that is a separate app, down and then back.
//! The fault drills of each dependency (browser, storage, render site), the single-flight
//! herd and what storage may hold are the image service's own tests
//! (`image-service/src/tests/`), run there on both storage backends; this suite keeps
//! only the flows that cross apps.

use e2e::{Options, System, http_client};
use image_service::RenderTarget;
use render_site::{RenderSiteConfig, RenderToken};
use reqwest::header;

async fn get(url: &str) -> reqwest::Response {
    http_client()
        .get(url)
        .send()
        .await
        .expect("the service answers")
}

fn max_age(response: &reqwest::Response) -> u64 {
    let cache_control = response.headers()[header::CACHE_CONTROL].to_str().unwrap();
    test_kit::max_age(cache_control).unwrap_or_else(|| panic!("no max-age in {cache_control}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn render_site_down_gives_a_short_lived_fallback_then_the_card_once_it_is_back() {
    // A port that refuses connections now and serves the render site later.
    let parked = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = parked.local_addr().unwrap();
    drop(parked);
    let token = RenderToken::generate();
    let system = System::start_with(Options {
        flags: vec!["--render-timeout-ms".into(), "3000".into()],
        render_target: Some(RenderTarget::Remote {
            base: shared_ids::BaseUrl::parse(&format!("http://{addr}")).unwrap(),
            token: token.clone(),
        }),
        ..Options::default()
    })
    .await;
    let path = test_kit::card_path("55-44-33");
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
    let site_server = test_kit::serve_on(listener, site);
    let back = get(&url).await;
    assert_eq!(back.headers()["x-ogshot-cache"], "miss");
    assert_eq!(max_age(&back), 31_536_000);
    test_kit::assert_real_card(
        &back.bytes().await.unwrap(),
        "the card once the site is back",
    );
    assert_eq!(system.stored_keys().await, [&path[1..]]);
    site_server.stop();
    system.stop().await;
}
