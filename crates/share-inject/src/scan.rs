//! What the page's head says, as far as the share needs it: where the share tags go (a
//! byte offset early in the head: its first element, or after a charset declaration
//! within the prescan's 1024 bytes), which of the page's own share tags come before that
//! point, and the page's own words for the `og:title` and
//! `og:description` it lacks, found by reading the tags to the end of the head.
//!
//! It owns those decisions and nothing else: it never rewrites or emits a byte, and it is
//! never fed past the head window; the inject module streams the rest without it. It
//! stops where the head ends, so a page's body is never tokenized twice.
//!
//! The skim reads the head's tags, each whole, as lol_html's tokenizer would. Where the
//! skim would follow lol_html's tree builder into foreign content (an `<svg>` in a
//! `<template>`, a tag told by its attributes), the head is read again from its start by
//! lol_html with a `*` selector, `LolScan`, which is also what the skim's scan is proven
//! against. lol_html buffers every start tag whole for that selector, which the window
//! bounds.

use std::borrow::Cow;
use std::mem;
use std::ops::Range;
use std::sync::{Arc, Mutex, PoisonError};

use encoding_rs::Encoding;
use lol_html::errors::RewritingError;
use lol_html::html_content::TextChunk;
use lol_html::send::{Element, ElementContentHandlers, SendHandlerTypes, Settings};
use lol_html::{AsciiCompatibleEncoding, HtmlRewriter, MemorySettings, OutputSink};

use share_tags::{PageWords, is_meta_key, is_replaced_key};

use crate::skim::{self, Skim, Skimmed};

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

/// A start tag as the scan reads it: lol_html's element, or a tag the skim read whole.
trait StartTag {
    /// Whether the tag's name is `name`, which is in lower case.
    fn is(&self, name: &str) -> bool;
    /// Its bytes' offsets in the body, from `<` to `>`.
    fn bytes(&self) -> Range<usize>;
    /// The value of its first attribute named `name` (lower case), as written.
    fn attribute(&self, name: &str) -> Option<Cow<'_, str>>;

    fn is_one_of(&self, names: &[&str]) -> bool {
        names.iter().any(|name| self.is(name))
    }
}

/// lol_html's element, with its name read once.
struct LolTag<'e, 'a, 'b> {
    el: &'e Element<'a, 'b>,
    name: String,
}

impl<'e, 'a, 'b> LolTag<'e, 'a, 'b> {
    fn of(el: &'e Element<'a, 'b>) -> Self {
        Self {
            el,
            name: el.tag_name(),
        }
    }
}

impl StartTag for LolTag<'_, '_, '_> {
    fn is(&self, name: &str) -> bool {
        self.name == name
    }

    fn bytes(&self) -> Range<usize> {
        self.el.source_location().bytes()
    }

    fn attribute(&self, name: &str) -> Option<Cow<'_, str>> {
        self.el.get_attribute(name).map(Cow::Owned)
    }
}

/// A tag the skim read whole, as lol_html would have read it.
struct SkimTag<'t> {
    tag: &'t [u8],
    name: &'t [u8],
    at: usize,
    encoding: &'static Encoding,
    /// A `<meta>`'s keys and content, read in one pass: the scan asks for each in turn.
    meta: Option<MetaAttributes<'t>>,
}

/// The first of each attribute a `<meta>` is asked for, as the page wrote it.
#[derive(Default)]
struct MetaAttributes<'t> {
    property: Option<&'t [u8]>,
    name: Option<&'t [u8]>,
    content: Option<&'t [u8]>,
}

impl<'t> MetaAttributes<'t> {
    fn of(tag: &'t [u8]) -> Self {
        let mut read = Self::default();
        for (key, value) in skim::attributes(tag) {
            let slot = if key.eq_ignore_ascii_case(b"property") {
                &mut read.property
            } else if key.eq_ignore_ascii_case(b"name") {
                &mut read.name
            } else if key.eq_ignore_ascii_case(b"content") {
                &mut read.content
            } else {
                continue;
            };
            slot.get_or_insert(value);
        }
        read
    }

