//! The generic path of the three Vouch entities ([`super::entity::Entity`]): decoding rows and list filters
//! per entity, then one list, read, delete and relay/tag attachment for all of them. Expanded once per
//! backend by [`entity_queries!`].

/// Expands the entity queries inside a backend module (after [`super::common_sql::common_queries!`]).
macro_rules! entity_queries {
    () => {
        use crate::fees::store::entity::Entity;

        /// What the generic queries need of an entity on this backend.
        pub trait Rows: Entity {
            /// The entity from a row of [`Entity::COLUMNS`] (no relays, no tags).
            fn from_row(row: &DbRow) -> Result<Record<Self>, sqlx::Error>;
            /// `AND ...` for each filter given (columns of `e`).
            fn push_filter(qb: &mut QueryBuilder<'_, Db>, f: &Self::Filter);
        }

        impl Rows for DefaultConfig {
            fn from_row(row: &DbRow) -> Result<Record<Self>, sqlx::Error> {
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

            fn push_filter(qb: &mut QueryBuilder<'_, Db>, f: &DefaultConfigFilter) {
                if let Some(v) = &f.name {
                    push_prefix(qb, "e.name", v, false);
                }
                push_settings_filter(qb, &f.settings);
                if let Some(v) = f.active {
                    push_eq(qb, "e.active", v);
                }
            }
        }

        impl Rows for Proposer {
            fn from_row(row: &DbRow) -> Result<Record<Self>, sqlx::Error> {
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

            fn push_filter(qb: &mut QueryBuilder<'_, Db>, f: &ProposerFilter) {
                if let Some(v) = &f.public_key {
                    push_prefix(qb, "e.public_key", v, true);
                }
                push_settings_filter(qb, &f.settings);
                if let Some(v) = f.reset_relays {
                    push_eq(qb, "e.reset_relays", v);
                }
            }
        }

        impl Rows for Pattern {
            fn from_row(row: &DbRow) -> Result<Record<Self>, sqlx::Error> {
                Ok(Record {
                    item: Pattern {
                        name: row.try_get("name")?,
                        pattern: row.try_get("pattern")?,
                        tags: Vec::new(),
                        settings: settings_from(row)?,
                        reset_relays: row.try_get("reset_relays")?,
                        relays: None,
                    },
                    stamps: stamps_from(row)?,
                })
            }

            fn push_filter(qb: &mut QueryBuilder<'_, Db>, f: &PatternFilter) {
                if let Some(v) = &f.name {
                    push_prefix(qb, "e.name", v, false);
                }
                if let Some(v) = &f.pattern {
                    qb.push(format!(" AND {STRPOS}(e.pattern, "))
                        .push_bind(v.clone())
                        .push(") > 0");
                }
                if let Some(v) = &f.tag {
                    qb.push(" AND EXISTS (SELECT 1 FROM pattern_tags t WHERE t.pattern_id = e.id AND t.tag = ")
                        .push_bind(v.clone())
                        .push(")");
                }
                push_settings_filter(qb, &f.settings);
                if let Some(v) = f.reset_relays {
                    push_eq(qb, "e.reset_relays", v);
                }
            }
        }

        /// Tags of patterns by name: of the given names, or of all patterns.
        async fn tags_by_name(
            c: &mut Conn,
            names: Option<&[String]>,
        ) -> Result<HashMap<String, Vec<String>>, sqlx::Error> {
            let base = "SELECT p.name, t.tag FROM pattern_tags t JOIN proposer_patterns p ON p.id = t.pattern_id";
            let mut out: HashMap<String, Vec<String>> = HashMap::new();
            let chunks: Vec<Option<&[String]>> = match names {
                None => vec![None],
                Some(n) => n.chunks(CHUNK).map(Some).collect(),
            };
            for chunk in chunks {
                let mut qb = QueryBuilder::<Db>::new(base);
                if let Some(chunk) = chunk {
                    qb.push(" WHERE p.name IN (");
                    let mut sep = qb.separated(", ");
                    for n in chunk {
                        sep.push_bind(n.clone());
                    }
                    qb.push(")");
                }
                qb.push(" ORDER BY p.name, t.tag");
                for row in qb.build().fetch_all(&mut *c).await? {
                    out.entry(row.try_get(0)?).or_default().push(row.try_get(1)?);
                }
            }
            Ok(out)
        }

        /// Attaches relays (and tags) to records read without them.
        async fn attach<E: Rows>(c: &mut Conn, items: &mut [Record<E>]) -> Result<(), sqlx::Error> {
            let keys: Vec<String> = items.iter().map(|r| r.item.key().to_string()).collect();
            let mut relays = load_relays(c, E::OWNER, &keys).await?;
            let mut tags = if E::TAGGED {
                tags_by_name(c, Some(&keys)).await?
            } else {
                HashMap::new()
            };
            for r in items.iter_mut() {
                let key = r.item.key().to_string();
                r.item.set_relays(relays.remove(&key).unwrap_or_default());
                r.item.set_tags(tags.remove(&key).unwrap_or_default());
            }
            Ok(())
        }

        /// Every row of the entity's table, by key (no relays, no tags).
        async fn all_rows<E: Rows>(c: &mut Conn) -> Result<Vec<Record<E>>, sqlx::Error> {
            let rows = sqlx::query(&format!(
                "SELECT {} FROM {} e ORDER BY e.{}",
                E::COLUMNS,
                E::TABLE,
                E::KEY
            ))
            .fetch_all(&mut *c)
            .await?;
            rows.iter().map(E::from_row).collect()
        }

        /// One page of the entity's list (without relays, with tags), filters AND-combined, by key.
        pub async fn list<E: Rows>(
            pool: &sqlx::Pool<Db>,
            f: &E::Filter,
            paging: Paging,
        ) -> Result<Page<Record<E>>, FeesError> {
            let mut c = pool.acquire().await?;
            let mut count = QueryBuilder::<Db>::new(format!("SELECT COUNT(*) FROM {} e WHERE 1 = 1", E::TABLE));
            E::push_filter(&mut count, f);
            let total: i64 = count.build().fetch_one(&mut *c).await?.try_get(0)?;
            let mut qb = QueryBuilder::<Db>::new(format!("SELECT {} FROM {} e WHERE 1 = 1", E::COLUMNS, E::TABLE));
            E::push_filter(&mut qb, f);
            qb.push(format!(" ORDER BY e.{} LIMIT ", E::KEY))
                .push_bind(paging.limit)
                .push(" OFFSET ")
                .push_bind(paging.offset);
            let rows = qb.build().fetch_all(&mut *c).await?;
            let mut items = rows.iter().map(E::from_row).collect::<Result<Vec<_>, _>>()?;
            if E::TAGGED {
                let keys: Vec<String> = items.iter().map(|r| r.item.key().to_string()).collect();
                let mut tags = tags_by_name(&mut c, Some(&keys)).await?;
                for r in items.iter_mut() {
                    let key = r.item.key().to_string();
                    r.item.set_tags(tags.remove(&key).unwrap_or_default());
                }
            }
            Ok(page_of(items, total, paging))
        }

        /// One entry with its relays (and tags).
        async fn get_in<E: Rows>(c: &mut Conn, key: &str) -> Result<Option<Record<E>>, sqlx::Error> {
            let row = sqlx::query(&format!(
                "SELECT {} FROM {} e WHERE e.{} = $1",
                E::COLUMNS,
                E::TABLE,
                E::KEY
            ))
            .bind(key)
            .fetch_optional(&mut *c)
            .await?;
            let Some(row) = row else { return Ok(None) };
            let mut one = [E::from_row(&row)?];
            attach(c, &mut one).await?;
            let [rec] = one;
            Ok(Some(rec))
        }

        pub async fn get<E: Rows>(pool: &sqlx::Pool<Db>, key: &str) -> Result<Option<Record<E>>, FeesError> {
            let mut c = pool.acquire().await?;
            Ok(get_in::<E>(&mut c, key).await?)
        }

        /// The entry just written, read back in the same transaction.
        async fn written<E: Rows>(c: &mut Conn, key: &str) -> Result<Record<E>, FeesError> {
            get_in::<E>(c, key)
                .await?
                .ok_or_else(|| FeesError::not_found(E::KIND, key))
        }

        /// Runs one write in its own transaction and answers the entry as written (key `key`) with what the
        /// write returned.
        async fn write_one<E: Rows, T>(
            pool: &sqlx::Pool<Db>,
            key: &str,
            write: impl AsyncFnOnce(&mut Conn) -> Result<T, FeesError>,
        ) -> Result<(Record<E>, T), FeesError> {
            in_write(pool, async |c| {
                let out = write(&mut *c).await?;
                Ok((written::<E>(c, key).await?, out))
            })
            .await
        }

        /// Deletes an entry with its relays (tags go with the row); false when there was none.
        async fn delete_in<E: Rows>(c: &mut Conn, key: &str) -> Result<bool, sqlx::Error> {
            let done = sqlx::query(&format!("DELETE FROM {} WHERE {} = $1", E::TABLE, E::KEY))
                .bind(key)
                .execute(&mut *c)
                .await?;
            delete_relays(c, E::OWNER, key).await?;
            Ok(done.rows_affected() > 0)
        }

        pub async fn delete<E: Rows>(pool: &sqlx::Pool<Db>, key: &str) -> Result<bool, FeesError> {
            in_write(pool, async |c| Ok(delete_in::<E>(c, key).await?)).await
        }
    };
}

pub(crate) use entity_queries;
