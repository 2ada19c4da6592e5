//! The edge cases a user would notice, one test each.

use encoding_rs::{UTF_16LE, WINDOWS_1252};
use share_inject::{InjectLimits, Injector, Outcome, PassReason};
use share_tags::{PageWords, ShareTags};

use crate::support::{
    assert_only_our_tags, assert_same_but_share_tags, assert_words, id, injector, page, rewrite,
    rewrite_in, site, site_named,
};

/// Our block as the engine must write it into a page whose words are the title `t`, from
/// the configuration alone.
fn block() -> String {
    block_with(Some("t"), None)
}

fn block_with(title: Option<&str>, description: Option<&str>) -> String {
    let words = PageWords {
        title: title.map(str::to_owned),
        description: description.map(str::to_owned),
    };
    ShareTags::for_page(&site(), Some(id()), &page(&injector())).page_block_html(&words)
}

/// Rewrites a UTF-8 page, checks what every page must satisfy, and gives the output.
fn injected(input: &str) -> String {
    let (output, outcome) = rewrite(&injector(), input.as_bytes());
    assert_eq!(outcome, Outcome::Injected, "{input}");
    let output = String::from_utf8(output).expect("UTF-8 stays UTF-8");
    assert_only_our_tags(&output, &site(), input);
    assert_same_but_share_tags(input.as_bytes(), output.as_bytes(), input);
    assert_words(input, &output, input);
    output
}

#[test]
fn a_charset_first_in_the_head_stays_first_and_the_block_follows_it() {
    let output = injected(
        "<!doctype html><html><head>\n  <meta charset=\"utf-8\">\n  <title>t</title></head><body></body></html>",
    );
    assert!(
        output.contains(&format!("<meta charset=\"utf-8\">{}\n  <title>", block())),
        "{output}"
    );
    let pragma = injected(
        "<html><head><meta http-equiv=Content-Type content=\"text/html; charset=utf-8\"><title>t</title>",
    );
    assert!(
        pragma.contains(&format!("charset=utf-8\">{}<title>", block())),
        "{pragma}"
    );
}

#[test]
fn a_charset_later_in_the_head_stays_within_the_prescan_and_the_block_follows_it() {
    let head = format!(
        "<!doctype html><html><head><title>{}</title><meta name=viewport content=width=device-width><meta charset=\"utf-8\">",
        "Ünïcödé ".repeat(60)
    );
    let input = format!("{head}<link rel=icon href=/i.png></head><body></body></html>");
    let title = "Ünïcödé ".repeat(60);
    let ours = block_with(Some(title.trim()), None);
    assert!(
        input.find("charset").unwrap() < 1024 && input.find("charset").unwrap() + ours.len() > 1024
    );
    let output = injected(&input);
    assert!(
        output.starts_with(&format!("{head}{ours}<link")),
        "{output}"
    );
    // Behind body content, or only in script text, the declaration is no reason to wait.
    let behind_body =
        injected("<html><head><title>t</title></head><body><div></div><meta charset=utf-8>");
    assert!(behind_body.starts_with(&format!("<html><head>{}<title>", block())));
    let in_script = injected("<html><head><script>'<meta charset=utf-8>'</script><title>t</title>");
    assert!(in_script.starts_with(&format!("<html><head>{}<script>", block())));
}

/// The page's own share tag before its charset declaration once put the block before
/// both (the stream that takes share tags out starts at the block), which pushed a
/// declaration near the end of the prescan's 1024 bytes out of them.
#[test]
fn a_share_tag_before_the_charset_goes_and_the_declaration_stays_within_the_prescan() {
    let title = "t".repeat(850);
    let own_tags = "<meta property=og:image content=https://www.example.com/theirs.png>\
                    <meta name=twitter:card content=summary>";
    let declaration = "<meta charset=utf-8>";
    let input = format!(
        "<html><head><title>{title}</title>{own_tags}{declaration}<link rel=icon href=/i.png></head>"
    );
    let output = injected(&input);
    let declared_by = output.find(declaration).expect("the declaration") + declaration.len();
    assert!(
        declared_by <= 1024,
        "the charset declaration ends at byte {declared_by} of the output"
    );
    assert_eq!(
        output,
        format!(
            "<html><head><title>{title}</title>{declaration}{}<link rel=icon href=/i.png></head>",
            block_with(Some(&title), None)
        )
    );
    let short = injected(
        "<html><head><title>t</title><meta property=og:image content=x><meta charset=utf-8>",
    );
    assert!(short.starts_with(&format!(
        "<html><head><title>t</title><meta charset=utf-8>{}",
        block()
    )));
}

