//! What the page's head says, as far as the share needs it: where the share tags go (a
//! byte offset early in the head: its first element, or after a charset declaration
//! within the prescan's 1024 bytes), which of the page's own share tags come before that
//! point, and the page's own words for the `og:title` and
//! `og:description` it lacks, found by tokenizing (lol_html) to the end of the head.
//!
//! It owns those decisions and nothing else: it never rewrites or emits a byte (its
//! rewriter's output is thrown away), and it is never fed past the head window, because
//! its `*` selector makes lol_html buffer every start tag whole (a 10 MB `data:` URL in
//! one would hit the memory limit); the inject module streams the rest without it. It
//! stops where the head ends, so a page's body is never tokenized twice.

use std::borrow::Cow;
use std::ops::Range;
use std::sync::{Arc, Mutex, PoisonError};

use lol_html::errors::RewritingError;
use lol_html::html_content::TextChunk;
use lol_html::send::{Element, ElementContentHandlers, SendHandlerTypes, Settings};
use lol_html::{AsciiCompatibleEncoding, HtmlRewriter, MemorySettings, OutputSink};

use share_tags::{PageWords, is_meta_key, is_replaced_key};

use crate::skim;

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
    /// The page's own share tags met while the insertion point was not yet known.
    early_share_tags: Vec<Range<usize>>,
    /// The head is over: `</head>`, or a start tag a head does not hold.
    head_over: bool,
    /// Open `<noscript>` and `<template>` elements, whose content never ends the head.
    inert_depth: usize,
    has_og_title: bool,
    has_og_description: bool,
    /// The first `<title>`'s text as written; complete once `title_done`.
    title: Option<String>,
    title_done: bool,
    /// The first `<meta name="description">`'s content as written.
    description: Option<String>,
}

/// What a head holds (HTML Standard, "in head" insertion mode): a run of these is still
/// the head, anything else opens the body.
const HEAD_ELEMENTS: &[&str] = &[
    "base", "basefont", "bgsound", "link", "meta", "noscript", "script", "style", "template",
    "title",
];

impl Seen {
    /// Takes in the next start tag of the head: what the page's words are, and whether
    /// the head is over.
    fn head_element(&mut self, el: &Element<'_, '_>) {
        let name = el.tag_name();
        if name == "meta" {
            let keys = || {
                ["property", "name"]
                    .into_iter()
                    .filter_map(|a| el.get_attribute(a))
            };
            self.has_og_title |= keys().any(|key| is_meta_key(&key, "og:title"));
            self.has_og_description |= keys().any(|key| is_meta_key(&key, "og:description"));
            if self.description.is_none()
                && el
                    .get_attribute("name")
                    .is_some_and(|key| is_meta_key(&key, "description"))
            {
                self.description = el.get_attribute("content");
            }
        } else if name == "noscript" || name == "template" {
            self.inert_depth += 1;
        } else if self.inert_depth == 0
            && !["html", "head"].contains(&name.as_str())
            && !HEAD_ELEMENTS.contains(&name.as_str())
        {
            self.head_over = true;
        }
    }

    /// The words the page's share lacks, once the whole head was seen (`complete`):
    /// without that, a later `og:title` could make two.
    fn words(&self, complete: bool) -> PageWords {
        if !complete {
            return PageWords::default();
        }
        let decoded = |raw: &str| html_escape::decode_html_entities(raw).into_owned();
        // As `document.title` reads it: ASCII whitespace stripped and collapsed.
        let title = (self.title.as_deref())
            .filter(|_| !self.has_og_title)
            .map(|raw| {
                decoded(raw)
                    .split_ascii_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            });
        let description = (self.description.as_deref())
            .filter(|_| !self.has_og_description)
            .map(decoded);
        let said = |words: Option<String>| words.filter(|w| !w.trim().is_empty());
        PageWords {
            title: said(title),
            description: said(description),
        }
    }

