//! The people side of the store: organisations, accounts, street assignments, sessions and
//! the audit log. The rules (who may do what, valid names, password hashing) live in
//! `crate::people`; this module only reads and writes rows.

use std::collections::{BTreeMap, BTreeSet};

use sqlx::{Row, any::AnyRow};
use uuid::Uuid;
use voordeur_shared::{
    access::Role,
    docs::DocKind,
    ids::{AccountId, StreetId},
    model::Partner,
};

use super::{Audited, Store, WriteTx, now_ms};

pub use voordeur_shared::api::{Account, AuditEntry, ChangeAuthor, Organisation};

/// An account to create; the password is already hashed.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub organisation: Option<Uuid>,
    pub password_hash: String,
}

/// Audit lines written by one statement (8 parameters each, well under SQLite's limit).
const AUDIT_ROWS_PER_INSERT: usize = 500;

pub(super) fn decode_err(e: impl std::error::Error + Send + Sync + 'static) -> sqlx::Error {
    sqlx::Error::Decode(Box::new(e))
}

pub(super) fn uuid_of(row: &AnyRow, column: &str) -> Result<Uuid, sqlx::Error> {
    row.try_get::<String, _>(column)?
        .parse()
        .map_err(decode_err)
}

fn unknown(what: &str, value: &str) -> sqlx::Error {
    sqlx::Error::Decode(format!("unknown {what} {value:?}").into())
}

fn organisation_of(row: &AnyRow) -> Result<Organisation, sqlx::Error> {
    let partner: String = row.try_get("partner")?;
    Ok(Organisation {
        id: uuid_of(row, "id")?,
        name: row.try_get("name")?,
        partner: Partner::from_label(&partner).ok_or_else(|| unknown("partner", &partner))?,
    })
}

pub(super) const ACCOUNT_COLUMNS: &str = "a.id, a.username, a.display_name, a.role, a.password_hash, \
     o.id AS org_id, o.name AS org_name, o.partner AS org_partner";
pub(super) const ACCOUNT_FROM: &str =
    "accounts a LEFT JOIN organisations o ON o.id = a.organisation_id";

/// An account row (streets still empty) and its password hash.
pub(super) fn account_of(row: &AnyRow) -> Result<(Account, String), sqlx::Error> {
    let role: String = row.try_get("role")?;
    let organisation = match row.try_get::<Option<String>, _>("org_id")? {
        None => None,
        Some(id) => {
            let partner: String = row.try_get("org_partner")?;
            Some(Organisation {
                id: id.parse().map_err(decode_err)?,
                name: row.try_get("org_name")?,
                partner: Partner::from_label(&partner)
                    .ok_or_else(|| unknown("partner", &partner))?,
            })
        }
    };
    let account = Account {
        id: AccountId(uuid_of(row, "id")?),
        username: row.try_get("username")?,
        display_name: row.try_get("display_name")?,
        role: Role::from_label(&role).ok_or_else(|| unknown("role", &role))?,
        organisation,
        streets: BTreeSet::new(),
    };
    Ok((account, row.try_get("password_hash")?))
}

impl Store {
    pub async fn create_organisation(
        &self,
        name: &str,
        partner: Partner,
    ) -> Result<Organisation, sqlx::Error> {
        let organisation = Organisation {
            id: Uuid::now_v7(),
            name: name.to_string(),
            partner,
        };
        let _writer = self.writer().await;
        sqlx::query(
            "INSERT INTO organisations (id, name, partner, created_ms) VALUES ($1, $2, $3, $4)",
        )
        .bind(organisation.id.to_string())
        .bind(name)
        .bind(partner.label())
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(organisation)
    }

    pub async fn organisations(&self) -> Result<Vec<Organisation>, sqlx::Error> {
        sqlx::query("SELECT id, name, partner FROM organisations ORDER BY name")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(organisation_of)
            .collect()
    }

