//! A store's trace: the last events of its day (rounds, leaders, injected faults, refusals,
//! crashes), kept in the simulator, so a failing seed shows what led to the violation.

use std::collections::VecDeque;

/// Events kept per store.
const KEPT: usize = 2_000;

/// The last events of a store (up to 2,000).
#[derive(Debug, Clone, Default)]
pub struct Trace {
    on: bool,
    events: VecDeque<String>,
}

impl Trace {
    /// A trace that keeps events when `on`.
    pub fn new(on: bool) -> Trace {
        Trace {
            on,
            events: VecDeque::new(),
        }
    }

    /// Records the event `line` makes (called only when the trace is on).
    pub fn push(&mut self, line: impl FnOnce() -> String) {
        if !self.on {
            return;
        }
        if self.events.len() == KEPT {
            self.events.pop_front();
        }
        self.events.push_back(line());
    }

    /// The events kept, oldest first.
    pub fn events(&self) -> impl Iterator<Item = &str> + '_ {
        self.events.iter().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::{KEPT, Trace};

    #[test]
    fn keeps_the_last_events_only_when_on() {
        let mut t = Trace::new(true);
        for i in 0..KEPT + 50 {
            t.push(|| format!("e{i}"));
        }
        let kept: Vec<&str> = t.events().collect();
        assert_eq!(kept.len(), KEPT);
        assert_eq!(kept.first(), Some(&"e50"));
        let mut off = Trace::new(false);
        off.push(|| "x".into());
        assert_eq!(off.events().count(), 0);
    }
}
