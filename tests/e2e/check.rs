//! share-check against the running system: every crawler sees
//! a valid share link's card, and an invalid link's default image. Its findings on
//! broken pages and images are share-check's own tests (`crates/share-check/tests/`).

use std::path::Path;

use e2e::System;
use share_check::{CheckArgs, Level, run};

/// Renders 12-34-10's card once, so that `check` times a hit: a first render on a busy
/// test machine may pass the 1 s a crawler's fetch is allowed.
async fn render_beforehand(system: &System) {
    let card = format!(
        "{}{}",
        system.image_service,
        test_kit::card_path("12-34-10")
    );
    assert_eq!(
        e2e::http_client().get(&card).send().await.unwrap().status(),
        200
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_crawler_sees_a_valid_share_link_and_an_invalid_one_gets_the_default_image() {
    let system = System::start().await;
    let valid = format!("{}/?social=12-34-10", system.main_site);
    let page = e2e::http_client().get(&valid).send().await.unwrap();
    assert_eq!(page.status(), 200);
    render_beforehand(&system).await;

    let report = run(&CheckArgs::for_targets(vec![valid.clone()], &[]))
        .await
        .unwrap();
    assert_eq!(report.problems(), [], "{}", report.table());
    assert_eq!(report.profiles.len(), 10);
    for profile in &report.profiles {
        assert_eq!(report.cell(&valid, profile), Level::Pass);
        assert!(
            report.findings.iter().any(|f| &f.profile == profile
                && f.rule == "image"
                && f.message.contains("2400x1260")),
            "{profile}: the card was not checked: {}",
            report.table()
        );
    }
    assert!(report.passed(true));

    // An invalid id: the page still shares, with the default image, and it checks out.
    let invalid = format!("{}/?social=12-34-1%30x", system.main_site);
    let report = run(&CheckArgs::for_targets(vec![invalid.clone()], &[]))
        .await
        .unwrap();
    assert!(report.passed(false), "{}", report.table());
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.rule == "image" && f.message.contains("2400x1260")),
        "{}",
        report.table()
    );
    assert_eq!(system.service.metrics().counts().renders, 1);
    system.stop().await;
}

/// An existing site (the example single-page app, whose page JavaScript draws and whose
/// head has its own og:image) shares with the card through the injector, both as a
/// reverse proxy in front of its origin and serving its directory.
#[tokio::test(flavor = "multi_thread")]
async fn every_crawler_sees_the_card_of_an_existing_site_through_the_proxy_and_the_static_site() {
    let mut system = System::start().await;
    let spa = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/spa");
    let origin = system.start_plain_origin(&spa, true).await;
    let proxy = system.start_injector(&origin, false).await;
    let static_site = system
        .start_injector(spa.to_str().expect("a UTF-8 path"), true)
        .await;
    render_beforehand(&system).await;
    for site in [proxy, static_site] {
        let link = format!("{site}/?social=12-34-10");
        let report = run(&CheckArgs::for_targets(vec![link.clone()], &[]))
            .await
            .unwrap();
        assert_eq!(report.problems(), [], "{link}: {}", report.table());
        for profile in &report.profiles {
            assert_eq!(report.cell(&link, profile), Level::Pass, "{link}");
        }
        assert!(report.passed(true), "{link}: {}", report.table());
    }
    assert_eq!(system.service.metrics().counts().renders, 1);
    system.stop().await;
}
