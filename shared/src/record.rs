//! Recording a visit: the one user action that writes to several documents at once.
//!
//! A visit's shared facts go into the street document, its conversation into the
//! household document, and each signal into the confidential document of the one partner
//! allowed to hold it. The record is checked against the same rules the server applies
//! before anything is written, so a device never commits a change the server would refuse.

use std::collections::BTreeMap;

use uuid::Uuid;

use automerge::AutoCommit;

use crate::{
    docs::{self, DocKind, EditError, Signature, new_id},
    door::ConflictField,
    ids::VisitId,
    model::{
        Address, Clearance, ClientStatus, ClientStatusChange, Consent, Conversation, Correction,
        FollowUpStatus, IsoDate, MAX_NOTES_CHARS, MAX_SHORT_CHARS, Outcome, Partner, Resident,
        SchemaViolation, Signal, SignalKind, Theme, Visit, Wish, WishStatus,
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
        check_len("notes", &self.notes, MAX_NOTES_CHARS)?;
        check_len("contribution", &self.contribution, MAX_SHORT_CHARS)?;
        check_len("author", &self.author, MAX_SHORT_CHARS)?;
        for (_, text) in &self.wishes {
            check_len("a wish", text, MAX_SHORT_CHARS)?;
        }
        for (_, text) in &self.signals {
            check_len("a signal", text, MAX_SHORT_CHARS)?;
        }
        if self.return_on.is_some() && self.outcome != Outcome::ComeBackLater {
            return Err(SchemaViolation(
                "a return date needs the outcome 'come back later'".into(),
            ));
        }
        Ok(())
    }

    /// Writes the visit into `replica` and returns its id: one change per document.
    pub fn record(&self, replica: &mut Replica) -> Result<VisitId, RecordError> {
        self.check()?;
        let signature = Signature {
            by: &self.author,
            at_ms: self.at_ms,
        };
        let door = Door::find(replica, self.street, self.address)?;
        let street_doc = door.street_doc(replica)?;
        let visit_id = put_visit(
            street_doc,
            &self.address,
            &Visit {
                address: self.address.to_string(),
                author: self.author.clone(),
                at_ms: self.at_ms,
                outcome: self.outcome,
                return_on: self.return_on,
            },
        )?;
        for (theme, text) in &self.wishes {
            put_wish(street_doc, visit_id, *theme, text)?;
        }
        signature.commit(street_doc);

        let household = replica.open(door.household());
        put_conversation(household, visit_id, &self.notes, &self.contribution)?;
        signature.commit(household);

        let mut by_partner: BTreeMap<_, Vec<_>> = BTreeMap::new();
        for (kind, text) in &self.signals {
            by_partner
                .entry(kind.partner())
                .or_default()
                .push((kind, text));
        }
        for (partner, signals) in by_partner {
            let confidential = replica.open(door.confidential(partner));
            for (kind, text) in signals {
                put_signal(confidential, visit_id, *kind, text)?;
            }
            signature.commit(confidential);
        }
        Ok(visit_id)
    }
}

/// One door of a street on this device, and the ids of the documents about its household.
///
/// The field app edits a visit one field at a time, as the builder types; each edit is one
/// Automerge change, written to the device's storage at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Door {
    pub street: Uuid,
    /// The epoch of the street document the door was found in.
    pub street_epoch: u32,
    pub address: Uuid,
    /// The household's epoch: which household documents are the door's now.
    pub epoch: u32,
}

impl Door {
    /// Looks the door up in the street document on `replica`.
    pub fn find(replica: &Replica, street: Uuid, address: Uuid) -> Result<Self, RecordError> {
        let street_kind = replica.street_kind(street);
        let street_doc = &replica
            .get(&street_kind.id())
            .ok_or(RecordError::UnknownStreet(street))?
            .doc;
        let entry: Address = docs::get_entry(street_doc, docs::ADDRESSES, &address.to_string())?
            .ok_or(RecordError::UnknownAddress(address))?;
        Ok(Door {
            street,
            street_epoch: match street_kind {
                DocKind::Street { epoch, .. } => epoch,
                _ => 0,
            },
            address,
            epoch: entry.household_epoch,
        })
    }

