//! `/preview/<id>`: the real JPEG as each network shows it (size, aspect, crop, corner
//! radius, light or dark chrome, the title, description and domain the share tags give),
//! an overlay of what each one crops or covers, the card at the widths people see it,
//! and the live card with its missing-glyph check.
//!
//! The figures are what each network's documentation says about the image, and what
//! third-party measurements say about how large it is drawn; those are marked
//! unverified, as they drift with every client release.

use leptos::prelude::*;
use shared_ids::{IMAGE_HEIGHT_PX, IMAGE_WIDTH_PX, SocialId};

use crate::card::card_page_path;

/// How one network draws a link preview's image.
#[derive(Debug, Clone, Copy)]
pub struct Network {
    /// The `data-network` name.
    pub name: &'static str,
    pub label: &'static str,
    /// The image box in CSS pixels; the JPEG is cropped to it (`object-fit: cover`).
    pub width: u32,
    pub height: u32,
    pub radius: u32,
    pub dark: bool,
    /// Areas the client draws over the image (a domain pill, a play button), as
    /// (what, left, top, width, height) in percent of the image box.
    pub covers: &'static [(&'static str, u8, u8, u8, u8)],
    /// Where a small preview shows only a square thumbnail of the image.
    pub square_thumbnail: bool,
    /// Where the figures come from; `unverified` when not from the network itself.
    pub source: &'static str,
    pub unverified: bool,
}

/// Every network `/preview/<id>` frames, in the order shown.
pub const NETWORKS: &[Network] = &[
    // 1.91:1 and 1200x630 recommended (developers.facebook.com/docs/sharing/webmasters/images);
    // drawn 500 px wide in the desktop feed, square corners (third-party measurement).
    Network {
        name: "facebook",
        label: "Facebook feed",
        width: 500,
        height: 262,
        radius: 0,
        dark: false,
        covers: &[],
        square_thumbnail: false,
        source: "https://developers.facebook.com/docs/sharing/webmasters/images/",
        unverified: true,
    },
    // summary_large_image is cropped to 2:1 (developer.x.com ... summary-card-with-large-image);
    // 506 px wide with 16 px corners and the domain drawn over the bottom left
    // (third-party measurement of the web timeline).
    Network {
        name: "x",
        label: "X (summary_large_image)",
        width: 506,
        height: 253,
        radius: 16,
        dark: false,
        covers: &[("domain", 2, 84, 30, 12)],
        square_thumbnail: false,
        source: "https://developer.x.com/en/docs/x-for-websites/cards/overview/summary-card-with-large-image",
        unverified: true,
    },
    // 1.91:1, 1200x627 recommended (linkedin.com/help/linkedin/answer/a521928); 552 px
    // wide in the feed (third-party measurement).
    Network {
        name: "linkedin",
        label: "LinkedIn feed",
        width: 552,
        height: 289,
        radius: 0,
        dark: false,
        covers: &[],
        square_thumbnail: false,
        source: "https://www.linkedin.com/help/linkedin/answer/a521928",
        unverified: true,
    },
    // Unfurls show og:image at most 360 px wide with 8 px corners, and a square
    // thumbnail when the unfurl is compact (third-party measurement).
    Network {
        name: "slack",
        label: "Slack unfurl",
        width: 360,
        height: 189,
        radius: 8,
        dark: false,
        covers: &[],
        square_thumbnail: true,
        source: "https://api.slack.com/reference/messaging/link-unfurling",
        unverified: true,
    },
    // Embed images at most 400 px wide, 4 px corners, on Discord's light or dark chrome
    // (discord.com/developers/docs/resources/message#embed-object; sizes measured).
    Network {
        name: "discord-light",
        label: "Discord embed (light)",
        width: 400,
        height: 210,
        radius: 4,
        dark: false,
        covers: &[],
        square_thumbnail: false,
        source: "https://discord.com/developers/docs/resources/message#embed-object",
        unverified: true,
    },
    Network {
        name: "discord-dark",
        label: "Discord embed (dark)",
        width: 400,
        height: 210,
        radius: 4,
        dark: true,
        covers: &[],
        square_thumbnail: false,
        source: "https://discord.com/developers/docs/resources/message#embed-object",
        unverified: true,
    },
    // Rich links in a 300 px bubble with 18 px corners (developer.apple.com TN2444 for
    // the tags; the bubble measured).
    Network {
        name: "imessage",
        label: "iMessage",
        width: 300,
        height: 157,
        radius: 18,
        dark: false,
        covers: &[],
        square_thumbnail: false,
        source: "https://developer.apple.com/library/archive/technotes/tn2444/_index.html",
        unverified: true,
    },
    // Large previews about 330 px wide with 6 px corners; images over about 300 KB or
    // small ones get a square thumbnail instead (faq.whatsapp.com; measured).
    Network {
        name: "whatsapp",
        label: "WhatsApp",
        width: 330,
        height: 173,
        radius: 6,
        dark: false,
        covers: &[],
        square_thumbnail: true,
        source: "https://faq.whatsapp.com/general/link-previews",
        unverified: true,
    },
    // Large link-preview photos about 340 px wide with 6 px corners
    // (core.telegram.org/api/links; measured).
    Network {
        name: "telegram",
        label: "Telegram",
        width: 340,
        height: 178,
        radius: 6,
        dark: false,
        covers: &[],
        square_thumbnail: false,
        source: "https://core.telegram.org/api/links",
        unverified: true,
    },
];

