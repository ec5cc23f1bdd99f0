//! Which log events a query or a stream wants: service, minimum level, time range, correlation ids, text.

use alloy::primitives::{Address, B256};

use super::event::{Level, LogEvent};

/// A filter; every field is optional and an empty filter matches everything (no implicit time window).
#[derive(Debug, Clone, Default)]
pub struct LogFilter {
    /// Exact service name.
    pub service: Option<String>,
    /// Minimum severity: `warn` matches warn, error and fatal.
    pub level: Option<Level>,
    /// `ts >= since` (Unix seconds).
    pub since: Option<f64>,
    /// `ts <= until` (Unix seconds).
    pub until: Option<f64>,
    pub request_id: Option<String>,
    pub quote_id: Option<String>,
    pub user_op_hash: Option<B256>,
    pub tx_hash: Option<B256>,
    pub sender: Option<Address>,
    /// Case-insensitive substring of `msg` or of the JSON text of `meta`, stored lowercase.
    pub text: Option<String>,
}

impl LogFilter {
    /// Whether `e` passes every set condition.
    pub fn matches(&self, e: &LogEvent) -> bool {
        if self.service.as_ref().is_some_and(|s| *s != e.service)
            || self.level.is_some_and(|l| e.level < l)
            || self.since.is_some_and(|s| e.ts_secs() < s)
            || self.until.is_some_and(|u| e.ts_secs() > u)
            || (self.request_id.is_some() && self.request_id != e.request_id)
            || (self.quote_id.is_some() && self.quote_id != e.quote_id)
            || (self.user_op_hash.is_some() && self.user_op_hash != e.user_op_hash)
            || (self.tx_hash.is_some() && self.tx_hash != e.tx_hash)
            || (self.sender.is_some() && self.sender != e.sender)
        {
            return false;
        }
        match &self.text {
            None => true,
            Some(t) => {
                e.msg.to_lowercase().contains(t)
                    || e.meta
                        .as_ref()
                        .is_some_and(|m| m.to_string().to_lowercase().contains(t))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::event::parse_event;
    use serde_json::json;

    #[test]
    fn level_is_a_minimum_and_text_is_case_insensitive() {
        let e = parse_event(
            json!({"ts": 10, "service": "a", "level": "error", "msg": "Quote Denied",
            "meta": {"reason": "Balance"}}),
        )
        .unwrap();
        let f = |f: LogFilter| f.matches(&e);
        assert!(f(LogFilter::default()));
        assert!(f(LogFilter {
            level: Some(Level::Warn),
            ..Default::default()
        }));
        assert!(!f(LogFilter {
            level: Some(Level::Fatal),
            ..Default::default()
        }));
        assert!(f(LogFilter {
            text: Some("denied".into()),
            ..Default::default()
        }));
        assert!(f(LogFilter {
            text: Some("balance".into()),
            ..Default::default()
        }));
        assert!(!f(LogFilter {
            since: Some(11.0),
            ..Default::default()
        }));
        assert!(f(LogFilter {
            until: Some(10.0),
            ..Default::default()
        }));
        assert!(!f(LogFilter {
            service: Some("b".into()),
            ..Default::default()
        }));
        assert!(!f(LogFilter {
            request_id: Some("r".into()),
            ..Default::default()
        }));
    }
}
