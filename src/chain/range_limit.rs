//! Recognises the providers' "`eth_getLogs` range or result too large" errors, the block range some of
//! them suggest and the limit others announce. The watcher learns each URL's cap from these
//! ([`super::range_caps`]); the retry policy never repeats them.

use std::sync::OnceLock;

use regex::Regex;

/// The phrases providers use when an `eth_getLogs` range or its result is too large (lower case).
const PHRASES: &[&str] = &[
    "query returned more than",
    "log response size exceeded",
    "try with this block range",
    "this block range should work",
    "block range is too wide",
    "exceeds limit of",
    "is bigger than range limit",
    "query exceeds max block range",
    "query exceeds max results",
    "block range too large",
    "range too large",
    "response size should not greater than",
    "limit the query to at most",
];

/// A refused range, with the range the provider suggested or the limit it announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RangeLimit {
    /// `(from, to)` inclusive, as suggested by the provider.
    pub suggested: Option<(u64, u64)>,
    /// The largest range in blocks the provider says it serves ("range limit 1000", "max block range 1000").
    pub limit: Option<u64>,
}

impl RangeLimit {
    /// The suggested number of blocks, when the provider named a range.
    pub fn suggested_len(&self) -> Option<u64> {
        self.suggested
            .filter(|(a, b)| b >= a)
            .map(|(a, b)| b - a + 1)
    }

    /// The cap the error announces: the suggested range's length or the stated limit.
    pub fn announced(&self) -> Option<u64> {
        self.suggested_len().or(self.limit).filter(|n| *n > 0)
    }
}

/// Classifies an error message (and its `data`, when given) as a range/size limit.
pub fn range_limit(message: &str) -> Option<RangeLimit> {
    let lower = message.to_lowercase();
    if !PHRASES.iter().any(|p| lower.contains(p)) {
        return None;
    }
    static RANGE: OnceLock<Option<Regex>> = OnceLock::new();
    let re = RANGE.get_or_init(|| {
        Regex::new(r"\[\s*(0x[0-9a-fA-F]+|[0-9]+)\s*,\s*(0x[0-9a-fA-F]+|[0-9]+)\s*\]").ok()
    });
    let suggested = re.as_ref().and_then(|re| {
        let caps = re.captures(message)?;
        Some((number(&caps[1])?, number(&caps[2])?))
    });
    static LIMIT: OnceLock<Option<Regex>> = OnceLock::new();
    let limit_re = LIMIT.get_or_init(|| {
        Regex::new(r"(?i)(?:range limit|max block range|block range limit|limit the query to at most)\D{0,3}([0-9]+)").ok()
    });
    let limit = limit_re
        .as_ref()
        .and_then(|re| re.captures(message))
        .and_then(|c| c[1].parse().ok());
    Some(RangeLimit { suggested, limit })
}

fn number(text: &str) -> Option<u64> {
    match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_the_providers_messages() {
        for m in [
            "query returned more than 10000 results",
            "Log response size exceeded. You can make eth_getLogs requests with up to a 2K block range and no limit on the response size, or you can request any block range with a cap of 10K logs in the response. Based on your parameters, this block range should work: [0x1b4, 0x5a3]",
            "Try with this block range [0x10, 0x20].",
            "block range is too wide",
            "exceeds limit of 10000",
            "eth_getLogs block range 5000 is bigger than range limit 1000",
            "query exceeds max block range 1000",
            "query exceeds max results 20000",
            "block range too large",
        ] {
            assert!(range_limit(m).is_some(), "{m}");
        }
        assert!(range_limit("execution reverted").is_none());
        assert!(range_limit("connection refused").is_none());
    }

    #[test]
    fn extracts_the_suggested_range() {
        let l = range_limit("this block range should work: [0x1b4, 0x5a3]").unwrap();
        assert_eq!(l.suggested, Some((0x1b4, 0x5a3)));
        assert_eq!(l.suggested_len(), Some(0x5a3 - 0x1b4 + 1));
        let l = range_limit("Try with this block range [100, 199]").unwrap();
        assert_eq!(l.suggested_len(), Some(100));
        assert_eq!(
            range_limit("block range too large").unwrap().suggested,
            None
        );
        let l =
            range_limit("eth_getLogs block range 5000 is bigger than range limit 1000").unwrap();
        assert_eq!(l.announced(), Some(1000));
        assert_eq!(
            range_limit("query exceeds max block range 100")
                .unwrap()
                .announced(),
            Some(100)
        );
        assert_eq!(
            range_limit("query returned more than 10000 results")
                .unwrap()
                .announced(),
            None,
            "a result count is no block range"
        );
    }
}