    fn get(&self, name: &str) -> Option<Option<&'t [u8]>> {
        match name {
            "property" => Some(self.property),
            "name" => Some(self.name),
            "content" => Some(self.content),
            _ => None,
        }
    }
}

impl<'t> SkimTag<'t> {
    /// The tag `tag`, at offset `at` of the body.
    fn of(tag: &'t [u8], at: usize, encoding: &'static Encoding) -> Self {
        let name = skim::tag_name(tag);
        Self {
            tag,
            name,
            at,
            encoding,
            meta: name
                .eq_ignore_ascii_case(b"meta")
                .then(|| MetaAttributes::of(tag)),
        }
    }

    fn self_closing(&self) -> bool {
        skim::self_closing(self.tag)
    }
}

impl StartTag for SkimTag<'_> {
    fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name.as_bytes())
    }

    fn bytes(&self) -> Range<usize> {
        self.at..self.at + self.tag.len()
    }

    fn attribute(&self, name: &str) -> Option<Cow<'_, str>> {
        let value = match self.meta.as_ref().and_then(|meta| meta.get(name)) {
            Some(read) => read?,
            None => {
                skim::attributes(self.tag)
                    .find(|(found, _)| found.eq_ignore_ascii_case(name.as_bytes()))?
                    .1
            }
        };
        Some(self.encoding.decode_without_bom_handling(value).0)
    }
}

