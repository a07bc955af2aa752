//! What can go wrong in the app, as types, each with its message in Dutch and English
//! ([`AppError::message`]): the screens show a message in the person's language, never a
//! developer's text.

use crate::{
    i18n::Lang,
    state::{
        aside::{Refusal, Refused, Why},
        store::StoreError,
    },
};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AppError {
    /// No street is followed, or its document is not on the phone yet.
    #[error("no street on this phone yet")]
    NoStreet,
    /// The door is not in the street document.
    #[error("this door is not in the street")]
    UnknownDoor,
    /// Storage is full: the latest change is in memory only (it goes out with the
    /// document's next write that fits).
    #[error("storage is full")]
    StorageFull,
    /// The browser refuses storage altogether; its reason.
    #[error("storage is not available: {0}")]
    StorageUnavailable(String),
    /// A stored value does not open or read; what and why.
    #[error("stored data is damaged: {0}")]
    Damaged(String),
    /// An edit the rules refuse (a text too long, a name without consent); the rule.
    #[error("not saved: {0}")]
    NotSaved(String),
    /// The server's reply for a document did not apply; why.
    #[error("a reply of the server did not apply: {0}")]
    BadReply(String),
    /// The browser's key store failed; its reason.
    #[error("the phone's key store failed: {0}")]
    KeyStore(String),
    /// The server refused a sync (a 4xx): the status, the error's code and the server's
    /// message. The work stays stored on the phone; the app asks again only now and then
    /// (see `state::retry`).
    #[error("the server refused the sync: {status} {code}: {detail}")]
    SyncRefused {
        status: u16,
        code: String,
        detail: String,
    },
}

impl AppError {
    /// The message for the person, in `lang`. Rules and the browser's reasons are quoted
    /// as they come (they are the schema's and the browser's words).
    pub fn message(&self, lang: Lang) -> String {
        let t = lang.texts();
        match self {
            AppError::NoStreet => t.no_street_yet.into(),
            AppError::UnknownDoor => t.door_not_found.into(),
            AppError::StorageFull => t.storage_full.into(),
            AppError::StorageUnavailable(_) => t.storage_unavailable.into(),
            AppError::Damaged(_) => t.stored_damaged.into(),
            AppError::NotSaved(rule) => format!("{} {rule}", t.not_saved),
            AppError::BadReply(_) => t.bad_reply.into(),
            AppError::KeyStore(_) => t.key_store_failed.into(),
            AppError::SyncRefused { status, code, .. } => {
                let why = match code.as_str() {
                    "too_large" => t.refused_too_large,
                    "forbidden" => t.refused_forbidden,
                    "bad_changes" | "damaged" | "malformed" | "duplicate_document" => {
                        t.refused_damaged
                    }
                    "schema_violation" | "kind_mismatch" | "unknown_document"
                    | "unknown_street" => t.refused_invalid,
                    _ => t.refused_other,
                };
                // The status and code, for whoever helps them.
                let code = if code.is_empty() {
                    String::new()
                } else {
                    format!(" {code}")
                };
                format!("{why} {} ({status}{code})", t.refused_kept)
            }
        }
    }
}

