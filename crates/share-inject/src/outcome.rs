//! What the injector did with a share's answer, in one vocabulary for the engine and the
//! layer: `injected`, or why the page went out as it came (`PassReason`), with one
//! `as_str` for the `x-ogshot-inject` header and the logs, and one counter each.

use std::sync::atomic::{AtomicU64, Ordering};

/// Declares [`PassReason`] from one table, so that each reason's name is written once
/// and its header value is a constant (no allocation per answer).
macro_rules! pass_reasons {
    ($($(#[$doc:meta])* $variant:ident => $name:literal,)*) => {
        /// Why a share's answer went out as it came.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum PassReason {
            $($(#[$doc])* $variant,)*
        }

        impl PassReason {
            /// Every reason, in declaration order.
            pub const ALL: &[Self] = &[$(Self::$variant,)*];

            /// The kebab-case name in the `x-ogshot-inject` header and the logs.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $name,)*
                }
            }

            fn header_value(self) -> &'static str {
                match self {
                    $(Self::$variant => concat!("passthrough; reason=", $name),)*
                }
            }
        }
    };
}

pass_reasons! {
    /// The engine: no head and no element within the head window or before the end of
    /// the body.
    NoInsertionPoint => "no-insertion-point",
    /// The engine: the rewriter's memory limit, before anything went out.
    MemoryLimit => "memory-limit",
    /// The engine: any other rewriter error, before anything went out.
    RewriterError => "rewriter-error",
    /// The engine: a charset lol_html cannot rewrite (UTF-16, ISO-2022-JP, `replacement`).
    UnsupportedCharset => "unsupported-charset",
    /// The layer: the answer's status is not 200.
    Status => "status",
    /// The layer: the answer is not `text/html`.
    NotHtml => "not-html",
    /// The layer: `Cache-Control: no-transform`.
    NoTransform => "no-transform",
    /// The layer: `Content-Disposition: attachment`.
    Attachment => "attachment",
    /// The layer: a content coding it does not decode, or more than one.
    ContentEncoding => "content-encoding",
    /// The layer: the page did not reach its insertion point within the deadline (a 504).
    UpstreamTimeout => "upstream-timeout",
    /// The layer: the page's body failed before its head was read (a 502).
    UpstreamError => "upstream-error",
}

/// How many reasons there are.
const REASONS: usize = PassReason::ALL.len();

impl PassReason {
    fn index(self) -> usize {
        self as usize
    }
}

/// What became of a share's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Injected,
    Passthrough(PassReason),
}

impl Outcome {
    /// The `x-ogshot-inject` response header value: `injected` or
    /// `passthrough; reason=<kebab-case>`.
    pub fn header_value(self) -> &'static str {
        match self {
            Self::Injected => "injected",
            Self::Passthrough(reason) => reason.header_value(),
        }
    }
}

/// Counters since the injector was built, for tests and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InjectStats {
    pub injected: u64,
    /// Passthroughs by reason, indexed as [`PassReason::ALL`]; see [`Self::passed`].
    passed: [u64; REASONS],
    /// Rewrites that had injected and then hit a rewriter error: the rest of such a page
    /// went out unchanged (its own image tags past that point included).
    pub late_bailouts: u64,
}

impl InjectStats {
    /// Answers that went out as they came for `reason`.
    pub fn passed(&self, reason: PassReason) -> u64 {
        self.passed[reason.index()]
    }
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    injected: AtomicU64,
    passed: [AtomicU64; REASONS],
    late_bailouts: AtomicU64,
}

impl Counters {
    pub(crate) fn count(&self, outcome: Outcome) {
        let counter = match outcome {
            Outcome::Injected => &self.injected,
            Outcome::Passthrough(reason) => &self.passed[reason.index()],
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn late_bailout(&self) {
        self.late_bailouts.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn stats(&self) -> InjectStats {
        let read = |n: &AtomicU64| n.load(Ordering::Relaxed);
        InjectStats {
            injected: read(&self.injected),
            passed: self.passed.each_ref().map(read),
            late_bailouts: read(&self.late_bailouts),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_is_listed_once_in_its_own_place() {
        for (i, reason) in PassReason::ALL.iter().copied().enumerate() {
            assert_eq!(reason.index(), i);
        }
    }

    #[test]
    fn every_outcome_has_its_header_value_and_its_counter() {
        let counters = Counters::default();
        assert_eq!(Outcome::Injected.header_value(), "injected");
        counters.count(Outcome::Injected);
        for (n, reason) in PassReason::ALL.iter().copied().enumerate() {
            assert_eq!(
                Outcome::Passthrough(reason).header_value(),
                format!("passthrough; reason={}", reason.as_str())
            );
            for _ in 0..=n {
                counters.count(Outcome::Passthrough(reason));
            }
        }
        let stats = counters.stats();
        assert_eq!(stats.injected, 1);
        for (n, reason) in PassReason::ALL.iter().copied().enumerate() {
            assert_eq!(stats.passed(reason), n as u64 + 1, "{}", reason.as_str());
        }
    }
}
