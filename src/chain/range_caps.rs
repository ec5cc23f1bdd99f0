//! Learned `eth_getLogs` range caps, one per RPC URL (keyed by the redacted URL), shared by every
//! concurrent fetch and persisted with the watcher's checkpoint so a restart does not rediscover them.
//!
//! Per URL: the largest range it accepted, the cap it announced in an error (a suggested range, "range
//! limit N"), and the smallest range it refused. Fetches use the known-good size; at most one *probe* at a
//! time tries a larger range (the configured maximum while the URL never refused one, else bisecting
//! between the accepted and the refused size, since a provider that only says "query returned more than
//! 10000 results" names no cap), and while nothing is known yet the other fetches wait for that probe
//! instead of being refused too. An announced cap is used as it is and
//! never probed above.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

/// What is known about one URL's range cap (the checkpoint's `rangeCaps` values).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RangeCapRecord {
    /// The largest range (in blocks) the URL served; 0 before the first.
    pub accepted: u64,
    /// The cap the URL announced in a refusal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub announced: Option<u64>,
    /// The smallest range the URL refused (without announcing a cap).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<u64>,
}

/// One request's size, and whether it probes above the known-good size.
#[derive(Debug)]
pub struct Planned<'a> {
    pub size: u64,
    probe: Option<ProbeGuard<'a>>,
}

impl Planned<'_> {
    /// This request tries a range larger than any accepted yet.
    pub fn is_probe(&self) -> bool {
        self.probe.is_some()
    }
}

/// Holds a URL's one probe slot; released when dropped (a cancelled fetch frees it too).
#[derive(Debug)]
struct ProbeGuard<'a> {
    caps: &'a RangeCaps,
    key: String,
}

impl Drop for ProbeGuard<'_> {
    fn drop(&mut self) {
        if let Some(s) = self.caps.lock().get_mut(&self.key) {
            s.probing = false;
        }
        self.caps.version.send_modify(|v| *v += 1);
    }
}

#[derive(Debug, Default)]
struct State {
    record: RangeCapRecord,
    probing: bool,
}

/// The caps of every URL a fetcher uses.
#[derive(Debug)]
pub struct RangeCaps {
    max: u64,
    state: Mutex<BTreeMap<String, State>>,
    version: watch::Sender<u64>,
    refusals: std::sync::atomic::AtomicU64,
}

