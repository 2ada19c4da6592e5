//! `image-service prerender`: fill storage ahead of a campaign. Everything of it is
//! here: its flags, the id list (a range, a file or stdin), the run over the card
//! pipeline (`Cards::ensure_stored`, the patient path with no response budget) and the
//! report; `main` only starts the service and prints what this returns.

use std::fmt;
use std::io::BufRead;
use std::path::PathBuf;

use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use shared_ids::{CURRENT_DESIGN, SocialId};

use crate::render::{Cards, Ensured};
use crate::storage::StorageKey;

/// Which ids `prerender` renders: one per line from a file or stdin, or a range.
#[derive(Debug, Clone, clap::Args)]
pub struct PrerenderArgs {
    /// File with one id (DD-DD-DD) per line; `-` or no file reads stdin.
    #[arg(long, conflicts_with = "range")]
    pub ids_file: Option<PathBuf>,
    /// Inclusive range of ids, e.g. `12-34-00..12-34-99`, counting DD-DD-DD as one number.
    #[arg(long)]
    pub range: Option<String>,
}

impl PrerenderArgs {
    /// The ids asked for, or why the list is refused (before anything renders).
    pub fn ids(&self) -> Result<Vec<SocialId>, String> {
        match (&self.range, &self.ids_file) {
            (Some(range), _) => id_range(range),
            (None, Some(path)) if path.as_os_str() != "-" => {
                let file = std::fs::File::open(path)
                    .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
                read_ids(std::io::BufReader::new(file))
            }
            _ => read_ids(std::io::stdin().lock()),
        }
    }
}

/// Parses `12-34-00..12-34-99` into every id from low to high, inclusive.
fn id_range(raw: &str) -> Result<Vec<SocialId>, String> {
    let wrong = || "the id range must look like 12-34-00..12-34-99, low to high".to_owned();
    let (low, high) = raw.split_once("..").ok_or_else(wrong)?;
    let number = |raw: &str| {
        SocialId::parse(raw).map(|id| {
            let [a, b, c] = id.parts();
            u32::from(a) * 10_000 + u32::from(b) * 100 + u32::from(c)
        })
    };
    let (low, high) = (
        number(low).map_err(|_| wrong())?,
        number(high).map_err(|_| wrong())?,
    );
    if low > high {
        return Err(wrong());
    }
    Ok((low..=high)
        .map(|n| {
            SocialId::parse(&format!(
                "{:02}-{:02}-{:02}",
                n / 10_000,
                n / 100 % 100,
                n % 100
            ))
            .expect("every number below 1000000 is an id")
        })
        .collect())
}

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

    /// Ids that are not stored.
    pub fn missing(&self) -> usize {
        self.failed.len() + self.store_failed.len()
    }

    /// Ids asked for (each once).
    pub fn total(&self) -> usize {
        self.rendered + self.skipped + self.missing()
    }
}

impl fmt::Display for Report {
    /// The summary line, then one line per id that is not stored.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} ids: {} rendered and stored, {} already stored, {} failed to render, \
             {} rendered but not stored",
            self.total(),
            self.rendered,
            self.skipped,
            self.failed.len(),
            self.store_failed.len()
        )?;
        for (id, why) in &self.failed {
            writeln!(f, "  failed {id}: {why}")?;
        }
        for (id, why) in &self.store_failed {
            writeln!(f, "  not stored {id}: {why}")?;
        }
        Ok(())
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
                cards
                    .ensure_stored(StorageKey::new(CURRENT_DESIGN, id))
                    .await,
            )
        })
        .buffer_unordered(concurrency.max(1));
    while let Some((id, outcome)) = outcomes.next().await {
        match outcome {
            Ensured::AlreadyStored => report.skipped += 1,
            Ensured::Stored => report.rendered += 1,
            Ensured::StoreFailed(why) => report.store_failed.push((id, why)),
            Ensured::Failed(error) => report.failed.push((id, error.to_string())),
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

    #[test]
    fn ranges_count_ids_as_numbers() {
        let ids = id_range("12-34-98..12-35-01").unwrap();
        let shown: Vec<String> = ids.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["12-34-98", "12-34-99", "12-35-00", "12-35-01"]);
        assert!(id_range("12-34-99..12-34-00").is_err());
        assert!(id_range("12-34-99").is_err());
        assert!(id_range("1-2-3..4-5-6").is_err());
    }
}
