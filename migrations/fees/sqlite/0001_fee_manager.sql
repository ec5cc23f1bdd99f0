-- Fee manager schema (SQLite). Numbers are stored as canonical decimal strings, exactly as served.

CREATE TABLE default_configs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT    NOT NULL UNIQUE,
    fee_recipient TEXT,
    gas_limit     TEXT,
    grace         TEXT,
    min_value     TEXT,
    active        BOOLEAN NOT NULL DEFAULT TRUE,
    created_at    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL
);

CREATE TABLE proposers (
    public_key    TEXT    PRIMARY KEY,
    fee_recipient TEXT,
    gas_limit     TEXT,
    grace         TEXT,
    min_value     TEXT,
    reset_relays  BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL
);

CREATE TABLE proposer_patterns (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT    NOT NULL UNIQUE,
    pattern       TEXT    NOT NULL,
    fee_recipient TEXT,
    gas_limit     TEXT,
    grace         TEXT,
    min_value     TEXT,
    reset_relays  BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL
);

CREATE TABLE pattern_tags (
    pattern_id INTEGER NOT NULL REFERENCES proposer_patterns(id) ON DELETE CASCADE,
    tag        TEXT    NOT NULL,
    PRIMARY KEY (pattern_id, tag)
);
CREATE INDEX pattern_tags_tag ON pattern_tags(tag);

-- Relays of a default config ('default', name), a proposer ('proposer', public key) or a pattern ('pattern', name).
CREATE TABLE relays (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_kind    TEXT    NOT NULL,
    owner         TEXT    NOT NULL,
    position      INTEGER NOT NULL,
    url           TEXT    NOT NULL,
    public_key    TEXT,
    fee_recipient TEXT,
    gas_limit     TEXT,
    grace         TEXT,
    min_value     TEXT,
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    UNIQUE (owner_kind, owner, url)
);
CREATE INDEX relays_owner ON relays(owner_kind, owner);

CREATE TABLE mux_configs (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL UNIQUE,
    created_at TEXT    NOT NULL,
    updated_at TEXT    NOT NULL
);

-- A key belongs to at most one mux: Commit-Boost refuses a key present in two muxes.
CREATE TABLE mux_keys (
    public_key TEXT    PRIMARY KEY,
    mux_id     INTEGER NOT NULL REFERENCES mux_configs(id) ON DELETE CASCADE,
    position   INTEGER NOT NULL
);
CREATE INDEX mux_keys_mux ON mux_keys(mux_id, position);
