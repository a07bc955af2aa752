//! Setting up people, shared by the command line (`voordeur-server admin …`) and the admin
//! API: organisations, accounts, streets and who works in which street. Input is checked
//! here, once, so both doors refuse the same things with the same words.

use std::collections::BTreeSet;

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier, password_hash::SaltString};
use rand::RngCore;
use uuid::Uuid;
use voordeur_shared::{
    access::Role,
    docs::{DocKind, new_actor},
    ids::{AccountId, StreetId},
    layout::StreetPlan,
    model::Partner,
};

use crate::{
    AppError,
    store::{Account, NewAccount, Organisation, Store},
};

/// Shortest password an administrator may set.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Longest password accepted (argon2 hashes any length; this bounds the work).
pub const MAX_PASSWORD_CHARS: usize = 256;
const MAX_NAME_CHARS: usize = 100;

fn invalid(message: impl Into<String>) -> AppError {
    AppError::Invalid(message.into())
}

fn check_name(what: &str, name: &str) -> Result<(), AppError> {
    let chars = name.chars().count();
    if name.trim().is_empty() || chars > MAX_NAME_CHARS {
        return Err(invalid(format!(
            "{what} must have 1 to {MAX_NAME_CHARS} characters"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(invalid(format!("{what} must not hold control characters")));
    }
    Ok(())
}

/// Usernames are short, lowercase and plain, so that no two look alike.
pub fn check_username(username: &str) -> Result<(), AppError> {
    let plain = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c);
    if !(2..=64).contains(&username.len()) || !username.chars().all(plain) {
        return Err(invalid(
            "a username has 2 to 64 characters: a-z, 0-9, '.', '_' or '-'",
        ));
    }
    Ok(())
}

pub fn check_password(password: &str) -> Result<(), AppError> {
    let chars = password.chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&chars) {
        return Err(invalid(format!(
            "a password has {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters"
        )));
    }
    Ok(())
}

/// An argon2id hash (PHC string) of `password`, with a fresh salt. CPU-heavy: call it
/// off the async workers.
pub fn hash_password(password: &str) -> Result<String, AppError> {
    let mut salt = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| AppError::Internal(e.into()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| AppError::Internal(anyhow::anyhow!("hashing failed: {e}")))
}

/// Whether `password` matches `hash`. CPU-heavy, like [`hash_password`].
pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// Runs argon2 on the blocking pool.
pub async fn hash_password_blocking(password: String) -> Result<String, AppError> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| AppError::Internal(e.into()))?
}

pub async fn create_organisation(
    store: &Store,
    name: &str,
    partner: Partner,
) -> Result<Organisation, AppError> {
    check_name("an organisation's name", name)?;
    if store.organisation_by_name(name).await?.is_some() {
        return Err(AppError::Conflict(format!(
            "an organisation named {name:?} exists already"
        )));
    }
    Ok(store.create_organisation(name, partner).await?)
}

/// What an administrator fills in for a new account.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct AccountForm {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// The organisation's name; required for everyone but administrators.
    pub organisation: Option<String>,
    pub password: String,
}

pub async fn create_account(store: &Store, form: AccountForm) -> Result<Account, AppError> {
    check_username(&form.username)?;
    check_name("a display name", &form.display_name)?;
    check_password(&form.password)?;
    let organisation = match form.organisation.as_deref().filter(|o| !o.is_empty()) {
        Some(name) => Some(
            store
                .organisation_by_name(name)
                .await?
                .ok_or_else(|| invalid(format!("there is no organisation named {name:?}")))?,
        ),
        None if form.role == Role::Administrator => None,
        None => {
            return Err(invalid(
                "everyone but an administrator works for an organisation",
            ));
        }
    };
    if store.account_by_username(&form.username).await?.is_some() {
        return Err(AppError::Conflict(format!(
            "the username {:?} is taken",
            form.username
        )));
    }
    let password_hash = hash_password_blocking(form.password).await?;
    let new = NewAccount {
        username: form.username,
        display_name: form.display_name,
        role: form.role,
        organisation: organisation.as_ref().map(|o| o.id),
        password_hash,
    };
    let id = store.create_account(&new).await?;
    Ok(Account {
        id: AccountId(id),
        username: new.username,
        display_name: new.display_name,
        role: new.role,
        organisation,
        streets: BTreeSet::new(),
    })
}

pub async fn set_password(store: &Store, username: &str, password: String) -> Result<(), AppError> {
    check_password(&password)?;
    let (account, _) = account(store, username).await?;
    let hash = hash_password_blocking(password).await?;
    Ok(store.set_password(account.id.0, &hash).await?)
}

async fn account(store: &Store, username: &str) -> Result<(Account, String), AppError> {
    store
        .account_by_username(username)
        .await?
        .ok_or_else(|| invalid(format!("there is no account {username:?}")))
}

/// Lets the person `username` work in `street`.
pub async fn assign(store: &Store, username: &str, street: Uuid) -> Result<Account, AppError> {
    let (mut account, _) = account(store, username).await?;
    if !store.exists(DocKind::Street { street }.id()).await? {
        return Err(invalid(format!("there is no street {street}")));
    }
    if account.role == Role::Administrator {
        return Err(invalid(
            "administrators set streets up; they are not assigned to one",
        ));
    }
    store.assign(account.id.0, street).await?;
    account.streets.insert(StreetId(street));
    Ok(account)
}

pub async fn unassign(store: &Store, username: &str, street: Uuid) -> Result<Account, AppError> {
    let (mut account, _) = account(store, username).await?;
    store.unassign(account.id.0, street).await?;
    account.streets.remove(&StreetId(street));
    Ok(account)
}

/// Creates a street from its plan; returns its id.
pub async fn create_street(store: &Store, plan: &StreetPlan) -> Result<Uuid, AppError> {
    plan.check().map_err(|e| invalid(e.to_string()))?;
    let street = Uuid::now_v7();
    let (kind, mut doc) = plan
        .build(street, new_actor())
        .map_err(|e| AppError::Internal(e.into()))?;
    store.create(kind, &mut doc).await?;
    Ok(street)
}
