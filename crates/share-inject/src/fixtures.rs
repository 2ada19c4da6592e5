//! What the engine's tests against lol_html share: the charset they read in and the real
//! pages they read.

use std::path::PathBuf;

use lol_html::AsciiCompatibleEncoding;

pub(crate) fn utf8() -> AsciiCompatibleEncoding {
    AsciiCompatibleEncoding::new(encoding_rs::UTF_8).expect("UTF-8 is ASCII-compatible")
}

/// The corpus in `tests/pages`, by name.
pub(crate) fn pages() -> Vec<(String, Vec<u8>)> {
    let pages =
        test_kit::html_pages(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/pages"));
    assert!(pages.len() >= 30, "the corpus is there");
    pages
}
