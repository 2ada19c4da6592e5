//! The page after the insertion point, read at the speed of a byte search until the
//! stream's rewriter has something to do. lol_html spends most of a share page's time
//! walking the body's tags through its selector machinery, although the stream only
//! ever removes `<meta>` elements; most bodies have none.
//!
//! `Skim` follows the tokenizer states of lol_html's own tag scanner (its state-machine
//! syntax, where it differs from the HTML Standard's), as far as they decide where a tag
//! can start: data, tags and their quoted attributes, comments, doctypes and bogus
//! comments, raw text, RCDATA, script data with its escapes, plaintext, and foreign
//! content (SVG and MathML, with CDATA sections and integration points) by lol_html's
//! tree builder simulator. Each whole `<meta>` start tag is told apart by its
//! `attributes`, read as lol_html's lexer reads them. The few tags decided by their
//! attributes (`<font>` in foreign content, MathML's `<annotation-xml>`) and a `<meta>`
//! nested in foreign content make the rewriter read the rest of the page, first put in
//! the same namespaces by reading the tags that open them (a primer, whose output is
//! dropped). A tag that lies whole in the input is read in one pass by the same rules
//! (`whole_tag`); the state machine reads the rest, a byte at a time where it must. For
//! the scan of a head (`telling_tags`), it tells each tag it reads whole, holding one
//! until it is, and the end tag of raw text.
//!
//! Three differences are by design. lol_html holds a tag's bytes until its name ends, and a
//! name longer than its memory limit makes it pass the rest of the page through with the
//! share tags in it; the skim holds at most `<meta` and reads on. And where lol_html
//! keeps the text type of a raw-text start tag that ended right after an attribute's `=`
//! (`<script a=>`) for the next tag it lexes, the rewriter takes over after that tag, put
//! in the same state by reading such a tag first. And a rewriter that takes over inside
//! foreign content never saw the elements open around it, so a share tag nested there
//! (which is no void element) is removed with what follows it up to the end tag of an
//! element that rewriter saw open, as the stream's rewriter has always treated the
//! elements open before the insertion point.

use std::mem;
use std::sync::LazyLock;

use memchr::memmem;

/// A tag name as lol_html tells names apart (its `LocalNameHash`): ASCII letters in any
/// case and the digits 1 to 6, 64 bits of them; any other name is one "empty" name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Name {
    hash: u64,
    len: usize,
}

const EMPTY: u64 = !0;

impl Name {
    const fn of(name: &[u8]) -> Self {
        let mut hashed = Self { hash: 0, len: 0 };
        let mut at = 0;
        while at < name.len() {
            hashed = hashed.with(name[at]);
            at += 1;
        }
        hashed
    }

    const fn with(self, byte: u8) -> Self {
        let hash = if self.hash >> 59 != 0 {
            EMPTY
        } else {
            match byte {
                b'a'..=b'z' | b'A'..=b'Z' => (self.hash << 5) | ((byte as u64 & 0x1F) + 5),
                b'1'..=b'6' => (self.hash << 5) | ((byte as u64 & 0x0F) - 1),
                _ => EMPTY,
            }
        };
        Self {
            hash,
            len: self.len + 1,
        }
    }

    fn is(self, hash: u64) -> bool {
        self.hash == hash
    }

    fn is_one_of(self, hashes: &[u64]) -> bool {
        hashes.contains(&self.hash)
    }

    fn is_empty(self) -> bool {
        self.hash == EMPTY
    }

    /// Whether the name so far may still turn out to be `name`.
    fn begins(self, name: &[u8]) -> bool {
        self.len <= name.len() && self.is(Self::of(&name[..self.len]).hash)
    }
}

const fn hash(name: &[u8]) -> u64 {
    Name::of(name).hash
}

/// Names as lol_html compares them, computed once, when compiling.
const fn hashes<const N: usize>(names: [&[u8]; N]) -> [u64; N] {
    let mut hashed = [0; N];
    let mut at = 0;
    while at < N {
        hashed[at] = hash(names[at]);
        at += 1;
    }
    hashed
}

/// The one element the stream's rewriter acts on, which it is given one start tag at a
/// time.
const META: u64 = hash(b"meta");
const SVG: u64 = hash(b"svg");
const MATH: u64 = hash(b"math");
const FONT: u64 = hash(b"font");