#[test]
fn otherwise_the_block_opens_the_head() {
    let output =
        injected("<html><HEAD lang=en><title>t</title><link rel=icon href=/i.png></head></html>");
    assert!(
        output.starts_with(&format!("<html><HEAD lang=en>{}<title>", block())),
        "{output}"
    );
    let empty = injected("<html><head></head><body>x</body></html>");
    assert!(
        empty.starts_with(&format!("<html><head>{}</head>", block_with(None, None))),
        "{empty}"
    );
    // A declaration past the prescan's 1024 bytes is none a crawler reads.
    let title = "t".repeat(1024);
    let far = format!("<html><head><title>{title}</title><meta charset=utf-8>");
    let ours = block_with(Some(&title), None);
    assert!(injected(&far).starts_with(&format!("<html><head>{ours}<title>")));
}

#[test]
fn without_a_head_tag_the_block_goes_before_the_first_element() {
    let output = injected("<!DOCTYPE html>\n<html lang=en>\n<title>t</title><p>text");
    assert!(
        output.contains(&format!("<html lang=en>\n{}<title>", block())),
        "{output}"
    );
    let bare = injected("<!-- hi --><meta property=og:image content=theirs><p>text");
    assert!(
        bare.starts_with(&format!("<!-- hi -->{}<p>", block_with(None, None))),
        "{bare}"
    );
    let body = injected("<html><body><meta name=twitter:image content=theirs></body></html>");
    assert!(
        body.starts_with(&format!("<html>{}<body>", block_with(None, None))),
        "{body}"
    );
    // `<html>` and nothing after it: the head a parser opens there.
    let html_only = injected("<html lang=en>   ");
    assert_eq!(
        html_only,
        format!("<html lang=en>{}   ", block_with(None, None))
    );
}

#[test]
fn uppercase_unquoted_and_name_spelled_image_tags_all_go() {
    injected(concat!(
        "<HTML><HEAD><TITLE>t</TITLE>",
        "<META PROPERTY=\"OG:IMAGE\" CONTENT=\"https://theirs.example/a.png\">",
        "<meta property=og:image:width content=1>",
        "<meta name=\"og:image\" content=\"https://theirs.example/b.png\">",
        "<meta property=' og:image:secure_url ' content=x>",
        "<Meta Name=Twitter:Image:Src content=x/>",
        "<meta name=twitter:card content=summary>",
        "<meta property=og:url content=https://theirs.example/>",
        "<meta property=og:title content=\"Their title\">",
        "</HEAD></HTML>",
    ));
}

#[test]
fn duplicates_and_image_tags_in_the_body_all_go_and_the_site_keeps_its_own_words() {
    let input = concat!(
        "<html><head><meta charset=utf-8>\n<meta property=og:image content=1>\n",
        "<meta property=og:image content=2>\n<meta property=og:title content=\"Theirs\">\n</head>\n",
        "<body><div><meta property=og:image content=3><meta itemprop=image content=4>\n",
        "<script>var s = '<meta property=og:image content=5>';</script>\n",
        "<svg><meta name=twitter:image content=6></svg></div></body></html>",
    );
    let output = injected(input);
    assert!(output.contains("<meta property=og:title content=\"Theirs\">"));
    assert!(output.contains("<meta itemprop=image content=4>"));
    // Script text is not markup: the parser and the engine both leave it.
    assert!(output.contains("var s = '<meta property=og:image content=5>';"));
    // Whitespace around a removed tag stays.
    assert!(
        output.contains(">\n\n\n<meta property=og:title"),
        "{output}"
    );
}

