//! Which encoding a response body is in, decided as the HTML Standard's encoding sniffing
//! decides it from what a proxy has: the byte order mark, the Content-Type's `charset`,
//! then the prescan of the first 1024 bytes for a `<meta>` declaration.
//!
//! It only reads bytes and labels; it never decodes a body, never guesses from byte
//! frequencies, and does not know what the engine can rewrite (the inject module does).
//! <https://html.spec.whatwg.org/multipage/parsing.html#determining-the-character-encoding>

use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE, WINDOWS_1252, X_USER_DEFINED};

/// How many bytes the prescan reads: the spec's advice, and so what browsers read.
pub(crate) const PRESCAN_BYTES: usize = 1024;

/// A body's encoding and whether anything said so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sniffed {
    pub(crate) encoding: &'static Encoding,
    /// False when nothing declared it and it is `UTF_8` by default.
    pub(crate) declared: bool,
    /// Where the page's own `<meta>` declaration ends, when the prescan finds one, whether
    /// or not it decided: a crawler that ignores the header still needs to find it.
    pub(crate) meta_end: Option<usize>,
}

/// The encoding a Content-Type header value's `charset` names, if it names a known one.
pub(crate) fn from_content_type(content_type: &str) -> Option<&'static Encoding> {
    charset_param(content_type).and_then(for_label)
}

/// The encoding of a body that starts with `start` (its first `PRESCAN_BYTES`, or all of it
/// if shorter) and whose Content-Type named `from_header`.
///
/// The BOM wins over the header, as the spec orders it and browsers do: a page whose
/// bytes start with a UTF-16 BOM is read as UTF-16 whatever its header says. With no
/// declaration at all the default is UTF-8, not the spec's locale-dependent fallback
/// (windows-1252 in most locales): it is what most of the web is and what crawlers'
/// HTML libraries assume, and both are ASCII-compatible, so the choice never moves a tag;
/// the caller writes only ASCII into an undeclared page, so it never garbles one either.
pub(crate) fn sniff(from_header: Option<&'static Encoding>, start: &[u8]) -> Sniffed {
    let start = &start[..start.len().min(PRESCAN_BYTES)];
    let in_page = scan(start);
    let declared = Encoding::for_bom(start)
        .map(|(encoding, _)| encoding)
        .or(from_header)
        .or(in_page.map(|(encoding, _)| encoding))
        .or_else(|| xml_encoding(start));
    let meta_end = in_page.and_then(|(_, end)| end);
    Sniffed {
        encoding: declared.unwrap_or(UTF_8),
        declared: declared.is_some(),
        meta_end,
    }
}

fn for_label(label: &[u8]) -> Option<&'static Encoding> {
    Encoding::for_label(label)
}

/// The `charset` parameter of a MIME type, unquoted (RFC 9110 §8.3 allows a quoted string).
fn charset_param(content_type: &str) -> Option<&[u8]> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("charset") {
            return None;
        }
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        Some(value.as_bytes())
    })
}

/// The HTML Standard's "prescan a byte stream to determine its encoding" over `bytes`,
/// step for step; running out of bytes anywhere ends it without an answer, and then only
/// an XML declaration can still give one (`xml_encoding`).
#[cfg(test)]
fn prescan(bytes: &[u8]) -> Option<&'static Encoding> {
    scan(bytes)
        .map(|(encoding, _)| encoding)
        .or_else(|| xml_encoding(bytes))
}

fn starts_with_ignore_case(bytes: &[u8], at: usize, lower: &[u8]) -> bool {
    bytes
        .get(at..at + lower.len())
        .is_some_and(|b| b.eq_ignore_ascii_case(lower))
}

fn letter_at(bytes: &[u8], at: usize) -> bool {
    bytes.get(at).is_some_and(u8::is_ascii_alphabetic)
}

