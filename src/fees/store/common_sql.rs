//! Shared row helpers of both backends (expanded once per backend by [`common_queries!`]): decoding settings
//! and timestamps, reading and writing relays, building list filters.

/// Expands, inside a backend module that defines `Db`, `Conn` and `STRPOS`, the helpers the other query
/// macros use.
macro_rules! common_queries {
    () => {
        use std::collections::HashMap;

        use chrono::{DateTime, Utc};
        use sqlx::{QueryBuilder, Row};

        use crate::fees::{Conflict, FeesError, Kind};
        use crate::fees::model::*;

        type DbRow = <Db as sqlx::Database>::Row;

        /// Bound parameters per statement stay well under both backends' limits.
        const CHUNK: usize = 500;

        /// Begins a write transaction and bumps the configuration version first: every write (HTTP admin API,
        /// `butler fees`, import) changes the version servers compare their snapshot with, and concurrent
        /// writers queue on the version row.
        async fn begin_write(pool: &sqlx::Pool<Db>) -> Result<sqlx::Transaction<'static, Db>, sqlx::Error> {
            let mut tx = begin(pool).await?;
            sqlx::query(
                "INSERT INTO config_version (id, version) VALUES (1, 1) \
                 ON CONFLICT (id) DO UPDATE SET version = config_version.version + 1",
            )
            .execute(&mut *tx)
            .await?;
            Ok(tx)
        }

        /// Runs `write` in one write transaction ([`begin_write`]): committed when it succeeds, rolled back
        /// (dropped) when it fails.
        async fn in_write<T>(
            pool: &sqlx::Pool<Db>,
            write: impl AsyncFnOnce(&mut Conn) -> Result<T, FeesError>,
        ) -> Result<T, FeesError> {
            let mut tx = begin_write(pool).await?;
            let out = write(&mut *tx).await?;
            tx.commit().await?;
            Ok(out)
        }

        async fn version_in(c: &mut Conn) -> Result<i64, sqlx::Error> {
            let row = sqlx::query("SELECT version FROM config_version WHERE id = 1")
                .fetch_optional(&mut *c)
                .await?;
            row.map(|r| r.try_get(0)).transpose().map(Option::unwrap_or_default)
        }

        /// The configuration version (one primary-key lookup).
        pub async fn config_version(pool: &sqlx::Pool<Db>) -> Result<i64, FeesError> {
            let mut c = pool.acquire().await?;
            Ok(version_in(&mut c).await?)
        }

        /// Before the migrations run: refuses a store (written by an older butler) holding a validator key in
        /// two spellings, listing them, since migration 0003 makes keys lowercase and unique and cannot choose
        /// which entry is meant.
        pub async fn refuse_duplicate_keys(pool: &sqlx::Pool<Db>) -> Result<(), FeesError> {
            let mut c = pool.acquire().await?;
            let tables: i64 = sqlx::query(HAS_PROPOSERS).fetch_one(&mut *c).await?.try_get(0)?;
            if tables == 0 {
                return Ok(());
            }
            let mut found = Vec::new();
            for (what, table) in [("proposer", "proposers"), ("mux key", "mux_keys")] {
                let rows = sqlx::query(&format!(
                    "SELECT public_key FROM {table} WHERE lower(public_key) IN \
                     (SELECT lower(public_key) FROM {table} GROUP BY lower(public_key) HAVING COUNT(*) > 1) \
                     ORDER BY lower(public_key), public_key"
                ))
                .fetch_all(&mut *c)
                .await?;
                for row in rows {
                    let key: String = row.try_get(0)?;
                    found.push(format!("{what} '{key}'"));
                }
            }
            if found.is_empty() {
                return Ok(());
            }
            Err(FeesError::Config(format!(
                "the fee database holds validator keys in more than one spelling, which would shadow each other \
                 (keys are compared as bytes): {}. Keep one row of each key and delete the others (for a proposer: \
                 DELETE FROM relays WHERE owner_kind = 'proposer' AND owner = '<key>'; DELETE FROM proposers WHERE \
                 public_key = '<key>'; for a mux key: DELETE FROM mux_keys WHERE public_key = '<key>'), then start \
                 butler again: it then stores every key in lowercase and keeps them unique",
                found.join(", ")
            )))
        }

        fn settings_from(row: &DbRow) -> Result<Settings, sqlx::Error> {
            Ok(Settings {
                fee_recipient: row.try_get("fee_recipient")?,
                gas_limit: row.try_get("gas_limit")?,
                grace: row.try_get("grace")?,
                min_value: row.try_get("min_value")?,
            })
        }

        fn stamps_from(row: &DbRow) -> Result<Stamps, sqlx::Error> {
            Ok(Stamps {
                created_at: row.try_get("created_at")?,
                updated_at: row.try_get("updated_at")?,
            })
        }

        /// Relays of the given owners, by owner, in their stored order.
        async fn load_relays(
            c: &mut Conn,
            kind: &str,
            owners: &[String],
        ) -> Result<HashMap<String, Vec<Relay>>, sqlx::Error> {
            let mut out: HashMap<String, Vec<Relay>> = HashMap::new();
            for chunk in owners.chunks(CHUNK) {
                let mut qb = QueryBuilder::<Db>::new(
                    "SELECT id, owner, url, public_key, fee_recipient, gas_limit, grace, min_value, disabled \
                     FROM relays WHERE owner_kind = ",
                );
                qb.push_bind(kind.to_string()).push(" AND owner IN (");
                let mut sep = qb.separated(", ");
                for o in chunk {
                    sep.push_bind(o.clone());
                }
                qb.push(") ORDER BY owner, position");
                for row in qb.build().fetch_all(&mut *c).await? {
                    out.entry(row.try_get("owner")?)
                        .or_default()
                        .push(relay_from(&row)?);
                }
            }
            Ok(out)
        }

        fn relay_from(row: &DbRow) -> Result<Relay, sqlx::Error> {
            Ok(Relay {
                id: Some(row.try_get("id")?),
                url: row.try_get("url")?,
                public_key: row.try_get("public_key")?,
                settings: settings_from(row)?,
                disabled: row.try_get("disabled")?,
            })
        }

        /// All relays, by (kind, owner).
        async fn all_relays(
            c: &mut Conn,
        ) -> Result<HashMap<(String, String), Vec<Relay>>, sqlx::Error> {
            let rows = sqlx::query(
                "SELECT id, owner_kind, owner, url, public_key, fee_recipient, gas_limit, grace, min_value, disabled \
                 FROM relays ORDER BY owner_kind, owner, position",
            )
            .fetch_all(&mut *c)
            .await?;
            let mut out: HashMap<(String, String), Vec<Relay>> = HashMap::new();
            for row in rows {
                out.entry((row.try_get("owner_kind")?, row.try_get("owner")?))
                    .or_default()
                    .push(relay_from(&row)?);
            }
            Ok(out)
        }

        /// `.bind_settings(&s)` binds the settings in their column order: `fee_recipient, gas_limit, grace, min_value`.
        trait BindSettings<'q> {
            fn bind_settings(self, s: &'q Settings) -> Self;
        }

        impl<'q> BindSettings<'q> for sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments<'q>> {
            fn bind_settings(self, s: &'q Settings) -> Self {
                self.bind(&s.fee_recipient).bind(&s.gas_limit).bind(&s.grace).bind(&s.min_value)
            }
        }

        /// Replaces the relays of one owner.
        async fn write_relays(
            c: &mut Conn,
            kind: &str,
            owner: &str,
            relays: &[Relay],
        ) -> Result<(), sqlx::Error> {
            sqlx::query("DELETE FROM relays WHERE owner_kind = $1 AND owner = $2")
                .bind(kind)
                .bind(owner)
                .execute(&mut *c)
                .await?;
            for (i, r) in relays.iter().enumerate() {
                sqlx::query(
                    "INSERT INTO relays (owner_kind, owner, position, url, public_key, fee_recipient, gas_limit, \
                     grace, min_value, disabled) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(kind)
                .bind(owner)
                .bind(i as i64)
                .bind(&r.url)
                .bind(&r.public_key)
                .bind_settings(&r.settings)
                .bind(r.disabled)
                .execute(&mut *c)
                .await?;
            }
            Ok(())
        }

        async fn delete_relays(c: &mut Conn, kind: &str, owner: &str) -> Result<(), sqlx::Error> {
            sqlx::query("DELETE FROM relays WHERE owner_kind = $1 AND owner = $2")
                .bind(kind)
                .bind(owner)
                .execute(&mut *c)
                .await?;
            Ok(())
        }

        /// `AND <column> starts with <value>`; lowercased on both sides when `fold` (keys, addresses).
        fn push_prefix(qb: &mut QueryBuilder<'_, Db>, column: &str, value: &str, fold: bool) {
            let (col, val) = if fold {
                (format!("lower({column})"), value.to_ascii_lowercase())
            } else {
                (column.to_string(), value.to_string())
            };
            let len = i32::try_from(val.chars().count()).unwrap_or(i32::MAX);
            qb.push(format!(" AND substr({col}, 1, "))
                .push_bind(len)
                .push(") = ")
                .push_bind(val);
        }

        fn push_eq<'a, T>(qb: &mut QueryBuilder<'a, Db>, column: &str, value: T)
        where
            T: 'a + sqlx::Encode<'a, Db> + sqlx::Type<Db>,
        {
            qb.push(format!(" AND {column} = ")).push_bind(value);
        }

        fn push_settings_filter(
            qb: &mut QueryBuilder<'_, Db>,
            f: &SettingsFilter,
        ) {
            if let Some(v) = &f.fee_recipient {
                push_prefix(qb, "fee_recipient", v, true);
            }
            if let Some(v) = &f.gas_limit {
                push_eq(qb, "gas_limit", v.clone());
            }
            if let Some(v) = &f.min_value {
                push_eq(qb, "min_value", v.clone());
            }
        }

        fn now() -> DateTime<Utc> {
            let t = Utc::now();
            DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
        }

        fn page_of<T>(items: Vec<T>, total: i64, paging: Paging) -> Page<T> {
            Page {
                items,
                total,
                limit: paging.limit,
                offset: paging.offset,
            }
        }
    };
}

pub(crate) use common_queries;