/// Start tags in foreign content that end it (the HTML Standard's list, as lol_html's
/// tree builder simulator has it).
const FOREIGN_EXIT: [u64; 44] = hashes([
    b"b",
    b"big",
    b"blockquote",
    b"body",
    b"br",
    b"center",
    b"code",
    b"dd",
    b"div",
    b"dl",
    b"dt",
    b"em",
    b"embed",
    b"h1",
    b"h2",
    b"h3",
    b"h4",
    b"h5",
    b"h6",
    b"head",
    b"hr",
    b"i",
    b"img",
    b"li",
    b"listing",
    b"menu",
    b"meta",
    b"nobr",
    b"ol",
    b"p",
    b"pre",
    b"ruby",
    b"s",
    b"small",
    b"span",
    b"strong",
    b"strike",
    b"sub",
    b"sup",
    b"table",
    b"tt",
    b"u",
    b"ul",
    b"var",
]);

/// Where SVG holds HTML again, and MathML's text integration points.
const SVG_HTML: [u64; 3] = hashes([b"desc", b"title", b"foreignobject"]);
const MATHML_TEXT: [u64; 5] = hashes([b"mi", b"mo", b"mn", b"ms", b"mtext"]);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ns {
    Html,
    Svg,
    MathMl,
}

/// What can go out of one input as it came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Skimmed {
    /// Everything before this offset; the bytes from it on are the start of a tag that is
    /// or may turn out to be `meta` or foreign (any tag, when telling tags), to be given
    /// again ahead of the next input.
    Upto(usize),
    /// Everything before `start`, then a whole `<meta>` start tag; the skim reads on from
    /// `end` in the data state.
    Meta { start: usize, end: usize },
    /// In a head's scan, a whole tag from `start` to `end`, which the skim has read.
    Tag { start: usize, end: usize },
    /// Everything before `at`, from where the rewriter reads: the `<` of a start tag, or
    /// the end of one after which lol_html's state is the one it reaches by reading
    /// `primer` first (its output is not the page's).
    HandOver { at: usize, primer: Vec<u8> },
}

/// What one byte did.
enum Step {
    Read,
    /// The byte is read again, in the state it led to (the HTML tokenizer's "reconsume").
    Again,
    /// At the tag's `<`, after the primer.
    HandOver(Vec<u8>),
    /// The end of a `<meta>` start tag.
    Meta,
    /// The rewriter reads from the next byte, after the tag that ended, in the state
    /// that tag left.
    Primed,
}

/// The text a start tag's element holds, by its name (lol_html's tree builder
/// simulator, in the HTML namespace).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Text {
    Data,
    /// Raw text and RCDATA: both end only at their element's end tag.
    Raw,
    Script,
    Plain,
}

impl Text {
    fn state(self) -> State {
        match self {
            Text::Data => State::Data,
            Text::Raw => State::Raw,
            Text::Script => State::Script,
            Text::Plain => State::Plain,
        }
    }
}

/// The elements of raw text and RCDATA, which end only at their own end tag.
const RAW_TEXT: [&[u8]; 8] = [
    b"textarea",
    b"title",
    b"style",
    b"iframe",
    b"xmp",
    b"noembed",
    b"noframes",
    b"noscript",
];
const RAW_TEXT_HASHES: [u64; 8] = hashes(RAW_TEXT);

