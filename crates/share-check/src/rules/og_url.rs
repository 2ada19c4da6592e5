//! The og:url rules (`og:url.*`), run once per link whatever crawler fetched it, since
//! Facebook and LinkedIn treat every link with one `og:url` as one shared object: the
//! page `og:url` names is this link's own (`og:url.page`), keeps its `social`
//! (`og:url.social`), agrees with `rel=canonical` on the path (`og:url.canonical`), is
//! not on this machine when the link is public (`og:url.local`), and, followed once as
//! those platforms follow it, loads (`og:url.follow`) and shows this link's `og:image`
//! (`og:url.image`).
//!
//! It follows `og:url` only on the origin the link was checked on (an `og:url` on the
//! site's public origin is read on it, `--public-url`): Facebook ignores an `og:url` on
//! another domain, and a check of a local or staging copy must not judge the public site.
//! An `og:url` elsewhere is compared by path and query only.

use url::Url;

use crate::fetch;
use crate::finding::Findings;
use crate::inspect::Tags;
use crate::profiles::Profile;
use crate::rules::answer::header;
use crate::rules::page::page_request;
use crate::rules::tags::is_local;
use crate::same_page::{PageKey, PublicOrigins, social};

/// Where following `og:url` led.
enum Landing {
    /// `og:url` is the very URL the crawler read: there is nothing else to fetch.
    Itself,
    /// Not fetched, for the reason given; `og:url` is compared as written.
    NotFetched(String),
    /// The page `og:url` led to, after its redirects, and what it says.
    Page(Url, Box<Tags>),
    /// It gave no page to read, for the reason given.
    Failed(String),
}

/// The `og:url` rules for the link whose page (after redirects) is `page` with `tags`;
/// `follower` is the crawler that follows `og:url`, if one was checked.
pub(super) async fn check_og_url(
    client: &reqwest::Client,
    out: &mut Findings<'_>,
    page: &Url,
    tags: &Tags,
    follower: Option<&Profile>,
    public: &PublicOrigins,
) {
    // Missing or malformed, it is every crawler's `tags.og:url` finding already.
    let Some(written) = tags
        .one("og:url")
        .and_then(|url| Url::parse(url).ok())
        .filter(|url| matches!(url.scheme(), "http" | "https"))
    else {
        return;
    };
    if is_local(&written) && !is_local(page) {
        out.fail(
            "og:url.local",
            format!(
                "og:url {written} is on this machine or a private network, which no crawler \
                 reaches: is the site's public URL (PUBLIC_URL) set?"
            ),
        );
        return;
    }
    let og_url = public.read_on(&written, page);
    og_url_social(out, page, &og_url);
    og_url_canonical(out, page, tags, &og_url);
    let same_origin = og_url.origin() == page.origin();
    let landing = if og_url == *page {
        Landing::Itself
    } else if !same_origin {
        Landing::NotFetched(format!(
            "it is on {}, not on {} where this link was checked (--public-url {} reads it there)",
            og_url.origin().ascii_serialization(),
            page.origin().ascii_serialization(),
            og_url.origin().ascii_serialization(),
        ))
    } else if let Some(profile) = follower {
        follow(client, profile, og_url.clone()).await
    } else {
        Landing::NotFetched("none of the crawlers checked follows og:url".into())
    };
    let same_page = |url: &Url| {
        (!same_origin || url.origin() == page.origin()) && PageKey::of(url) == PageKey::of(page)
    };
    match landing {
        Landing::Itself => out.pass("og:url", format!("og:url {written} is this link's page")),
        Landing::NotFetched(why) => {
            if same_page(&og_url) {
                out.pass(
                    "og:url",
                    format!("og:url {written} names this link's page; not fetched: {why}"),
                );
            } else {
                out.fail(
                    "og:url.page",
                    format!(
                        "og:url {written} names another page than this link: every share of \
                         this link will show {written} (not fetched: {why})"
                    ),
                );
            }
        }
        Landing::Failed(why) => out.fail(
            "og:url.follow",
            format!(
                "og:url {written}, followed, gives no page ({why}): platforms that follow \
                 og:url show no card for this link"
            ),
        ),
        Landing::Page(landed, landed_tags) => {
            let shown = match landed_tags.title() {
                Some(title) => format!("{landed} ({title:?})"),
                None => format!("{landed} (no title)"),
            };
            let mut failed = false;
            if !same_page(&landed) {
                failed = true;
                out.fail(
                    "og:url.page",
                    format!(
                        "og:url {written} leads to another page than this link: every share \
                         of this link will show {shown}"
                    ),
                );
            }
            let (own, theirs) = (tags.one("og:image"), landed_tags.one("og:image"));
            if own != theirs {
                failed = true;
                // Quoted and escaped: a page's bytes reach the terminal only that way.
                let image = |value: Option<&str>| value.map_or("none".into(), |v| format!("{v:?}"));
                out.fail(
                    "og:url.image",
                    format!(
                        "the page og:url leads to, {landed}, has og:image {}, not this link's \
                         {}: every share of this link will show that image",
                        image(theirs),
                        image(own)
                    ),
                );
            }
            if !failed {
                out.pass(
                    "og:url",
                    format!("og:url {written}, followed, is this link's page: {shown}"),
                );
            }
        }
    }
}

/// Fetches `og_url` as `profile` fetches a page, redirects and all.
async fn follow(client: &reqwest::Client, profile: &Profile, og_url: Url) -> Landing {
    let name = &profile.name;
    let fetched = match fetch::fetch(client, og_url, page_request(profile)).await {
        Ok(fetched) => fetched,
        Err(error) => return Landing::Failed(format!("{name}: {error}")),
    };
    if fetched.status != 200 {
        return Landing::Failed(format!("{name}: it answered {}", fetched.status));
    }
    let content_type = header(&fetched.headers, "content-type").unwrap_or_default();
    if !content_type.to_ascii_lowercase().starts_with("text/html") {
        return Landing::Failed(format!("{name}: it is {content_type:?}, not text/html"));
    }
    let html = String::from_utf8_lossy(&fetched.body);
    Landing::Page(fetched.url, Box::new(Tags::parse(&html)))
}