#[test]
fn a_page_without_title_and_description_tags_shares_its_own_words_read_as_a_browser_reads_them() {
    let output = injected(
        "<html><head><meta charset=utf-8><title>\n  Fish &amp;\tchips &#8212; caf&eacute; </title>\
         <meta name=\"Description\" content=\"Crisp &quot;fish&quot;,\n  hot &lt;chips&gt;\">\
         </head><body><title>not this</title></body></html>",
    );
    assert!(
        output.contains(&format!(
            "<meta charset=utf-8>{}<title>",
            block_with(
                Some("Fish & chips — café"),
                Some("Crisp \"fish\",\n  hot <chips>")
            )
        )),
        "{output}"
    );
    // A title that says nothing adds nothing.
    let blank = injected("<html><head><title> \n </title><meta name=description content=\"\">");
    assert!(blank.starts_with(&format!("<html><head>{}<title>", block_with(None, None))));
}

#[test]
fn the_sites_own_title_and_description_win_wherever_in_the_head_they_are() {
    let output = injected(
        "<html><head><title>t</title><meta name=description content=d>\
         <noscript><img src=/pixel.gif></noscript><template><div></div></template>\
         <meta name=og:title content=\"Theirs\"><META PROPERTY=\" og:description \" content=D>\
         </head><body>",
    );
    assert!(output.starts_with(&format!("<html><head>{}<title>", block_with(None, None))));
    let only_title = injected(
        "<head><meta property=og:title content=T><title>t</title><meta name=description content=d><body>",
    );
    assert!(only_title.starts_with(&format!("<head>{}<meta", block_with(None, Some("d")))));
}

/// An injector whose head window is 4 KiB: a page can hold more than a window cheaply.
fn small_window_injector() -> Injector {
    let limits = InjectLimits {
        head_window: 4096,
        ..InjectLimits::default()
    };
    Injector::new(site(), limits)
}

#[test]
fn a_head_longer_than_the_window_gets_no_words_and_nothing_past_the_window_is_held() {
    let injector = small_window_injector();
    let input = format!(
        "<html><head><title>t</title><style>{}</style><meta property=og:title content=late></head><body>",
        "c".repeat(8192)
    );
    let utf8 = Some("text/html; charset=utf-8");
    let mut rewrite = injector.start(Some(id()), &page(&injector), utf8);
    let mut out = rewrite.write(&input.as_bytes()[..5000]).to_vec();
    assert!(!out.is_empty(), "the window ran out: the page flows");
    out.extend_from_slice(&rewrite.write(&input.as_bytes()[5000..]));
    let (rest, outcome) = rewrite.finish();
    out.extend_from_slice(&rest);
    assert_eq!(outcome, Outcome::Injected);
    let output = String::from_utf8(out).unwrap();
    assert_eq!(
        output,
        input.replacen("<head>", &format!("<head>{}", block_with(None, None)), 1)
    );
}

/// Feeds `input` in 64 KiB chunks and checks the output flows before the end and the
/// bytes held back stay within the window.
fn streamed(input: &[u8]) -> Vec<u8> {
    let injector = injector();
    let window = InjectLimits::default().head_window;
    let mut rewrite = injector.start(
        Some(id()),
        &page(&injector),
        Some("text/html; charset=utf-8"),
    );
    let (mut fed, mut out) = (0, Vec::new());
    for chunk in input.chunks(64 * 1024) {
        fed += chunk.len();
        out.extend_from_slice(&rewrite.write(chunk));
        assert!(
            fed - out.len().min(fed) <= window + 64 * 1024,
            "held {} bytes",
            fed - out.len()
        );
    }
    assert!(out.len() > input.len() / 2, "output flowed before the end");
    let (rest, outcome) = rewrite.finish();
    out.extend_from_slice(&rest);
    assert_eq!(outcome, Outcome::Injected);
    assert_eq!(injector.stats().late_bailouts, 0);
    out
}

#[test]
fn a_ten_megabyte_data_url_streams_through_whole_with_our_tags() {
    let data = format!("data:image/png;base64,{}", "QUJD".repeat(10 << 18));
    for input in [
        format!(
            "<html><head><meta charset=utf-8><title>t</title><link rel=icon href=\"{data}\"><meta property=og:image content=theirs></head><body></body></html>"
        ),
        format!(
            "<html><head><title>t</title><style>body {{ background: url({data}) }}</style><meta property=og:image content=theirs></head></html>"
        ),
        format!(
            "<html><head><script>var img = \"{data}\";</script><meta name=twitter:image content=theirs></head></html>"
        ),
        format!(
            "<html><head><title>t</title></head><body><img src=\"{data}\"><meta property=og:image content=theirs></body></html>"
        ),
    ] {
        let output = streamed(input.as_bytes());
        assert_only_our_tags(&String::from_utf8_lossy(&output), &site(), "data: URL page");
        assert_same_but_share_tags(input.as_bytes(), &output, "data: URL page");
    }
}