    pub async fn organisation_by_name(
        &self,
        name: &str,
    ) -> Result<Option<Organisation>, sqlx::Error> {
        sqlx::query("SELECT id, name, partner FROM organisations WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(organisation_of)
            .transpose()
    }

    /// Creates an account working in `streets`, in one transaction: a crash leaves the
    /// account with its streets or not at all.
    pub async fn create_account(
        &self,
        new: &NewAccount,
        streets: &BTreeSet<Uuid>,
    ) -> Result<Uuid, sqlx::Error> {
        let id = Uuid::now_v7();
        let _writer = self.writer().await;
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO accounts (id, username, display_name, role, organisation_id, password_hash, created_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id.to_string())
        .bind(new.username.as_str())
        .bind(new.display_name.as_str())
        .bind(new.role.label())
        .bind(new.organisation.map(|o| o.to_string()))
        .bind(new.password_hash.as_str())
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        for street in streets {
            sqlx::query("INSERT INTO street_members (account_id, street_id) VALUES ($1, $2)")
                .bind(id.to_string())
                .bind(street.to_string())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    pub async fn set_password(&self, account: Uuid, hash: &str) -> Result<(), sqlx::Error> {
        let _writer = self.writer().await;
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE accounts SET password_hash = $1 WHERE id = $2")
            .bind(hash)
            .bind(account.to_string())
            .execute(&mut *tx)
            .await?;
        // A new password ends every session of the old one, and the trust of every device
        // that signed in with it (see `crate::throttle`).
        for table in ["sessions", "trusted_devices"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE account_id = $1"))
                .bind(account.to_string())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await
    }

    /// Every account with its streets, by username.
    pub async fn accounts(&self) -> Result<Vec<Account>, sqlx::Error> {
        let rows = sqlx::query(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM {ACCOUNT_FROM} ORDER BY a.username"
        ))
        .fetch_all(&self.pool)
        .await?;
        let mut streets: BTreeMap<AccountId, BTreeSet<StreetId>> = BTreeMap::new();
        for row in sqlx::query("SELECT account_id, street_id FROM street_members")
            .fetch_all(&self.pool)
            .await?
        {
            streets
                .entry(AccountId(uuid_of(&row, "account_id")?))
                .or_default()
                .insert(StreetId(uuid_of(&row, "street_id")?));
        }
        rows.iter()
            .map(|row| {
                let (mut account, _) = account_of(row)?;
                account.streets = streets.remove(&account.id).unwrap_or_default();
                Ok(account)
            })
            .collect()
    }

    /// The account signing in as `username`, with its password hash.
    pub async fn account_by_username(
        &self,
        username: &str,
    ) -> Result<Option<(Account, String)>, sqlx::Error> {
        let row = sqlx::query(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM {ACCOUNT_FROM} WHERE a.username = $1"
        ))
        .bind(username)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            None => Ok(None),
            Some(row) => {
                let (mut account, hash) = account_of(&row)?;
                account.streets = self.streets_of(account.id.0).await?;
                Ok(Some((account, hash)))
            }
        }
    }

    async fn streets_of(&self, account: Uuid) -> Result<BTreeSet<StreetId>, sqlx::Error> {
        sqlx::query("SELECT street_id FROM street_members WHERE account_id = $1")
            .bind(account.to_string())
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| uuid_of(row, "street_id").map(StreetId))
            .collect()
    }