    pub fn street_kind(&self) -> DocKind {
        DocKind::Street {
            street: self.street,
            epoch: self.street_epoch,
        }
    }

    pub fn household(&self) -> DocKind {
        DocKind::Household {
            street: self.street,
            address: self.address,
            epoch: self.epoch,
        }
    }

    pub fn confidential(&self, partner: Partner) -> DocKind {
        DocKind::Confidential {
            street: self.street,
            address: self.address,
            epoch: self.epoch,
            partner,
        }
    }

    fn street_doc<'r>(&self, replica: &'r mut Replica) -> Result<&'r mut AutoCommit, RecordError> {
        Ok(&mut replica
            .get_mut(&self.street_kind().id())
            .ok_or(RecordError::UnknownStreet(self.street))?
            .doc)
    }

    /// Records a knock on this door and opens its conversation (so that notes added later,
    /// by anyone, land in the one conversation). Returns the visit's id.
    pub fn record_visit(
        &self,
        replica: &mut Replica,
        author: &str,
        at_ms: i64,
        outcome: Outcome,
        return_on: Option<IsoDate>,
    ) -> Result<VisitId, RecordError> {
        VisitRecord {
            street: self.street,
            address: self.address,
            author: author.to_string(),
            at_ms,
            outcome,
            return_on,
            notes: String::new(),
            contribution: String::new(),
            wishes: Vec::new(),
            signals: Vec::new(),
        }
        .record(replica)
    }

    /// Replaces the notes of `visit`'s conversation, keeping others' concurrent edits.
    ///
    /// The conversation is made with the visit; should this device lack it (its storage
    /// was full when the visit was recorded, and the app closed before it could write it),
    /// the notes start a conversation anew.
    pub fn set_notes(
        &self,
        replica: &mut Replica,
        visit: VisitId,
        notes: &str,
    ) -> Result<(), RecordError> {
        check_len("notes", notes, MAX_NOTES_CHARS)?;
        let signer = replica.signer();
        let household = replica.open(self.household());
        match docs::update_notes(household, &visit.to_string(), notes) {
            Err(EditError::MissingEntry { .. }) => put_conversation(household, visit, notes, "")?,
            other => other?,
        }
        commit(household, &signer);
        Ok(())
    }

    pub fn set_contribution(
        &self,
        replica: &mut Replica,
        visit: VisitId,
        contribution: &str,
    ) -> Result<(), RecordError> {
        check_len("contribution", contribution, MAX_SHORT_CHARS)?;
        self.edit_conversation(replica, visit, |c| {
            c.contribution = contribution.to_string()
        })
    }

    /// Changes `visit`'s conversation with `edit` (only what differs is written).
    fn edit_conversation(
        &self,
        replica: &mut Replica,
        visit: VisitId,
        edit: impl FnOnce(&mut Conversation),
    ) -> Result<(), RecordError> {
        let signer = replica.signer();
        let household = replica.open(self.household());
        let visit = visit.to_string();
        let mut conversation: Conversation =
            docs::get_entry(household, docs::CONVERSATIONS, &visit)?.ok_or_else(|| {
                EditError::MissingEntry {
                    collection: docs::CONVERSATIONS.name,
                    key: visit.to_string(),
                }
            })?;
        edit(&mut conversation);
        docs::put_entry(household, docs::CONVERSATIONS, &visit, &conversation)?;
        commit(household, &signer);
        Ok(())
    }

    /// Sets what `visit`'s contribution is about (none: no theme), so that an activity
    /// on that theme can call on the resident.
    pub fn set_contribution_theme(
        &self,
        replica: &mut Replica,
        visit: VisitId,
        theme: Option<Theme>,
    ) -> Result<(), RecordError> {
        self.edit_conversation(replica, visit, |c| c.contribution_theme = theme)
    }

    /// Sets the household's client status in the care organisation's document: a new
    /// entry of its history, the latest of which counts.
    pub fn set_client_status(
        &self,
        replica: &mut Replica,
        signature: Signature<'_>,
        status: ClientStatus,
    ) -> Result<(), RecordError> {
        check_len("author", signature.by, MAX_SHORT_CHARS)?;
        let kind = self.confidential(Partner::CareOrganisation);
        let care = replica.open(kind);
        kind.upgrade(care).map_err(EditError::from)?;
        let change = ClientStatusChange {
            status,
            by: signature.by.to_string(),
            at_ms: signature.at_ms,
        };
        docs::put_entry(care, docs::CLIENT_STATUS, &new_id(), &change)?;
        signature.commit(care);
        Ok(())
    }

    pub fn add_wish(
        &self,
        replica: &mut Replica,
        visit: VisitId,
        theme: Theme,
        text: &str,
    ) -> Result<(), RecordError> {
        check_len("a wish", text, MAX_SHORT_CHARS)?;
        let signer = replica.signer();
        let street_doc = self.street_doc(replica)?;
        put_wish(street_doc, visit, theme, text)?;
        commit(street_doc, &signer);
        Ok(())
    }

    /// Adds a signal to the confidential document of the one partner allowed to hold it.
    pub fn add_signal(
        &self,
        replica: &mut Replica,
        visit: VisitId,
        kind: SignalKind,
        text: &str,
    ) -> Result<(), RecordError> {
        check_len("a signal", text, MAX_SHORT_CHARS)?;
        let signer = replica.signer();
        let confidential = replica.open(self.confidential(kind.partner()));
        put_signal(confidential, visit, kind, text)?;
        commit(confidential, &signer);
        Ok(())
    }

    /// Records the resident's answer to the consent question, with their name and contact
    /// details only when they consent. The answer is written even when it is the one shown,
    /// so that it also settles a conflict of answers; "no" clears every copy of the name.
    pub fn set_consent(
        &self,
        replica: &mut Replica,
        signature: Signature<'_>,
        consent: Consent,
        resident: &Resident,
    ) -> Result<(), RecordError> {
        check_len("resident name", &resident.name, MAX_SHORT_CHARS)?;
        check_len("resident contact", &resident.contact, MAX_SHORT_CHARS)?;
        let kept = if consent == Consent::Given {
            resident.clone()
        } else {
            Resident::default()
        };
        let household = replica.open(self.household());
        docs::settle(household, &automerge::ROOT, "consent", consent.name())?;
        docs::put_field(household, "resident", &kept)?;
        if consent != Consent::Given {
            // A name another phone typed beside an earlier answer goes too.
            docs::clear_resident(household).map_err(EditError::from)?;
        }
        signature.commit(household);
        Ok(())
    }

    /// Settles a conflict: writes `value`, one of the values the field holds, over all of
    /// them, for everyone.
    pub fn settle(
        &self,
        replica: &mut Replica,
        signature: Signature<'_>,
        field: ConflictField,
        value: &str,
    ) -> Result<(), RecordError> {
        if let ConflictField::Consent = field {
            let consent = Consent::parse(value)
                .ok_or_else(|| SchemaViolation(format!("{value:?} is not an answer")))?;
            let household = replica.open(self.household());
            let resident: Resident = docs::read::<crate::model::Household>(household)
                .map_err(EditError::from)?
                .resident;
            return self.set_consent(replica, signature, consent, &resident);
        }
        check_len("a value", value, MAX_SHORT_CHARS)?;
        let household = replica.open(self.household());
        let (obj, key) = field
            .place(household)
            .ok_or_else(|| EditError::MissingEntry {
                collection: docs::CONVERSATIONS.name,
                key: format!("{field:?}"),
            })?;
        docs::settle(household, &obj, key, value)?;
        signature.commit(household);
        Ok(())
    }

    /// Corrects the outcome of `visit` (a wrong tap): a correction of its own, shown in
    /// the visit's history; the latest correction counts.
    pub fn correct_outcome(
        &self,
        replica: &mut Replica,
        signature: Signature<'_>,
        visit: VisitId,
        outcome: Outcome,
        return_on: Option<IsoDate>,
    ) -> Result<(), RecordError> {
        check_len("author", signature.by, MAX_SHORT_CHARS)?;
        let kind = self.street_kind();
        let street_doc = self.street_doc(replica)?;
        let known: Option<Visit> = docs::get_entry(street_doc, docs::VISITS, &visit.to_string())?;
        if known.is_none_or(|v| v.address != self.address.to_string()) {
            return Err(EditError::MissingEntry {
                collection: docs::VISITS.name,
                key: visit.to_string(),
            }
            .into());
        }
        kind.upgrade(street_doc).map_err(EditError::from)?;
        let correction = Correction {
            visit: visit.to_string(),
            outcome,
            return_on: Visit::planned_return(outcome, return_on),
            by: signature.by.to_string(),
            at_ms: signature.at_ms,
        };
        docs::put_entry(street_doc, docs::CORRECTIONS, &new_id(), &correction)?;
        signature.commit(street_doc);
        Ok(())
    }

    /// Clears the refusal this door shows, on purpose: the door may be knocked on again.
    pub fn clear_refusal(
        &self,
        replica: &mut Replica,
        signature: Signature<'_>,
    ) -> Result<(), RecordError> {
        check_len("author", signature.by, MAX_SHORT_CHARS)?;
        let kind = self.street_kind();
        let street_doc = self.street_doc(replica)?;
        kind.upgrade(street_doc).map_err(EditError::from)?;
        let clearance = Clearance {
            address: self.address.to_string(),
            by: signature.by.to_string(),
            at_ms: signature.at_ms,
        };
        docs::put_entry(street_doc, docs::CLEARANCES, &new_id(), &clearance)?;
        signature.commit(street_doc);
        Ok(())
    }
}