#[test]
fn a_tag_too_big_for_the_rewriter_after_the_block_ends_the_rewrite_not_the_page() {
    let huge = format!(
        "<meta name=description content=\"{}\">",
        "x".repeat(2 << 20)
    );
    let input = format!(
        "<html><head><title>t</title>{huge}<meta property=og:image content=theirs></head><body>end</body></html>"
    );
    let injector = injector();
    let utf8 = Some("text/html; charset=utf-8");
    let (output, outcome) = rewrite_in(&injector, utf8, input.as_bytes().chunks(64 * 1024));
    assert_eq!(outcome, Outcome::Injected);
    assert_eq!(injector.stats().late_bailouts, 1);
    // Everything past the bail-out is the page as it came, their image tag included; the
    // head was not read to its end, so no words are added.
    let expected = input.replacen("<head>", &format!("<head>{}", block_with(None, None)), 1);
    assert!(
        output == expected.as_bytes(),
        "the page went out whole, with our block"
    );
}

#[test]
fn a_windows_1252_page_declared_only_in_its_meta_gets_the_block_in_windows_1252() {
    let (input, _, _) = WINDOWS_1252.encode(
        "<html><head><meta charset=windows-1252><title>Crème brûlée &#10003;</title>\
         <meta property=og:image content=x></head><body>déjà</body></html>",
    );
    let (output, outcome) = rewrite_in(&injector(), Some("text/html"), [&input[..]]);
    assert_eq!(outcome, Outcome::Injected);
    assert_same_but_share_tags(&input, &output, "windows-1252");
    // The title's `è` is windows-1252's byte, `✓` (not in windows-1252) a character
    // reference, and so is the alt text's dash.
    let title = b"content=\"Cr\xE8me br\xFBl\xE9e &#10003;\"";
    assert!(output.windows(title.len()).any(|w| w == title));
    assert!(output.windows(3).any(|w| w == b" \x97 "));
    let (decoded, _, malformed) = WINDOWS_1252.decode(&output);
    assert!(!malformed);
    assert_only_our_tags(&decoded, &site(), "windows-1252");
    assert_words(&WINDOWS_1252.decode(&input).0, &decoded, "windows-1252");
}

#[test]
fn the_content_type_charset_is_honoured_and_an_undeclared_page_gets_ascii() {
    let injector = injector();
    let input = b"<html><head><title>Caf&eacute;</title></head></html>";
    let (latin, _) = rewrite_in(
        &injector,
        Some("text/html; charset=ISO-8859-1"),
        [&input[..]],
    );
    assert!(latin.windows(5).any(|w| w == b"Caf\xE9\""));
    assert_only_our_tags(&WINDOWS_1252.decode(&latin).0, &site(), "header charset");
    let (plain, _) = rewrite_in(&injector, Some("text/html"), [&input[..]]);
    assert!(plain.windows(10).any(|w| w == b"Caf&#233;\""));
    assert!(plain.is_ascii());
    assert_only_our_tags(&String::from_utf8(plain).unwrap(), &site(), "undeclared");
}

#[test]
fn a_utf16_page_passes_through_untouched() {
    let text = "<html><head><meta property=og:image content=x></head></html>";
    let mut input = vec![0xFF, 0xFE];
    input.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    assert_eq!(UTF_16LE.decode(&input).0, text);
    let injector = injector();
    for content_type in [None, Some("text/html; charset=utf-8")] {
        let (output, outcome) = rewrite_in(&injector, content_type, input.chunks(7));
        assert_eq!(
            outcome,
            Outcome::Passthrough(PassReason::UnsupportedCharset)
        );
        assert_eq!(
            outcome.header_value(),
            "passthrough; reason=unsupported-charset"
        );
        assert!(output == input);
    }
    let no_bom = &input[2..];
    let (output, outcome) = rewrite_in(&injector, Some("text/html; charset=utf-16le"), [no_bom]);
    assert_eq!(
        outcome,
        Outcome::Passthrough(PassReason::UnsupportedCharset)
    );
    assert!(output == no_bom);
    assert_eq!(injector.stats().passed(PassReason::UnsupportedCharset), 3);
}