fn find(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    bytes
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

/// `charset` as a `<meta>` can hold it: not yet seen, seen but not a known label, or found.
#[derive(Clone, Copy)]
enum Charset {
    Null,
    Failure,
    Found(&'static Encoding),
}

/// The prescan's loop: the encoding, and the end of the `<meta>` that declared it.
fn scan(b: &[u8]) -> Option<(&'static Encoding, Option<usize>)> {
    // A UTF-16 XML declaration: the document is UTF-16 without a BOM.
    if b.starts_with(&[0x3C, 0, 0x3F, 0, 0x78, 0]) {
        return Some((UTF_16LE, None));
    }
    if b.starts_with(&[0, 0x3C, 0, 0x3F, 0, 0x78]) {
        return Some((UTF_16BE, None));
    }
    let mut pos = 0;
    while pos < b.len() {
        // Every step starts at a `<`; any other byte is passed over.
        pos += memchr::memchr(b'<', &b[pos..])?;
        if b[pos..].starts_with(b"<!--") {
            // The `--` of `-->` may be the one of `<!--`: `<!-->` is a whole comment.
            pos = find(b, pos + 2, b"-->")? + 2;
        } else if starts_with_ignore_case(b, pos, b"<meta")
            && b.get(pos + 5)
                .is_some_and(|&c| c.is_ascii_whitespace() || c == b'/')
        {
            pos += 6;
            let mut names: Vec<Vec<u8>> = Vec::new();
            let mut got_pragma = false;
            let mut need_pragma: Option<bool> = None;
            let mut charset = Charset::Null;
            while let Some((name, value)) = attribute(b, &mut pos)? {
                if names.contains(&name) {
                    continue;
                }
                match name.as_slice() {
                    b"http-equiv" => got_pragma |= value == b"content-type",
                    b"content" => {
                        if let (Charset::Null, Some(found)) = (charset, charset_in_content(&value))
                        {
                            charset = Charset::Found(found);
                            need_pragma = Some(true);
                        }
                    }
                    b"charset" => {
                        charset = for_label(&value).map_or(Charset::Failure, Charset::Found);
                        need_pragma = Some(false);
                    }
                    _ => {}
                }
                names.push(name);
            }
            if let (Some(need), Charset::Found(found)) = (need_pragma, charset)
                && (!need || got_pragma)
            {
                let encoding = if found == UTF_16BE || found == UTF_16LE {
                    UTF_8
                } else if found == X_USER_DEFINED {
                    WINDOWS_1252
                } else {
                    found
                };
                // `attribute` stopped at the tag's `>`.
                return Some((encoding, Some(pos + 1)));
            }
        } else if b[pos] == b'<'
            && (letter_at(b, pos + 1) || (b.get(pos + 1) == Some(&b'/') && letter_at(b, pos + 2)))
        {
            pos += b[pos..]
                .iter()
                .position(|&c| c.is_ascii_whitespace() || c == b'>')?;
            while attribute(b, &mut pos)?.is_some() {}
        } else if b[pos..].starts_with(b"<!")
            || b[pos..].starts_with(b"</")
            || b[pos..].starts_with(b"<?")
        {
            pos = find(b, pos + 1, b">")?;
        }
        pos += 1;
    }
    None
}

/// The spec's "get an attribute": `Ok(None)` when the tag ends, `None` (the `?` outside)
/// when the bytes run out. Names and values come back ASCII-lowercased, as the spec has it.
#[allow(clippy::type_complexity)]
fn attribute(b: &[u8], pos: &mut usize) -> Option<Option<(Vec<u8>, Vec<u8>)>> {
    while b.get(*pos)?.is_ascii_whitespace() || b[*pos] == b'/' {
        *pos += 1;
    }
    if b[*pos] == b'>' {
        return Some(None);
    }
    // The name's first byte is its own, even a `=`.
    let name_start = *pos;
    *pos += 1 + until(&b[*pos + 1..], |c| {
        c == b'=' || c == b'/' || c == b'>' || c.is_ascii_whitespace()
    })?;
    let name = b[name_start..*pos].to_ascii_lowercase();
    if b[*pos].is_ascii_whitespace() {
        *pos += until(&b[*pos..], |c| !c.is_ascii_whitespace())?;
    }
    if b[*pos] != b'=' {
        return Some(Some((name, Vec::new())));
    }
    *pos += 1;
    *pos += until(&b[*pos..], |c| !c.is_ascii_whitespace())?;
    let value = match b[*pos] {
        quote @ (b'"' | b'\'') => {
            let start = *pos + 1;
            let len = memchr::memchr(quote, &b[start..])?;
            *pos = start + len + 1;
            &b[start..start + len]
        }
        b'>' => b"",
        _ => {
            let start = *pos;
            *pos += until(&b[start..], |c| c == b'>' || c.is_ascii_whitespace())?;
            &b[start..*pos]
        }
    };
    Some(Some((name, value.to_ascii_lowercase())))
}

/// How many bytes at the start of `bytes` come before the first that `ends`; `None` when
/// none does.
fn until(bytes: &[u8], ends: impl Fn(u8) -> bool) -> Option<usize> {
    bytes.iter().position(|&c| ends(c))
}

/// The spec's "extracting a character encoding from a meta element", for a `content`
/// value such as `text/html; charset=windows-1252`.
fn charset_in_content(content: &[u8]) -> Option<&'static Encoding> {
    let mut pos = 0;
    loop {
        pos = content
            .get(pos..)?
            .windows(7)
            .position(|w| w.eq_ignore_ascii_case(b"charset"))?
            + pos
            + 7;
        while content.get(pos).is_some_and(|&c| c.is_ascii_whitespace()) {
            pos += 1;
        }
        if content.get(pos) == Some(&b'=') {
            break;
        }
    }
    pos += 1;
    while content.get(pos).is_some_and(|&c| c.is_ascii_whitespace()) {
        pos += 1;
    }
    let rest = content.get(pos..)?;
    match rest.first()? {
        &quote @ (b'"' | b'\'') => {
            let end = rest[1..].iter().position(|&c| c == quote)?;
            for_label(&rest[1..=end])
        }
        _ => {
            let end = rest
                .iter()
                .position(|&c| c.is_ascii_whitespace() || c == b';')
                .unwrap_or(rest.len());
            for_label(&rest[..end])
        }
    }
}

/// The spec's "get an XML encoding", for a page that opens with `<?xml ... encoding="...">`.
fn xml_encoding(b: &[u8]) -> Option<&'static Encoding> {
    if !b.starts_with(b"<?xml") {
        return None;
    }
    let end = find(b, 0, b">")?;
    let mut pos = find(&b[..end], 5, b"encoding")? + 8;
    let skip = |pos: &mut usize| {
        while *pos < end && b[*pos] <= 0x20 {
            *pos += 1;
        }
    };
    skip(&mut pos);
    if b.get(pos) != Some(&b'=') {
        return None;
    }
    pos += 1;
    skip(&mut pos);
    let quote = *b.get(pos).filter(|&&q| q == b'"' || q == b'\'')?;
    pos += 1;
    let close = b[pos..end].iter().position(|&c| c == quote)? + pos;
    let found = for_label(&b[pos..close])?;
    Some(if found == UTF_16BE || found == UTF_16LE {
        UTF_8
    } else {
        found
    })
}

