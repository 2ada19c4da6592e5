//! Where in a page the share tags go: a byte offset early in the page's head, found by
//! tokenizing (lol_html) no further than the head's first element (or, to keep a charset
//! declaration within the prescan's bytes, the first 1024 bytes).
//!
//! It owns that one decision and nothing else: it never rewrites or emits a byte (its
//! rewriter's output is thrown away), and it is never fed past the head window, because
//! its `*` selector makes lol_html buffer every start tag whole (a 10 MB `data:` URL in
//! one would hit the memory limit); the inject module streams the rest without it.

use std::sync::{Arc, Mutex, PoisonError};

use lol_html::errors::RewritingError;
use lol_html::send::{Element, SendHandlerTypes, Settings};
use lol_html::{AsciiCompatibleEncoding, HtmlRewriter, MemorySettings, OutputSink, element};

use share_tags::is_replaced_key;

/// What the page showed so far, in input byte offsets.
#[derive(Debug, Default)]
struct Seen {
    /// The end of the `<html>` start tag.
    html_end: Option<usize>,
    /// The end of the `<head>` start tag.
    head_end: Option<usize>,
    /// The insertion point, once known.
    spot: Option<usize>,
    /// The insertion point unless the charset declaration turns up among the head
    /// elements that follow (see `Scanner::new`).
    unless_charset: Option<usize>,
}

/// What a head holds (HTML Standard, "in head" insertion mode): a run of these is still
/// the head, anything else opens the body.
const HEAD_ELEMENTS: &[&str] = &[
    "base", "basefont", "bgsound", "link", "meta", "noscript", "script", "style", "template",
    "title",
];

impl Seen {
    /// Takes in the next start tag until the insertion point is known.
    fn element(&mut self, el: &Element<'_, '_>, charset_end: Option<usize>) {
        let at = el.source_location().bytes();
        let name = el.tag_name();
        let is_charset = || {
            name == "meta"
                && (el.has_attribute("charset")
                    || el
                        .get_attribute("http-equiv")
                        .is_some_and(|v| v.trim().eq_ignore_ascii_case("content-type")))
        };
        if let Some(first) = self.unless_charset {
            if charset_end == Some(at.end) && is_charset() {
                self.spot = Some(at.end);
            } else if charset_end.is_none_or(|end| at.start >= end)
                || !HEAD_ELEMENTS.contains(&name.as_str())
                // Every share tag must lie after the insertion point, where the
                // stream that removes them starts.
                || is_share_tag(el)
            {
                self.spot = Some(first);
            }
        } else if self.head_end.is_none() && name == "html" {
            self.html_end.get_or_insert(at.end);
        } else if self.head_end.is_none() && name == "head" {
            self.head_end = Some(at.end);
        } else if is_charset() {
            // The head's first element, or without a `<head>` tag the first element
            // of the page, where a parser opens the head implicitly. A charset
            // declaration there stays first, within the 1024 bytes a prescan reads.
            self.spot = Some(at.end);
        } else {
            let first = self.head_end.unwrap_or(at.start);
            if charset_end.is_some_and(|end| at.start < end)
                && HEAD_ELEMENTS.contains(&name.as_str())
                && !is_share_tag(el)
            {
                self.unless_charset = Some(first);
            } else {
                self.spot = Some(first);
            }
        }
    }
}

/// Whether an element is one of the page's own share tags: a `<meta>` whose `property` or
/// `name` the block replaces.
pub(crate) fn is_share_tag(el: &Element<'_, '_>) -> bool {
    el.tag_name() == "meta"
        && ["property", "name"].iter().any(|attr| {
            el.get_attribute(attr)
                .is_some_and(|key| is_replaced_key(&key))
        })
}

/// Throws the scanner's output away: the scan decides, it does not write.
#[derive(Debug)]
struct Discard;

impl OutputSink for Discard {
    fn handle_chunk(&mut self, _: &[u8]) {}
}

/// The insertion point search over one body's first bytes.
#[derive(Debug)]
pub(crate) struct Scanner {
    rewriter: HtmlRewriter<'static, Discard, SendHandlerTypes>,
    seen: Arc<Mutex<Seen>>,
}

impl Scanner {
    /// `charset_end` is where the page's `<meta>` charset declaration ends, if the encoding
    /// prescan found one. The block goes after that declaration when only head elements
    /// come before it, so that it never pushes it out of the 1024 bytes a prescan reads.
    pub(crate) fn new(
        encoding: AsciiCompatibleEncoding,
        memory: usize,
        charset_end: Option<usize>,
    ) -> Self {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let found = Arc::clone(&seen);
        let settings = Settings::new_send()
            .with_encoding(encoding)
            .with_memory_settings(MemorySettings::new().with_max_allowed_memory_usage(memory))
            // As the inject module's stream: a guess never fails the scan of a whole page.
            .with_strict(false)
            .append_element_content_handler(element!("*", move |el| {
                let mut seen = found.lock().unwrap_or_else(PoisonError::into_inner);
                if seen.spot.is_none() {
                    seen.element(el, charset_end);
                }
                Ok(())
            }));
        Self {
            rewriter: HtmlRewriter::new(settings, Discard),
            seen,
        }
    }

    /// Scans the next bytes of the body; the insertion point once it is known. An error
    /// past a found insertion point (a long tag after it in the same chunk) is no error:
    /// the scan was over before it.
    pub(crate) fn write(&mut self, chunk: &[u8]) -> Result<Option<usize>, RewritingError> {
        let result = self.rewriter.write(chunk);
        let spot = self.seen().spot;
        match result {
            Err(error) if spot.is_none() => Err(error),
            _ => Ok(spot),
        }
    }

    /// The insertion point when the bytes ran out (the window or the body) before the
    /// head's first element: the start of a head, else just after `<html>` (the head a
    /// parser opens there holds whatever comes first), else none.
    pub(crate) fn best_so_far(&self) -> Option<usize> {
        let seen = self.seen();
        seen.spot
            .or(seen.unless_charset)
            .or(seen.head_end)
            .or(seen.html_end)
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
