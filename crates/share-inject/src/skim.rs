//! The page after the insertion point, read at the speed of a byte search until the
//! stream's rewriter has something to do. lol_html spends most of a share page's time
//! walking the body's tags through its selector machinery, although the stream only
//! ever removes `<meta>` elements; most bodies have none.
//!
//! `Skim` follows the tokenizer states of lol_html's own tag scanner (its state-machine
//! syntax, where it differs from the HTML Standard's), as far as they decide where a tag
//! can start: data, tags and their quoted attributes, comments, doctypes and bogus
//! comments, raw text, RCDATA, script data with its escapes, and plaintext. Each whole
//! `<meta>` start tag goes to the rewriter alone, from the data state it began in, where
//! a fresh tokenizer is in the same state as one that read everything before. From the
//! first `<svg>` or `<math>` on, the rewriter reads the rest: foreign content tokenizes
//! otherwise (CDATA sections, no raw text), which the skim does not follow.
//!
//! Two differences are by design. lol_html holds a tag's bytes until its name ends, and a
//! name longer than its memory limit makes it pass the rest of the page through with the
//! share tags in it; the skim holds at most `<meta` and reads on. And where lol_html
//! keeps the text type of a raw-text start tag that ended right after an attribute's `=`
//! (`<script a=>`) for the next tag it lexes, the rewriter takes over after that tag, put
//! in the same state by reading such a tag first.

use std::mem;

/// The one element the stream's rewriter acts on, which it is given one start tag at a
/// time.
const META: &[u8] = b"meta";

/// Start tags of foreign content, from which lol_html reads the rest of the page.
const FOREIGN: [&[u8]; 2] = [b"svg", b"math"];

/// The longest name worth keeping: a raw-text element's, `meta` or a foreign one. Any
/// longer name is none of them.
const NAME_ROOM: usize = 9;

/// What can go out of one input as it came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Skimmed {
    /// Everything before this offset; the bytes from it on are the start of a tag that is
    /// or may turn out to be `meta` or foreign, to be given again ahead of the next input.
    Upto(usize),
    /// Everything before `start`, then a whole `<meta>` start tag for the rewriter; the
    /// skim reads on from `end` in the data state.
    Meta { start: usize, end: usize },
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
    HandOver,
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

fn text_of(name: &[u8]) -> Text {
    match name {
        b"textarea" | b"title" | b"style" | b"iframe" | b"xmp" | b"noembed" | b"noframes"
        | b"noscript" => Text::Raw,
        b"script" => Text::Script,
        b"plaintext" => Text::Plain,
        _ => Text::Data,
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
    /// The current tag's name so far, lower-case; `None` once longer than `NAME_ROOM` or
    /// not made of the bytes a name worth keeping has.
    name: Option<([u8; NAME_ROOM], usize)>,
    /// The text the current start tag's element holds, from its name.
    pending: Text,
    /// The last start tag's name, which alone ends its raw text or script data.
    open_raw: ([u8; NAME_ROOM], usize),
    /// Whether the tag being read is a `<meta>` start tag.
    in_meta: bool,
}

impl Default for Skim {
    fn default() -> Self {
        Self {
            state: State::Data,
            end_tag: false,
            name: None,
            pending: Text::Data,
            open_raw: ([0; NAME_ROOM], 0),
            in_meta: false,
        }
    }
}

fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\n' | b'\r' | b'\t' | b'\x0C')
}

const SCRIPT: &[u8] = b"script";

