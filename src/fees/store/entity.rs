//! The three Vouch entities (default configs, proposers, proposer patterns) as one kind of thing for the
//! store: where each lives (table, key column, the owner kind of its relays) and how its relays and tags are
//! attached, so listing, reading, deleting and relays go through one generic path
//! ([`super::entity_sql`]) and adding a field touches one place.

use super::super::Kind;
use super::super::model::{
    DefaultConfig, DefaultConfigFilter, Pattern, PatternFilter, Proposer, ProposerFilter, Relay,
};

/// A Vouch entity stored in its own table with relays (and, for patterns, tags).
pub trait Entity: Sized + Send + Sync + Unpin + 'static {
    /// How messages name it (`Default config 'main' not found`).
    const KIND: Kind;
    /// Its table, queried as `e`.
    const TABLE: &'static str;
    /// The column that names it (and the key of its relays).
    const KEY: &'static str;
    /// The `owner_kind` of its relays.
    const OWNER: &'static str;
    /// The columns selected (of `e`).
    const COLUMNS: &'static str;
    /// Whether it has tags (`pattern_tags`).
    const TAGGED: bool = false;
    /// The filters of its list.
    type Filter: Sync;

    fn key(&self) -> &str;
    fn set_relays(&mut self, relays: Vec<Relay>);
    fn set_tags(&mut self, _tags: Vec<String>) {}
}

impl Entity for DefaultConfig {
    const KIND: Kind = Kind::DefaultConfig;
    const TABLE: &'static str = "default_configs";
    const KEY: &'static str = "name";
    const OWNER: &'static str = "default";
    const COLUMNS: &'static str = "e.name, e.fee_recipient, e.gas_limit, e.grace, e.min_value, e.active, \
         e.created_at, e.updated_at";
    type Filter = DefaultConfigFilter;

    fn key(&self) -> &str {
        &self.name
    }
    fn set_relays(&mut self, relays: Vec<Relay>) {
        self.relays = Some(relays);
    }
}

impl Entity for Proposer {
    const KIND: Kind = Kind::Proposer;
    const TABLE: &'static str = "proposers";
    const KEY: &'static str = "public_key";
    const OWNER: &'static str = "proposer";
    const COLUMNS: &'static str = "e.public_key, e.fee_recipient, e.gas_limit, e.grace, e.min_value, \
         e.reset_relays, e.created_at, e.updated_at";
    type Filter = ProposerFilter;

    fn key(&self) -> &str {
        &self.public_key
    }
    fn set_relays(&mut self, relays: Vec<Relay>) {
        self.relays = Some(relays);
    }
}

impl Entity for Pattern {
    const KIND: Kind = Kind::Pattern;
    const TABLE: &'static str = "proposer_patterns";
    const KEY: &'static str = "name";
    const OWNER: &'static str = "pattern";
    const COLUMNS: &'static str = "e.name, e.pattern, e.fee_recipient, e.gas_limit, e.grace, \
         e.min_value, e.reset_relays, e.created_at, e.updated_at";
    const TAGGED: bool = true;
    type Filter = PatternFilter;

    fn key(&self) -> &str {
        &self.name
    }
    fn set_relays(&mut self, relays: Vec<Relay>) {
        self.relays = Some(relays);
    }
    fn set_tags(&mut self, tags: Vec<String>) {
        self.tags = tags;
    }
}
