//! Reorg detection: the checkpoint keeps a window of recent (number, hash) pairs. When the chain's hash
//! of the last indexed block differs, the newest window entry still on the chain is the fork point; the
//! log is rolled back to it and re-indexed from there.

use super::WatcherError;
use super::checkpoint::{BlockRef, Checkpoint, ReorgRecord};
use super::fetch::Fetcher;

/// Pairs kept in the checkpoint's window.
pub const WINDOW: usize = 128;

/// Reorganisations the checkpoint remembers (for the console's overview).
pub const RECENT_REORGS: usize = 10;

/// Where to roll back to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fork {
    /// The last block still valid (`None`: nothing is, re-index from the start).
    pub keep: Option<BlockRef>,
    /// Blocks rolled back.
    pub depth: u64,
}

/// Compares the checkpoint with the chain; `Some` when the indexed blocks are no longer canonical.
pub async fn detect(fetcher: &Fetcher, cp: &Checkpoint) -> Result<Option<Fork>, WatcherError> {
    let (Some(last), Some(last_hash)) = (cp.last_block, cp.last_block_hash) else {
        return Ok(None);
    };
    let now = fetcher.headers(&[last]).await?;
    if now.get(&last).map(|(h, _)| *h) == Some(last_hash) {
        return Ok(None);
    }
    let numbers: Vec<u64> = cp.recent.iter().map(|b| b.number).collect();
    let chain = fetcher.headers(&numbers).await?;
    let keep = cp
        .recent
        .iter()
        .rev()
        .find(|b| chain.get(&b.number).map(|(h, _)| *h) == Some(b.hash))
        .copied();
    let depth = last + 1 - keep.map_or(cp.start_block, |k| k.number + 1);
    Ok(Some(Fork { keep, depth }))
}

/// Adds pairs to a window and keeps the newest [`WINDOW`] distinct block numbers.
pub fn extend_window(window: &mut Vec<BlockRef>, new: impl IntoIterator<Item = BlockRef>) {
    for b in new {
        match window.last() {
            Some(l) if l.number == b.number => {
                if let Some(l) = window.last_mut() {
                    l.hash = b.hash;
                }
            }
            Some(l) if l.number > b.number => {}
            _ => window.push(b),
        }
    }
    if window.len() > WINDOW {
        window.drain(..window.len() - WINDOW);
    }
}

/// Adds a rolled-back fork to the checkpoint's list of recent reorganisations, dropping the oldest past
/// [`RECENT_REORGS`].
pub fn remember(list: &mut Vec<ReorgRecord>, fork: &Fork, at_ms: u64) {
    list.push(ReorgRecord {
        at_ms,
        fork_block: fork.keep.map(|b| b.number),
        depth: fork.depth,
    });
    let extra = list.len().saturating_sub(RECENT_REORGS);
    list.drain(..extra);
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::B256;

    #[test]
    fn window_keeps_the_newest_distinct_blocks() {
        let mut w = Vec::new();
        let b = |n: u64| BlockRef {
            number: n,
            hash: B256::repeat_byte(n as u8),
        };
        extend_window(&mut w, (0..200).map(b));
        extend_window(&mut w, [b(199), b(5)]);
        assert_eq!(w.len(), WINDOW);
        assert_eq!(w[0].number, 200 - WINDOW as u64);
        assert_eq!(w.last().unwrap().number, 199);
    }

    #[test]
    fn the_newest_reorgs_are_remembered_oldest_first() {
        let mut list = Vec::new();
        for n in 0..(RECENT_REORGS as u64 + 3) {
            let fork = Fork {
                keep: Some(BlockRef {
                    number: n,
                    hash: B256::ZERO,
                }),
                depth: 2,
            };
            remember(&mut list, &fork, n * 1000);
        }
        assert_eq!(list.len(), RECENT_REORGS);
        assert_eq!(list[0].fork_block, Some(3));
        assert_eq!(list.last().map(|r| (r.at_ms, r.depth)), Some((12_000, 2)));
        remember(
            &mut list,
            &Fork {
                keep: None,
                depth: 7,
            },
            1,
        );
        assert_eq!(list.last().map(|r| r.fork_block), Some(None));
    }
}