#[cfg(test)]
mod tests {
    use encoding_rs::{EUC_JP, ISO_8859_2, SHIFT_JIS, WINDOWS_1251};

    use super::*;

    fn pre(html: &str) -> Option<&'static str> {
        prescan(html.as_bytes()).map(Encoding::name)
    }

    #[test]
    fn the_prescan_finds_both_meta_forms_and_nothing_else() {
        assert_eq!(pre("<meta charset=shift_jis>"), Some("Shift_JIS"));
        assert_eq!(pre("<META CHARSET='Windows-1251'>"), Some("windows-1251"));
        assert_eq!(
            pre("<!doctype html><html><head><meta charset=\"utf-8\"/>"),
            Some("UTF-8")
        );
        assert_eq!(
            pre("<meta http-equiv=\"Content-Type\" content=\"text/html; charset=iso-8859-2\">"),
            Some("ISO-8859-2")
        );
        assert_eq!(
            pre("<meta content='text/html;charset = \"euc-jp\"' http-equiv=content-type>"),
            Some("EUC-JP")
        );
        // `content` without the pragma is no declaration.
        assert_eq!(
            pre("<meta content=\"text/html; charset=koi8-r\"><meta charset=latin2>"),
            Some("ISO-8859-2")
        );
        // The first of a repeated attribute counts.
        assert_eq!(pre("<meta charset=koi8-r charset=utf-8>"), Some("KOI8-R"));
        // Unknown labels, comments, other tags' attributes and end tags are skipped.
        assert_eq!(
            pre("<meta charset=nonsense><meta charset=gbk>"),
            Some("GBK")
        );
        assert_eq!(
            pre("<!-- <meta charset=big5> --><meta charset=euc-kr>"),
            Some("EUC-KR")
        );
        assert_eq!(pre("<!--><meta charset=big5>"), Some("Big5"));
        assert_eq!(
            pre("<div title='<meta charset=big5>'><meta charset=koi8-u>"),
            Some("KOI8-U")
        );
        assert_eq!(
            pre("</p charset=big5><?pi <meta charset=big5>?><meta charset=ibm866>"),
            Some("IBM866")
        );
        // `<metadata>` is not `<meta>`.
        assert_eq!(pre("<metadata charset=big5>"), None);
        // Running out of bytes is no answer: not what a truncated tag seemed to say.
        assert_eq!(pre("<meta charset=big5"), None);
        assert_eq!(pre("<!-- <meta charset=big5>"), None);
        assert_eq!(pre("<html><head><title>x</title>"), None);
    }

    #[test]
    fn a_declared_utf16_is_utf8_and_x_user_defined_is_windows_1252() {
        assert_eq!(pre("<meta charset=utf-16le>"), Some("UTF-8"));
        assert_eq!(pre("<meta charset=x-user-defined>"), Some("windows-1252"));
        assert_eq!(
            pre("<?xml version=\"1.0\" encoding='ISO-8859-2'?><html>"),
            Some("ISO-8859-2")
        );
        assert_eq!(prescan(b"<\0?\0x\0m\0l\0"), Some(UTF_16LE));
    }

    #[test]
    fn the_bom_wins_then_the_header_then_the_prescan_then_utf8() {
        let page = b"<meta charset=windows-1251>";
        let s = |ct: Option<&str>, bytes: &[u8]| sniff(ct.and_then(from_content_type), bytes);
        assert_eq!(
            s(None, page),
            Sniffed {
                encoding: WINDOWS_1251,
                declared: true,
                meta_end: Some(page.len()),
            }
        );
        assert_eq!(
            s(Some("text/html; charset=Shift_JIS"), page).encoding,
            SHIFT_JIS
        );
        assert_eq!(
            s(Some("text/html;charset=\"euc-jp\""), page).encoding,
            EUC_JP
        );
        assert_eq!(
            s(Some("text/html; charset=bogus"), page).encoding,
            WINDOWS_1251
        );
        assert_eq!(s(Some("text/html"), page).encoding, WINDOWS_1251);
        let bom: Vec<u8> = [&b"\xFF\xFE"[..], page].concat();
        assert_eq!(s(Some("text/html; charset=utf-8"), &bom).encoding, UTF_16LE);
        let bom: Vec<u8> = [&b"\xEF\xBB\xBF"[..], page].concat();
        assert_eq!(s(None, &bom).encoding, UTF_8);
        assert_eq!(
            s(None, b"<title>x</title>"),
            Sniffed {
                encoding: UTF_8,
                declared: false,
                meta_end: None,
            }
        );
        assert_eq!(
            s(Some("text/html; charset=utf-8"), page).meta_end,
            Some(page.len())
        );
        let later = b"<title>x</title><meta charset=utf-8 /><p>";
        assert_eq!(s(None, later).meta_end, Some(later.len() - 3));
        // Only the first 1024 bytes are read.
        let late = format!("{}<meta charset=iso-8859-2>", " ".repeat(PRESCAN_BYTES));
        assert!(!s(None, late.as_bytes()).declared);
        let early = format!(
            "{}<meta charset=iso-8859-2>",
            " ".repeat(PRESCAN_BYTES - 30)
        );
        assert_eq!(s(None, early.as_bytes()).encoding, ISO_8859_2);
    }
}