/// Commits with the replica's signer (see [`Replica::sign_as`]), if it has one.
fn commit(doc: &mut AutoCommit, signer: &Option<(String, i64)>) {
    match signer {
        Some((by, at_ms)) => Signature { by, at_ms: *at_ms }.commit(doc),
        None => {
            doc.commit();
        }
    }
}

fn check_len(what: &str, text: &str, max: usize) -> Result<(), SchemaViolation> {
    if text.chars().count() > max {
        return Err(SchemaViolation(format!(
            "{what} is longer than {max} characters"
        )));
    }
    Ok(())
}

fn put_visit(
    street_doc: &mut AutoCommit,
    address: &Uuid,
    visit: &Visit,
) -> Result<VisitId, EditError> {
    debug_assert_eq!(visit.address, address.to_string());
    let visit_id = VisitId(Uuid::now_v7());
    docs::put_entry(street_doc, docs::VISITS, &visit_id.to_string(), visit)?;
    Ok(visit_id)
}

fn put_wish(
    street_doc: &mut AutoCommit,
    visit: VisitId,
    theme: Theme,
    text: &str,
) -> Result<(), EditError> {
    let wish = Wish {
        visit: visit.to_string(),
        theme,
        text: text.to_string(),
        status: WishStatus::Open,
        owner: None,
    };
    docs::put_entry(street_doc, docs::WISHES, &new_id(), &wish)
}

fn put_conversation(
    household: &mut AutoCommit,
    visit: VisitId,
    notes: &str,
    contribution: &str,
) -> Result<(), EditError> {
    let conversation = Conversation {
        notes: autosurgeon::Text::with_value(notes),
        contribution: contribution.to_string(),
        contribution_theme: None,
    };
    docs::put_entry(
        household,
        docs::CONVERSATIONS,
        &visit.to_string(),
        &conversation,
    )
}

fn put_signal(
    confidential: &mut AutoCommit,
    visit: VisitId,
    kind: SignalKind,
    text: &str,
) -> Result<(), EditError> {
    let signal = Signal {
        visit: visit.to_string(),
        kind,
        text: text.to_string(),
        status: FollowUpStatus::New,
        note: None,
        picked_by: None,
        picked_at_ms: None,
        moved_ms: None,
    };
    docs::put_entry(confidential, docs::SIGNALS, &new_id(), &signal)
}
