-- The watcher's event store in PostgreSQL (versions 1000-1999; the fee manager's are 1-999, and each
-- migrator ignores the other's, so both can live in one database). Tables in the default schema.

-- The immutable event log, in canonical order (block, transaction index, log index). `payload` holds the
-- decoded arguments by name (numbers as decimal strings, addresses checksummed, bytes as 0x hex).
CREATE TABLE chain_event (
    id                BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workflow_id       VARCHAR(66),
    event_type        TEXT        NOT NULL,
    payload           JSONB       NOT NULL,
    block_number      BIGINT      NOT NULL,
    transaction_index BIGINT      NOT NULL,
    log_index         BIGINT      NOT NULL,
    tx_hash           VARCHAR(66) NOT NULL,
    block_hash        VARCHAR(66) NOT NULL,
    block_timestamp   BIGINT      NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    chain_id          BIGINT      NOT NULL,
    source            TEXT        NOT NULL,
    address           VARCHAR(42) NOT NULL,
    tx_from           VARCHAR(42),
    UNIQUE (tx_hash, log_index)
);
CREATE INDEX chain_event_order ON chain_event (block_number, transaction_index, log_index);
CREATE INDEX chain_event_workflow ON chain_event (workflow_id) WHERE workflow_id IS NOT NULL;

-- Workflows derived by the reducer: upserted as events arrive, rebuilt (truncate + insert) on a rollback.
CREATE TABLE workflow_state (
    workflow_id          VARCHAR(66) PRIMARY KEY,
    status               TEXT        NOT NULL CHECK (status IN ('RUNNING', 'COMPLETED', 'FAILED', 'REJECTED')),
    initiator            VARCHAR(42),
    started_at           BIGINT,
    completed_at         BIGINT,
    failure_reason       TEXT,
    last_event_block     BIGINT      NOT NULL,
    last_event_log_index BIGINT      NOT NULL
);

-- The checkpoint: one row, moved in the transaction that writes its events. `checkpoint` is the whole
-- checkpoint as JSON (as `indexer_state.json` holds it); the plain columns repeat its main fields.
CREATE TABLE watcher_checkpoint (
    id              SMALLINT    PRIMARY KEY CHECK (id = 1),
    chain_id        BIGINT      NOT NULL,
    last_block      BIGINT,
    last_block_hash VARCHAR(66),
    state_hash      VARCHAR(66) NOT NULL,
    events          BIGINT      NOT NULL,
    reorgs          BIGINT      NOT NULL,
    checkpoint      JSONB       NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- The indexer holding the writer's advisory lock (written when it takes the lock).
CREATE TABLE watcher_writer (
    id      SMALLINT    PRIMARY KEY CHECK (id = 1),
    host    TEXT        NOT NULL,
    pid     BIGINT      NOT NULL,
    command TEXT        NOT NULL,
    since   TIMESTAMPTZ NOT NULL
);