    /// The insertion point: the one found, else the start of a head, else just after
    /// `<html>` (the head a parser opens there holds whatever comes first), else none;
    /// with the words when the whole head was seen.
    fn found(&self, complete: bool) -> Option<Found> {
        let at = self
            .spot
            .or(self.unless_charset)
            .or(self.head_end)
            .or(self.html_end)?;
        // Those the insertion point turned out to precede, the stream takes out.
        let before = |tag: &&Range<usize>| tag.end <= at;
        Some(Found {
            at,
            words: self.words(complete),
            share_tags_before: self
                .early_share_tags
                .iter()
                .filter(before)
                .cloned()
                .collect(),
        })
    }

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
        // Any share tag here may end up before the block, where the stream that takes
        // them out does not reach; the declaration the block follows stays, whatever
        // its other attributes.
        if charset_end != Some(at.end) && is_share_tag(el) {
            self.early_share_tags.push(at.clone());
        }
        if let Some(first) = self.unless_charset {
            if charset_end == Some(at.end) && is_charset() {
                self.spot = Some(at.end);
            } else if charset_end.is_none_or(|end| at.start >= end)
                || !HEAD_ELEMENTS.contains(&name.as_str())
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

/// [`is_share_tag`] for a whole `<meta>` start tag as the page wrote it, read as lol_html
/// reads it: the first `property` and the first `name`. A key is ASCII, which a value in
/// any ASCII-compatible charset spells in the same bytes, and in no others.
pub(crate) fn is_share_meta(tag: &[u8]) -> bool {
    ["property", "name"].iter().any(|attr| {
        skim::attributes(tag)
            .find(|(name, _)| name.eq_ignore_ascii_case(attr.as_bytes()))
            .and_then(|(_, value)| std::str::from_utf8(value).ok())
            .is_some_and(is_replaced_key)
    })
}

/// Ends the scan where the head ends: the rest of the page, however long, is never
/// tokenized for it (the stream after the insertion point reads it once).
#[derive(Debug, thiserror::Error)]
#[error("the head is over")]
struct HeadOver;

/// Throws the scanner's output away: the scan decides, it does not write.
#[derive(Debug)]
struct Discard;

impl OutputSink for Discard {
    fn handle_chunk(&mut self, _: &[u8]) {}
}

/// What the scan decided: where the tags go, the words they add, and the page's own
/// share tags before that point (in order), which must go too: the block follows a
/// charset declaration even when share tags come first, so that it never pushes the
/// declaration out of the prescan's 1024 bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Found {
    pub(crate) at: usize,
    pub(crate) words: PageWords,
    pub(crate) share_tags_before: Vec<Range<usize>>,
}

/// The search over one body's first bytes.
#[derive(Debug)]
pub(crate) struct Scanner {
    /// Boxed, so that a rewrite past its head is no larger for having had one.
    rewriter: Box<HtmlRewriter<'static, Discard, SendHandlerTypes>>,
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
        let in_title = Arc::clone(&seen);
        let settings = Settings::new_send()
            .with_encoding(encoding)
            .with_memory_settings(MemorySettings::new().with_max_allowed_memory_usage(memory))
            // As the inject module's stream: a guess never fails the scan of a whole page.
            .with_strict(false)
            .append_element_content_handler((
                Cow::Borrowed(selector!("*")),
                ElementContentHandlers::default().element(move |el: &mut Element<'_, '_>| {
                    let mut seen = found.lock().unwrap_or_else(PoisonError::into_inner);
                    if seen.spot.is_none() {
                        seen.element(el, charset_end);
                    }
                    seen.head_element(el);
                    if seen.head_over {
                        return Err(HeadOver.into());
                    }
                    let name = el.tag_name();
                    if ["head", "noscript", "template"].contains(&name.as_str())
                        && let Some(handlers) = el.end_tag_handlers()
                    {
                        let ended = Arc::clone(&found);
                        handlers.push(Box::new(move |_| {
                            let mut seen = ended.lock().unwrap_or_else(PoisonError::into_inner);
                            if name == "head" {
                                seen.head_over = true;
                                return Err(HeadOver.into());
                            }
                            seen.inert_depth = seen.inert_depth.saturating_sub(1);
                            Ok(())
                        }));
                    }
                    Ok(())
                }),
            ))
            .append_element_content_handler((
                Cow::Borrowed(selector!("title")),
                ElementContentHandlers::default().text(move |chunk: &mut TextChunk<'_>| {
                    let mut seen = in_title.lock().unwrap_or_else(PoisonError::into_inner);
                    if !seen.title_done && !seen.head_over {
                        seen.title.get_or_insert_default().push_str(chunk.as_str());
                        seen.title_done = chunk.last_in_text_node();
                    }
                    Ok(())
                }),
            ));
        Self {
            rewriter: Box::new(HtmlRewriter::new(settings, Discard)),
            seen,
        }
    }

    /// Scans the next bytes of the body; the decision once the head is over. An error
    /// past a found insertion point (a long tag after it) ends the scan there, with the
    /// insertion point and no words.
    pub(crate) fn write(&mut self, chunk: &[u8]) -> Result<Option<Found>, RewritingError> {
        // Nothing after the head changes what was seen, and the rewriter that stopped
        // there takes no more input.
        let head_over = self.seen().head_over;
        let result = if head_over {
            Ok(())
        } else {
            self.rewriter.write(chunk)
        };
        let seen = self.seen();
        if seen.head_over {
            return Ok(seen.found(true));
        }
        match result {
            Err(error) if seen.spot.is_none() => Err(error),
            Err(_) => Ok(seen.found(false)),
            Ok(()) => Ok(None),
        }
    }

    /// The decision when the bytes ran out before the head was over: the window's
    /// (`at_end` false) or the body's, when the whole head was seen.
    pub(crate) fn best_so_far(&self, at_end: bool) -> Option<Found> {
        self.seen().found(at_end)
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