    /// Lets `account` work in `street` (again: assigning twice changes nothing).
    pub async fn assign(&self, account: Uuid, street: Uuid) -> Result<(), sqlx::Error> {
        let _writer = self.writer().await;
        sqlx::query(
            "INSERT INTO street_members (account_id, street_id) VALUES ($1, $2) \
             ON CONFLICT (account_id, street_id) DO NOTHING",
        )
        .bind(account.to_string())
        .bind(street.to_string())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn unassign(&self, account: Uuid, street: Uuid) -> Result<(), sqlx::Error> {
        let _writer = self.writer().await;
        sqlx::query("DELETE FROM street_members WHERE account_id = $1 AND street_id = $2")
            .bind(account.to_string())
            .bind(street.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn create_session(
        &self,
        token_hash: &str,
        account: Uuid,
        expires_ms: i64,
    ) -> Result<(), sqlx::Error> {
        let _writer = self.writer().await;
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        // Sweep expired sessions while here; they let no one in anyway.
        sqlx::query("DELETE FROM sessions WHERE expires_ms <= $1")
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO sessions (token_hash, account_id, created_ms, expires_ms) VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash)
        .bind(account.to_string())
        .bind(now)
        .bind(expires_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await
    }

    /// The account of a session and when the session expires.
    pub async fn session(&self, token_hash: &str) -> Result<Option<(Account, i64)>, sqlx::Error> {
        let row = sqlx::query(&format!(
            "SELECT {ACCOUNT_COLUMNS}, s.expires_ms FROM sessions s \
             JOIN accounts a ON a.id = s.account_id \
             LEFT JOIN organisations o ON o.id = a.organisation_id \
             WHERE s.token_hash = $1"
        ))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            None => Ok(None),
            Some(row) => {
                let (mut account, _) = account_of(&row)?;
                account.streets = self.streets_of(account.id.0).await?;
                Ok(Some((account, row.try_get("expires_ms")?)))
            }
        }
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<(), sqlx::Error> {
        let _writer = self.writer().await;
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records that `account` read or changed the documents, in the sync's transaction: a
    /// change is never stored, nor a read answered, without its audit line. One statement
    /// per [`AUDIT_ROWS_PER_INSERT`] lines: the sync holds SQLite's one writer meanwhile.
    pub async fn audit(
        &self,
        tx: &mut WriteTx<'_>,
        account: Uuid,
        action: &str,
        lines: &[Audited],
    ) -> Result<(), sqlx::Error> {
        const COLUMNS: usize = 10;
        let now = now_ms();
        let account = account.to_string();
        for batch in lines.chunks(AUDIT_ROWS_PER_INSERT) {
            let rows: Vec<String> = (0..batch.len())
                .map(|i| format!("({})", super::placeholders(1 + i * COLUMNS, COLUMNS)))
                .collect();
            let sql = format!(
                "INSERT INTO audit_log (at_ms, account_id, action, doc_id, street_id, kind, address_id, partner, \
                 author_actor, author_account_id) VALUES {}",
                rows.join(", ")
            );
            let mut query = sqlx::query(&sql);
            for Audited { kind, author } in batch {
                let (address, partner) = match *kind {
                    DocKind::Street { .. } => (None, None),
                    DocKind::Household { address, .. } => (Some(address.to_string()), None),
                    DocKind::Confidential {
                        address, partner, ..
                    } => (Some(address.to_string()), Some(partner.label())),
                };
                let (author_actor, author_account) = match author {
                    Some((actor, account)) => {
                        (Some(actor.to_string()), Some(account.0.to_string()))
                    }
                    None => (None, None),
                };
                query = query
                    .bind(now)
                    .bind(account.clone())
                    .bind(action)
                    .bind(kind.id().to_string())
                    .bind(kind.street().to_string())
                    .bind(kind.label())
                    .bind(address)
                    .bind(partner)
                    .bind(author_actor)
                    .bind(author_account);
            }
            query.execute(&mut *tx.tx).await?;
        }
        Ok(())
    }

    /// The latest `limit` lines of the audit log, newest first.
    pub async fn audit_log(&self, limit: i64) -> Result<Vec<AuditEntry>, sqlx::Error> {
        sqlx::query(
            "SELECT l.at_ms, l.account_id, a.username, l.action, l.doc_id, l.street_id, l.kind, \
             l.address_id, l.partner, l.author_actor, l.author_account_id, w.username AS author_username \
             FROM audit_log l LEFT JOIN accounts a ON a.id = l.account_id \
             LEFT JOIN accounts w ON w.id = l.author_account_id \
             ORDER BY l.id DESC LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            Ok(AuditEntry {
                at_ms: row.try_get("at_ms")?,
                account: uuid_of(row, "account_id")?,
                username: row.try_get("username")?,
                action: row.try_get("action")?,
                document: row.try_get("doc_id")?,
                street: uuid_of(row, "street_id")?,
                kind: row.try_get("kind")?,
                address: row
                    .try_get::<Option<String>, _>("address_id")?
                    .map(|a| a.parse().map_err(decode_err))
                    .transpose()?,
                partner: row.try_get("partner")?,
                author: match row.try_get::<Option<String>, _>("author_actor")? {
                    None => None,
                    Some(actor) => Some(ChangeAuthor {
                        actor,
                        account: uuid_of(row, "author_account_id")?,
                        username: row.try_get("author_username")?,
                    }),
                },
            })
        })
        .collect()
    }
}
