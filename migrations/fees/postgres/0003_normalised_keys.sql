-- Validator keys in one spelling: lowercase 0x hex, as every write stores them. The snapshot and Vouch
-- compare keys as bytes, so two spellings of one key would shadow each other; the unique indexes on the
-- lowercased keys keep any spelling from coming back. butler refuses to apply this migration while
-- duplicates exist (it lists them first), so the updates below cannot collide.

UPDATE proposers SET public_key = lower(public_key) WHERE public_key <> lower(public_key);
UPDATE relays SET owner = lower(owner) WHERE owner_kind = 'proposer' AND owner <> lower(owner);
UPDATE relays SET public_key = lower(public_key) WHERE public_key <> lower(public_key);
UPDATE mux_keys SET public_key = lower(public_key) WHERE public_key <> lower(public_key);

CREATE UNIQUE INDEX proposers_public_key_lower ON proposers (lower(public_key));
CREATE UNIQUE INDEX mux_keys_public_key_lower ON mux_keys (lower(public_key));

UPDATE config_version SET version = version + 1;
