//! Vouch tables: default configs and proposers with their relays. Expanded once per backend by
//! [`vouch_queries!`].

/// Expands the Vouch queries inside a backend module (after [`super::common_sql::common_queries!`]).
macro_rules! vouch_queries {
    () => {
        const DEFAULT_COLS: &str =
            "name, fee_recipient, gas_limit, grace, min_value, active, created_at, updated_at";
        const PROPOSER_COLS: &str =
            "public_key, fee_recipient, gas_limit, grace, min_value, reset_relays, created_at, updated_at";
        const PATTERN_COLS: &str = "p.id, p.name, p.pattern, p.fee_recipient, p.gas_limit, p.grace, \
             p.min_value, p.reset_relays, p.created_at, p.updated_at";

        fn default_from(row: &DbRow) -> Result<Record<DefaultConfig>, sqlx::Error> {
            Ok(Record {
                item: DefaultConfig {
                    name: row.try_get("name")?,
                    settings: settings_from(row)?,
                    active: row.try_get("active")?,
                    relays: None,
                },
                stamps: stamps_from(row)?,
            })
        }

        fn proposer_from(row: &DbRow) -> Result<Record<Proposer>, sqlx::Error> {
            Ok(Record {
                item: Proposer {
                    public_key: row.try_get("public_key")?,
                    settings: settings_from(row)?,
                    reset_relays: row.try_get("reset_relays")?,
                    relays: None,
                },
                stamps: stamps_from(row)?,
            })
        }

        // ---- default configs ----

        fn push_default_filter(qb: &mut QueryBuilder<'_, Db>, f: &DefaultConfigFilter) {
            qb.push(" WHERE 1 = 1");
            if let Some(v) = &f.name {
                push_prefix(qb, "name", v, false);
            }
            push_settings_filter(qb, &f.fee_recipient, &f.gas_limit, &f.min_value);
            if let Some(v) = f.active {
                push_eq(qb, "active", v);
            }
        }

        pub async fn list_defaults(
            pool: &sqlx::Pool<Db>,
            f: &DefaultConfigFilter,
            paging: Paging,
        ) -> Result<Page<Record<DefaultConfig>>, FeesError> {
            let mut c = pool.acquire().await?;
            let mut count = QueryBuilder::<Db>::new("SELECT COUNT(*) FROM default_configs");
            push_default_filter(&mut count, f);
            let total: i64 = count.build().fetch_one(&mut *c).await?.try_get(0)?;
            let mut qb = QueryBuilder::<Db>::new(format!("SELECT {DEFAULT_COLS} FROM default_configs"));
            push_default_filter(&mut qb, f);
            qb.push(" ORDER BY name LIMIT ")
                .push_bind(paging.limit)
                .push(" OFFSET ")
                .push_bind(paging.offset);
            let rows = qb.build().fetch_all(&mut *c).await?;
            let items = rows.iter().map(default_from).collect::<Result<Vec<_>, _>>()?;
            Ok(page_of(items, total, paging))
        }

        async fn get_default_in(
            c: &mut Conn,
            name: &str,
        ) -> Result<Option<Record<DefaultConfig>>, sqlx::Error> {
            let row = sqlx::query(&format!("SELECT {DEFAULT_COLS} FROM default_configs WHERE name = $1"))
                .bind(name)
                .fetch_optional(&mut *c)
                .await?;
            let Some(row) = row else { return Ok(None) };
            let mut rec = default_from(&row)?;
            let mut relays = load_relays(c, "default", &[name.to_string()]).await?;
            rec.item.relays = Some(relays.remove(name).unwrap_or_default());
            Ok(Some(rec))
        }

        pub async fn get_default(
            pool: &sqlx::Pool<Db>,
            name: &str,
        ) -> Result<Option<Record<DefaultConfig>>, FeesError> {
            let mut c = pool.acquire().await?;
            Ok(get_default_in(&mut c, name).await?)
        }

        async fn insert_default(c: &mut Conn, d: &DefaultConfig) -> Result<(), FeesError> {
            let exists = sqlx::query("SELECT 1 FROM default_configs WHERE name = $1")
                .bind(&d.name)
                .fetch_optional(&mut *c)
                .await?;
            if exists.is_some() {
                return Err(FeesError::Conflict(format!(
                    "Default config '{}' already exists",
                    d.name
                )));
            }
            let t = now();
            sqlx::query(
                "INSERT INTO default_configs (name, fee_recipient, gas_limit, grace, min_value, active, \
                 created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&d.name)
            .bind(&d.settings.fee_recipient)
            .bind(&d.settings.gas_limit)
            .bind(&d.settings.grace)
            .bind(&d.settings.min_value)
            .bind(d.active)
            .bind(t)
            .bind(t)
            .execute(&mut *c)
            .await?;
            write_relays(c, "default", &d.name, d.relays.as_deref().unwrap_or_default()).await?;
            Ok(())
        }

        async fn update_default_in(c: &mut Conn, d: &DefaultConfig) -> Result<(), FeesError> {
            let done = sqlx::query(
                "UPDATE default_configs SET fee_recipient = $1, gas_limit = $2, grace = $3, min_value = $4, \
                 active = $5, updated_at = $6 WHERE name = $7",
            )
            .bind(&d.settings.fee_recipient)
            .bind(&d.settings.gas_limit)
            .bind(&d.settings.grace)
            .bind(&d.settings.min_value)
            .bind(d.active)
            .bind(now())
            .bind(&d.name)
            .execute(&mut *c)
            .await?;
            if done.rows_affected() == 0 {
                return Err(FeesError::NotFound(format!(
                    "Default config '{}' not found",
                    d.name
                )));
            }
            write_relays(c, "default", &d.name, d.relays.as_deref().unwrap_or_default()).await?;
            Ok(())
        }

        async fn delete_default_in(c: &mut Conn, name: &str) -> Result<bool, sqlx::Error> {
            let done = sqlx::query("DELETE FROM default_configs WHERE name = $1")
                .bind(name)
                .execute(&mut *c)
                .await?;
            delete_relays(c, "default", name).await?;
            Ok(done.rows_affected() > 0)
        }

        pub async fn create_default(
            pool: &sqlx::Pool<Db>,
            d: &DefaultConfig,
        ) -> Result<Record<DefaultConfig>, FeesError> {
            let mut tx = begin(pool).await?;
            insert_default(&mut tx, d).await?;
            let rec = get_default_in(&mut tx, &d.name).await?;
            tx.commit().await?;
            rec.ok_or_else(|| FeesError::NotFound(format!("Default config '{}' not found", d.name)))
        }

        pub async fn update_default(
            pool: &sqlx::Pool<Db>,
            d: &DefaultConfig,
        ) -> Result<Record<DefaultConfig>, FeesError> {
            let mut tx = begin(pool).await?;
            update_default_in(&mut tx, d).await?;
            let rec = get_default_in(&mut tx, &d.name).await?;
            tx.commit().await?;
            rec.ok_or_else(|| FeesError::NotFound(format!("Default config '{}' not found", d.name)))
        }

        pub async fn delete_default(pool: &sqlx::Pool<Db>, name: &str) -> Result<bool, FeesError> {
            let mut tx = begin(pool).await?;
            let found = delete_default_in(&mut tx, name).await?;
            tx.commit().await?;
            Ok(found)
        }

        // ---- proposers ----

        fn push_proposer_filter(qb: &mut QueryBuilder<'_, Db>, f: &ProposerFilter) {
            qb.push(" WHERE 1 = 1");
            if let Some(v) = &f.public_key {
                push_prefix(qb, "public_key", v, true);
            }
            push_settings_filter(qb, &f.fee_recipient, &f.gas_limit, &f.min_value);
            if let Some(v) = f.reset_relays {
                push_eq(qb, "reset_relays", v);
            }
        }

        pub async fn list_proposers(
            pool: &sqlx::Pool<Db>,
            f: &ProposerFilter,
            paging: Paging,
        ) -> Result<Page<Record<Proposer>>, FeesError> {
            let mut c = pool.acquire().await?;
            let mut count = QueryBuilder::<Db>::new("SELECT COUNT(*) FROM proposers");
            push_proposer_filter(&mut count, f);
            let total: i64 = count.build().fetch_one(&mut *c).await?.try_get(0)?;
            let mut qb = QueryBuilder::<Db>::new(format!("SELECT {PROPOSER_COLS} FROM proposers"));
            push_proposer_filter(&mut qb, f);
            qb.push(" ORDER BY public_key LIMIT ")
                .push_bind(paging.limit)
                .push(" OFFSET ")
                .push_bind(paging.offset);
            let rows = qb.build().fetch_all(&mut *c).await?;
            let items = rows.iter().map(proposer_from).collect::<Result<Vec<_>, _>>()?;
            Ok(page_of(items, total, paging))
        }

        /// Proposers for these keys (those that exist), with relays, by key.
        async fn proposers_by_keys(
            c: &mut Conn,
            keys: &[String],
        ) -> Result<HashMap<String, Record<Proposer>>, sqlx::Error> {
            let mut out = HashMap::new();
            for chunk in keys.chunks(CHUNK) {
                let mut qb = QueryBuilder::<Db>::new(format!(
                    "SELECT {PROPOSER_COLS} FROM proposers WHERE public_key IN ("
                ));
                let mut sep = qb.separated(", ");
                for k in chunk {
                    sep.push_bind(k.clone());
                }
                qb.push(")");
                for row in qb.build().fetch_all(&mut *c).await? {
                    let p = proposer_from(&row)?;
                    out.insert(p.item.public_key.clone(), p);
                }
            }
            let found: Vec<String> = out.keys().cloned().collect();
            let mut relays = load_relays(c, "proposer", &found).await?;
            for (k, p) in out.iter_mut() {
                p.item.relays = Some(relays.remove(k).unwrap_or_default());
            }
            Ok(out)
        }

        pub async fn get_proposer(
            pool: &sqlx::Pool<Db>,
            key: &str,
        ) -> Result<Option<Record<Proposer>>, FeesError> {
            let mut c = pool.acquire().await?;
            Ok(proposers_by_keys(&mut c, &[key.to_string()]).await?.remove(key))
        }

        /// Inserts or replaces a proposer; true when it was created.
        async fn upsert_proposer(c: &mut Conn, p: &Proposer) -> Result<bool, FeesError> {
            let existed = sqlx::query("SELECT 1 FROM proposers WHERE public_key = $1")
                .bind(&p.public_key)
                .fetch_optional(&mut *c)
                .await?
                .is_some();
            let t = now();
            sqlx::query(
                "INSERT INTO proposers (public_key, fee_recipient, gas_limit, grace, min_value, reset_relays, \
                 created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT (public_key) DO UPDATE SET fee_recipient = excluded.fee_recipient, \
                 gas_limit = excluded.gas_limit, grace = excluded.grace, min_value = excluded.min_value, \
                 reset_relays = excluded.reset_relays, updated_at = excluded.updated_at",
            )
            .bind(&p.public_key)
            .bind(&p.settings.fee_recipient)
            .bind(&p.settings.gas_limit)
            .bind(&p.settings.grace)
            .bind(&p.settings.min_value)
            .bind(p.reset_relays)
            .bind(t)
            .bind(t)
            .execute(&mut *c)
            .await?;
            write_relays(c, "proposer", &p.public_key, p.relays.as_deref().unwrap_or_default()).await?;
            Ok(!existed)
        }

        async fn delete_proposer_in(c: &mut Conn, key: &str) -> Result<bool, sqlx::Error> {
            let done = sqlx::query("DELETE FROM proposers WHERE public_key = $1")
                .bind(key)
                .execute(&mut *c)
                .await?;
            delete_relays(c, "proposer", key).await?;
            Ok(done.rows_affected() > 0)
        }

        pub async fn put_proposer(
            pool: &sqlx::Pool<Db>,
            p: &Proposer,
        ) -> Result<(Record<Proposer>, bool), FeesError> {
            let mut tx = begin(pool).await?;
            let created = upsert_proposer(&mut tx, p).await?;
            let rec = proposers_by_keys(&mut tx, std::slice::from_ref(&p.public_key))
                .await?
                .remove(&p.public_key);
            tx.commit().await?;
            let rec = rec.ok_or_else(|| {
                FeesError::NotFound(format!("Proposer '{}' not found", p.public_key))
            })?;
            Ok((rec, created))
        }

        pub async fn delete_proposer(pool: &sqlx::Pool<Db>, key: &str) -> Result<bool, FeesError> {
            let mut tx = begin(pool).await?;
            let found = delete_proposer_in(&mut tx, key).await?;
            tx.commit().await?;
            Ok(found)
        }

    };
}

pub(crate) use vouch_queries;
