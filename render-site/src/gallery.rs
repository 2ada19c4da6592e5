//! `/preview`: the designers' gallery, many ids side by side, each live card beside
//! its real JPEG when the image service is configured.

use leptos::prelude::*;
use shared_ids::{BaseUrl, SocialId};

use crate::card::card_page_path;

/// How many random ids the gallery adds to the content file's samples, so designers
/// also see cards nobody picked.
const RANDOM_SAMPLES: usize = 3;

/// Scale of the live card previews: 1200x630 shown at 480x252.
const PREVIEW_SCALE: f32 = 0.4;

/// Sample ids plus a few random ones, without duplicates.
pub fn gallery_ids(samples: &[SocialId]) -> Vec<SocialId> {
    let mut ids = samples.to_vec();
    while ids.len() < samples.len() + RANDOM_SAMPLES {
        let mut bytes = [0u8; 3];
        getrandom::fill(&mut bytes).expect("the OS random source is available");
        let [a, b, c] = bytes.map(|byte| byte % 100);
        let id = SocialId::parse(&format!("{a:02}-{b:02}-{c:02}")).expect("two digits each");
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    ids
}

/// The designers' gallery: each card as a scaled live page, a link to it full size,
/// and — when the image service is configured — its real JPEG beside it.
pub fn render(ids: &[SocialId], image_base: Option<&BaseUrl>, dev: bool) -> String {
    let tiles = ids
        .iter()
        .map(|&id| {
            let page = card_page_path(id);
            let link = page.clone();
            let jpeg = image_base.map(|base| {
                let url = base.card_url(id);
                let link = url.clone();
                view! {
                    <figure>
                        <a href=link><img src=url alt=format!("Rendered JPEG of {id}") loading="lazy"/></a>
                        <figcaption>"Chromium JPEG (image service)"</figcaption>
                    </figure>
                }
            });
            let networks = format!("/preview/{id}");
            view! {
                <section class="tile">
                    <h2><a href=link>{id.to_string()}</a>
                        " · " <a class="networks" href=networks>"as each network shows it"</a></h2>
                    <div class="pair">
                        <figure>
                            <div class="frame">
                                <iframe class="live" src=page title=format!("Live card {id}")></iframe>
                            </div>
                            <figcaption>"Live markup"</figcaption>
                            <p class="glyphs" hidden=true></p>
                        </figure>
                        {jpeg}
                    </div>
                </section>
            }
        })
        .collect_view();
    let mode = if dev {
        "Dev mode: the stylesheet and content file are re-read on every refresh."
    } else {
        "Styles and content are fixed at start-up; run with --dev to edit live."
    };
    let style = format!(
        "body{{font:15px/1.45 system-ui,sans-serif;margin:0;padding:24px;background:#f3f3f6;color:#1a1b22}}
         h1{{margin:0 0 4px}} .mode{{color:#555;margin:0 0 24px}}
         .grid{{display:grid;gap:28px}} .tile h2{{font-size:18px;margin:0 0 8px}}
         .pair{{display:flex;flex-wrap:wrap;gap:20px}} figure{{margin:0}} figcaption{{color:#666;font-size:13px}}
         .frame{{width:{w}px;height:{h}px;overflow:hidden;border-radius:10px;box-shadow:0 4px 18px rgb(0 0 0/.15)}}
         .frame iframe{{width:1200px;height:630px;border:0;transform:scale({PREVIEW_SCALE});transform-origin:0 0}}
         .glyphs{{color:#b00020;font-weight:700;max-width:480px}}
         figure img{{display:block;width:{w}px;height:{h}px;border-radius:10px;box-shadow:0 4px 18px rgb(0 0 0/.15);background:#ccd}}",
        w = 1200.0 * PREVIEW_SCALE,
        h = 630.0 * PREVIEW_SCALE,
    );
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <title>"Card gallery · ogshot"</title>
                <style>{style}</style>
            </head>
            <body>
                <h1>"Card gallery"</h1>
                <p class="mode">{mode}</p>
                <div class="grid">{tiles}</div>
                <script src="/assets/preview.js"></script>
            </body>
        </html>
    }
    .to_html()
}