/// The widths people see a card at: a feed, a phone, a thumbnail.
pub const READING_WIDTHS: [u32; 3] = [500, 360, 80];

/// What a share of `id` says: its title, description and domain, from the main site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Share {
    pub title: String,
    pub description: String,
    /// `og:image:alt`: what a screen reader says for the card.
    pub image_alt: String,
    pub domain: String,
    /// Where the text came from, for the page to say.
    pub origin: String,
}

/// A host as networks print it: the origin without its scheme.
pub fn domain(origin: &str) -> String {
    origin
        .split_once("://")
        .map_or(origin, |(_, host)| host)
        .to_owned()
}

/// Reads what the main site's share page of `id` says, within two seconds.
pub async fn fetch_share(main: &shared_ids::BaseUrl, id: SocialId) -> Result<Share, String> {
    // One client for the process: a client per page would build its TLS roots each time.
    static CLIENT: std::sync::LazyLock<reqwest::Client> = std::sync::LazyLock::new(|| {
        reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(2))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("the HTTP client builds")
    });
    let url = format!("{}/?social={id}", main.as_str());
    let response = CLIENT.get(&url).send().await.map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        return Err(format!("{url} answered {}", response.status()));
    }
    let html = response.text().await.map_err(|e| e.to_string())?;
    let document = scraper::Html::parse_document(&html);
    let tag = |property: &str| {
        let selector = scraper::Selector::parse(&format!("meta[property=\"{property}\"]"))
            .expect("a valid selector");
        document
            .select(&selector)
            .next()
            .and_then(|meta| meta.value().attr("content"))
            .map(str::to_owned)
    };
    let title = tag("og:title").ok_or("no og:title")?;
    let page = tag("og:url").unwrap_or_else(|| main.origin().to_owned());
    Ok(Share {
        title,
        description: tag("og:description").unwrap_or_default(),
        image_alt: tag("og:image:alt").unwrap_or_default(),
        domain: domain(
            page.split('/')
                .take(3)
                .collect::<Vec<_>>()
                .join("/")
                .as_str(),
        ),
        origin: format!("read from the main site's share page {url}"),
    })
}

/// Renders `/preview/<id>`: `image` is the real JPEG's URL, if the image service is
/// configured.
pub fn render(id: SocialId, share: &Share, image: Option<&str>, dev: bool) -> String {
    let frames = NETWORKS
        .iter()
        .map(|network| frame(network, share, image))
        .collect_view();
    let widths = READING_WIDTHS
        .iter()
        .map(|&width| {
            let height = width * IMAGE_HEIGHT_PX / IMAGE_WIDTH_PX;
            view! {
                <figure class="reading" data-width=width.to_string()>
                    {image.map(|src| view! {
                        <img src=src.to_owned() width=width.to_string() height=height.to_string()
                             alt=format!("The card at {width} px")/>
                    })}
                    <figcaption>{format!("{width} px wide")}</figcaption>
                </figure>
            }
        })
        .collect_view();
    let page = card_page_path(id);
    let no_image = image.is_none().then(|| {
        view! { <p class="note">"Set IMAGE_BASE_URL to see the real JPEG in every frame."</p> }
    });
    let mode = if dev {
        "Dev mode: the stylesheet and content file are re-read on every refresh."
    } else {
        "Styles and content are fixed at start-up."
    };
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <title>{format!("{id} as each network shows it · ogshot")}</title>
                <style>{STYLE}</style>
            </head>
            <body>
                <p><a href="/preview">"← Card gallery"</a></p>
                <h1>{format!("{id} as each network shows it")}</h1>
                <p class="mode">{mode} " Text: " {share.origin.clone()} "."</p>
                <p class="alt">"Alt text (what screen readers say for the card): " <q>{share.image_alt.clone()}</q></p>
                {no_image}
                <input type="checkbox" id="safe-zones"/>
                <label for="safe-zones">"Show what each network crops or covers"</label>
                <div class="frames">{frames}</div>
                <h2>"At the sizes people see it"</h2>
                <div class="readings">{widths}</div>
                <h2>"Live card"</h2>
                <figure class="live-card">
                    <div class="live-frame"><iframe class="live" src=page title=format!("Live card {id}")></iframe></div>
                    <p class="glyphs" hidden=true></p>
                </figure>
                <script src="/assets/preview.js"></script>
            </body>
        </html>
    }
    .to_html()
}