/// The text an element in the HTML namespace holds, and its lower-case name when that is
/// not data.
fn text_of(name: Name) -> (Text, &'static [u8]) {
    if let Some(at) = RAW_TEXT_HASHES.iter().position(|&raw| name.is(raw)) {
        (Text::Raw, RAW_TEXT[at])
    } else if name.is(const { hash(SCRIPT) }) {
        (Text::Script, SCRIPT)
    } else if name.is(const { hash(b"plaintext") }) {
        (Text::Plain, b"plaintext")
    } else {
        (Text::Data, b"")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Data,
    TagOpen,
    EndTagOpen,
    TagName,
    SelfClosing,
    BeforeAttrName,
    AttrName,
    AfterAttrName,
    BeforeAttrValue,
    AttrValue(u8),
    AttrValueUnquoted,
    /// After `<!`, and after `<!-`.
    MarkupOpen,
    MarkupDash,
    /// After `<![` with how many bytes of `[CDATA[` followed, where foreign content
    /// allows CDATA sections.
    MarkupCdata(u8),
    Cdata,
    CdataBracket,
    CdataBrackets,
    /// Up to the next `>`: a bogus comment, and every doctype.
    ToTagEnd,
    CommentStart,
    CommentStartDash,
    Comment,
    CommentEndDash,
    CommentEnd,
    CommentEndBang,
    Raw,
    RawLessThan,
    RawEndTagOpen,
    RawEndTagName,
    Script,
    ScriptLessThan,
    ScriptEndTagOpen,
    ScriptEndTagName,
    /// After `<!` in script data, with how many of `--` followed.
    ScriptEscapeStart(u8),
    Escaped,
    EscapedDash,
    EscapedDashDash,
    /// After `<` in escaped script data, with how many letters of `script` followed.
    EscapedLessThan(u8),
    EscapedEndTagOpen,
    EscapedEndTagName,
    DoubleEscapedStart,
    DoubleEscaped,
    DoubleEscapedDash,
    DoubleEscapedDashDash,
    DoubleEscapedLessThan,
    /// After `</` in double-escaped script data, with how many letters of `script`.
    DoubleEscapedEndTagName(u8),
    DoubleEscapedEnd,
    Plain,
}

/// Where the tokenizer is, carried from one input to the next.
#[derive(Debug, Clone)]
pub(crate) struct Skim {
    state: State,
    /// Whether the tag being read is an end tag.
    end_tag: bool,
    /// The current tag's name so far.
    name: Name,
    /// The text the current start tag's element holds, from its name.
    pending: Text,
    /// The name of the element whose raw text or script data this is: its own end tag
    /// alone ends it.
    open_raw: (&'static [u8], u64),
    /// Whether the tag being read is a `<meta>` start tag.
    in_meta: bool,
    /// Whether the start tag being read enters HTML within foreign content unless it
    /// closes itself.
    enters_html: bool,
    /// lol_html's namespace stack, never empty: HTML, then each `<svg>`, `<math>` and
    /// integration point not yet left.
    ns: Vec<Ns>,
    /// Whether each whole tag is told (`Skimmed::Tag`), and held until it is whole.
    tags: bool,
}

impl Default for Skim {
    fn default() -> Self {
        Self {
            state: State::Data,
            end_tag: false,
            name: Name::of(b""),
            pending: Text::Data,
            open_raw: (b"", 0),
            in_meta: false,
            enters_html: false,
            ns: vec![Ns::Html],
            tags: false,
        }
    }
}

const SCRIPT: &[u8] = b"script";
const CDATA: &[u8] = b"[CDATA[";

impl Skim {
    /// A skim that tells each tag it reads whole (and each end tag of raw text), for a
    /// head's scan.
    pub(crate) fn telling_tags() -> Self {
        Self {
            tags: true,
            ..Self::default()
        }
    }

    /// Reads `input` on from where the last call left off (the held bytes it returned
    /// come first again).
    pub(crate) fn skim(&mut self, input: &[u8]) -> Skimmed {
        let mut tag_start = 0;
        let mut at = 0;
        while at < input.len() {
            if self.state == State::Plain {
                break;
            }
            if let Some((byte, then)) = self.skips_to() {
                match memchr::memchr(byte, &input[at..]) {
                    Some(offset) => {
                        at += offset;
                        if then == State::TagOpen || (self.tags && then == State::RawLessThan) {
                            tag_start = at;
                            let rest = &input[at..];
                            if then == State::RawLessThan && !self.ends_raw_text(rest) {
                                // Text, unless it may be the end tag when more comes.
                                if self.may_end_raw_text(rest) {
                                    return Skimmed::Upto(at);
                                }
                            } else if let Some((len, step)) = self.whole_tag(rest) {
                                at += len;
                                if !self.tags && matches!(step, Step::Read) {
                                    continue;
                                }
                                if self.tags && matches!(step, Step::Read | Step::Meta) {
                                    return Skimmed::Tag {
                                        start: tag_start,
                                        end: at,
                                    };
                                }
                                match self.after(step, tag_start, at) {
                                    Some(skimmed) => return skimmed,
                                    None => continue,
                                }
                            } else if self.tags && may_be_tag(rest) {
                                return Skimmed::Upto(at);
                            }
                        }
                        self.state = then;
                        at += 1;
                    }
                    None => at = input.len(),
                }
                continue;
            }
            at += self.run(&input[at..]);
            let Some(&byte) = input.get(at) else {
                break;
            };
            match self.step(byte) {
                Step::Again => {}
                step => {
                    at += 1;
                    if let Some(skimmed) = self.after(step, tag_start, at) {
                        return skimmed;
                    }
                }
            }
        }
        if self.holds_a_tag() {
            // Read again from the `<` with the next input, in the data state it began in.
            // Only a `<meta>` is held past its name, and the one change its name makes
            // (leaving foreign content for HTML) is one that reading it again keeps.
            self.state = State::Data;
            self.in_meta = false;
            self.enters_html = false;
            return Skimmed::Upto(tag_start);
        }
        Skimmed::Upto(input.len())
    }

    /// Whether `rest` starts with the end tag of the raw text being read, from its `</` to
    /// the byte after its name.
    fn ends_raw_text(&self, rest: &[u8]) -> bool {
        let name = self.open_raw.0;
        rest.len() > name.len() + 2
            && rest.starts_with(b"</")
            && rest[2..2 + name.len()].eq_ignore_ascii_case(name)
            && ends_tag_name(rest[2 + name.len()])
    }

    /// Whether `rest` is, so far, an end tag whose name is not over: lol_html's tokenizer
    /// tells text from the raw text's end tag only once it is.
    fn may_end_raw_text(&self, rest: &[u8]) -> bool {
        match rest {
            [b'<'] => true,
            [b'<', b'/', name @ ..] => name.iter().all(u8::is_ascii_alphabetic),
            _ => false,
        }
    }

    /// What a step past the byte before `end` leaves to do: `None` to read on.
    fn after(&self, step: Step, tag_start: usize, end: usize) -> Option<Skimmed> {
        match step {
            Step::Read | Step::Again => None,
            Step::HandOver(primer) => Some(Skimmed::HandOver {
                at: tag_start,
                primer,
            }),
            Step::Meta => Some(Skimmed::Meta {
                start: tag_start,
                end,
            }),
            Step::Primed => {
                let mut primer = self.ns_primer();
                primer.extend_from_slice(&[b"<", self.open_raw.0, b" a=>"].concat());
                Some(Skimmed::HandOver { at: end, primer })
            }
        }
    }

    /// A whole tag at the start of `rest`, read at once as the state machine would read
    /// it byte by byte: its length and the step its `>` made. `None`, with nothing
    /// changed, when `rest` holds only the tag's start or no tag is there: the state
    /// machine reads those.
    fn whole_tag(&mut self, rest: &[u8]) -> Option<(usize, Step)> {
        let end_tag = rest.get(1) == Some(&b'/');
        let name_start = 1 + usize::from(end_tag);
        if !rest.get(name_start)?.is_ascii_alphabetic() {
            return None;
        }
        let name_len = rest[name_start..].iter().position(|&b| ends_tag_name(b))?;
        let mut attributes = attributes_from(rest, name_start + name_len);
        attributes.by_ref().for_each(drop);
        if rest.get(attributes.at) != Some(&b'>') {
            return None;
        }
        self.end_tag = end_tag;
        self.pending = Text::Data;
        self.name = Name::of(&rest[name_start..name_start + name_len]);
        if let Err(primer) = self.tag_named() {
            return Some((0, Step::HandOver(primer)));
        }
        let step = if attributes.valueless_end && self.pending != Text::Data {
            Step::Primed
        } else {
            self.end_of_tag(attributes.self_closing)
        };
        Some((attributes.at + 1, step))
    }

    /// The states that wait for one byte, with the state that byte leads to: every other
    /// byte leaves them as they are.
    fn skips_to(&self) -> Option<(u8, State)> {
        match self.state {
            State::Data => Some((b'<', State::TagOpen)),
            State::Cdata => Some((b']', State::CdataBracket)),
            State::AttrValue(quote) => Some((quote, State::BeforeAttrName)),
            State::ToTagEnd => Some((b'>', State::Data)),
            // The `<!--` states within a comment end it only where `--` ends it too.
            State::Comment => Some((b'-', State::CommentEndDash)),
            State::Raw => Some((b'<', State::RawLessThan)),
            State::Script => Some((b'<', State::ScriptLessThan)),
            _ => None,
        }
    }

    /// How many of the bytes at the start of `rest` leave the current state as it is
    /// (but for the name they add to), read in one pass.
    fn run(&mut self, rest: &[u8]) -> usize {
        let until = |end: fn(u8) -> bool| rest.iter().position(|&b| end(b)).unwrap_or(rest.len());
        match self.state {
            State::TagName => {
                let len = until(ends_tag_name);
                for &byte in &rest[..len] {
                    self.name = self.name.with(byte);
                }
                len
            }
            State::AttrName => {
                until(|b| b.is_ascii_whitespace() || matches!(b, b'=' | b'/' | b'>'))
            }
            State::AttrValueUnquoted => until(|b| b.is_ascii_whitespace() || b == b'>'),
            State::BeforeAttrName | State::AfterAttrName | State::BeforeAttrValue => {
                until(|b| !b.is_ascii_whitespace())
            }
            State::Escaped | State::DoubleEscaped => {
                memchr::memchr2(b'-', b'<', rest).unwrap_or(rest.len())
            }
            _ => 0,
        }
    }

    /// Reads one byte in a state that does not skip.
    fn step(&mut self, byte: u8) -> Step {
        let again = match self.state {
            State::TagOpen => match byte {
                b'a'..=b'z' | b'A'..=b'Z' => {
                    self.start_name(byte, false);
                    None
                }
                b'!' => self.to(State::MarkupOpen),
                b'/' => self.to(State::EndTagOpen),
                b'?' => self.to(State::ToTagEnd),
                _ => Some(State::Data),
            },
            State::EndTagOpen => match byte {
                b'a'..=b'z' | b'A'..=b'Z' => {
                    self.start_name(byte, true);
                    None
                }
                b'>' => self.to(State::Data),
                _ => Some(State::ToTagEnd),
            },
            State::TagName => {
                if ends_tag_name(byte) {
                    if let Err(primer) = self.tag_named() {
                        return Step::HandOver(primer);
                    }
                    match byte {
                        b'>' => return self.end_of_tag(false),
                        b'/' => self.to(State::SelfClosing),
                        _ => self.to(State::BeforeAttrName),
                    }
                } else {
                    self.name = self.name.with(byte);
                    None
                }
            }
            State::SelfClosing => match byte {
                b'>' => return self.end_of_tag(true),
                _ => Some(State::BeforeAttrName),
            },
            State::BeforeAttrName => match byte {
                b'/' => self.to(State::SelfClosing),
                b'>' => return self.end_of_tag(false),
                _ if byte.is_ascii_whitespace() => None,
                _ => self.to(State::AttrName),
            },
            State::AttrName => match byte {
                b'=' => self.to(State::BeforeAttrValue),
                b'/' => self.to(State::SelfClosing),
                b'>' => return self.end_of_tag(false),
                _ if byte.is_ascii_whitespace() => self.to(State::AfterAttrName),
                _ => None,
            },
            State::AfterAttrName => match byte {
                b'/' => self.to(State::SelfClosing),
                b'=' => self.to(State::BeforeAttrValue),
                b'>' => return self.end_of_tag(false),
                _ if byte.is_ascii_whitespace() => None,
                _ => self.to(State::AttrName),
            },
            State::BeforeAttrValue => match byte {
                b'"' | b'\'' => self.to(State::AttrValue(byte)),
                b'>' if self.pending == Text::Data => return self.end_of_tag(false),
                // lol_html's syntax goes back to data here, yet keeps the element's text
                // type for the next tag it lexes, in ways the skim does not follow.
                b'>' => return Step::Primed,
                _ if byte.is_ascii_whitespace() => None,
                _ => Some(State::AttrValueUnquoted),
            },
            State::AttrValueUnquoted => match byte {
                b'>' => return self.end_of_tag(false),
                _ if byte.is_ascii_whitespace() => self.to(State::BeforeAttrName),
                _ => None,
            },
            State::MarkupOpen => match byte {
                b'-' => self.to(State::MarkupDash),
                b'[' if self.current_ns() != Ns::Html => self.to(State::MarkupCdata(1)),
                _ => Some(State::ToTagEnd),
            },
            State::MarkupCdata(matched) => match usize::from(matched) {
                next if byte != CDATA[next] => Some(State::ToTagEnd),
                next if next + 1 == CDATA.len() => self.to(State::Cdata),
                next => self.to(State::MarkupCdata(next as u8 + 1)),
            },
            State::CdataBracket => match byte {
                b']' => self.to(State::CdataBrackets),
                _ => Some(State::Cdata),
            },
            State::CdataBrackets => match byte {
                b'>' => self.to(State::Data),
                b']' => None,
                _ => Some(State::Cdata),
            },
            State::MarkupDash => match byte {
                b'-' => self.to(State::CommentStart),
                _ => Some(State::ToTagEnd),
            },
            State::CommentStart => match byte {
                b'-' => self.to(State::CommentStartDash),
                b'>' => self.to(State::Data),
                _ => Some(State::Comment),
            },
            State::CommentStartDash => match byte {
                b'-' => self.to(State::CommentEnd),
                b'>' => self.to(State::Data),
                _ => Some(State::Comment),
            },
            State::CommentEndDash => match byte {
                b'-' => self.to(State::CommentEnd),
                _ => Some(State::Comment),
            },
            State::CommentEnd => match byte {
                b'>' => self.to(State::Data),
                b'!' => self.to(State::CommentEndBang),
                b'-' => None,
                _ => Some(State::Comment),
            },
            State::CommentEndBang => match byte {
                b'-' => self.to(State::CommentEndDash),
                b'>' => self.to(State::Data),
                _ => Some(State::Comment),
            },
            State::RawLessThan => match byte {
                b'/' => self.to(State::RawEndTagOpen),
                _ => Some(State::Raw),
            },
            State::RawEndTagOpen => self.end_tag_open(byte, State::RawEndTagName, State::Raw),
            State::RawEndTagName => self.end_tag_name(byte, State::Raw),
            State::ScriptLessThan => match byte {
                b'/' => self.to(State::ScriptEndTagOpen),
                b'!' => self.to(State::ScriptEscapeStart(0)),
                _ => Some(State::Script),
            },
            State::ScriptEndTagOpen => {
                self.end_tag_open(byte, State::ScriptEndTagName, State::Script)
            }
            State::ScriptEndTagName => self.end_tag_name(byte, State::Script),
            State::ScriptEscapeStart(dashes) => match byte {
                b'-' if dashes == 0 => self.to(State::ScriptEscapeStart(1)),
                b'-' => self.to(State::EscapedDashDash),
                _ => Some(State::Script),
            },
            State::Escaped => match byte {
                b'-' => self.to(State::EscapedDash),
                b'<' => self.to(State::EscapedLessThan(0)),
                _ => None,
            },
            State::EscapedDash => match byte {
                b'-' => self.to(State::EscapedDashDash),
                _ => Some(State::Escaped),
            },
            State::EscapedDashDash => match byte {
                b'-' => None,
                b'<' => self.to(State::EscapedLessThan(0)),
                b'>' => Some(State::Script),
                _ => self.to(State::Escaped),
            },
            State::EscapedLessThan(matched) => {
                let next = usize::from(matched);
                if byte.eq_ignore_ascii_case(&SCRIPT[next]) {
                    self.to(match next + 1 {
                        len if len == SCRIPT.len() => State::DoubleEscapedStart,
                        len => State::EscapedLessThan(len as u8),
                    })
                } else if matched == 0 && byte == b'/' {
                    self.to(State::EscapedEndTagOpen)
                } else {
                    Some(State::Escaped)
                }
            }
            State::EscapedEndTagOpen => {
                self.end_tag_open(byte, State::EscapedEndTagName, State::Escaped)
            }
            State::EscapedEndTagName => self.end_tag_name(byte, State::Escaped),
            State::DoubleEscapedStart => match byte {
                b'/' | b'>' => self.to(State::DoubleEscaped),
                _ if byte.is_ascii_whitespace() => self.to(State::DoubleEscaped),
                _ => Some(State::Escaped),
            },
            State::DoubleEscaped => match byte {
                b'-' => self.to(State::DoubleEscapedDash),
                b'<' => self.to(State::DoubleEscapedLessThan),
                _ => None,
            },
            State::DoubleEscapedDash => match byte {
                b'-' => self.to(State::DoubleEscapedDashDash),
                _ => Some(State::DoubleEscaped),
            },
            State::DoubleEscapedDashDash => match byte {
                b'-' => None,
                b'<' => self.to(State::DoubleEscapedLessThan),
                b'>' => Some(State::Script),
                _ => self.to(State::DoubleEscaped),
            },
            State::DoubleEscapedLessThan => match byte {
                b'/' => self.to(State::DoubleEscapedEndTagName(0)),
                _ => Some(State::DoubleEscaped),
            },
            State::DoubleEscapedEndTagName(matched) => {
                let next = usize::from(matched);
                if byte.eq_ignore_ascii_case(&SCRIPT[next]) {
                    self.to(match next + 1 {
                        len if len == SCRIPT.len() => State::DoubleEscapedEnd,
                        len => State::DoubleEscapedEndTagName(len as u8),
                    })
                } else {
                    Some(State::DoubleEscaped)
                }
            }
            State::DoubleEscapedEnd => match byte {
                b'/' | b'>' => self.to(State::Escaped),
                _ if byte.is_ascii_whitespace() => self.to(State::Escaped),
                _ => Some(State::DoubleEscaped),
            },
            // Never stepped: `skim` reads them.
            State::Data
            | State::Cdata
            | State::AttrValue(_)
            | State::ToTagEnd
            | State::Comment
            | State::Raw
            | State::Script
            | State::Plain => None,
        };
        match again {
            Some(state) => {
                self.state = state;
                Step::Again
            }
            None => Step::Read,
        }
    }

    /// Moves on after the current byte.
    fn to(&mut self, state: State) -> Option<State> {
        self.state = state;
        None
    }

    /// The `>` that ends a tag.
    fn end_of_tag(&mut self, self_closing: bool) -> Step {
        self.emit();
        if mem::take(&mut self.enters_html) && !self_closing {
            self.ns.push(Ns::Html);
        }
        if mem::take(&mut self.in_meta) {
            return Step::Meta;
        }
        Step::Read
    }

    /// The end of a tag: the text its element holds follows (none after an end tag).
    fn emit(&mut self) -> Option<State> {
        let text = mem::replace(&mut self.pending, Text::Data);
        self.to(text.state())
    }

    fn start_name(&mut self, byte: u8, end_tag: bool) {
        self.end_tag = end_tag;
        self.pending = Text::Data;
        self.name = Name::of(b"").with(byte);
        self.state = State::TagName;
    }

    fn current_ns(&self) -> Ns {
        *self
            .ns
            .last()
            .expect("the namespace stack starts with HTML")
    }

    fn outer_ns(&self) -> Option<Ns> {
        self.ns.len().checked_sub(2).map(|at| self.ns[at])
    }

    /// What a tag's name changes, as lol_html's tree builder simulator has it, once the
    /// name is read; a tag lol_html must read itself is `Err`, with the primer that puts a
    /// fresh rewriter in the namespaces before it.
    fn tag_named(&mut self) -> Result<(), Vec<u8>> {
        let (name, current) = (self.name, self.current_ns());
        if self.end_tag {
            if current != Ns::Html {
                let own = if current == Ns::Svg { SVG } else { MATH };
                if name.is_one_of(&[own, const { hash(b"p") }, const { hash(b"br") }]) {
                    self.ns.pop();
                }
            } else if let Some(outer) = self.outer_ns() {
                let points = if outer == Ns::Svg {
                    SVG_HTML.as_slice()
                } else {
                    &MATHML_TEXT
                };
                if name.is_one_of(points) {
                    self.ns.pop();
                } else if name.is_empty() && outer == Ns::MathMl {
                    // `</annotation-xml>`, told by its whole name.
                    return Err(self.ns_primer());
                }
            }
            return Ok(());
        }
        if name.is(META) && current != Ns::Html && self.outer_ns() != Some(Ns::Html) {
            // Past the one level of foreign content it ends, a `<meta>` is no void
            // element: removing it takes what follows up to its end.
            return Err(self.ns_primer());
        }
        if name.is(SVG) {
            self.ns.push(Ns::Svg);
        } else if name.is(MATH) {
            self.ns.push(Ns::MathMl);
        } else if current == Ns::Html {
            let (pending, raw) = text_of(name);
            self.pending = pending;
            if pending != Text::Data {
                self.open_raw = (raw, hash(raw));
            }
        } else if name.is_one_of(&FOREIGN_EXIT) {
            self.ns.pop();
        } else if name.is(FONT) || (name.is_empty() && current == Ns::MathMl) {
            // Told by the tag's attributes: `<font color>`, `<annotation-xml encoding>`.
            return Err(self.ns_primer());
        } else {
            let points = if current == Ns::Svg {
                SVG_HTML.as_slice()
            } else {
                &MATHML_TEXT
            };
            self.enters_html = name.is_one_of(points);
        }
        self.in_meta = name.is(META);
        Ok(())
    }

    /// Tags that take a fresh lol_html rewriter into the namespaces the skim is in.
    fn ns_primer(&self) -> Vec<u8> {
        let mut primer = Vec::new();
        for pair in self.ns.windows(2) {
            primer.extend_from_slice(match pair {
                [_, Ns::Svg] => b"<svg>".as_slice(),
                [_, Ns::MathMl] => b"<math>",
                [Ns::Svg, Ns::Html] => b"<foreignObject>",
                _ => b"<mi>",
            });
        }
        primer
    }

    fn end_tag_open(&mut self, byte: u8, name: State, text: State) -> Option<State> {
        if byte.is_ascii_alphabetic() {
            self.end_tag = true;
            self.name = Name::of(b"").with(byte);
            self.to(name)
        } else {
            Some(text)
        }
    }

    /// An end tag's name in raw text or script data: only the open element's own ends
    /// the text; any other is text.
    fn end_tag_name(&mut self, byte: u8, text: State) -> Option<State> {
        if byte.is_ascii_alphabetic() {
            self.name = self.name.with(byte);
            return None;
        }
        let ends = ends_tag_name(byte) && self.name.is(self.open_raw.1);
        if !ends {
            return Some(text);
        }
        // Such a name is never empty, the one end tag lol_html must read itself.
        let _ = self.tag_named();
        match byte {
            b'>' => self.emit(),
            b'/' => self.to(State::SelfClosing),
            _ => self.to(State::BeforeAttrName),
        }
    }

    /// At the end of an input: whether the tag being read is a `<meta>` or may still turn
    /// out to be one, or one lol_html must read itself.
    fn holds_a_tag(&self) -> bool {
        match self.state {
            State::TagOpen => true,
            State::EndTagOpen => self.end_tag_may_hand_over(),
            State::TagName if self.end_tag => self.end_tag_may_hand_over(),
            State::TagName if self.current_ns() != Ns::Html => true,
            State::TagName => self.name.begins(b"meta"),
            _ => self.in_meta,
        }
    }

    /// Whether an end tag here may be one lol_html must read (see `tag_named`): held
    /// from its `<`, before its name says.
    fn end_tag_may_hand_over(&self) -> bool {
        self.current_ns() == Ns::Html && self.outer_ns() == Some(Ns::MathMl)
    }
}

/// Where the last place in `bytes` is that may start a `<meta>` tag: `<meta` in any case,
/// or a prefix of it at the end.
pub(crate) fn last_meta_start(bytes: &[u8]) -> Option<usize> {
    let starts_meta = |at: usize| {
        let after = &bytes[at + 1..bytes.len().min(at + 5)];
        after.eq_ignore_ascii_case(&b"meta"[..after.len()])
    };
    if bytes.last() == Some(&b'<') {
        return Some(bytes.len() - 1);
    }
    // `<m` is far rarer than `<` in a page, and memmem finds it many bytes at a time
    // (forward only: its reverse search is byte by byte).
    static FINDERS: LazyLock<[memmem::Finder<'static>; 2]> =
        LazyLock::new(|| [memmem::Finder::new(b"<m"), memmem::Finder::new(b"<M")]);
    let last = |finder: &memmem::Finder<'_>| {
        (finder.find_iter(bytes))
            .filter(|&at| starts_meta(at))
            .last()
    };
    FINDERS.iter().filter_map(last).max()
}

/// Whether `rest`, which starts with a `<` and holds no whole tag, may hold the start of
/// one: a name or an end tag's `</` begun, or the input ended first.
fn may_be_tag(rest: &[u8]) -> bool {
    match rest.get(1) {
        None => true,
        Some(b'/') => rest.get(2).is_none_or(u8::is_ascii_alphabetic),
        Some(byte) => byte.is_ascii_alphabetic(),
    }
}

/// The attributes of one whole start tag, from its `<` to its `>`, as lol_html's lexer
/// reads them: each name with its value (empty without one), in order, repeats kept.
pub(crate) fn attributes(tag: &[u8]) -> Attributes<'_> {
    attributes_from(tag, 1 + tag_name(tag).len())
}

/// Whether `byte` ends a tag's name.
fn ends_tag_name(byte: u8) -> bool {
    byte.is_ascii_whitespace() || byte == b'/' || byte == b'>'
}

/// The name of the tag `tag` starts with, `<name` or `</name`, as written.
pub(crate) fn tag_name(tag: &[u8]) -> &[u8] {
    let from = if tag.get(1) == Some(&b'/') { 2 } else { 1 };
    let rest = tag.get(from..).unwrap_or_default();
    &rest[..rest
        .iter()
        .position(|&b| ends_tag_name(b))
        .unwrap_or(rest.len())]
}

/// Whether a whole start tag closes itself, as lol_html reads it: `<br/>`, not `<a b=c/>`.
pub(crate) fn self_closing(tag: &[u8]) -> bool {
    let mut attributes = attributes(tag);
    attributes.by_ref().for_each(drop);
    attributes.self_closing
}

/// The attributes of the tag `tag` starts with, after its name ends at `at`.
fn attributes_from(tag: &[u8], at: usize) -> Attributes<'_> {
    Attributes {
        tag,
        at,
        self_closing: false,
        valueless_end: false,
    }
}

