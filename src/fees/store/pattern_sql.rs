//! Vouch proposer patterns (with tags and relays) and the lookup that feeds the execution-config builder.
//! Expanded once per backend by [`pattern_queries!`].

/// Expands the pattern queries inside a backend module (after [`super::vouch_sql::vouch_queries!`]).
macro_rules! pattern_queries {
    () => {
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

pub(crate) use pattern_queries;
