//! Whole-configuration reads and writes: one consistent snapshot out (`butler fees export`, the servers'
//! in-memory snapshot), one transaction in (`butler fees import`). Expanded once per backend by
//! [`transfer_queries!`].

/// Expands export and plan application inside a backend module (after the other query macros).
macro_rules! transfer_queries {
    () => {
        /// Everything in the store (stable order, no row ids) and the configuration version it is at, read
        /// in one transaction that sees a single snapshot: a few queries returning all rows.
        pub async fn load_all(
            pool: &sqlx::Pool<Db>,
        ) -> Result<(i64, crate::fees::transfer::Configuration), FeesError> {
            let mut tx = begin_read(pool).await?;
            let version = version_in(&mut tx).await?;
            let mut relays = all_relays(&mut tx).await?;
            let mut take = |kind: &str, owner: &str| -> Vec<Relay> {
                relays
                    .remove(&(kind.to_string(), owner.to_string()))
                    .unwrap_or_default()
                    .into_iter()
                    .map(|r| Relay { id: None, ..r })
                    .collect()
            };
            let mut default_configs = Vec::new();
            for rec in all_rows::<DefaultConfig>(&mut tx).await? {
                let mut d = rec.item;
                d.relays = Some(take(DefaultConfig::OWNER, &d.name));
                default_configs.push(d);
            }
            let mut proposers = Vec::new();
            for rec in all_rows::<Proposer>(&mut tx).await? {
                let mut p = rec.item;
                p.relays = Some(take(Proposer::OWNER, &p.public_key));
                proposers.push(p);
            }
            let mut tags = tags_by_name(&mut tx, None).await?;
            let mut proposer_patterns = Vec::new();
            for rec in all_rows::<Pattern>(&mut tx).await? {
                let mut p = rec.item;
                p.tags = tags.remove(&p.name).unwrap_or_default();
                p.relays = Some(take(Pattern::OWNER, &p.name));
                proposer_patterns.push(p);
            }
            let rows = sqlx::query(
                "SELECT m.name, k.public_key FROM mux_configs m LEFT JOIN mux_keys k ON k.mux_id = m.id \
                 ORDER BY m.name, k.position",
            )
            .fetch_all(&mut *tx)
            .await?;
            let mut mux_configs: Vec<Mux> = Vec::new();
            for row in &rows {
                let name: String = row.try_get(0)?;
                let key: Option<String> = row.try_get(1)?;
                if mux_configs.last().is_none_or(|m| m.name != name) {
                    mux_configs.push(Mux { name, keys: Vec::new() });
                }
                if let (Some(m), Some(k)) = (mux_configs.last_mut(), key) {
                    m.keys.push(k);
                }
            }
            tx.commit().await?;
            Ok((
                version,
                crate::fees::transfer::Configuration {
                    version: crate::fees::transfer::DOCUMENT_VERSION,
                    default_configs,
                    proposers,
                    proposer_patterns,
                    mux_configs,
                },
            ))
        }

        /// Applies an import plan in one transaction: all of it or nothing.
        pub async fn apply_plan(pool: &sqlx::Pool<Db>, plan: &crate::fees::transfer::Plan) -> Result<(), FeesError> {
            let mut tx = begin_write(pool).await?;
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
                delete_in::<DefaultConfig>(&mut tx, name).await?;
            }
            for d in &plan.default_configs.update {
                update_default_in(&mut tx, d).await?;
            }
            for d in &plan.default_configs.create {
                insert_default(&mut tx, d).await?;
            }
            for key in &plan.proposers.delete {
                delete_in::<Proposer>(&mut tx, key).await?;
            }
            for p in plan.proposers.update.iter().chain(&plan.proposers.create) {
                upsert_proposer(&mut tx, p).await?;
            }
            for name in &plan.proposer_patterns.delete {
                delete_in::<Pattern>(&mut tx, name).await?;
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
