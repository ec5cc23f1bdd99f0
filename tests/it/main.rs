//! Integration tests: one binary, sharing one devnet (anvil + EntryPoints + alto) per run.
//! Tests never read the user's configuration: see `support::butler`.

mod api;
mod api_cli;
mod api_devnet;
mod api_durability;
mod api_sse;
mod cli_config;
mod foundation;
mod support;