/// See [`attributes`]. Once read to the end, `at` is the tag's `>`.
pub(crate) struct Attributes<'t> {
    tag: &'t [u8],
    at: usize,
    /// The `>` came right after a `/` outside any attribute.
    self_closing: bool,
    /// The `>` came where a value was due, after a `=` (`<script a=>`).
    valueless_end: bool,
}

impl<'t> Attributes<'t> {
    fn byte(&self) -> Option<u8> {
        self.tag.get(self.at).copied()
    }

    fn skip_space(&mut self) {
        self.until(|b| !b.is_ascii_whitespace());
    }

    /// The bytes from here up to the first that `ends` (or the tag's end).
    fn until(&mut self, ends: impl Fn(u8) -> bool) -> &'t [u8] {
        let rest = self.tag.get(self.at..).unwrap_or_default();
        let len = rest.iter().position(|&b| ends(b)).unwrap_or(rest.len());
        self.at += len;
        &rest[..len]
    }
}

impl<'t> Iterator for Attributes<'t> {
    type Item = (&'t [u8], &'t [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        // Before a name: a `/` not followed by `>` is read as if it were not there.
        loop {
            self.skip_space();
            match self.byte()? {
                b'>' => return None,
                b'/' => {
                    self.at += 1;
                    self.self_closing = self.byte() == Some(b'>');
                }
                _ => break,
            }
        }
        // A name's first byte is its own, even a `=`.
        let start = self.at;
        self.at += 1;
        self.until(|b| b.is_ascii_whitespace() || matches!(b, b'=' | b'/' | b'>'));
        let name = &self.tag[start..self.at];
        self.skip_space();
        if self.byte() != Some(b'=') {
            return Some((name, b""));
        }
        self.at += 1;
        self.skip_space();
        let value = match self.byte() {
            Some(quote @ (b'"' | b'\'')) => {
                let start = self.at + 1;
                let len =
                    memchr::memchr(quote, &self.tag[start..]).unwrap_or(self.tag.len() - start);
                self.at = start + len + 1;
                &self.tag[start..start + len]
            }
            Some(b'>') => {
                self.valueless_end = true;
                b""
            }
            _ => self.until(|b| b.is_ascii_whitespace() || b == b'>'),
        };
        Some((name, value))
    }
}
