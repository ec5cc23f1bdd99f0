//! Structured log events shipped by bundlers and apps: the event model (§2.4 of the monitor plan),
//! filters, the durable daily NDJSON journal with one writer and group commit, and the in-memory ring
//! that queries and SSE streams read.

pub mod client;
pub mod event;
pub mod filter;
pub mod journal;
pub mod scan;
pub mod store;

pub use event::{Level, LogEvent, parse_event};
pub use filter::LogFilter;
pub use journal::JournalError;
pub use store::{LogSettings, LogStats, LogStore, Subscription};