/// `og:url.social`: ⚠ when the link carries a card id and `og:url` drops it or names
/// another: the platforms that follow `og:url` then show that page's image, not the card.
fn og_url_social(out: &mut Findings<'_>, page: &Url, og_url: &Url) {
    let Some(id) = social(page).filter(|id| shared_ids::SocialId::parse(id).is_ok()) else {
        return;
    };
    match social(og_url) {
        Some(kept) if kept == id => {}
        Some(other) => out.warn(
            "og:url.social",
            format!(
                "og:url {og_url} has social={other:?}, not this link's {id}: platforms that \
                 follow og:url show that card"
            ),
        ),
        None => out.warn(
            "og:url.social",
            format!(
                "og:url {og_url} drops this link's social={id}: platforms that follow og:url \
                 show the page without its card"
            ),
        ),
    }
}

/// `og:url.canonical`: ⚠ when the page's `rel=canonical` names another path than
/// `og:url`, on whatever origin (the query may differ: a canonical URL carries no share).
fn og_url_canonical(out: &mut Findings<'_>, page: &Url, tags: &Tags, og_url: &Url) {
    let Some(href) = tags.canonical() else {
        return;
    };
    let Ok(canonical) = page.join(href) else {
        out.warn(
            "og:url.canonical",
            format!("rel=canonical {href:?} is not a URL"),
        );
        return;
    };
    if canonical.path() != og_url.path() {
        out.warn(
            "og:url.canonical",
            format!(
                "og:url's path {} and rel=canonical's {} ({href:?}) disagree: search \
                 engines and the platforms that follow og:url see different pages",
                og_url.path(),
                canonical.path()
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::{FAIL, WARN, X, found};

    const DEEP: &str = "https://www.example.com/guide/deep/?social=12-34-10";

    fn url(raw: &str) -> Url {
        Url::parse(raw).unwrap()
    }

    fn page_tags(og_url: &str, canonical: &str) -> Tags {
        Tags::parse(&format!(
            r#"<head><meta property="og:url" content="{og_url}"><link rel="canonical" href="{canonical}"></head>"#
        ))
    }

    #[test]
    fn og_url_social_warns_when_og_url_drops_or_changes_the_links_card() {
        let social_of = |page: &str, og_url: &str| {
            found(X, |out, _| og_url_social(out, &url(page), &url(og_url)))
        };
        assert_eq!(social_of(DEEP, DEEP), []);
        assert_eq!(
            social_of(
                DEEP,
                "https://www.example.com/guide/deep/?a=1&social=12-34-10"
            ),
            []
        );
        assert_eq!(
            social_of(DEEP, "https://www.example.com/guide/deep/"),
            [("og:url.social", WARN)]
        );
        assert_eq!(
            social_of(DEEP, "https://www.example.com/guide/deep/?social=99-99-99"),
            [("og:url.social", WARN)]
        );
        // A link without a valid card id has no card to keep.
        let invalid = "https://www.example.com/?social=12-34-1x";
        assert_eq!(social_of(invalid, "https://www.example.com/"), []);
    }

    #[test]
    fn og_url_canonical_warns_when_the_paths_disagree() {
        let local = url("http://127.0.0.1:3003/guide/deep/?social=12-34-10");
        let found_in =
            |tags: Tags| found(X, |out, _| og_url_canonical(out, &local, &tags, &url(DEEP)));
        let canonical_of = |canonical: &str| found_in(page_tags(DEEP, canonical));
        // The query may differ, and a relative or public-origin href names the same path.
        assert_eq!(canonical_of("https://www.example.com/guide/deep/"), []);
        assert_eq!(canonical_of("/guide/deep/"), []);
        assert_eq!(
            canonical_of("https://www.example.com/"),
            [("og:url.canonical", WARN)]
        );
        assert_eq!(canonical_of("/guide/deep"), [("og:url.canonical", WARN)]);
        let without = Tags::parse(&format!(r#"<meta property="og:url" content="{DEEP}">"#));
        assert_eq!(found_in(without), []);
    }

    /// None of these fetch: the og:url is the page itself, on another origin, or local.
    #[tokio::test]
    async fn an_og_url_not_followed_is_compared_by_path_and_query() {
        let client = fetch::client();
        let public = PublicOrigins::default();
        let local = url("http://127.0.0.1:9/guide/deep/?utm_source=x&social=12-34-10");
        let mut outcomes = Vec::new();
        for (page, og_url) in [
            (DEEP, DEEP),
            (local.as_str(), DEEP),
            (local.as_str(), "https://www.example.com/?social=12-34-10"),
            (DEEP, "http://127.0.0.1:3000/guide/deep/?social=12-34-10"),
        ] {
            let profile = crate::rules::testing::profile(X);
            let mut out = Findings::new(page, &profile);
            let tags = Tags::parse(&format!(r#"<meta property="og:url" content="{og_url}">"#));
            check_og_url(&client, &mut out, &url(page), &tags, None, &public).await;
            let rules: Vec<_> = out.list.iter().map(|f| (f.rule, f.level)).collect();
            outcomes.push(rules);
        }
        let pass = crate::finding::Level::Pass;
        assert_eq!(
            outcomes,
            [
                vec![("og:url", pass)],
                vec![("og:url", pass)],
                vec![("og:url.page", FAIL)],
                vec![("og:url.local", FAIL)],
            ]
        );
    }
}
