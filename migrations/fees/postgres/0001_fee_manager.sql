-- Fee manager schema (PostgreSQL). Numbers are stored as canonical decimal strings, exactly as served.
-- Text keys use the "C" collation so ordering matches SQLite's byte order.

CREATE TABLE default_configs (
    id            BIGSERIAL   PRIMARY KEY,
    name          TEXT        COLLATE "C" NOT NULL UNIQUE,
    fee_recipient TEXT        COLLATE "C",
    gas_limit     TEXT        COLLATE "C",
    grace         TEXT        COLLATE "C",
    min_value     TEXT        COLLATE "C",
    active        BOOLEAN     NOT NULL DEFAULT TRUE,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE proposers (
    public_key    TEXT        COLLATE "C" PRIMARY KEY,
    fee_recipient TEXT        COLLATE "C",
    gas_limit     TEXT        COLLATE "C",
    grace         TEXT        COLLATE "C",
    min_value     TEXT        COLLATE "C",
    reset_relays  BOOLEAN     NOT NULL DEFAULT FALSE,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE proposer_patterns (
    id            BIGSERIAL   PRIMARY KEY,
    name          TEXT        COLLATE "C" NOT NULL UNIQUE,
    pattern       TEXT        COLLATE "C" NOT NULL,
    fee_recipient TEXT        COLLATE "C",
    gas_limit     TEXT        COLLATE "C",
    grace         TEXT        COLLATE "C",
    min_value     TEXT        COLLATE "C",
    reset_relays  BOOLEAN     NOT NULL DEFAULT FALSE,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE pattern_tags (
    pattern_id BIGINT NOT NULL REFERENCES proposer_patterns(id) ON DELETE CASCADE,
    tag        TEXT   COLLATE "C" NOT NULL,
    PRIMARY KEY (pattern_id, tag)
);
CREATE INDEX pattern_tags_tag ON pattern_tags(tag);

-- Relays of a default config ('default', name), a proposer ('proposer', public key) or a pattern ('pattern', name).
CREATE TABLE relays (
    id            BIGSERIAL PRIMARY KEY,
    owner_kind    TEXT      COLLATE "C" NOT NULL,
    owner         TEXT      COLLATE "C" NOT NULL,
    position      BIGINT    NOT NULL,
    url           TEXT      COLLATE "C" NOT NULL,
    public_key    TEXT      COLLATE "C",
    fee_recipient TEXT      COLLATE "C",
    gas_limit     TEXT      COLLATE "C",
    grace         TEXT      COLLATE "C",
    min_value     TEXT      COLLATE "C",
    disabled      BOOLEAN   NOT NULL DEFAULT FALSE,
    UNIQUE (owner_kind, owner, url)
);
CREATE INDEX relays_owner ON relays(owner_kind, owner);

CREATE TABLE mux_configs (
    id         BIGSERIAL   PRIMARY KEY,
    name       TEXT        COLLATE "C" NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- A key belongs to at most one mux: Commit-Boost refuses a key present in two muxes.
CREATE TABLE mux_keys (
    public_key TEXT   COLLATE "C" PRIMARY KEY,
    mux_id     BIGINT NOT NULL REFERENCES mux_configs(id) ON DELETE CASCADE,
    position   BIGINT NOT NULL
);
CREATE INDEX mux_keys_mux ON mux_keys(mux_id, position);
