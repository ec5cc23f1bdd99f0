//! Writes of proposer patterns with their tags (reads and deletes go through the generic path of
//! [`super::entity_sql`]). Expanded once per backend by [`pattern_queries!`].

/// Expands the pattern queries inside a backend module (after [`super::vouch_sql::vouch_queries!`]).
macro_rules! pattern_queries {
    () => {
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
                return Err(Conflict::Exists { kind: Kind::Pattern, name: p.name.clone() }.into());
            }
            let t = now();
            let id: i64 = sqlx::query(
                "INSERT INTO proposer_patterns (name, pattern, fee_recipient, gas_limit, grace, min_value, \
                 reset_relays, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
            )
            .bind(&p.name)
            .bind(&p.pattern)
            .bind_settings(&p.settings)
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
            .bind_settings(&p.settings)
            .bind(p.reset_relays)
            .bind(now())
            .bind(&p.name)
            .fetch_optional(&mut *c)
            .await?;
            let Some(row) = row else {
                return Err(FeesError::not_found(Kind::Pattern, &p.name));
            };
            write_tags(c, row.try_get(0)?, &p.tags).await?;
            write_relays(c, "pattern", &p.name, p.relays.as_deref().unwrap_or_default()).await?;
            Ok(())
        }

        pub async fn create_pattern(
            pool: &sqlx::Pool<Db>,
            p: &Pattern,
        ) -> Result<Record<Pattern>, FeesError> {
            let (rec, ()) = write_one::<Pattern, _>(pool, &p.name, async |c| insert_pattern(c, p).await).await?;
            Ok(rec)
        }

        pub async fn update_pattern(
            pool: &sqlx::Pool<Db>,
            p: &Pattern,
        ) -> Result<Record<Pattern>, FeesError> {
            let (rec, ()) = write_one::<Pattern, _>(pool, &p.name, async |c| update_pattern_in(c, p).await).await?;
            Ok(rec)
        }

    };
}

pub(crate) use pattern_queries;
