//! The share page, rendered server-side from the parsed id only: nothing of the request
//! reaches its markup.

use leptos::prelude::*;
use leptos::tachys::html::attribute::custom::CustomAttribute;

use crate::share_tags::ShareTags;

/// Path of the page's stylesheet; served by this site so the CSP can stay `'self'`.
pub const STYLESHEET_PATH: &str = "/assets/site.css";
pub const STYLESHEET: &str = include_str!("../assets/site.css");

/// Renders the whole share page to HTML, server-side.
///
/// The head is written out explicitly rather than through leptos_meta: leptos_meta's
/// tags are only injected by leptos_axum's streaming renderer, which also adds inline
/// scripts this page has no use for. Every value comes from [`ShareTags`], so nothing
/// from the request can reach the markup; Leptos escapes attributes and text anyway.
pub fn render(tags: &ShareTags) -> String {
    let ShareTags {
        id,
        site_name,
        title,
        description,
        page_url,
        image_url,
        image_secure_url,
        image_type,
        image_width,
        image_height,
        image_alt,
        share_links,
    } = tags.clone();
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
                {og_meta("og:type", "website")}
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
                <meta name="twitter:card" content="summary_large_image"/>
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
