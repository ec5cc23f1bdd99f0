//! Integration tests: one binary, sharing one devnet (anvil + EntryPoints + alto) per run.
//! Tests never read the user's configuration: see `support::butler`.

mod api;
mod api_cli;
mod api_devnet;
mod api_durability;
mod api_sse;
mod bundlers;
mod bundlers_crash;
mod bundlers_lifecycle;
mod bundlers_restart;
mod cli_config;
mod exporter;
mod exporter_faults;
mod exporter_prometheus;
mod fees_check;
mod fees_cli;
mod fees_explain;
mod fees_fresh;
mod fees_go;
mod fees_http;
mod fees_mux;
mod fees_vouch;
mod foundation;
mod obs_backup;
mod obs_health;
mod obs_logs;
mod obs_metrics;
mod obs_probes;
mod serve_startup;
mod support;
mod watcher_chain;
mod watcher_store;
mod watcher_support;
mod watcher_userops;