#[test]
fn a_utf8_bom_stays_first() {
    let input =
        "\u{FEFF}<!doctype html><html><head><meta charset=utf-8><meta property=og:image content=x>";
    let output = injected(input);
    assert!(output.starts_with("\u{FEFF}<!doctype html>"));
}

#[test]
fn no_insertion_point_within_the_window_passes_the_page_through() {
    let injector = small_window_injector();
    let late = format!(
        "<!-- {} --><html><head><meta property=og:image content=x>",
        "c".repeat(8192)
    );
    let (output, outcome) = rewrite_in(&injector, None, late.as_bytes().chunks(1000));
    assert_eq!(outcome, Outcome::Passthrough(PassReason::NoInsertionPoint));
    assert_eq!(
        outcome.header_value(),
        "passthrough; reason=no-insertion-point"
    );
    assert!(output == late.as_bytes());
    // A head seen in the window is enough, whatever fills the window after it.
    let (_, outcome) = rewrite(
        &injector,
        format!("<html><head><!-- {} --><title>t</title>", "c".repeat(8192)).as_bytes(),
    );
    assert_eq!(outcome, Outcome::Injected);
    for text in ["", "just text, no markup", "<!-- only a comment -->"] {
        let (output, outcome) = rewrite(&injector, text.as_bytes());
        assert_eq!(outcome, Outcome::Passthrough(PassReason::NoInsertionPoint));
        assert!(output == text.as_bytes());
    }
    assert_eq!(injector.stats().passed(PassReason::NoInsertionPoint), 4);
}

/// The skim reads a head's tags with no rewriter memory; lol_html, which reads a head
/// the skim does not follow (an `<svg>` in a `<template>`), needs it for a long tag.
#[test]
fn too_little_rewriter_memory_before_the_decision_passes_the_page_through() {
    let injector = Injector::new(
        site(),
        InjectLimits {
            head_window: 64 * 1024,
            rewriter_memory: 2048,
        },
    );
    let html = format!("<html data-x=\"{}\"><head>", "x".repeat(8192));
    let skimmed = format!("{html}<title>t</title>");
    let (_, outcome) = rewrite_in(&injector, None, skimmed.as_bytes().chunks(1024));
    assert_eq!(outcome, Outcome::Injected);
    let input = format!("{html}<template><svg></svg></template><title>t</title>");
    let (output, outcome) = rewrite_in(&injector, None, input.as_bytes().chunks(1024));
    assert_eq!(outcome, Outcome::Passthrough(PassReason::MemoryLimit));
    assert!(output == input.as_bytes());
    assert_eq!(injector.stats().passed(PassReason::MemoryLimit), 1);
}

#[test]
fn the_block_is_the_configured_tags_whatever_the_page_says() {
    let hostile = "<html><head><title>\"><script>alert(1)</script></title>\
                   <meta property=og:image content=\"javascript:alert(1)\"></head></html>";
    let output = injected(hostile);
    let inserted = output.replacen("<html><head>", "", 1);
    assert!(inserted.starts_with(&block_with(Some("\"><script>alert(1)</script>"), None)));
    assert_eq!(
        output.matches("<script>").count(),
        1,
        "only the page's own title keeps it as markup"
    );
}

#[test]
fn the_fingerprint_follows_the_configuration() {
    let a = injector();
    assert_eq!(a.fingerprint(), injector().fingerprint());
    assert_eq!(a.fingerprint().len(), 16);
    assert!(a.fingerprint().bytes().all(|b| b.is_ascii_hexdigit()));
    let renamed = Injector::new(site_named("other"), InjectLimits::default());
    let narrower = Injector::new(
        site(),
        InjectLimits {
            head_window: 1024,
            ..InjectLimits::default()
        },
    );
    assert_ne!(a.fingerprint(), renamed.fingerprint());
    assert_ne!(a.fingerprint(), narrower.fingerprint());
    assert_eq!(a.clone().fingerprint(), a.fingerprint());
}