impl Skim {
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
                        if then == State::TagOpen {
                            tag_start = at;
                        }
                        self.state = then;
                        at += 1;
                    }
                    None => at = input.len(),
                }
                continue;
            }
            match self.step(input[at]) {
                Step::Read => at += 1,
                Step::Again => {}
                Step::HandOver => {
                    return Skimmed::HandOver {
                        at: tag_start,
                        primer: Vec::new(),
                    };
                }
                Step::Meta => {
                    return Skimmed::Meta {
                        start: tag_start,
                        end: at + 1,
                    };
                }
                Step::Primed => {
                    let (name, len) = self.open_raw;
                    let primer = [b"<", &name[..len], b" a=>"].concat();
                    return Skimmed::HandOver { at: at + 1, primer };
                }
            }
        }
        if self.holds_a_tag() {
            // Read again from the `<` with the next input, in the data state it began in.
            self.state = State::Data;
            self.in_meta = false;
            return Skimmed::Upto(tag_start);
        }
        Skimmed::Upto(input.len())
    }

    /// The states that wait for one byte, with the state that byte leads to: every other
    /// byte leaves them as they are.
    fn skips_to(&self) -> Option<(u8, State)> {
        match self.state {
            State::Data => Some((b'<', State::TagOpen)),
            State::AttrValue(quote) => Some((quote, State::BeforeAttrName)),
            State::ToTagEnd => Some((b'>', State::Data)),
            // The `<!--` states within a comment end it only where `--` ends it too.
            State::Comment => Some((b'-', State::CommentEndDash)),
            State::Raw => Some((b'<', State::RawLessThan)),
            State::Script => Some((b'<', State::ScriptLessThan)),
            _ => None,
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
                if is_space(byte) || byte == b'>' || byte == b'/' {
                    if !self.end_tag {
                        let name = self.name_so_far();
                        if FOREIGN.contains(&name) {
                            return Step::HandOver;
                        }
                        let (in_meta, pending) = (name == META, text_of(name));
                        (self.in_meta, self.pending) = (in_meta, pending);
                        if self.pending != Text::Data {
                            self.open_raw = self.name.unwrap_or_default();
                        }
                    }
                    match byte {
                        b'>' => return self.end_of_tag(),
                        b'/' => self.to(State::SelfClosing),
                        _ => self.to(State::BeforeAttrName),
                    }
                } else {
                    self.push_name(byte);
                    None
                }
            }
            State::SelfClosing => match byte {
                b'>' => return self.end_of_tag(),
                _ => Some(State::BeforeAttrName),
            },
            State::BeforeAttrName => match byte {
                b'/' => self.to(State::SelfClosing),
                b'>' => return self.end_of_tag(),
                _ if is_space(byte) => None,
                _ => self.to(State::AttrName),
            },
            State::AttrName => match byte {
                b'=' => self.to(State::BeforeAttrValue),
                b'/' => self.to(State::SelfClosing),
                b'>' => return self.end_of_tag(),
                _ if is_space(byte) => self.to(State::AfterAttrName),
                _ => None,
            },
            State::AfterAttrName => match byte {
                b'/' => self.to(State::SelfClosing),
                b'=' => self.to(State::BeforeAttrValue),
                b'>' => return self.end_of_tag(),
                _ if is_space(byte) => None,
                _ => self.to(State::AttrName),
            },
            State::BeforeAttrValue => match byte {
                b'"' | b'\'' => self.to(State::AttrValue(byte)),
                b'>' if self.pending == Text::Data => return self.end_of_tag(),
                // lol_html's syntax goes back to data here, yet keeps the element's text
                // type for the next tag it lexes, in ways the skim does not follow.
                b'>' => return Step::Primed,
                _ if is_space(byte) => None,
                _ => Some(State::AttrValueUnquoted),
            },
            State::AttrValueUnquoted => match byte {
                b'>' => return self.end_of_tag(),
                _ if is_space(byte) => self.to(State::BeforeAttrName),
                _ => None,
            },
            State::MarkupOpen => match byte {
                b'-' => self.to(State::MarkupDash),
                _ => Some(State::ToTagEnd),
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
                _ if is_space(byte) => self.to(State::DoubleEscaped),
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
                _ if is_space(byte) => self.to(State::Escaped),
                _ => Some(State::DoubleEscaped),
            },
            // Never stepped: `skim` reads them.
            State::Data
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
    fn end_of_tag(&mut self) -> Step {
        self.emit();
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
        self.name = Some(([0; NAME_ROOM], 0));
        self.push_name(byte);
        self.state = State::TagName;
    }

    fn push_name(&mut self, byte: u8) {
        self.name = self.name.and_then(|(mut name, len)| {
            (len < NAME_ROOM && byte.is_ascii_alphanumeric()).then(|| {
                name[len] = byte.to_ascii_lowercase();
                (name, len + 1)
            })
        });
    }

    fn name_so_far(&self) -> &[u8] {
        self.name.as_ref().map_or(&[], |(name, len)| &name[..*len])
    }

    fn end_tag_open(&mut self, byte: u8, name: State, text: State) -> Option<State> {
        if byte.is_ascii_alphabetic() {
            self.end_tag = true;
            self.name = Some(([0; NAME_ROOM], 0));
            self.push_name(byte);
            self.to(name)
        } else {
            Some(text)
        }
    }

    /// An end tag's name in raw text or script data: only the open element's own ends
    /// the text; any other is text.
    fn end_tag_name(&mut self, byte: u8, text: State) -> Option<State> {
        if byte.is_ascii_alphabetic() {
            self.push_name(byte);
            return None;
        }
        let ends = (is_space(byte) || byte == b'/' || byte == b'>')
            && self.name.is_some_and(|name| name == self.open_raw);
        if !ends {
            return Some(text);
        }
        match byte {
            b'>' => self.emit(),
            b'/' => self.to(State::SelfClosing),
            _ => self.to(State::BeforeAttrName),
        }
    }

    /// At the end of an input: whether the tag being read is a `<meta>` or may still turn
    /// out to be one or foreign.
    fn holds_a_tag(&self) -> bool {
        match self.state {
            State::TagOpen => true,
            State::TagName if !self.end_tag => {
                let name = self.name_so_far();
                self.name.is_some()
                    && (META.starts_with(name) || FOREIGN.iter().any(|tag| tag.starts_with(name)))
            }
            _ => self.in_meta,
        }
    }
}
