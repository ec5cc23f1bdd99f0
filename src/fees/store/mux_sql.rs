//! Commit-Boost mux tables: named key sets, each key in at most one mux. Expanded once per backend by
//! [`mux_queries!`].

/// Expands the mux queries inside a backend module (after [`super::common_sql::common_queries!`]).
macro_rules! mux_queries {
    () => {
        /// The id and stamps of a mux that must exist.
        async fn existing_mux(c: &mut Conn, name: &str) -> Result<(i64, Stamps), FeesError> {
            mux_row(c, name).await?.ok_or_else(|| FeesError::not_found(Kind::Mux, name))
        }

        async fn mux_row(c: &mut Conn, name: &str) -> Result<Option<(i64, Stamps)>, sqlx::Error> {
            let row = sqlx::query("SELECT id, created_at, updated_at FROM mux_configs WHERE name = $1")
                .bind(name)
                .fetch_optional(&mut *c)
                .await?;
            row.map(|r| Ok((r.try_get("id")?, stamps_from(&r)?))).transpose()
        }

        async fn mux_keys_of(c: &mut Conn, id: i64) -> Result<Vec<String>, sqlx::Error> {
            let rows = sqlx::query("SELECT public_key FROM mux_keys WHERE mux_id = $1 ORDER BY position")
                .bind(id)
                .fetch_all(&mut *c)
                .await?;
            rows.iter().map(|r| r.try_get(0)).collect()
        }

        async fn key_count(c: &mut Conn, id: i64) -> Result<i64, sqlx::Error> {
            sqlx::query("SELECT COUNT(*) FROM mux_keys WHERE mux_id = $1")
                .bind(id)
                .fetch_one(&mut *c)
                .await?
                .try_get(0)
        }

        /// Refuses keys another mux already holds (Commit-Boost fails on a key in two muxes).
        async fn check_foreign_keys(c: &mut Conn, mux: &str, keys: &[String]) -> Result<(), FeesError> {
            for chunk in keys.chunks(CHUNK) {
                let mut qb = QueryBuilder::<Db>::new(
                    "SELECT k.public_key, m.name FROM mux_keys k JOIN mux_configs m ON m.id = k.mux_id \
                     WHERE m.name <> ",
                );
                qb.push_bind(mux.to_string()).push(" AND k.public_key IN (");
                let mut sep = qb.separated(", ");
                for k in chunk {
                    sep.push_bind(k.clone());
                }
                qb.push(") LIMIT 1");
                if let Some(row) = qb.build().fetch_optional(&mut *c).await? {
                    let key: String = row.try_get(0)?;
                    let other: String = row.try_get(1)?;
                    let i = keys.iter().position(|k| *k == key).unwrap_or_default();
                    return Err(Conflict::KeyInOtherMux { index: i, key, other }.into());
                }
            }
            Ok(())
        }

        async fn insert_keys(c: &mut Conn, id: i64, first: i64, keys: &[String]) -> Result<(), sqlx::Error> {
            for (n, chunk) in keys.chunks(CHUNK).enumerate() {
                let base = first + (n * CHUNK) as i64;
                let mut qb = QueryBuilder::<Db>::new("INSERT INTO mux_keys (public_key, mux_id, position) ");
                qb.push_values(chunk.iter().enumerate(), |mut b, (i, k)| {
                    b.push_bind(k.clone()).push_bind(id).push_bind(base + i as i64);
                });
                qb.build().execute(&mut *c).await?;
            }
            Ok(())
        }

        async fn touch_mux(c: &mut Conn, id: i64) -> Result<(), sqlx::Error> {
            sqlx::query("UPDATE mux_configs SET updated_at = $1 WHERE id = $2")
                .bind(now())
                .bind(id)
                .execute(&mut *c)
                .await?;
            Ok(())
        }

        pub async fn list_mux(
            pool: &sqlx::Pool<Db>,
            paging: Paging,
        ) -> Result<Page<Record<MuxSummary>>, FeesError> {
            let mut c = pool.acquire().await?;
            let total: i64 = sqlx::query("SELECT COUNT(*) FROM mux_configs")
                .fetch_one(&mut *c)
                .await?
                .try_get(0)?;
            let rows = sqlx::query(
                "SELECT m.name, m.created_at, m.updated_at, \
                 (SELECT COUNT(*) FROM mux_keys k WHERE k.mux_id = m.id) AS key_count \
                 FROM mux_configs m ORDER BY m.name LIMIT $1 OFFSET $2",
            )
            .bind(paging.limit)
            .bind(paging.offset)
            .fetch_all(&mut *c)
            .await?;
            let items = rows
                .iter()
                .map(|r| {
                    Ok(Record {
                        item: MuxSummary {
                            name: r.try_get("name")?,
                            key_count: r.try_get("key_count")?,
                        },
                        stamps: stamps_from(r)?,
                    })
                })
                .collect::<Result<Vec<_>, sqlx::Error>>()?;
            Ok(page_of(items, total, paging))
        }

        async fn get_mux_in(c: &mut Conn, name: &str) -> Result<Option<Record<Mux>>, sqlx::Error> {
            let Some((id, stamps)) = mux_row(c, name).await? else { return Ok(None) };
            Ok(Some(Record {
                item: Mux {
                    name: name.to_string(),
                    keys: mux_keys_of(c, id).await?,
                },
                stamps,
            }))
        }

        pub async fn get_mux(pool: &sqlx::Pool<Db>, name: &str) -> Result<Option<Record<Mux>>, FeesError> {
            let mut c = pool.acquire().await?;
            Ok(get_mux_in(&mut c, name).await?)
        }

        /// Commit-Boost's mux loader refuses a mux without keys, and its PBS module then does not start.
        fn refuse_empty(m: &Mux) -> Result<(), FeesError> {
            if m.keys.is_empty() {
                return Err(Conflict::EmptyMux { name: m.name.clone() }.into());
            }
            Ok(())
        }

        async fn insert_mux(c: &mut Conn, m: &Mux) -> Result<(), FeesError> {
            if mux_row(c, &m.name).await?.is_some() {
                return Err(Conflict::Exists { kind: Kind::Mux, name: m.name.clone() }.into());
            }
            refuse_empty(m)?;
            check_foreign_keys(c, &m.name, &m.keys).await?;
            let t = now();
            let id: i64 = sqlx::query(
                "INSERT INTO mux_configs (name, created_at, updated_at) VALUES ($1, $2, $3) RETURNING id",
            )
            .bind(&m.name)
            .bind(t)
            .bind(t)
            .fetch_one(&mut *c)
            .await?
            .try_get(0)?;
            insert_keys(c, id, 0, &m.keys).await?;
            Ok(())
        }

        async fn update_mux_in(c: &mut Conn, m: &Mux) -> Result<(), FeesError> {
            let (id, _) = existing_mux(c, &m.name).await?;
            refuse_empty(m)?;
            check_foreign_keys(c, &m.name, &m.keys).await?;
            sqlx::query("DELETE FROM mux_keys WHERE mux_id = $1")
                .bind(id)
                .execute(&mut *c)
                .await?;
            insert_keys(c, id, 0, &m.keys).await?;
            touch_mux(c, id).await?;
            Ok(())
        }

        async fn delete_mux_in(c: &mut Conn, name: &str) -> Result<bool, sqlx::Error> {
            sqlx::query("DELETE FROM mux_keys WHERE mux_id IN (SELECT id FROM mux_configs WHERE name = $1)")
                .bind(name)
                .execute(&mut *c)
                .await?;
            let done = sqlx::query("DELETE FROM mux_configs WHERE name = $1")
                .bind(name)
                .execute(&mut *c)
                .await?;
            Ok(done.rows_affected() > 0)
        }

        pub async fn create_mux(pool: &sqlx::Pool<Db>, m: &Mux) -> Result<Record<MuxSummary>, FeesError> {
            in_write(pool, async |c| {
                insert_mux(c, m).await?;
                mux_summary(c, &m.name).await
            })
            .await
        }

        pub async fn update_mux(pool: &sqlx::Pool<Db>, m: &Mux) -> Result<Record<MuxSummary>, FeesError> {
            in_write(pool, async |c| {
                update_mux_in(c, m).await?;
                mux_summary(c, &m.name).await
            })
            .await
        }

        async fn mux_summary(c: &mut Conn, name: &str) -> Result<Record<MuxSummary>, FeesError> {
            let (id, stamps) = existing_mux(c, name).await?;
            Ok(Record {
                item: MuxSummary {
                    name: name.to_string(),
                    key_count: key_count(c, id).await?,
                },
                stamps,
            })
        }

        pub async fn delete_mux(pool: &sqlx::Pool<Db>, name: &str) -> Result<bool, FeesError> {
            in_write(pool, async |c| Ok(delete_mux_in(c, name).await?)).await
        }

        /// Adds keys (those already in this mux are skipped); returns (added, total).
        pub async fn add_mux_keys(
            pool: &sqlx::Pool<Db>,
            name: &str,
            keys: &[String],
        ) -> Result<(i64, i64), FeesError> {
            let mut tx = begin_write(pool).await?;
            let (id, _) = existing_mux(&mut tx, name).await?;
            check_foreign_keys(&mut tx, name, keys).await?;
            let have: std::collections::HashSet<String> = mux_keys_of(&mut tx, id).await?.into_iter().collect();
            let new: Vec<String> = keys.iter().filter(|k| !have.contains(*k)).cloned().collect();
            let next: i64 = sqlx::query("SELECT COALESCE(MAX(position) + 1, 0) FROM mux_keys WHERE mux_id = $1")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?
                .try_get(0)?;
            insert_keys(&mut tx, id, next, &new).await?;
            if !new.is_empty() {
                touch_mux(&mut tx, id).await?;
            }
            let total = key_count(&mut tx, id).await?;
            tx.commit().await?;
            Ok((new.len() as i64, total))
        }

        /// Removes keys (absent ones are ignored); returns (removed, total).
        pub async fn remove_mux_keys(
            pool: &sqlx::Pool<Db>,
            name: &str,
            keys: &[String],
        ) -> Result<(i64, i64), FeesError> {
            let mut tx = begin_write(pool).await?;
            let (id, _) = existing_mux(&mut tx, name).await?;
            let mut removed = 0u64;
            for chunk in keys.chunks(CHUNK) {
                let mut qb = QueryBuilder::<Db>::new("DELETE FROM mux_keys WHERE mux_id = ");
                qb.push_bind(id).push(" AND public_key IN (");
                let mut sep = qb.separated(", ");
                for k in chunk {
                    sep.push_bind(k.clone());
                }
                qb.push(")");
                removed += qb.build().execute(&mut *tx).await?.rows_affected();
            }
            let total = key_count(&mut tx, id).await?;
            if total == 0 {
                // Dropping the transaction rolls the removal back.
                return Err(Conflict::LastKey { name: name.to_string() }.into());
            }
            if removed > 0 {
                touch_mux(&mut tx, id).await?;
            }
            tx.commit().await?;
            Ok((removed as i64, total))
        }
    };
}

pub(crate) use mux_queries;
