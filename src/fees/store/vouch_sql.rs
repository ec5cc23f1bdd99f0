//! Vouch tables: default configs, proposers, proposer patterns (with tags) and their relays, and the lookup
//! that feeds the execution-config builder. Expanded once per backend by [`vouch_queries!`].

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

        fn pattern_from(row: &DbRow) -> Result<(i64, Record<Pattern>), sqlx::Error> {
            Ok((
                row.try_get("id")?,
                Record {
                    item: Pattern {
                        name: row.try_get("name")?,
                        pattern: row.try_get("pattern")?,
                        tags: Vec::new(),
                        settings: settings_from(row)?,
                        reset_relays: row.try_get("reset_relays")?,
                        relays: None,
                    },
                    stamps: stamps_from(row)?,
                },
            ))
        }

        /// Fills the tags of patterns (by row id).
        async fn fill_tags(
            c: &mut Conn,
            patterns: &mut [(i64, Record<Pattern>)],
        ) -> Result<(), sqlx::Error> {
            for chunk in patterns.chunks_mut(CHUNK) {
                let mut qb = QueryBuilder::<Db>::new(
                    "SELECT pattern_id, tag FROM pattern_tags WHERE pattern_id IN (",
                );
                let mut sep = qb.separated(", ");
                for (id, _) in chunk.iter() {
                    sep.push_bind(*id);
                }
                qb.push(") ORDER BY tag");
                let mut tags: HashMap<i64, Vec<String>> = HashMap::new();
                for row in qb.build().fetch_all(&mut *c).await? {
                    tags.entry(row.try_get("pattern_id")?)
                        .or_default()
                        .push(row.try_get("tag")?);
                }
                for (id, p) in chunk.iter_mut() {
                    p.item.tags = tags.remove(id).unwrap_or_default();
                }
            }
            Ok(())
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
            let rec = proposers_by_keys(&mut tx, &[p.public_key.clone()])
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

        // ---- proposer patterns ----

        fn push_pattern_filter(qb: &mut QueryBuilder<'_, Db>, f: &PatternFilter) {
            qb.push(" WHERE 1 = 1");
            if let Some(v) = &f.name {
                push_prefix(qb, "p.name", v, false);
            }
            if let Some(v) = &f.pattern {
                qb.push(format!(" AND {STRPOS}(p.pattern, "))
                    .push_bind(v.clone())
                    .push(") > 0");
            }
            if let Some(v) = &f.tag {
                qb.push(" AND EXISTS (SELECT 1 FROM pattern_tags t WHERE t.pattern_id = p.id AND t.tag = ")
                    .push_bind(v.clone())
                    .push(")");
            }
            if let Some(v) = &f.fee_recipient {
                push_prefix(qb, "p.fee_recipient", v, true);
            }
            if let Some(v) = &f.gas_limit {
                push_eq(qb, "p.gas_limit", v.clone());
            }
            if let Some(v) = &f.min_value {
                push_eq(qb, "p.min_value", v.clone());
            }
            if let Some(v) = f.reset_relays {
                push_eq(qb, "p.reset_relays", v);
            }
        }

        pub async fn list_patterns(
            pool: &sqlx::Pool<Db>,
            f: &PatternFilter,
            paging: Paging,
        ) -> Result<Page<Record<Pattern>>, FeesError> {
            let mut c = pool.acquire().await?;
            let mut count = QueryBuilder::<Db>::new("SELECT COUNT(*) FROM proposer_patterns p");
            push_pattern_filter(&mut count, f);
            let total: i64 = count.build().fetch_one(&mut *c).await?.try_get(0)?;
            let mut qb = QueryBuilder::<Db>::new(format!("SELECT {PATTERN_COLS} FROM proposer_patterns p"));
            push_pattern_filter(&mut qb, f);
            qb.push(" ORDER BY p.name LIMIT ")
                .push_bind(paging.limit)
                .push(" OFFSET ")
                .push_bind(paging.offset);
            let rows = qb.build().fetch_all(&mut *c).await?;
            let mut items = rows.iter().map(pattern_from).collect::<Result<Vec<_>, _>>()?;
            fill_tags(&mut c, &mut items).await?;
            Ok(page_of(items.into_iter().map(|(_, p)| p).collect(), total, paging))
        }

        async fn get_pattern_in(
            c: &mut Conn,
            name: &str,
        ) -> Result<Option<Record<Pattern>>, sqlx::Error> {
            let row = sqlx::query(&format!(
                "SELECT {PATTERN_COLS} FROM proposer_patterns p WHERE p.name = $1"
            ))
            .bind(name)
            .fetch_optional(&mut *c)
            .await?;
            let Some(row) = row else { return Ok(None) };
            let mut one = vec![pattern_from(&row)?];
            fill_tags(c, &mut one).await?;
            let Some((_, mut rec)) = one.pop() else { return Ok(None) };
            let mut relays = load_relays(c, "pattern", &[name.to_string()]).await?;
            rec.item.relays = Some(relays.remove(name).unwrap_or_default());
            Ok(Some(rec))
        }

        pub async fn get_pattern(
            pool: &sqlx::Pool<Db>,
            name: &str,
        ) -> Result<Option<Record<Pattern>>, FeesError> {
            let mut c = pool.acquire().await?;
            Ok(get_pattern_in(&mut c, name).await?)
        }

        async fn write_tags(c: &mut Conn, id: i64, tags: &[String]) -> Result<(), sqlx::Error> {
            sqlx::query("DELETE FROM pattern_tags WHERE pattern_id = $1")
                .bind(id)
                .execute(&mut *c)
                .await?;
            for t in tags {
                sqlx::query("INSERT INTO pattern_tags (pattern_id, tag) VALUES ($1, $2)")
                    .bind(id)
                    .bind(t)
                    .execute(&mut *c)
                    .await?;
            }
            Ok(())
        }

        async fn insert_pattern(c: &mut Conn, p: &Pattern) -> Result<(), FeesError> {
            let exists = sqlx::query("SELECT 1 FROM proposer_patterns WHERE name = $1")
                .bind(&p.name)
                .fetch_optional(&mut *c)
                .await?;
            if exists.is_some() {
                return Err(FeesError::Conflict(format!(
                    "Proposer pattern '{}' already exists",
                    p.name
                )));
            }
            let t = now();
            let id: i64 = sqlx::query(
                "INSERT INTO proposer_patterns (name, pattern, fee_recipient, gas_limit, grace, min_value, \
                 reset_relays, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
            )
            .bind(&p.name)
            .bind(&p.pattern)
            .bind(&p.settings.fee_recipient)
            .bind(&p.settings.gas_limit)
            .bind(&p.settings.grace)
            .bind(&p.settings.min_value)
            .bind(p.reset_relays)
            .bind(t)
            .bind(t)
            .fetch_one(&mut *c)
            .await?
            .try_get(0)?;
            write_tags(c, id, &p.tags).await?;
            write_relays(c, "pattern", &p.name, p.relays.as_deref().unwrap_or_default()).await?;
            Ok(())
        }

        async fn update_pattern_in(c: &mut Conn, p: &Pattern) -> Result<(), FeesError> {
            let row = sqlx::query(
                "UPDATE proposer_patterns SET pattern = $1, fee_recipient = $2, gas_limit = $3, grace = $4, \
                 min_value = $5, reset_relays = $6, updated_at = $7 WHERE name = $8 RETURNING id",
            )
            .bind(&p.pattern)
            .bind(&p.settings.fee_recipient)
            .bind(&p.settings.gas_limit)
            .bind(&p.settings.grace)
            .bind(&p.settings.min_value)
            .bind(p.reset_relays)
            .bind(now())
            .bind(&p.name)
            .fetch_optional(&mut *c)
            .await?;
            let Some(row) = row else {
                return Err(FeesError::NotFound(format!(
                    "Proposer pattern '{}' not found",
                    p.name
                )));
            };
            write_tags(c, row.try_get(0)?, &p.tags).await?;
            write_relays(c, "pattern", &p.name, p.relays.as_deref().unwrap_or_default()).await?;
            Ok(())
        }

        async fn delete_pattern_in(c: &mut Conn, name: &str) -> Result<bool, sqlx::Error> {
            sqlx::query(
                "DELETE FROM pattern_tags WHERE pattern_id IN (SELECT id FROM proposer_patterns WHERE name = $1)",
            )
            .bind(name)
            .execute(&mut *c)
            .await?;
            let done = sqlx::query("DELETE FROM proposer_patterns WHERE name = $1")
                .bind(name)
                .execute(&mut *c)
                .await?;
            delete_relays(c, "pattern", name).await?;
            Ok(done.rows_affected() > 0)
        }

        pub async fn create_pattern(
            pool: &sqlx::Pool<Db>,
            p: &Pattern,
        ) -> Result<Record<Pattern>, FeesError> {
            let mut tx = begin(pool).await?;
            insert_pattern(&mut tx, p).await?;
            let rec = get_pattern_in(&mut tx, &p.name).await?;
            tx.commit().await?;
            rec.ok_or_else(|| FeesError::NotFound(format!("Proposer pattern '{}' not found", p.name)))
        }

        pub async fn update_pattern(
            pool: &sqlx::Pool<Db>,
            p: &Pattern,
        ) -> Result<Record<Pattern>, FeesError> {
            let mut tx = begin(pool).await?;
            update_pattern_in(&mut tx, p).await?;
            let rec = get_pattern_in(&mut tx, &p.name).await?;
            tx.commit().await?;
            rec.ok_or_else(|| FeesError::NotFound(format!("Proposer pattern '{}' not found", p.name)))
        }

        pub async fn delete_pattern(pool: &sqlx::Pool<Db>, name: &str) -> Result<bool, FeesError> {
            let mut tx = begin(pool).await?;
            let found = delete_pattern_in(&mut tx, name).await?;
            tx.commit().await?;
            Ok(found)
        }

        // ---- execution config ----

        /// The default config (active), the proposers among `keys` (in request order) and the patterns
        /// carrying any of `tags` (ordered by name), read in one transaction.
        pub async fn execution_inputs(
            pool: &sqlx::Pool<Db>,
            config: &str,
            keys: &[String],
            tags: &[String],
        ) -> Result<(DefaultConfig, Vec<Proposer>, Vec<Pattern>), FeesError> {
            let mut tx = pool.begin().await?;
            let Some(default) = get_default_in(&mut tx, config).await? else {
                return Err(FeesError::NotFound(format!("Default config '{config}' not found")));
            };
            if !default.item.active {
                return Err(FeesError::NotFound(format!(
                    "Default config '{config}' is not active"
                )));
            }
            let mut found = proposers_by_keys(&mut tx, keys).await?;
            let mut proposers = Vec::with_capacity(found.len());
            for k in keys {
                if let Some(p) = found.remove(k) {
                    proposers.push(p.item);
                }
            }
            let mut patterns = Vec::new();
            if !tags.is_empty() {
                let mut qb = QueryBuilder::<Db>::new(format!(
                    "SELECT {PATTERN_COLS} FROM proposer_patterns p WHERE EXISTS (SELECT 1 FROM pattern_tags t \
                     WHERE t.pattern_id = p.id AND t.tag IN ("
                ));
                let mut sep = qb.separated(", ");
                for t in tags {
                    sep.push_bind(t.clone());
                }
                qb.push(")) ORDER BY p.name");
                let rows = qb.build().fetch_all(&mut *tx).await?;
                let mut items = rows.iter().map(pattern_from).collect::<Result<Vec<_>, _>>()?;
                fill_tags(&mut tx, &mut items).await?;
                let names: Vec<String> = items.iter().map(|(_, p)| p.item.name.clone()).collect();
                let mut relays = load_relays(&mut tx, "pattern", &names).await?;
                for (_, mut p) in items {
                    p.item.relays = Some(relays.remove(&p.item.name).unwrap_or_default());
                    patterns.push(p.item);
                }
                patterns.sort_by(|a: &Pattern, b: &Pattern| a.name.as_bytes().cmp(b.name.as_bytes()));
            }
            tx.commit().await?;
            Ok((default.item, proposers, patterns))
        }
    };
}

pub(crate) use vouch_queries;