impl RangeCaps {
    /// Caps bounded by `max` blocks, starting from what a checkpoint remembered.
    pub fn new(max: u64, known: &BTreeMap<String, RangeCapRecord>) -> RangeCaps {
        let state = known
            .iter()
            .map(|(k, r)| {
                (
                    k.clone(),
                    State {
                        record: *r,
                        probing: false,
                    },
                )
            })
            .collect();
        RangeCaps {
            max: max.max(1),
            state: Mutex::new(state),
            version: watch::Sender::new(0),
            refusals: Default::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, State>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Everything learned, for the checkpoint.
    pub fn snapshot(&self) -> BTreeMap<String, RangeCapRecord> {
        self.lock()
            .iter()
            .map(|(k, s)| (k.clone(), s.record))
            .collect()
    }

    /// Ranges refused since this process started.
    pub fn refusals(&self) -> u64 {
        self.refusals.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The size known to work for `key` (the announced cap, else the largest accepted range, else the
    /// configured maximum while nothing is known).
    pub fn safe(&self, key: &str) -> u64 {
        let state = self.lock();
        let Some(s) = state.get(key) else {
            return self.max;
        };
        self.safe_of(&s.record).unwrap_or(self.max)
    }

    /// Whether a range size is known to work for `key` (false: the first request must find out).
    pub fn known(&self, key: &str) -> bool {
        self.lock()
            .get(key)
            .is_some_and(|s| self.safe_of(&s.record).is_some())
    }

    /// Returns once a range size is known to work for `key`.
    pub async fn wait_known(&self, key: &str) {
        let mut changes = self.version.subscribe();
        while !self.known(key) {
            if changes.changed().await.is_err() {
                return;
            }
        }
    }

    fn safe_of(&self, r: &RangeCapRecord) -> Option<u64> {
        match r.announced {
            Some(a) => Some(a.min(self.max)),
            None if r.accepted > 0 => Some(r.accepted.min(self.max)),
            None => None,
        }
    }

    /// The size of the next request for `remaining` blocks at `key`: the safe size, or a probe above it when
    /// the URL's probe slot is free; waits while nothing is known and another request is finding out.
    pub async fn plan(&self, key: &str, remaining: u64) -> Planned<'_> {
        let mut changes = self.version.subscribe();
        loop {
            if let Some(p) = self.try_plan(key, remaining) {
                return p;
            }
            if changes.changed().await.is_err() {
                return Planned {
                    size: 1,
                    probe: None,
                };
            }
        }
    }

    fn try_plan(&self, key: &str, remaining: u64) -> Option<Planned<'_>> {
        let remaining = remaining.max(1);
        let mut state = self.lock();
        let s = state.entry(key.to_string()).or_default();
        let r = s.record;
        let safe = self.safe_of(&r);
        if r.announced.is_some() {
            let size = remaining.min(safe.unwrap_or(self.max));
            return Some(Planned { size, probe: None });
        }
        let upper = r
            .refused
            .map_or(self.max, |x| x.saturating_sub(1))
            .clamp(1, self.max);
        let good = safe.unwrap_or(0);
        if good >= upper || remaining <= good {
            return Some(Planned {
                size: remaining.min(good.max(1)),
                probe: None,
            });
        }
        if s.probing {
            return (good > 0).then(|| Planned {
                size: remaining.min(good),
                probe: None,
            });
        }
        let target = match (r.refused, good) {
            (Some(_), _) => (good + upper).div_ceil(2),
            // never refused: try the configured maximum at once (a small accepted range, such as a pass of a
            // few blocks, says nothing about the cap)
            (None, _) => self.max,
        };
        s.probing = true;
        Some(Planned {
            size: remaining.min(target.max(good + 1)),
            probe: Some(ProbeGuard {
                caps: self,
                key: key.to_string(),
            }),
        })
    }

    /// `key` served a range of `size` blocks.
    pub fn accepted(&self, key: &str, size: u64) {
        {
            let mut state = self.lock();
            let r = &mut state.entry(key.to_string()).or_default().record;
            r.accepted = r.accepted.max(size);
            if r.refused.is_some_and(|x| size >= x) {
                r.refused = None;
            }
        }
        self.version.send_modify(|v| *v += 1);
    }

    /// `key` refused a range of `size` blocks, announcing a cap or not.
    pub fn refused(&self, key: &str, size: u64, announced: Option<u64>) {
        {
            let mut state = self.lock();
            let r = &mut state.entry(key.to_string()).or_default().record;
            match announced.filter(|a| *a < size) {
                Some(a) => r.announced = Some(r.announced.map_or(a, |x| x.min(a))),
                None => {
                    r.refused = Some(r.refused.map_or(size, |x| x.min(size)));
                    if r.accepted >= size {
                        // the provider limits results, not blocks, and this stretch of chain is denser
                        r.accepted = size / 2;
                    }
                    if r.announced.is_some_and(|a| a >= size) {
                        r.announced = Some((size / 2).max(1));
                    }
                }
            }
        }
        self.refusals
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.version.send_modify(|v| *v += 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fetches `blocks` sequentially from a provider that serves at most `cap` blocks; returns (requests,
    /// refused).
    async fn run(caps: &RangeCaps, blocks: u64, cap: u64, announces: bool) -> (u64, u64) {
        let (mut sent, mut refused, mut next) = (0, 0, 0);
        while next < blocks {
            let p = caps.plan("u", blocks - next).await;
            sent += 1;
            if p.size > cap {
                refused += 1;
                caps.refused("u", p.size, announces.then_some(cap));
            } else {
                caps.accepted("u", p.size);
                next += p.size;
            }
        }
        (sent, refused)
    }

    #[tokio::test]
    async fn an_announced_cap_is_used_at_once_and_remembered() {
        let caps = RangeCaps::new(2000, &BTreeMap::new());
        let (sent, refused) = run(&caps, 2500, 100, true).await;
        assert_eq!((sent, refused), (26, 1));
        let again = RangeCaps::new(2000, &caps.snapshot());
        assert_eq!(run(&again, 2500, 100, true).await, (25, 0));
    }

    #[tokio::test]
    async fn an_unannounced_cap_is_searched_for_within_half_again_the_minimum() {
        let caps = RangeCaps::new(2000, &BTreeMap::new());
        let (sent, refused) = run(&caps, 2500, 100, false).await;
        assert!(
            sent as f64 <= 1.5 * 25.0,
            "{sent} requests, {refused} refused"
        );
        assert_eq!(caps.snapshot()["u"].accepted, 100, "{:?}", caps.snapshot());
        let again = RangeCaps::new(2000, &caps.snapshot());
        let (sent, refused) = run(&again, 2500, 100, false).await;
        assert_eq!((sent, refused), (25, 0));
    }

    #[tokio::test]
    async fn only_one_probe_at_a_time() {
        let caps = RangeCaps::new(2000, &BTreeMap::new());
        let first = caps.plan("u", 5000).await;
        assert!(first.is_probe() && first.size == 2000);
        assert!(
            caps.try_plan("u", 5000).is_none(),
            "nothing known: wait for the probe"
        );
        drop(first);
        caps.accepted("u", 50);
        let a = caps.plan("u", 5000).await;
        let b = caps.plan("u", 5000).await;
        assert!(a.is_probe() && a.size == 2000, "never refused: the maximum");
        assert!(!b.is_probe() && b.size == 50);
    }
}
