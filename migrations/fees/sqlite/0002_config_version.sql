-- The configuration version: one row, bumped inside every write transaction (HTTP admin API and
-- `butler fees` alike). Servers compare it with the version of their in-memory snapshot on every public
-- request and reload when it changed. Idempotent: an existing table and row are kept.

CREATE TABLE IF NOT EXISTS config_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO config_version (id, version) VALUES (1, 1) ON CONFLICT (id) DO NOTHING;
