//! Writes of default configs and proposers (reads and deletes go through the generic path of
//! [`super::entity_sql`]). Expanded once per backend by [`vouch_queries!`].

/// Expands the Vouch queries inside a backend module (after [`super::entity_sql::entity_queries!`]).
macro_rules! vouch_queries {
    () => {
        async fn insert_default(c: &mut Conn, d: &DefaultConfig) -> Result<(), FeesError> {
            let exists = sqlx::query("SELECT 1 FROM default_configs WHERE name = $1")
                .bind(&d.name)
                .fetch_optional(&mut *c)
                .await?;
            if exists.is_some() {
                return Err(Conflict::Exists { kind: Kind::DefaultConfig, name: d.name.clone() }.into());
            }
            let t = now();
            sqlx::query(
                "INSERT INTO default_configs (name, fee_recipient, gas_limit, grace, min_value, active, \
                 created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&d.name)
            .bind_settings(&d.settings)
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
            .bind_settings(&d.settings)
            .bind(d.active)
            .bind(now())
            .bind(&d.name)
            .execute(&mut *c)
            .await?;
            if done.rows_affected() == 0 {
                return Err(FeesError::not_found(Kind::DefaultConfig, &d.name));
            }
            write_relays(c, "default", &d.name, d.relays.as_deref().unwrap_or_default()).await?;
            Ok(())
        }

        pub async fn create_default(
            pool: &sqlx::Pool<Db>,
            d: &DefaultConfig,
        ) -> Result<Record<DefaultConfig>, FeesError> {
            let (rec, ()) = write_one::<DefaultConfig, _>(pool, &d.name, async |c| insert_default(c, d).await).await?;
            Ok(rec)
        }

        pub async fn update_default(
            pool: &sqlx::Pool<Db>,
            d: &DefaultConfig,
        ) -> Result<Record<DefaultConfig>, FeesError> {
            let (rec, ()) = write_one::<DefaultConfig, _>(pool, &d.name, async |c| update_default_in(c, d).await).await?;
            Ok(rec)
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
            .bind_settings(&p.settings)
            .bind(p.reset_relays)
            .bind(t)
            .bind(t)
            .execute(&mut *c)
            .await?;
            write_relays(c, "proposer", &p.public_key, p.relays.as_deref().unwrap_or_default()).await?;
            Ok(!existed)
        }

        pub async fn put_proposer(
            pool: &sqlx::Pool<Db>,
            p: &Proposer,
        ) -> Result<(Record<Proposer>, bool), FeesError> {
            write_one::<Proposer, _>(pool, &p.public_key, async |c| upsert_proposer(c, p).await).await
        }

    };
}

pub(crate) use vouch_queries;
