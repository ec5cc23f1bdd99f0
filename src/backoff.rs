//! Exponential backoff for every retry loop (RPC retries, the watcher waiting for its node, the indexer's
//! outage retries, `butler logs tail -f` reconnecting, the API's probes): one [`Backoff`] policy on
//! `backon`'s exponential builder, optional full jitter, and a sleep that ends early on cancellation.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};
use rand::Rng;
use tokio_util::sync::CancellationToken;

/// A backoff policy: `initial`, doubling each time up to `max`, without end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
    /// Full jitter: each delay is uniform in `[0, ceiling]` instead of the ceiling itself.
    pub jitter: bool,
}

impl Backoff {
    /// Delays of `initial`, doubling up to `max`, without jitter.
    pub const fn new(initial: Duration, max: Duration) -> Backoff {
        Backoff {
            initial,
            max,
            jitter: false,
        }
    }

    /// The same policy with full jitter.
    pub const fn with_full_jitter(self) -> Backoff {
        Backoff {
            jitter: true,
            ..self
        }
    }

    /// The delays, one per retry.
    pub fn delays(&self) -> Delays {
        Delays {
            policy: *self,
            ceilings: self.ceilings(),
        }
    }

    fn ceilings(&self) -> ExponentialBackoff {
        ExponentialBuilder::default()
            .with_min_delay(self.initial)
            .with_max_delay(self.max.max(self.initial))
            .with_factor(2.0)
            .without_max_times()
            .build()
    }
}

/// The delays of a [`Backoff`]: an endless iterator; [`Delays::reset`] starts again from the first.
#[derive(Debug)]
pub struct Delays {
    policy: Backoff,
    ceilings: ExponentialBackoff,
}

impl Delays {
    /// The delay before the next retry.
    pub fn next_delay(&mut self) -> Duration {
        let ceiling = self.ceilings.next().unwrap_or(self.policy.max);
        if !self.policy.jitter || ceiling.is_zero() {
            return ceiling;
        }
        let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(rand::rng().random_range(0..=millis))
    }

    /// Starts again from the initial delay (after a success).
    pub fn reset(&mut self) {
        self.ceilings = self.policy.ceilings();
    }
}

impl Iterator for Delays {
    type Item = Duration;
    fn next(&mut self) -> Option<Duration> {
        Some(self.next_delay())
    }
}

/// Sleeps for `delay` unless `cancel` fires first; returns `false` when cancelled.
pub async fn sleep(delay: Duration, cancel: &CancellationToken) -> bool {
    tokio::select! {
        _ = cancel.cancelled() => false,
        _ = tokio::time::sleep(delay) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn delays_double_up_to_the_cap_and_reset() {
        let mut d = Backoff::new(100 * MS, 1000 * MS).delays();
        let first: Vec<u128> = (&mut d).take(7).map(|x| x.as_millis()).collect();
        assert_eq!(first, vec![100, 200, 400, 800, 1000, 1000, 1000]);
        d.reset();
        assert_eq!(d.next_delay(), 100 * MS);
    }

    #[test]
    fn full_jitter_stays_within_the_growing_ceiling() {
        let policy = Backoff::new(100 * MS, 1000 * MS);
        let mut jittered = policy.with_full_jitter().delays();
        for ceiling in policy.delays().take(50) {
            assert!(jittered.next_delay() <= ceiling);
        }
    }

    #[tokio::test]
    async fn sleep_ends_on_cancel() {
        let cancel = CancellationToken::new();
        cancel.cancel();
        assert!(!sleep(Duration::from_secs(3600), &cancel).await);
        assert!(sleep(Duration::ZERO, &CancellationToken::new()).await);
    }
}
