//! Failures beside the fault drills: storage that refuses connections, more work than
//! the renderer can take. Each asserts what a crawler would notice: a real card, or the
//! default image that no cache keeps.

use futures::future::join_all;

use super::support::{
    Backend, Harness, RenderSite, ServiceReply, Setup, SiteMode, Store, assert_rendered_card,
    request,
};
use crate::DEFAULT_IMAGE;
use test_kit::card_path;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_s3_still_serves_the_rendered_card() {
    let mut h = Harness::start(Backend::S3).await;
    let Store::S3(server) = &mut h.store else {
        unreachable!("started on S3")
    };
    server.stop().await;

    // Neither the failed lookup nor the failed write reaches the crawler; both are logged.
    let path = card_path("41-00-01");
    let first = h.get(&path).await;
    assert_eq!(first.cache_status(), Some("miss"));
    let card_bytes = first.assert_card("with S3 down").to_vec();
    assert_rendered_card(&card_bytes, "with S3 down");
    h.service().cards().settled().await;
    // The card could not be stored: served from memory, briefly cacheable, not rendered
    // again.
    for attempt in 2..=3 {
        let reply = h.get(&path).await;
        assert_eq!(reply.status, 200, "attempt {attempt}");
        assert_eq!(reply.cache_status(), Some("unstored"), "attempt {attempt}");
        assert_eq!(reply.cache_control(), Some("public, max-age=300"));
        assert!(reply.body == card_bytes, "attempt {attempt}: the same card");
    }
    let counts = h.counts();
    assert_eq!(
        (counts.renders, counts.fallbacks, counts.hits),
        (1, 0, 0),
        "{counts:?}"
    );
    assert!(counts.store_failures >= 1, "{counts:?}");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_render_queue_answers_the_default_image_that_no_cache_keeps() {
    let setup = Setup {
        site: Some(RenderSite::start().await),
        concurrency: Some(1),
        queue: Some(0),
        ..Setup::default()
    };
    let h = Harness::start_with(Backend::Local, setup).await;
    h.site().set(SiteMode::Hanging);

    // One render takes the only page and hangs on the render site.
    let busy = tokio::spawn({
        let (addr, path) = (h.addr, card_path("51-00-00"));
        async move { request(addr, "GET", &path, &[]).await }
    });
    h.site().hanging(1).await;

    // With no queue, every other id is refused at once rather than left waiting: an
    // image a crawler can show, which no cache may keep.
    let paths: Vec<String> = (1..=8)
        .map(|n| card_path(&format!("51-00-{n:02}")))
        .collect();
    let refused = join_all(paths.iter().map(|path| h.get(path))).await;
    for (path, reply) in paths.iter().zip(&refused) {
        assert_eq!(reply.status, 200, "{path}");
        assert_eq!(reply.cache_control(), Some("no-store"), "{path}");
        assert_eq!(reply.cache_status(), Some("overloaded"), "{path}");
        assert!(reply.body == DEFAULT_IMAGE, "{path}: not the default image");
    }
    assert_eq!(h.counts().overloaded, 8);
    // Not `stored_keys`: that waits for the held render, which is still hanging.
    assert_eq!(h.store.keys().await, Vec::<String>::new(), "nothing stored");

    // Capacity back: the waiting render finishes, and a refused id renders on retry.
    h.site().set(SiteMode::Normal);
    let busy = busy.await.expect("the first request finishes");
    let held = "the render that held the page";
    assert_rendered_card(busy.assert_card(held), held);
    assert_rendered_card(h.get(&paths[0]).await.assert_card("a retry"), "a retry");
    let counts = h.counts();
    assert_eq!((counts.renders, counts.fallbacks), (2, 0), "{counts:?}");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prerender_names_every_id_it_rendered_but_could_not_store() {
    let mut h = Harness::start(Backend::S3).await;
    let Store::S3(server) = &mut h.store else {
        unreachable!("started on S3")
    };
    server.stop().await;
    let ids: Vec<_> = ["71-00-01", "71-00-02", "71-00-03", "71-00-04"]
        .iter()
        .map(|id| shared_ids::SocialId::parse(id).unwrap())
        .collect();

    let report = crate::prerender::prerender(h.service().cards(), ids.clone(), 2, false).await;
    assert_eq!((report.rendered, report.skipped), (0, 0), "{report:?}");
    assert!(report.failed.is_empty(), "every card rendered: {report:?}");
    let unstored: Vec<_> = report.store_failed.iter().map(|(id, _)| *id).collect();
    assert_eq!(unstored, ids, "each unstored id is named");
    assert!(!report.complete());
    assert!(h.counts().store_failures >= 4, "{:?}", h.counts());
    h.stop().await;
}