impl Refusal {
    /// What the server did not accept, at which door, why, and what to do, in `lang`:
    /// "Niet aangenomen door de server: je bezoek bij Lindenhof 1A (Lindenstraat). Waarom:
    /// je hebt geen toegang meer tot deze straat. Je werk is bewaard op deze telefoon.
    /// Neem contact op met je coördinator."
    pub fn message(&self, lang: Lang) -> String {
        let t = lang.texts();
        let what = match self.what {
            Refused::Visits => t.aside_visits,
            Refused::StreetChanges => t.aside_street_changes,
            Refused::Notes => t.aside_notes,
            Refused::Signal => t.aside_signal,
        };
        let place = if self.doors.is_empty() {
            format!("{} {}", t.aside_in_street, self.street)
        } else {
            let doors: Vec<&str> = self.doors.iter().map(|(_, name)| name.as_str()).collect();
            if self.street.is_empty() {
                format!("{} {}", t.aside_at, doors.join(", "))
            } else {
                format!("{} {} ({})", t.aside_at, doors.join(", "), self.street)
            }
        };
        let why = match self.why {
            Why::NoAccess => t.aside_no_access,
            Why::Forbidden => t.aside_forbidden,
            Why::Invalid => t.aside_invalid,
            Why::Damaged => t.aside_damaged,
            Why::Other => t.aside_other,
        };
        format!(
            "{} {what} {}. {} {why} {}",
            t.aside_title,
            place.trim_end(),
            t.aside_why,
            t.aside_kept
        )
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Full => AppError::StorageFull,
            StoreError::Unavailable(why) => AppError::StorageUnavailable(why),
            StoreError::Damaged(id, why) => AppError::Damaged(format!("{id}: {why}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_speaks_dutch_and_english() {
        let errors = [
            AppError::NoStreet,
            AppError::UnknownDoor,
            AppError::StorageFull,
            AppError::StorageUnavailable("SecurityError".into()),
            AppError::Damaged("x".into()),
            AppError::NotSaved("notes are longer than 20000 characters".into()),
            AppError::BadReply("x".into()),
            AppError::KeyStore("x".into()),
            AppError::SyncRefused {
                status: 413,
                code: "too_large".into(),
                detail: "request body is larger than the limit of 2000 bytes".into(),
            },
        ];
        for error in errors {
            let (nl, en) = (error.message(Lang::Nl), error.message(Lang::En));
            assert!(!nl.is_empty() && !en.is_empty(), "{error:?}");
            assert_ne!(nl, en, "{error:?} has one message for both languages");
        }
    }

    #[test]
    fn a_refused_sync_says_why_in_the_persons_words_and_that_the_work_is_kept() {
        let refused = |status: u16, code: &str| AppError::SyncRefused {
            status,
            code: code.into(),
            detail: "the server's own words".into(),
        };
        let too_large = refused(413, "too_large").message(Lang::Nl);
        assert!(too_large.contains("te groot"), "{too_large}");
        assert!(too_large.contains("bewaard"), "{too_large}");
        assert!(too_large.ends_with("(413 too_large)"), "{too_large}");
        assert!(!too_large.contains("own words"), "no developer's text");
        let damaged = refused(400, "damaged").message(Lang::En);
        assert!(damaged.contains("damaged"), "{damaged}");
        assert!(damaged.contains("stay"), "{damaged}");
        let forbidden = refused(403, "forbidden").message(Lang::Nl);
        assert!(forbidden.contains("niet"), "{forbidden}");
        // A proxy's page: no code, still a message.
        let other = refused(404, "").message(Lang::Nl);
        assert!(other.ends_with("(404)"), "{other}");
        let messages: std::collections::BTreeSet<String> =
            ["too_large", "forbidden", "damaged", "schema_violation", ""]
                .iter()
                .map(|code| refused(400, code).message(Lang::Nl))
                .collect();
        assert_eq!(messages.len(), 5, "each kind of refusal has its own words");
    }

    #[test]
    fn a_refused_document_names_what_where_why_and_what_to_do() {
        use voordeur_shared::{docs::DocumentId, ids::AddressId, uuid::Uuid};
        let refusal = Refusal {
            doc: DocumentId(Uuid::nil()),
            what: Refused::Visits,
            street: "Eikenlaan".into(),
            doors: vec![(AddressId(Uuid::nil()), "Blok A 1".into())],
            why: Why::NoAccess,
            at_ms: 0,
        };
        let nl = refusal.message(Lang::Nl);
        assert_eq!(
            nl,
            "Niet aangenomen door de server: je bezoek bij Blok A 1 (Eikenlaan). Waarom: je \
             hebt geen toegang meer tot deze straat. Je werk is bewaard op deze telefoon. \
             Neem contact op met je coördinator."
        );
        let en = refusal.message(Lang::En);
        assert!(en.contains("your visit at Blok A 1 (Eikenlaan)"), "{en}");
        assert!(en.contains("no longer have access"), "{en}");
        let street = Refusal {
            what: Refused::StreetChanges,
            doors: Vec::new(),
            why: Why::Invalid,
            ..refusal
        };
        let nl = street.message(Lang::Nl);
        assert!(
            nl.contains(
                "je wijzigingen in de straat Eikenlaan. Waarom: de server vond het ongeldig."
            ),
            "{nl}"
        );
    }
}
