//! Setting up people, shared by the command line (`voordeur-server admin …`) and the admin
//! API: organisations, accounts, streets and who works in which street. Input is checked
//! here, once, so both doors refuse the same things with the same words. Names are
//! normalised ([`normalise_name`]) and may not look like an existing name of the same
//! kind ([`look_alike_key`]): a name is how people tell who wrote or may see what.

use std::collections::{BTreeSet, HashMap};

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier, password_hash::SaltString};
use rand::RngCore;
use unicode_normalization::UnicodeNormalization;
use unicode_security::skeleton;
use uuid::Uuid;
use voordeur_shared::{
    access::Role,
    docs::new_actor,
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

/// Bidirectional formatting characters: they reorder how a name is shown (an override
/// makes "Zorg\u{202E}tsoO" read as something else), so no name may hold one.
fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}'
    )
}

/// Characters that show as nothing, so that two names that differ only by one look the
/// same (joiners stay allowed: some scripts need them, and the look-alike check ignores
/// them).
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{17B4}'
            | '\u{17B5}'
            | '\u{180E}'
            | '\u{200B}'
            | '\u{2060}'..='\u{2064}'
            | '\u{206A}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{E0000}'..='\u{E007F}'
    )
}

/// A name as it is kept: Unicode NFC, each run of white space one space, trimmed. Refused
/// (422) when empty or too long, or holding a control character, a bidirectional
/// formatting character or an invisible one. The CLI and the admin API both come here.
pub fn normalise_name(what: &str, name: &str) -> Result<String, AppError> {
    let nfc: String = name.nfc().collect();
    if nfc.chars().any(char::is_control) {
        return Err(invalid(format!("{what} must not hold control characters")));
    }
    if nfc.chars().any(|c| is_bidi_control(c) || is_invisible(c)) {
        return Err(invalid(format!(
            "{what} must not hold invisible or text-direction characters"
        )));
    }
    let name = nfc.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(invalid(format!(
            "{what} must have 1 to {MAX_NAME_CHARS} characters"
        )));
    }
    Ok(name)
}

/// What a name looks like: the UTS #39 skeleton of its case-folded form, so that names
/// that differ only in case, in a letter of another script that looks the same (a
/// Cyrillic "е" for a Latin "e"), in "rn" for "m" or "0" for "O", or in invisible
/// characters, have the same key. The skeleton maps to prototypes that may be capitals
/// ("0" becomes "O"), so it is folded and taken once more.
pub fn look_alike_key(name: &str) -> String {
    let once: String = skeleton(&name.to_lowercase()).collect();
    skeleton(&once.to_lowercase()).collect()
}

/// The first of `existing` that `name` could be mistaken for.
fn looks_like<'a>(name: &str, existing: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let key = look_alike_key(name);
    existing
        .into_iter()
        .find(|other| look_alike_key(other) == key)
}

