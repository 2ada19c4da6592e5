//! What every section measures and reports with: the result table, percentiles and
//! durations as its cells show them, and ids no render has seen in this run. It measures
//! nothing itself.

use std::time::Duration;

#[derive(Default)]
pub(crate) struct Table {
    rows: Vec<[String; 4]>,
}

impl Table {
    pub(crate) fn row(&mut self, metric: &str, value: String, target: &str, met: Option<bool>) {
        let verdict = match met {
            Some(true) => "met",
            Some(false) => "MISSED",
            None => "",
        };
        println!("  measured {metric}: {value}");
        self.rows
            .push([metric.into(), value, target.into(), verdict.into()]);
    }

    pub(crate) fn print(&self) {
        println!("\n| measurement | value | target | |\n|---|---|---|---|");
        for [a, b, c, d] in &self.rows {
            println!("| {a} | {b} | {c} | {d} |");
        }
    }
}

pub(crate) fn percentile(samples: &[Duration], p: f64) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

pub(crate) fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// The given percentiles of `samples`, e.g. "70.1 ms / 80.2 ms / 90.3 ms".
pub(crate) fn percentiles(samples: &[Duration], ps: &[f64]) -> String {
    ps.iter()
        .map(|&p| ms(percentile(samples, p)))
        .collect::<Vec<_>>()
        .join(" / ")
}

/// Distinct ids, never the same twice in one run.
pub(crate) struct Ids(pub(crate) u32);

impl Ids {
    pub(crate) fn next(&mut self) -> String {
        self.0 += 1;
        let n = self.0;
        format!(
            "{:02}-{:02}-{:02}",
            n / 10_000 % 100,
            n / 100 % 100,
            n % 100
        )
    }
}
