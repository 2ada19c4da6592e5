//! The share page: the whole HTML document, server-rendered from [`ShareTags`] alone,
//! and the "share on …" links it offers. It never sees the request, and sends no script.

use leptos::prelude::*;
use leptos::tachys::html::attribute::custom::CustomAttribute;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use share_tags::{OG_TYPE, ShareTags, ShareText, TWITTER_CARD};

/// Path of the page's stylesheet; served by this site so the CSP can stay `'self'`.
pub const STYLESHEET_PATH: &str = "/assets/site.css";
pub const STYLESHEET: &str = include_str!("../assets/site.css");

/// A "share on …" link whose target is the canonical page URL.
struct ShareLink {
    network: &'static str,
    href: String,
}

// The networks' documented share endpoints; each takes the page URL as one
// percent-encoded query parameter.
const SHARE_ENDPOINTS: [(&str, &str); 3] = [
    ("Facebook", "https://www.facebook.com/sharer/sharer.php?u="),
    ("X", "https://x.com/intent/post?url="),
    (
        "LinkedIn",
        "https://www.linkedin.com/sharing/share-offsite/?url=",
    ),
];

/// The page's "share on …" links for its canonical URL.
fn share_links(page_url: &str) -> Vec<ShareLink> {
    SHARE_ENDPOINTS
        .iter()
        .map(|(network, endpoint)| ShareLink {
            network,
            href: format!(
                "{endpoint}{}",
                utf8_percent_encode(page_url, NON_ALPHANUMERIC)
            ),
        })
        .collect()
}

/// Renders the whole share page to HTML, server-side.
///
/// The head is written out explicitly rather than through leptos_meta: leptos_meta's
/// tags are only injected by leptos_axum's streaming renderer, which also adds inline
/// scripts this page has no use for. Every value comes from [`ShareTags`], so nothing
/// from the request can reach the markup; Leptos escapes attributes and text anyway.
///
/// The share tags are written one by one rather than looped over [`ShareTags::meta`]:
/// a loop would move Leptos's `<!>` placeholders and so change the page's bytes. The
/// test `the_head_carries_the_share_tag_set_byte_for_byte` keeps the two in step.
pub fn render(tags: &ShareTags) -> String {
    let ShareTags {
        id,
        site_name,
        text:
            ShareText {
                title,
                description,
                image_alt,
            },
        page_url,
        image_url,
        image_secure_url,
        image_type,
        image_width,
        image_height,
    } = tags.clone();
    let share_links = share_links(&page_url);
    let heading = match id {
        Some(id) => format!("Card {id}"),
        None => "No card selected".to_owned(),
    };
    let lead = match id {
        Some(_) => "This link shares the card below. Social networks show it as the preview image.",
        None => {
            "This link carries no valid card id, so networks show the default image. \
                 Card links look like ?social=12-34-10."
        }
    };
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <title>{title.clone()}</title>
                <meta name="description" content=description.clone()/>
                <link rel="canonical" href=page_url.clone()/>
                <link rel="stylesheet" href=STYLESHEET_PATH/>
                {og_meta("og:type", OG_TYPE)}
                {og_meta("og:site_name", site_name.clone())}
                {og_meta("og:title", title.clone())}
                {og_meta("og:description", description.clone())}
                {og_meta("og:url", page_url.clone())}
                {og_meta("og:image", image_url.clone())}
                {image_secure_url.map(|url| og_meta("og:image:secure_url", url))}
                {og_meta("og:image:type", image_type)}
                {og_meta("og:image:width", image_width.to_string())}
                {og_meta("og:image:height", image_height.to_string())}
                {og_meta("og:image:alt", image_alt.clone())}
                <meta name="twitter:card" content=TWITTER_CARD/>
                <meta name="twitter:title" content=title.clone()/>
                <meta name="twitter:description" content=description/>
                <meta name="twitter:image" content=image_url.clone()/>
                <meta name="twitter:image:alt" content=image_alt.clone()/>
            </head>
            <body>
                <header class="site"><a href=page_url.clone()>{site_name}</a></header>
                <main>
                    <h1>{heading}</h1>
                    <p class="lead">{lead}</p>
                    <figure class="card">
                        <img src=image_url alt=image_alt width="1200" height="630"/>
                    </figure>
                    <section class="share" aria-label="Share">
                        <h2>"Share"</h2>
                        <ul>
                            {share_links
                                .into_iter()
                                .map(|link| view! {
                                    <li><a href=link.href rel="noopener noreferrer" target="_blank">
                                        {format!("Share on {}", link.network)}
                                    </a></li>
                                })
                                .collect_view()}
                        </ul>
                        <p class="canonical">"Link: "<code>{page_url}</code></p>
                    </section>
                </main>
            </body>
        </html>
    }
    .to_html()
}

/// `<meta property=… content=…>`. Open Graph uses the RDFa `property` attribute, which
/// Leptos's typed `view!` attributes do not know, so it is added as a custom attribute.
fn og_meta(property: &'static str, content: impl Into<String>) -> impl IntoView {
    leptos::html::meta()
        .attr("property", property)
        .attr("content", content.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn share_links_target_the_encoded_canonical_url() {
        let links = share_links("http://127.0.0.1:3000/?social=12-34-10");
        assert_eq!(
            links[0].href,
            "https://www.facebook.com/sharer/sharer.php?u=http%3A%2F%2F127%2E0%2E0%2E1%3A3000%2F%3Fsocial%3D12%2D34%2D10"
        );
    }
}
