//! Whole-configuration reads and writes for `butler fees export` / `import`: one consistent snapshot out, one
//! transaction in. Expanded once per backend by [`transfer_queries!`].

/// Expands export and plan application inside a backend module (after the other query macros).
macro_rules! transfer_queries {
    () => {
        /// Everything in the store, in a stable order, without row ids.
        pub async fn export_all(pool: &sqlx::Pool<Db>) -> Result<crate::fees::transfer::Configuration, FeesError> {
            let mut tx = pool.begin().await?;
            let mut relays = all_relays(&mut tx).await?;
            let mut take = |kind: &str, owner: &str| -> Vec<Relay> {
                relays
                    .remove(&(kind.to_string(), owner.to_string()))
                    .unwrap_or_default()
                    .into_iter()
                    .map(|r| Relay { id: None, ..r })
                    .collect()
            };
            let rows = sqlx::query(&format!("SELECT {DEFAULT_COLS} FROM default_configs ORDER BY name"))
                .fetch_all(&mut *tx)
                .await?;
            let mut default_configs = Vec::with_capacity(rows.len());
            for row in &rows {
                let mut d = default_from(row)?.item;
                d.relays = Some(take("default", &d.name));
                default_configs.push(d);
            }
            let rows = sqlx::query(&format!("SELECT {PROPOSER_COLS} FROM proposers ORDER BY public_key"))
                .fetch_all(&mut *tx)
                .await?;
            let mut proposers = Vec::with_capacity(rows.len());
            for row in &rows {
                let mut p = proposer_from(row)?.item;
                p.relays = Some(take("proposer", &p.public_key));
                proposers.push(p);
            }
            let rows = sqlx::query(&format!("SELECT {PATTERN_COLS} FROM proposer_patterns p ORDER BY p.name"))
                .fetch_all(&mut *tx)
                .await?;
            let mut items = rows.iter().map(pattern_from).collect::<Result<Vec<_>, _>>()?;
            fill_tags(&mut tx, &mut items).await?;
            let mut proposer_patterns = Vec::with_capacity(items.len());
            for (_, rec) in items {
                let mut p = rec.item;
                p.relays = Some(take("pattern", &p.name));
                proposer_patterns.push(p);
            }
            let rows = sqlx::query("SELECT id, name FROM mux_configs ORDER BY name")
                .fetch_all(&mut *tx)
                .await?;
            let mut mux_configs = Vec::with_capacity(rows.len());
            for row in &rows {
                let id: i64 = row.try_get("id")?;
                mux_configs.push(Mux {
                    name: row.try_get("name")?,
                    keys: mux_keys_of(&mut tx, id).await?,
                });
            }
            tx.commit().await?;
            Ok(crate::fees::transfer::Configuration {
                version: crate::fees::transfer::DOCUMENT_VERSION,
                default_configs,
                proposers,
                proposer_patterns,
                mux_configs,
            })
        }

        /// Applies an import plan in one transaction: all of it or nothing.
        pub async fn apply_plan(pool: &sqlx::Pool<Db>, plan: &crate::fees::transfer::Plan) -> Result<(), FeesError> {
            let mut tx = begin(pool).await?;
            // Muxes first: free the keys of every changed or deleted mux before any mux takes them.
            let changed = plan.mux_configs.update.iter().map(|m| m.name.as_str());
            for name in plan.mux_configs.delete.iter().map(String::as_str).chain(changed) {
                sqlx::query("DELETE FROM mux_keys WHERE mux_id IN (SELECT id FROM mux_configs WHERE name = $1)")
                    .bind(name)
                    .execute(&mut *tx)
                    .await?;
            }
            for name in &plan.mux_configs.delete {
                delete_mux_in(&mut tx, name).await?;
            }
            for m in &plan.mux_configs.update {
                update_mux_in(&mut tx, m).await?;
            }
            for m in &plan.mux_configs.create {
                insert_mux(&mut tx, m).await?;
            }
            for name in &plan.default_configs.delete {
                delete_default_in(&mut tx, name).await?;
            }
            for d in &plan.default_configs.update {
                update_default_in(&mut tx, d).await?;
            }
            for d in &plan.default_configs.create {
                insert_default(&mut tx, d).await?;
            }
            for key in &plan.proposers.delete {
                delete_proposer_in(&mut tx, key).await?;
            }
            for p in plan.proposers.update.iter().chain(&plan.proposers.create) {
                upsert_proposer(&mut tx, p).await?;
            }
            for name in &plan.proposer_patterns.delete {
                delete_pattern_in(&mut tx, name).await?;
            }
            for p in &plan.proposer_patterns.update {
                update_pattern_in(&mut tx, p).await?;
            }
            for p in &plan.proposer_patterns.create {
                insert_pattern(&mut tx, p).await?;
            }
            tx.commit().await?;
            Ok(())
        }
    };
}

pub(crate) use transfer_queries;
