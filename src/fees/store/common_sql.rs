//! Shared row helpers of both backends (expanded once per backend by [`common_queries!`]): decoding settings
//! and timestamps, reading and writing relays, building list filters.

/// Expands, inside a backend module that defines `Db`, `Conn` and `STRPOS`, the helpers the other query
/// macros use.
macro_rules! common_queries {
    () => {
        use std::collections::HashMap;

        use chrono::{DateTime, Utc};
        use sqlx::{QueryBuilder, Row};

        use crate::fees::FeesError;
        use crate::fees::model::*;

        type DbRow = <Db as sqlx::Database>::Row;

        /// Bound parameters per statement stay well under both backends' limits.
        const CHUNK: usize = 500;

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
                .bind(&r.settings.fee_recipient)
                .bind(&r.settings.gas_limit)
                .bind(&r.settings.grace)
                .bind(&r.settings.min_value)
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
            fee_recipient: &Option<String>,
            gas_limit: &Option<String>,
            min_value: &Option<String>,
        ) {
            if let Some(v) = fee_recipient {
                push_prefix(qb, "fee_recipient", v, true);
            }
            if let Some(v) = gas_limit {
                push_eq(qb, "gas_limit", v.clone());
            }
            if let Some(v) = min_value {
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
