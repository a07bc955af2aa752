//! Who wrote a change: actors bound to the accounts that first brought them (the table
//! `actors`), read in a sync's transaction into the [`Writers`] the sync's rules check
//! changes against (`voordeur_shared::sync::rules`).

use std::collections::{BTreeMap, BTreeSet};

use sqlx::Row;
use voordeur_shared::{
    access::Grant,
    automerge::ActorId,
    ids::AccountId,
    sync::rules::{Writer, Writers},
};

use super::{
    Store, WriteTx, now_ms,
    people::{ACCOUNT_COLUMNS, ACCOUNT_FROM, account_of, decode_err, uuid_of},
    placeholders,
};

/// Actors per statement: well under SQLite's and PostgreSQL's parameter limits.
const ACTORS_PER_QUERY: usize = 500;

impl Store {
    /// See [`super::DocStore::writers`]. Two statements when, as usual, every actor is
    /// the sender's or new; one more per other account.
    pub async fn writers(
        &self,
        tx: &mut WriteTx<'_>,
        sender: AccountId,
        grant: &Grant,
        actors: &BTreeSet<ActorId>,
    ) -> Result<Writers, sqlx::Error> {
        let actors: Vec<String> = actors.iter().map(ToString::to_string).collect();
        // Every binding of the request's actors, and every actor of the sender.
        let mut bound: BTreeMap<ActorId, Option<AccountId>> = BTreeMap::new();
        let mut rows = Vec::new();
        for batch in actors.chunks(ACTORS_PER_QUERY).chain(
            // The sender's actors even when the request carries no change.
            actors.is_empty().then_some(&[][..]),
        ) {
            let sql = format!(
                "SELECT actor, account_id FROM actors WHERE account_id = $1{}",
                if batch.is_empty() {
                    String::new()
                } else {
                    format!(" OR actor IN ({})", placeholders(2, batch.len()))
                }
            );
            let mut query = sqlx::query(&sql).bind(sender.0.to_string());
            for actor in batch {
                query = query.bind(actor.as_str());
            }
            rows.extend(query.fetch_all(&mut *tx.tx).await?);
        }
        for row in &rows {
            let actor: String = row.try_get("actor")?;
            let actor: ActorId = actor.parse().map_err(decode_err)?;
            let account = row
                .try_get::<Option<String>, _>("account_id")?
                .map(|id| id.parse().map(AccountId).map_err(decode_err))
                .transpose()?;
            bound.insert(actor, account);
        }
        let actors_of = |account: AccountId| -> BTreeSet<ActorId> {
            bound
                .iter()
                .filter(|(_, a)| **a == Some(account))
                .map(|(actor, _)| actor.clone())
                .collect()
        };
        let mut writers = Writers::new(Writer {
            account: sender,
            grant: grant.clone(),
            actors: actors_of(sender),
        });
        let others: BTreeSet<AccountId> = bound
            .values()
            .flatten()
            .copied()
            .filter(|a| *a != sender)
            .collect();
        for account in others {
            writers.add(self.account_writer(tx, account).await?);
        }
        for (actor, account) in &bound {
            if account.is_none() {
                writers.add_unbindable(actor.clone());
            }
        }
        Ok(writers)
    }

    /// Another account that wrote changes: its rights now, and all its actors.
    async fn account_writer(
        &self,
        tx: &mut WriteTx<'_>,
        account: AccountId,
    ) -> Result<Writer, sqlx::Error> {
        let id = account.0.to_string();
        let row = sqlx::query(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM {ACCOUNT_FROM} WHERE a.id = $1"
        ))
        .bind(id.as_str())
        .fetch_one(&mut *tx.tx)
        .await?;
        let (mut found, _) = account_of(&row)?;
        for row in sqlx::query("SELECT street_id FROM street_members WHERE account_id = $1")
            .bind(id.as_str())
            .fetch_all(&mut *tx.tx)
            .await?
        {
            found
                .streets
                .insert(voordeur_shared::ids::StreetId(uuid_of(&row, "street_id")?));
        }
        let actors = sqlx::query("SELECT actor FROM actors WHERE account_id = $1")
            .bind(id.as_str())
            .fetch_all(&mut *tx.tx)
            .await?
            .iter()
            .map(|row| {
                row.try_get::<String, _>("actor")?
                    .parse()
                    .map_err(decode_err)
            })
            .collect::<Result<_, _>>()?;
        Ok(Writer {
            account,
            grant: found.grant(),
            actors,
        })
    }

    /// Those of `actors` bound to `account`: the changes they made are that account's.
    /// Bindings never change, so this needs no transaction.
    pub async fn bound_to(
        &self,
        account: AccountId,
        actors: &BTreeSet<ActorId>,
    ) -> Result<BTreeSet<ActorId>, sqlx::Error> {
        let actors: Vec<String> = actors.iter().map(ToString::to_string).collect();
        let mut bound = BTreeSet::new();
        for batch in actors.chunks(ACTORS_PER_QUERY) {
            let sql = format!(
                "SELECT actor FROM actors WHERE account_id = $1 AND actor IN ({})",
                placeholders(2, batch.len())
            );
            let mut query = sqlx::query(&sql).bind(account.0.to_string());
            for actor in batch {
                query = query.bind(actor.as_str());
            }
            for row in query.fetch_all(&self.pool).await? {
                let actor: String = row.try_get("actor")?;
                bound.insert(actor.parse().map_err(decode_err)?);
            }
        }
        Ok(bound)
    }

    /// Binds `actors` to `account` (`None`: the server's), in id order (so two syncs
    /// binding the same actors never wait on each other in opposite orders); an actor
    /// already bound keeps its binding.
    pub async fn bind(
        &self,
        tx: &mut WriteTx<'_>,
        account: Option<AccountId>,
        actors: &BTreeSet<ActorId>,
    ) -> Result<(), sqlx::Error> {
        let account = account.map(|a| a.0.to_string());
        for actor in actors {
            sqlx::query(
                "INSERT INTO actors (actor, account_id, first_ms) VALUES ($1, $2, $3) \
                 ON CONFLICT (actor) DO NOTHING",
            )
            .bind(actor.to_string())
            .bind(account.clone())
            .bind(now_ms())
            .execute(&mut *tx.tx)
            .await?;
        }
        Ok(())
    }
}
