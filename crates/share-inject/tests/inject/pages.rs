//! The 32 real pages of `tests/pages`, as the proxy would serve them with a share id.

use std::path::PathBuf;

use proptest::prelude::*;
use share_inject::{InjectLimits, Injector, Outcome, PassReason};

use crate::support::{
    assert_only_our_tags, assert_same_but_share_tags, assert_words, injector, rewrite, rewrite_in,
    site,
};

fn pages() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/pages");
    let pages = test_kit::html_pages(&dir);
    assert_eq!(pages.len(), 32, "the pages in {}", dir.display());
    pages
}

fn page(name: &str) -> Vec<u8> {
    pages()
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no page {name}"))
        .1
}

#[test]
fn every_real_page_gets_exactly_our_image_tags_and_keeps_every_other_byte() {
    let injector = injector();
    for (name, input) in pages() {
        let (output, outcome) = rewrite(&injector, &input);
        assert_eq!(outcome, Outcome::Injected, "{name}");
        let html = String::from_utf8_lossy(&output);
        assert_only_our_tags(&html, &site(), &name);
        assert_same_but_share_tags(&input, &output, &name);
        assert_words(&String::from_utf8_lossy(&input), &html, &name);
    }
    let stats = injector.stats();
    assert_eq!((stats.injected, stats.late_bailouts), (32, 0));
}

#[test]
fn a_passthrough_finishes_with_every_page_byte_for_byte() {
    // No window at all: no page can find its head, and each must come back untouched.
    let injector = Injector::new(
        site(),
        InjectLimits {
            head_window: 0,
            ..InjectLimits::default()
        },
    );
    for (name, input) in pages() {
        let (output, outcome) = rewrite_in(&injector, Some("text/html"), input.chunks(16 * 1024));
        assert_eq!(
            outcome,
            Outcome::Passthrough(PassReason::NoInsertionPoint),
            "{name}"
        );
        assert!(output == input, "{name}: passthrough changed bytes");
    }
    assert_eq!(injector.stats().passed(PassReason::NoInsertionPoint), 32);
}

#[test]
fn one_byte_chunks_give_the_one_chunk_output() {
    let injector = injector();
    for name in ["defuddle__article.html", "x__post-og.html"] {
        let input = page(name);
        let whole = rewrite(&injector, &input);
        let bytewise = rewrite_in(&injector, Some("text/html; charset=utf-8"), input.chunks(1));
        assert!(
            whole == bytewise,
            "{name}: one-byte chunks changed the output"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn chunk_boundaries_never_change_the_output(
        which in 0..4usize,
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..24),
    ) {
        let name = [
            "defuddle__article.html",
            "reddit__post.html",
            "telegram__post-full-image.html",
            "youtube__youtube-video.html",
        ][which];
        let input = page(name);
        let mut at: Vec<usize> = cuts.iter().map(|i| i.index(input.len() + 1)).collect();
        at.extend([0, input.len()]);
        at.sort_unstable();
        let chunks = at.windows(2).map(|w| &input[w[0]..w[1]]);
        let injector = injector();
        let utf8 = Some("text/html; charset=utf-8");
        prop_assert!(rewrite(&injector, &input) == rewrite_in(&injector, utf8, chunks), "{}", name);
    }
}
