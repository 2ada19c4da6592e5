//! What the rules' unit tests share: a public share page, its card, the crawler profiles
//! and the findings a rule adds. Test code only; no rule uses it.

use url::Url;

use crate::finding::{Findings, Level};
use crate::profiles::Profile;

pub(super) const PUBLIC_PAGE: &str = "https://www.example.com/?social=12-34-10";
pub(super) const X: &str = "Twitterbot";
pub(super) const FAIL: Level = Level::Fail;
pub(super) const WARN: Level = Level::Warn;

/// 12-34-10's card path in the current design (`/<design>/12-34-10.jpg`).
pub(super) fn card_path() -> String {
    let id = shared_ids::SocialId::parse("12-34-10").unwrap();
    shared_ids::card_path(shared_ids::CURRENT_DESIGN, id)
}

/// The page's og:image: 12-34-10's card on a public image host.
pub(super) fn og_image_url() -> String {
    format!("https://img.example.com{}", card_path())
}

pub(super) fn profile(name: &str) -> Profile {
    crate::profiles::all()
        .into_iter()
        .find(|p| p.name == name)
        .unwrap()
}

/// The (rule, level) of every finding `rule` adds to the findings of `name`'s
/// profile. The image rules have one test each: an input the rule passes, and one it
/// flags.
pub(super) fn found(
    name: &str,
    rule: impl FnOnce(&mut Findings<'_>, &Profile),
) -> Vec<(&'static str, Level)> {
    let profile = profile(name);
    let mut out = Findings::new(PUBLIC_PAGE, &profile);
    rule(&mut out, &profile);
    for finding in &out.list {
        assert!(finding.message.len() > 10, "a terse message: {finding:?}");
    }
    out.list.iter().map(|f| (f.rule, f.level)).collect()
}

pub(super) fn image() -> Url {
    Url::parse(&og_image_url()).unwrap()
}