fn frame(network: &Network, share: &Share, image: Option<&str>) -> impl IntoView + use<> {
    let box_style = format!(
        "width:{}px;height:{}px;border-radius:{}px",
        network.width, network.height, network.radius
    );
    let covers = network
        .covers
        .iter()
        .map(|&(what, left, top, width, height)| {
            let style = format!("left:{left}%;top:{top}%;width:{width}%;height:{height}%");
            view! { <div class="cover" style=style>{what}</div> }
        })
        .collect_view();
    let thumbnail = network.square_thumbnail.then(|| {
        let side = network.height;
        let style = format!(
            "left:{}px;width:{side}px;height:{side}px",
            (network.width - side) / 2
        );
        view! { <div class="thumb" style=style>"square thumbnail"</div> }
    });
    let radius = (network.radius > 0).then(|| {
        let style = format!("border-radius:{}px", network.radius);
        view! { <div class="corners" style=style></div> }
    });
    let img = image.map(|src| {
        view! {
            <img class="card-image" src=src.to_owned() alt=share.image_alt.clone()/>
        }
    });
    let caveat = if network.unverified {
        " (sizes unverified)"
    } else {
        ""
    };
    let class = if network.dark { "net dark" } else { "net" };
    view! {
        <figure class=class data-network=network.name>
            <figcaption class="label">{network.label}</figcaption>
            <div class="post">
                <div class="image-box" style=box_style
                     data-width=network.width.to_string() data-height=network.height.to_string()>
                    {img}
                    <div class="safe">{radius}{covers}{thumbnail}</div>
                </div>
                <div class="text">
                    <div class="domain">{share.domain.clone()}</div>
                    <div class="title">{share.title.clone()}</div>
                    <div class="description">{share.description.clone()}</div>
                </div>
            </div>
            <figcaption class="source">
                <a href=network.source>{format!("{}x{} px, {} px corners", network.width, network.height, network.radius)}</a>
                {caveat}
            </figcaption>
        </figure>
    }
}

const STYLE: &str = "
body{font:15px/1.45 system-ui,sans-serif;margin:0;padding:24px;background:#f3f3f6;color:#1a1b22}
h1{margin:0 0 4px} .mode,.note{color:#555} figure{margin:0}
.frames{display:flex;flex-wrap:wrap;gap:28px;margin:16px 0 32px}
.net .label{font-weight:600;margin-bottom:6px} .net .source{color:#666;font-size:12px;margin-top:6px}
.post{background:#fff;border:1px solid #dadde1;padding:10px;border-radius:8px;width:max-content;max-width:580px}
.net.dark .post{background:#2b2d31;border-color:#1e1f22;color:#dbdee1}
.image-box{position:relative;overflow:hidden;background:#ccd}
.card-image{display:block;width:100%;height:100%;object-fit:cover}
.text{margin-top:8px;max-width:500px} .domain{font-size:12px;color:#65676b;text-transform:uppercase}
.net.dark .domain{color:#949ba4} .title{font-weight:700} .description{font-size:13px;color:#65676b}
.safe{display:none;position:absolute;inset:0;pointer-events:none}
#safe-zones:checked ~ .frames .safe{display:block}
.cover{position:absolute;background:rgb(255 0 80/.45);color:#fff;font-size:11px;padding:2px 4px}
.thumb{position:absolute;top:0;outline:2px dashed #ff0050;color:#ff0050;font-size:11px}
.corners{position:absolute;inset:0;box-shadow:inset 0 0 0 3px rgb(255 0 80/.7)}
.readings{display:flex;align-items:flex-end;gap:24px} .reading img{display:block;border-radius:6px}
.live-frame{width:600px;height:315px;overflow:hidden;border-radius:10px}
.live-frame iframe{width:1200px;height:630px;border:0;transform:scale(.5);transform-origin:0 0}
.glyphs{color:#b00020;font-weight:700}
";
