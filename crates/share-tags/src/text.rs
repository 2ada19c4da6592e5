//! The words of a share: title, description and the image's alt text.
//!
//! They need no URL, so a caller without an image service (the render site's preview)
//! says exactly what the share tags say. They never contain anything but the site name,
//! the parsed id and the cards' wording.

use card_wording::Content;
use shared_ids::SocialId;

/// What a share of a card, or of no card, says in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareText {
    /// `<title>`, `og:title` and `twitter:title`.
    pub title: String,
    /// `og:description` and `twitter:description`.
    pub description: String,
    /// `og:image:alt` and `twitter:image:alt`: what the card shows.
    pub image_alt: String,
}

impl ShareText {
    pub fn new(site_name: &str, wording: &Content, id: Option<SocialId>) -> Self {
        let site = site_name;
        match id {
            Some(id) => Self {
                title: format!("Card {id} · {site}"),
                description: format!("The {site} share card for {id}."),
                image_alt: wording.image_alt(id),
            },
            None => Self {
                title: site.to_owned(),
                description: format!("Share cards from {site}."),
                image_alt: format!("{site} default share image"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_card_is_named_by_its_id_and_no_card_by_the_site() {
        let wording = Content::embedded();
        let id = SocialId::parse("12-34-10").unwrap();
        let card = ShareText::new("ogshot", &wording, Some(id));
        assert_eq!(card.title, "Card 12-34-10 · ogshot");
        assert_eq!(card.description, "The ogshot share card for 12-34-10.");
        assert_eq!(card.image_alt, wording.image_alt(id));
        let none = ShareText::new("ogshot", &wording, None);
        assert_eq!(none.title, "ogshot");
        assert_eq!(none.description, "Share cards from ogshot.");
        assert_eq!(none.image_alt, "ogshot default share image");
    }
}
