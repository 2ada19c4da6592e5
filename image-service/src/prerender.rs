//! `image-service prerender`: fill storage ahead of a campaign.

use std::io::BufRead;

use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use shared_ids::{CURRENT_DESIGN, SocialId};

use crate::render::{Cards, Prerendered};
use crate::storage::StorageKey;

/// What a prerender run did. An id counts as rendered only once its card is stored.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    pub rendered: usize,
    pub skipped: usize,
    /// Ids with no card, and why.
    pub failed: Vec<(SocialId, String)>,
    /// Ids rendered but not stored, and why: they are still missing from storage.
    pub store_failed: Vec<(SocialId, String)>,
}

impl Report {
    /// Whether every id is now stored.
    pub fn complete(&self) -> bool {
        self.failed.is_empty() && self.store_failed.is_empty()
    }
}

/// Reads ids one per line. Blank lines are skipped and a trailing `\r` (CRLF files) is
/// dropped; anything else must be a canonical id, or the whole input is refused with
/// the numbers of the bad lines, before any rendering starts.
pub fn read_ids(input: impl BufRead) -> Result<Vec<SocialId>, String> {
    let mut ids = Vec::new();
    let mut bad = Vec::new();
    for (index, line) in input.lines().enumerate() {
        let line = line.map_err(|e| format!("cannot read the id list: {e}"))?;
        let line = line.strip_suffix('\r').unwrap_or(&line);
        if line.is_empty() {
            continue;
        }
        match SocialId::parse(line) {
            Ok(id) => ids.push(id),
            Err(_) => bad.push(index + 1),
        }
    }
    if bad.is_empty() {
        Ok(ids)
    } else {
        let shown: Vec<String> = bad.iter().take(20).map(ToString::to_string).collect();
        Err(format!(
            "{} line(s) are not ids of the form DD-DD-DD: line {}{}",
            bad.len(),
            shown.join(", "),
            if bad.len() > 20 { ", ..." } else { "" }
        ))
    }
}

/// Renders every id not yet stored, `concurrency` at a time, with a progress bar.
pub async fn prerender(
    cards: &Cards,
    mut ids: Vec<SocialId>,
    concurrency: usize,
    show_progress: bool,
) -> Report {
    ids.sort_unstable();
    ids.dedup();
    let bar = if show_progress {
        ProgressBar::new(ids.len() as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} ids, {per_sec}, eta {eta} {msg}")
            .expect("a valid template"),
    );
    let mut report = Report::default();
    let mut outcomes = futures::stream::iter(ids)
        .map(|id| async move {
            (
                id,
                cards.prerender(StorageKey::new(CURRENT_DESIGN, id)).await,
            )
        })
        .buffer_unordered(concurrency.max(1));
    while let Some((id, outcome)) = outcomes.next().await {
        match outcome {
            Prerendered::AlreadyStored => report.skipped += 1,
            Prerendered::Stored => report.rendered += 1,
            Prerendered::StoreFailed(why) => report.store_failed.push((id, why)),
            Prerendered::Failed(error) => report.failed.push((id, error.to_string())),
        }
        bar.set_message(format!(
            "{} failed",
            report.failed.len() + report.store_failed.len()
        ));
        bar.inc(1);
    }
    bar.finish();
    report.failed.sort_by_key(|(id, _)| *id);
    report.store_failed.sort_by_key(|(id, _)| *id);
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_lists_are_strict_but_tolerate_crlf_and_blank_lines() {
        let ids = read_ids("12-34-10\r\n\n00-00-01\n".as_bytes()).unwrap();
        assert_eq!(ids.len(), 2);
        let err = read_ids("12-34-10\n 12-34-11\nnope\n".as_bytes()).unwrap_err();
        assert!(err.contains("line 2, 3"), "{err}");
    }
}
