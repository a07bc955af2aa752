//! Recording a visit: the one user action that writes to several documents at once.
//!
//! A visit's shared facts go into the street document, its conversation into the
//! household document, and each signal into the confidential document of the one partner
//! allowed to hold it. The record is checked against the same rules the server applies
//! before anything is written, so a device never commits a change the server would refuse.

use std::collections::BTreeMap;

use uuid::Uuid;

use crate::{
    docs::{self, DocKind, EditError, new_id},
    model::{
        Conversation, IsoDate, MAX_NOTES_CHARS, MAX_SHORT_CHARS, Outcome, SchemaViolation, Signal,
        SignalKind, SignalStatus, Street, Theme, Visit, Wish, WishStatus,
    },
    sync::client::Replica,
};

/// Everything the builder enters at a door.
#[derive(Debug, Clone, PartialEq)]
pub struct VisitRecord {
    pub street: Uuid,
    pub address: Uuid,
    pub author: String,
    pub at_ms: i64,
    pub outcome: Outcome,
    pub return_on: Option<IsoDate>,
    pub notes: String,
    pub contribution: String,
    pub wishes: Vec<(Theme, String)>,
    pub signals: Vec<(SignalKind, String)>,
}

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("street {0} is not on this device")]
    UnknownStreet(Uuid),
    #[error("street has no address {0}")]
    UnknownAddress(Uuid),
    #[error(transparent)]
    Invalid(#[from] SchemaViolation),
    #[error(transparent)]
    Edit(Box<EditError>),
}

impl From<EditError> for RecordError {
    fn from(e: EditError) -> Self {
        RecordError::Edit(Box::new(e))
    }
}

impl VisitRecord {
    fn check(&self) -> Result<(), SchemaViolation> {
        let too_long = |what: &str, text: &str, max: usize| {
            (text.chars().count() > max)
                .then(|| SchemaViolation(format!("{what} is longer than {max} characters")))
        };
        if let Some(err) = too_long("notes", &self.notes, MAX_NOTES_CHARS)
            .or_else(|| too_long("contribution", &self.contribution, MAX_SHORT_CHARS))
            .or_else(|| too_long("author", &self.author, MAX_SHORT_CHARS))
            .or_else(|| {
                self.wishes
                    .iter()
                    .find_map(|(_, text)| too_long("a wish", text, MAX_SHORT_CHARS))
            })
            .or_else(|| {
                self.signals
                    .iter()
                    .find_map(|(_, text)| too_long("a signal", text, MAX_SHORT_CHARS))
            })
        {
            return Err(err);
        }
        if self.return_on.is_some() && self.outcome != Outcome::ComeBackLater {
            return Err(SchemaViolation(
                "a return date needs the outcome 'come back later'".into(),
            ));
        }
        Ok(())
    }

    /// Writes the visit into `replica` and returns its id.
    pub fn record(&self, replica: &mut Replica) -> Result<String, RecordError> {
        self.check()?;
        let street_kind = DocKind::Street {
            street: self.street,
        };
        let street_doc = &mut replica
            .get_mut(&street_kind.id())
            .ok_or(RecordError::UnknownStreet(self.street))?
            .doc;
        let street: Street = docs::read(street_doc).map_err(EditError::from)?;
        let epoch = street
            .addresses
            .get(&self.address.to_string())
            .ok_or(RecordError::UnknownAddress(self.address))?
            .household_epoch;

        let visit_id = new_id();
        docs::put_entry(
            street_doc,
            "visits",
            &visit_id,
            &Visit {
                address: self.address.to_string(),
                author: self.author.clone(),
                at_ms: self.at_ms,
                outcome: self.outcome,
                return_on: self.return_on,
            },
        )?;
        for (theme, text) in &self.wishes {
            let wish = Wish {
                visit: visit_id.clone(),
                theme: *theme,
                text: text.clone(),
                status: WishStatus::Open,
                owner: None,
            };
            docs::put_entry(street_doc, "wishes", &new_id(), &wish)?;
        }
        street_doc.commit();

        if !self.notes.is_empty() || !self.contribution.is_empty() {
            let household = replica.open(DocKind::Household {
                street: self.street,
                address: self.address,
                epoch,
            });
            let conversation = Conversation {
                notes: autosurgeon::Text::with_value(&self.notes),
                contribution: self.contribution.clone(),
            };
            docs::put_entry(household, "conversations", &visit_id, &conversation)?;
            household.commit();
        }

        let mut by_partner: BTreeMap<_, Vec<_>> = BTreeMap::new();
        for (kind, text) in &self.signals {
            by_partner
                .entry(kind.partner())
                .or_default()
                .push((kind, text));
        }
        for (partner, signals) in by_partner {
            let confidential = replica.open(DocKind::Confidential {
                street: self.street,
                address: self.address,
                epoch,
                partner,
            });
            for (kind, text) in signals {
                let signal = Signal {
                    visit: visit_id.clone(),
                    kind: *kind,
                    text: text.clone(),
                    status: SignalStatus::New,
                };
                docs::put_entry(confidential, "signals", &new_id(), &signal)?;
            }
            confidential.commit();
        }
        Ok(visit_id)
    }
}
