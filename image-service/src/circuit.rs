//! A circuit breaker's state: a dependency that failed several times in a row is
//! skipped (the caller answers at once with what it has) until a probe finds it well.
//! Storage reads, storage writes and the render site each have one, probed in their
//! own way by their owner, off every request's path.

use std::sync::Mutex;

/// Consecutive failures of one dependency and whether it is being skipped.
#[derive(Debug)]
pub struct Circuit {
    /// What the circuit guards, for its log lines.
    name: &'static str,
    open_after: u32,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    consecutive_failures: u32,
    open: bool,
}

/// What a recorded outcome did to the circuit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    None,
    /// This failure opened it: the owner starts probing.
    Opened,
    /// This success closed it.
    Closed,
}

impl Circuit {
    /// A closed circuit that opens after `open_after` failures in a row.
    pub fn new(name: &'static str, open_after: u32) -> Self {
        Self {
            name,
            open_after: open_after.max(1),
            state: Mutex::new(State::default()),
        }
    }

    pub fn is_open(&self) -> bool {
        self.state.lock().expect("circuit lock").open
    }

    /// Records a good answer: the failures in a row start again from zero.
    pub fn succeeded(&self) -> Change {
        let mut state = self.state.lock().expect("circuit lock");
        state.consecutive_failures = 0;
        if state.open {
            state.open = false;
            tracing::info!(circuit = self.name, "answers again; circuit closed");
            Change::Closed
        } else {
            Change::None
        }
    }

    /// Records a failure; the one that reaches the threshold opens the circuit.
    pub fn failed(&self) -> Change {
        let mut state = self.state.lock().expect("circuit lock");
        state.consecutive_failures = state.consecutive_failures.saturating_add(1);
        if !state.open && state.consecutive_failures >= self.open_after {
            state.open = true;
            tracing::error!(
                circuit = self.name,
                failures = state.consecutive_failures,
                "keeps failing; circuit open: skipped until a probe finds it well"
            );
            Change::Opened
        } else {
            Change::None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_failures_in_a_row_and_closes_on_a_success() {
        let circuit = Circuit::new("test", 3);
        assert_eq!(circuit.failed(), Change::None);
        assert_eq!(circuit.failed(), Change::None);
        assert_eq!(circuit.succeeded(), Change::None, "a success in between");
        assert_eq!(circuit.failed(), Change::None);
        assert_eq!(circuit.failed(), Change::None);
        assert!(!circuit.is_open());
        assert_eq!(circuit.failed(), Change::Opened);
        assert!(circuit.is_open());
        assert_eq!(circuit.failed(), Change::None, "opens once");
        assert_eq!(circuit.succeeded(), Change::Closed);
        assert!(!circuit.is_open());
    }
}
