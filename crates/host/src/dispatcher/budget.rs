//! The budget of one dispatch: everything one application event causes,
//! across every plugin, is bounded in time, in deliveries of emitted events
//! and in emitted bytes, so that plugins that keep emitting to each other
//! cannot make one event into unbounded work.

use std::time::{Duration, Instant};

use crate::limits::{DISPATCH_EMITTED_BYTES, DISPATCH_EMITTED_DELIVERIES, DISPATCH_WALL_CLOCK};

/// The limits of one dispatch. Build it with `..DispatchBudget::default()`
/// so that new limits keep their defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DispatchBudget {
    /// Wall-clock time for all the dispatch's calls; each call gets the
    /// shorter of its own deadline and what is left.
    pub wall_clock: Duration,
    /// Deliveries of emitted events (the application's own event always
    /// reaches every subscriber).
    pub emitted_deliveries: u32,
    /// Bytes of emitted events, topic plus payload.
    pub emitted_bytes: u64,
}

impl Default for DispatchBudget {
    fn default() -> Self {
        DispatchBudget {
            wall_clock: DISPATCH_WALL_CLOCK,
            emitted_deliveries: DISPATCH_EMITTED_DELIVERIES,
            emitted_bytes: DISPATCH_EMITTED_BYTES,
        }
    }
}

/// What a dispatch has used of its budget so far.
#[derive(Debug)]
pub(crate) struct Spent {
    budget: DispatchBudget,
    /// When the dispatch must be over.
    pub(crate) ends: Instant,
    deliveries: u32,
    bytes: u64,
}

impl Spent {
    /// The budget of a dispatch that starts now.
    pub(crate) fn start(budget: DispatchBudget) -> Spent {
        Spent::start_at(budget, Instant::now())
    }

    /// The budget of a dispatch that starts at `now`.
    pub(crate) fn start_at(budget: DispatchBudget, now: Instant) -> Spent {
        Spent {
            budget,
            ends: now.checked_add(budget.wall_clock).unwrap_or(now + DISPATCH_WALL_CLOCK),
            deliveries: 0,
            bytes: 0,
        }
    }

    /// Whether the wall-clock limit has passed.
    pub(crate) fn out_of_time(&self) -> bool {
        Instant::now() >= self.ends
    }

    /// Takes `bytes` for one emitted event; refuses (saying why) past the
    /// byte budget.
    pub(crate) fn emit(&mut self, bytes: u64) -> Result<(), String> {
        let total = self.bytes.saturating_add(bytes);
        if total > self.budget.emitted_bytes {
            return Err(format!(
                "the events emitted because of one application event passed {} bytes",
                self.budget.emitted_bytes
            ));
        }
        self.bytes = total;
        Ok(())
    }

    /// Takes `n` deliveries of one emitted event; refuses (saying why) past
    /// the delivery budget or the wall-clock limit.
    pub(crate) fn deliver(&mut self, n: u32) -> Result<(), String> {
        if self.out_of_time() {
            return Err(format!(
                "the events caused by one application event ran past its {} ms budget",
                self.budget.wall_clock.as_millis()
            ));
        }
        let total = self.deliveries.saturating_add(n);
        if total > self.budget.emitted_deliveries {
            return Err(format!(
                "the events emitted because of one application event needed more than {} deliveries",
                self.budget.emitted_deliveries
            ));
        }
        self.deliveries = total;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deliveries_and_bytes_stop_at_their_budget() {
        let mut spent = Spent::start(DispatchBudget {
            emitted_deliveries: 3,
            emitted_bytes: 10,
            ..DispatchBudget::default()
        });
        assert_eq!(spent.deliver(2), Ok(()));
        assert!(spent.deliver(2).unwrap_err().contains("more than 3 deliveries"));
        assert_eq!(spent.deliver(1), Ok(()));
        assert_eq!(spent.emit(10), Ok(()));
        assert!(spent.emit(1).unwrap_err().contains("10 bytes"));
    }

    #[test]
    fn an_exhausted_wall_clock_refuses_every_delivery() {
        let mut spent = Spent::start(DispatchBudget {
            wall_clock: Duration::ZERO,
            ..DispatchBudget::default()
        });
        assert!(spent.out_of_time());
        assert!(spent.deliver(1).unwrap_err().contains("0 ms budget"));
    }
}