impl Seen {
    /// Takes in the next start tag of the head: what the page's words are, and whether
    /// the head is over.
    fn head_element(&mut self, tag: &impl StartTag) {
        if tag.is("meta") {
            let name = tag.attribute("name");
            let keys = [tag.attribute("property"), name.clone()];
            let names = |key| keys.iter().flatten().any(|found| is_meta_key(found, key));
            self.has_og_title |= names("og:title");
            self.has_og_description |= names("og:description");
            if self.description.is_none()
                && name.is_some_and(|key| is_meta_key(&key, "description"))
            {
                self.description = tag.attribute("content").map(Cow::into_owned);
            }
        } else if tag.is_one_of(&["noscript", "template"]) {
            self.inert_depth += 1;
        } else if self.inert_depth == 0
            && !tag.is_one_of(&["html", "head"])
            && !tag.is_one_of(HEAD_ELEMENTS)
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
    fn element(&mut self, tag: &impl StartTag, charset_end: Option<usize>) {
        let at = tag.bytes();
        let is_charset = || {
            tag.is("meta")
                && (tag.attribute("charset").is_some()
                    || tag
                        .attribute("http-equiv")
                        .is_some_and(|v| v.trim().eq_ignore_ascii_case("content-type")))
        };
        // Any share tag here may end up before the block, where the stream that takes
        // them out does not reach; the declaration the block follows stays, whatever
        // its other attributes.
        if charset_end != Some(at.end) && is_share(tag) {
            self.early_share_tags.push(at.clone());
        }
        if let Some(first) = self.unless_charset {
            if charset_end == Some(at.end) && is_charset() {
                self.spot = Some(at.end);
            } else if charset_end.is_none_or(|end| at.start >= end) || !tag.is_one_of(HEAD_ELEMENTS)
            {
                self.spot = Some(first);
            }
        } else if self.head_end.is_none() && tag.is("html") {
            self.html_end.get_or_insert(at.end);
        } else if self.head_end.is_none() && tag.is("head") {
            self.head_end = Some(at.end);
        } else if is_charset() {
            // The head's first element, or without a `<head>` tag the first element
            // of the page, where a parser opens the head implicitly. A charset
            // declaration there stays first, within the 1024 bytes a prescan reads.
            self.spot = Some(at.end);
        } else {
            let first = self.head_end.unwrap_or(at.start);
            if charset_end.is_some_and(|end| at.start < end) && tag.is_one_of(HEAD_ELEMENTS) {
                self.unless_charset = Some(first);
            } else {
                self.spot = Some(first);
            }
        }
    }
}

/// Whether a tag is one of the page's own share tags: a `<meta>` whose `property` or
/// `name` the block replaces.
fn is_share(tag: &impl StartTag) -> bool {
    tag.is("meta")
        && ["property", "name"]
            .iter()
            .any(|attr| tag.attribute(attr).is_some_and(|key| is_replaced_key(&key)))
}

/// [`is_share`] for lol_html's element.
pub(crate) fn is_share_tag(el: &Element<'_, '_>) -> bool {
    is_share(&LolTag::of(el))
}

/// [`is_share`] for a whole `<meta>` start tag as the page wrote it in `encoding`.
pub(crate) fn is_share_meta(tag: &[u8], encoding: &'static Encoding) -> bool {
    is_share(&SkimTag::of(tag, 0, encoding))
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

/// The search over one body's first bytes: the skim's, until it meets what only
/// lol_html reads as lol_html does.
#[derive(Debug)]
pub(crate) struct Scanner {
    encoding: AsciiCompatibleEncoding,
    memory: usize,
    charset_end: Option<usize>,
    read: Read,
}

#[derive(Debug)]
enum Read {
    Skim(Box<SkimScan>),
    Lol(Box<LolScan>),
}

/// The head read by the skim, one whole tag at a time.
#[derive(Debug)]
struct SkimScan {
    skim: Skim,
    seen: Seen,
    /// How many of the body's bytes the skim has read.
    read: usize,
    /// Where the first `<title>`'s text starts, until the next tag ends it.
    title_from: Option<usize>,
    /// The `<html>` and `<head>` elements open, in order: lol_html's stack of open
    /// elements in a head the skim follows, but for raw text, which only its own end
    /// tag ends, and void elements.
    open: Vec<&'static str>,
    noscript_open: bool,
}

/// The skim met what it does not follow lol_html's tree builder through.
struct Unfollowed;

impl Scanner {
    /// `charset_end` is where the page's `<meta>` charset declaration ends, if the encoding
    /// prescan found one. The block goes after that declaration when only head elements
    /// come before it, so that it never pushes it out of the 1024 bytes a prescan reads.
    pub(crate) fn new(
        encoding: AsciiCompatibleEncoding,
        memory: usize,
        charset_end: Option<usize>,
    ) -> Self {
        Self {
            encoding,
            memory,
            charset_end,
            read: Read::Skim(Box::new(SkimScan {
                skim: Skim::telling_tags(),
                seen: Seen::default(),
                read: 0,
                title_from: None,
                open: Vec::new(),
                noscript_open: false,
            })),
        }
    }

    /// Scans the body's first bytes, `body` (each call with more of them); the decision
    /// once the head is over. An error past a found insertion point (a long tag after
    /// it) ends the scan there, with the insertion point and no words.
    pub(crate) fn write(&mut self, body: &[u8]) -> Result<Option<Found>, RewritingError> {
        loop {
            match &mut self.read {
                Read::Skim(scan) => {
                    match scan.write(body, self.encoding.into(), self.charset_end) {
                        Ok(found) => return Ok(found),
                        Err(Unfollowed) => {
                            let lol = LolScan::new(self.encoding, self.memory, self.charset_end);
                            self.read = Read::Lol(Box::new(lol));
                        }
                    }
                }
                Read::Lol(lol) => return lol.write(body),
            }
        }
    }

    /// The decision when the bytes ran out before the head was over: the window's
    /// (`at_end` false) or the body's, when the whole head was seen.
    pub(crate) fn best_so_far(&self, at_end: bool) -> Option<Found> {
        match &self.read {
            Read::Skim(scan) => scan.seen.found(at_end),
            Read::Lol(lol) => lol.seen().found(at_end),
        }
    }
}

impl SkimScan {
    fn write(
        &mut self,
        body: &[u8],
        encoding: &'static Encoding,
        charset_end: Option<usize>,
    ) -> Result<Option<Found>, Unfollowed> {
        while !self.seen.head_over {
            match self.skim.skim(&body[self.read..]) {
                Skimmed::Upto(len) => {
                    self.read += len;
                    // What lol_html would have handed its title handler so far.
                    if let Some(from) = self.title_from {
                        self.seen.title = text(&body[from..self.read], encoding);
                    }
                    return Ok(None);
                }
                Skimmed::Tag { start, end } => {
                    let at = self.read + start;
                    self.read += end;
                    let tag = SkimTag::of(&body[at..self.read], at, encoding);
                    self.tag(&tag, body, charset_end)?;
                }
                Skimmed::Meta { .. } | Skimmed::HandOver { .. } => return Err(Unfollowed),
            }
        }
        Ok(self.seen.found(true))
    }

    /// Takes in a tag as lol_html's handlers would: those of every start tag, of the end
    /// tags of the elements that were open, and of the first title's text.
    fn tag(
        &mut self,
        tag: &SkimTag<'_>,
        body: &[u8],
        charset_end: Option<usize>,
    ) -> Result<(), Unfollowed> {
        let at = tag.bytes();
        if let Some(from) = self.title_from.take() {
            self.seen.title = text(&body[from..at.start], tag.encoding);
            self.seen.title_done = self.seen.title.is_some();
        }
        if tag.tag.get(1) == Some(&b'/') {
            // An end tag runs the end tag handlers of the elements it closes, as lol_html
            // pops its stack up to the element of that name.
            if tag.is("noscript") && mem::take(&mut self.noscript_open) {
                self.seen.inert_depth = self.seen.inert_depth.saturating_sub(1);
            } else if let Some(at) = self.open.iter().rposition(|name| tag.is(name)) {
                self.seen.head_over |= self.open[at..].contains(&"head");
                self.open.truncate(at);
            }
            return Ok(());
        }
        if self.seen.spot.is_none() {
            self.seen.element(tag, charset_end);
        }
        self.seen.head_element(tag);
        if self.seen.head_over {
            return Ok(());
        }
        // lol_html reads on from these: whatever a `<template>` holds stays in the head,
        // foreign content too, and elements that one end tag may close together; and a
        // self-closed element has no end tag handler.
        if tag.is_one_of(&["template", "svg", "math"])
            || (tag.is_one_of(&["html", "head", "noscript", "title"]) && tag.self_closing())
        {
            return Err(Unfollowed);
        }
        if let Some(name) = ["html", "head"].into_iter().find(|name| tag.is(name)) {
            self.open.push(name);
        }
        self.noscript_open |= tag.is("noscript");
        if tag.is("title") && !self.seen.title_done {
            self.title_from = Some(at.end);
        }
        Ok(())
    }
}

/// Text as lol_html's text handler would have it: none when empty.
fn text(bytes: &[u8], encoding: &'static Encoding) -> Option<String> {
    let text = encoding.decode_without_bom_handling(bytes).0;
    (!text.is_empty()).then(|| text.into_owned())
}

/// The search by lol_html: every start tag through a `*` selector.
#[derive(Debug)]
struct LolScan {
    rewriter: HtmlRewriter<'static, Discard, SendHandlerTypes>,
    seen: Arc<Mutex<Seen>>,
    /// How many of the body's bytes the rewriter has read.
    read: usize,
}

impl LolScan {
    fn new(encoding: AsciiCompatibleEncoding, memory: usize, charset_end: Option<usize>) -> Self {
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
                    let tag = LolTag::of(el);
                    if seen.spot.is_none() {
                        seen.element(&tag, charset_end);
                    }
                    seen.head_element(&tag);
                    if seen.head_over {
                        return Err(HeadOver.into());
                    }
                    let name = tag.name;
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
            rewriter: HtmlRewriter::new(settings, Discard),
            seen,
            read: 0,
        }
    }

    /// As [`Scanner::write`].
    fn write(&mut self, body: &[u8]) -> Result<Option<Found>, RewritingError> {
        // Nothing after the head changes what was seen, and the rewriter that stopped
        // there takes no more input.
        let head_over = self.seen().head_over;
        let result = if head_over {
            Ok(())
        } else {
            let chunk = &body[self.read..];
            self.read = body.len();
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

    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The skim's scan against lol_html's: the same decision, after each piece of the head as
/// it arrives, whatever the head.
#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::fixtures::{pages, utf8};

    /// What a scan says after each `chunk` more bytes of `body`, up to its decision, and
    /// what it decides at the end.
    fn trace(body: &[u8], chunk: usize, skim: bool) -> Vec<Result<Option<Found>, String>> {
        let memory = 1024 * 1024;
        let charset_end = crate::charset::sniff(None, body).meta_end;
        let mut scanner = Scanner::new(utf8(), memory, charset_end);
        if !skim {
            scanner.read = Read::Lol(Box::new(LolScan::new(utf8(), memory, charset_end)));
        }
        let mut said = Vec::new();
        let mut upto = 0;
        while upto < body.len() {
            upto = (upto + chunk.max(1)).min(body.len());
            let result = scanner.write(&body[..upto]);
            let decided = !matches!(result, Ok(None));
            said.push(result.map_err(|error| error.to_string()));
            if decided {
                return said;
            }
            said.push(Ok(scanner.best_so_far(false)));
        }
        said.push(Ok(scanner.best_so_far(true)));
        said
    }

    fn assert_same(body: &[u8], chunk: usize, what: &str) {
        let skimmed = trace(body, chunk, true);
        let lol = trace(body, chunk, false);
        assert!(
            skimmed == lol,
            "{what}, in chunks of {chunk}: the skim's scan said\n{skimmed:?}\nlol_html's\n{lol:?}"
        );
    }

    #[test]
    fn every_real_page_is_scanned_as_lol_html_scans_it() {
        for (name, page) in pages() {
            for chunk in [page.len(), 4096, 997, 61] {
                assert_same(&page, chunk, &name);
            }
        }
    }

    /// What heads are made of, whole and in pieces.
    const PIECES: &[&str] = &[
        "<!doctype html>",
        "<html lang=en>",
        "</html>",
        "<head>",
        "</head>",
        "<HEAD>",
        "<meta charset=utf-8>",
        "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\">",
        r#"<meta property="og:image" content="https://example.com/a.png">"#,
        "<meta name=twitter:card content=summary>",
        r#"<meta property="og:title" content="T">"#,
        "<meta name=description content=\"D &amp; d\">",
        "<meta name=\"og:description\" content=x>",
        "<meta name=description content=''>",
        "<title>",
        "</title>",
        "<TITLE a=1>",
        "</title >",
        "Title &amp; x",
        "é",
        "<noscript>",
        "</noscript>",
        "<template>",
        "</template>",
        "<link rel=icon href='/a>b'>",
        "<base href=/>",
        "<script>",
        "</script>",
        "<script>a<!--<script></script>-->",
        "<style>p>a{}</style>",
        "<script a=>",
        "<!-- c -->",
        "<!--",
        "-->",
        "<?x?>",
        "<div>",
        "</div>",
        "<p>",
        "<body>",
        "<svg>",
        "</svg>",
        "<math>",
        "text",
        " ",
        "\n",
        "<",
        "</",
        ">",
        "/",
        "=",
        "\"",
        "'",
        "<meta",
        "<titl",
        "</titl",
        "e>",
        "<textarea>",
        "</textarea>",
        "<custom-el>",
    ];

    proptest! {
        #![proptest_config(ProptestConfig { cases: 20000, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn any_head_is_scanned_as_lol_html_scans_it(
            pieces in prop::collection::vec(0..PIECES.len(), 0..30),
            chunk in 1usize..40,
        ) {
            let body: String = pieces.iter().map(|&i| PIECES[i]).collect();
            let skimmed = trace(body.as_bytes(), chunk, true);
            let lol = trace(body.as_bytes(), chunk, false);
            prop_assert_eq!(skimmed, lol);
        }
    }
}