fn look_alike(what: &str, name: &str, existing: &str) -> AppError {
    if name == existing {
        return AppError::Conflict(format!("{what} {name:?} exists already"));
    }
    AppError::Conflict(format!(
        "{what} {name:?} looks like the existing {existing:?}; choose one that cannot be \
         mistaken for it"
    ))
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

/// Creates an organisation; its name is normalised and must not look like another's.
pub async fn create_organisation(
    store: &Store,
    name: &str,
    partner: Partner,
) -> Result<Organisation, AppError> {
    let name = normalise_name("an organisation's name", name)?;
    let existing = store.organisations().await?;
    if let Some(other) = looks_like(&name, existing.iter().map(|o| o.name.as_str())) {
        return Err(look_alike("the organisation", &name, other));
    }
    Ok(store.create_organisation(&name, partner).await?)
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

/// Creates an account. Its username and display name are normalised and must not look
/// like another account's (usernames against usernames, display names against display
/// names): whoever reads the audit log or a colleague's name must know who it is.
pub async fn create_account(store: &Store, form: AccountForm) -> Result<Account, AppError> {
    create_account_in(store, form, BTreeSet::new()).await
}

/// Creates an account (as [`create_account`]) that works in `streets` from the start: the
/// account and its streets are one transaction, so a crash in between cannot leave the
/// account without its streets (the demo's seeding skips people who exist).
pub async fn create_account_in(
    store: &Store,
    mut form: AccountForm,
    streets: BTreeSet<Uuid>,
) -> Result<Account, AppError> {
    if form.role == Role::Administrator && !streets.is_empty() {
        return Err(invalid(
            "administrators set streets up; they are not assigned to one",
        ));
    }
    for street in &streets {
        if store.street(*street).await?.is_none() {
            return Err(invalid(format!("there is no street {street}")));
        }
    }
    form.username = form.username.nfc().collect::<String>().trim().to_string();
    check_username(&form.username)?;
    form.display_name = normalise_name("a display name", &form.display_name)?;
    check_password(&form.password)?;
    let organisation_name = match form.organisation.as_deref().map(str::trim) {
        Some(name) if !name.is_empty() => Some(normalise_name("an organisation's name", name)?),
        _ => None,
    };
    let organisation = match organisation_name.as_deref() {
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
    let accounts = store.accounts().await?;
    if let Some(other) = looks_like(&form.username, accounts.iter().map(|a| a.username.as_str())) {
        return Err(if *other == form.username {
            AppError::Conflict(format!("the username {other:?} is taken"))
        } else {
            look_alike("the username", &form.username, other)
        });
    }
    if let Some(other) = looks_like(
        &form.display_name,
        accounts.iter().map(|a| a.display_name.as_str()),
    ) {
        return Err(look_alike("the display name", &form.display_name, other));
    }
    let password_hash = hash_password_blocking(form.password).await?;
    let new = NewAccount {
        username: form.username,
        display_name: form.display_name,
        role: form.role,
        organisation: organisation.as_ref().map(|o| o.id),
        password_hash,
    };
    let id = store.create_account(&new, &streets).await?;
    Ok(Account {
        id: AccountId(id),
        username: new.username,
        display_name: new.display_name,
        role: new.role,
        organisation,
        streets: streets.into_iter().map(StreetId).collect(),
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
    if store.street(street).await?.is_none() {
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

/// Creates a street from its plan; returns its id. Its name, its complexes' names and
/// the businesses' house numbers are normalised; no two complexes' names nor two house
/// numbers in it may look alike, nor the street's name like another street's.
pub async fn create_street(store: &Store, plan: &StreetPlan) -> Result<Uuid, AppError> {
    let mut plan = plan.clone();
    plan.name = normalise_name("a street's name", &plan.name)?;
    for complex in &mut plan.complexes {
        complex.name = normalise_name("a complex's name", &complex.name)?;
        for number in &mut complex.businesses {
            *number = normalise_name("a house number", number)?;
        }
    }
    // The plan's bounds first: only then are its addresses worth listing.
    plan.check().map_err(|e| invalid(e.to_string()))?;
    let mut complexes = HashMap::new();
    let mut numbers = HashMap::new();
    for complex in &plan.complexes {
        if let Some(other) = complexes.insert(look_alike_key(&complex.name), &complex.name) {
            return Err(invalid(format!(
                "the complexes {other:?} and {:?} look alike",
                complex.name
            )));
        }
        for (_, number, _) in complex.addresses() {
            if let Some(other) = numbers.insert(look_alike_key(&number), number.clone()) {
                return Err(invalid(format!(
                    "the house numbers {other:?} and {number:?} look alike"
                )));
            }
        }
    }
    let mut streets = Vec::new();
    for (_, doc) in store.streets(None).await? {
        let street: voordeur_shared::model::Street =
            voordeur_shared::docs::read(&doc).map_err(|e| AppError::Internal(e.into()))?;
        streets.push(street.name);
    }
    if let Some(other) = looks_like(&plan.name, streets.iter().map(String::as_str)) {
        return Err(look_alike("the street", &plan.name, other));
    }
    let street = Uuid::now_v7();
    let (kind, mut doc) = plan
        .build(street, new_actor())
        .map_err(|e| AppError::Internal(e.into()))?;
    store.create(kind, &mut doc).await?;
    Ok(street)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normalised(name: &str) -> Result<String, String> {
        normalise_name("a name", name).map_err(|e| e.to_string())
    }

    #[test]
    fn names_are_kept_in_nfc_trimmed_with_single_spaces() {
        assert_eq!(normalised("  Gemeente Oost "), Ok("Gemeente Oost".into()));
        assert_eq!(
            normalised("Gemeente\u{00A0}\u{2003} Oost"),
            Ok("Gemeente Oost".into())
        );
        // "e" and a combining acute become the one "é".
        assert_eq!(normalised("Zorgcafe\u{0301}"), Ok("Zorgcaf\u{00E9}".into()));
        assert!(normalised("   ").is_err());
        assert!(normalised(&"a".repeat(MAX_NAME_CHARS + 1)).is_err());
    }

    #[test]
    fn control_direction_and_invisible_characters_are_refused() {
        for name in [
            "Zorg\u{202E}tsoO",
            "Zorg\u{2067}Oost",
            "Zorg\u{200F}Oost",
            "Zorg\u{061C}Oost",
            "Zorg\u{0007}Oost",
            "Zorg\tOost",
            "Zorg\nOost",
            "Zorg\u{200B}Oost",
            "Zorg\u{FEFF}Oost",
        ] {
            assert!(normalised(name).is_err(), "{name:?}");
        }
        // Letters of any script are welcome.
        assert!(normalised("Özlem Çelik").is_ok());
        assert!(normalised("Фатима").is_ok());
        assert!(normalised("فاطمة").is_ok());
    }

    #[test]
    fn names_that_look_alike_share_a_key() {
        let key = look_alike_key("Gemeente Oost");
        for twin in [
            "gemeente oost",
            "GEMEENTE OOST",
            "G\u{0435}meente Oost", // Cyrillic е
            "Gemeente 0ost",
            "Gemeente \u{041E}ost", // Cyrillic О
            "Gemeente\u{200D} Oost",
        ] {
            assert_eq!(look_alike_key(twin), key, "{twin:?}");
        }
        assert_eq!(look_alike_key("karim"), look_alike_key("karirn"));
        assert_eq!(look_alike_key("sanne1"), look_alike_key("sannel"));
        assert_ne!(look_alike_key("Gemeente West"), key);
        assert_ne!(look_alike_key("sanne"), look_alike_key("sanna"));
        assert_eq!(
            looks_like("Gemeente Оost", ["Woonstede", "Gemeente Oost"]),
            Some("Gemeente Oost")
        );
        assert_eq!(looks_like("Gemeente West", ["Gemeente Oost"]), None);
    }
}
