//! What a door screen shows: a door's read model, made from the documents of that one door
//! (its entries in the street document, its household document and whichever confidential
//! documents the reader holds). Like [`crate::walk::WalkList::read`], it reads of the street
//! only what concerns this door.

use std::collections::BTreeSet;

use automerge::{AutoCommit, ObjId, ROOT};

use crate::{
    docs::{self, Candidate, Signed},
    follow_up::WishFollowUps,
    ids::{AddressId, VisitId},
    model::{
        Address, ClientStatusChange, Complex, Confidential, Consent, Correction, FollowUp,
        FollowUpStatus, Household, IsoDate, Outcome, Partner, Resident, SignalKind, Theme, Visit,
        Wish,
    },
    record::RecordError,
    walk::{Corrections, read_clearances},
};

/// Everything the door screen shows of one visit.
#[derive(Debug, Clone, PartialEq)]
pub struct VisitView {
    pub id: VisitId,
    pub author: String,
    pub at_ms: i64,
    /// The outcome as corrected (the latest correction's, else the one recorded).
    pub outcome: Outcome,
    pub return_on: Option<IsoDate>,
    /// The outcome recorded at the door, before any correction.
    pub recorded: Outcome,
    /// Every correction of the outcome, oldest first.
    pub corrections: Vec<Correction>,
    /// The notes part by part, each with who wrote it (see [`docs::authorship`]).
    pub notes_by: Vec<(Option<Signed>, String)>,
    pub notes: String,
    pub contribution: String,
    /// What the contribution is about.
    pub contribution_theme: Option<Theme>,
    pub wishes: Vec<WishView>,
    /// The signals of the confidential documents read (only those the reader holds: a
    /// builder who handed one to another partner holds what they wrote themselves).
    pub signals: Vec<SignalView>,
}

/// A wish raised at a visit, with what became of it.
#[derive(Debug, Clone, PartialEq)]
pub struct WishView {
    pub id: String,
    pub theme: Theme,
    pub text: String,
    /// Each partner that took it on, with its follow-up (none yet: open to every partner).
    pub follow_ups: Vec<(Partner, FollowUp)>,
}

/// A signal handed on at a visit, with its follow-up as the document at hand says.
#[derive(Debug, Clone, PartialEq)]
pub struct SignalView {
    pub id: String,
    pub kind: SignalKind,
    pub text: String,
    pub status: FollowUpStatus,
    pub picked_by: Option<String>,
    pub note: String,
}

/// One door: where it is, the resident's consent, and every visit, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct DoorView {
    pub number: String,
    pub building: String,
    pub floor: u32,
    pub consent: Consent,
    /// The resident's name and contact: empty unless an answer to the consent question
    /// allows them ([`Consent::allows_resident`]).
    pub resident: Resident,
    /// Newest first.
    pub visits: Vec<VisitView>,
    /// Fields two people wrote differently at the same time: every value, with whose it is.
    pub conflicts: Vec<FieldConflict>,
    /// The refusal the door shows until someone clears it: the visit that recorded it.
    pub refusal: Option<VisitId>,
    /// The household's client status with the care organisation, newest first (only
    /// from the care organisation's document: empty for everyone else).
    pub client_status: Vec<ClientStatusChange>,
    /// The activities the household took part in, by id.
    pub took_part: Vec<String>,
}

/// A field of a door that holds several values after a merge.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldConflict {
    pub field: ConflictField,
    /// Every value, each with who wrote it and when (when known).
    pub values: Vec<Candidate>,
}

/// Which field of a door a conflict is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConflictField {
    /// The answer to the consent question; values are `Consent`s by name ("Given").
    Consent,
    ResidentName,
    ResidentContact,
    /// What the resident would like to contribute, in one visit's conversation.
    Contribution(VisitId),
}

impl ConflictField {
    /// Where the field is in the household document, and its key.
    pub(crate) fn place(self, doc: &AutoCommit) -> Option<(ObjId, &'static str)> {
        let map = |parent: &ObjId, key: &str| docs::map_at(doc, parent, key);
        match self {
            ConflictField::Consent => Some((ROOT, "consent")),
            ConflictField::ResidentName => Some((map(&ROOT, "resident")?, "name")),
            ConflictField::ResidentContact => Some((map(&ROOT, "resident")?, "contact")),
            ConflictField::Contribution(visit) => {
                let conversations = map(&ROOT, docs::CONVERSATIONS.name)?;
                Some((map(&conversations, &visit.to_string())?, "contribution"))
            }
        }
    }
}

/// The conflicts of a household document, for the visits `visits`.
fn household_conflicts(doc: &AutoCommit, visits: &[VisitId]) -> Vec<FieldConflict> {
    let fields = [
        ConflictField::Consent,
        ConflictField::ResidentName,
        ConflictField::ResidentContact,
    ]
    .into_iter()
    .chain(visits.iter().map(|v| ConflictField::Contribution(*v)));
    fields
        .filter_map(|field| {
            let (obj, key) = field.place(doc)?;
            let values = docs::candidates(doc, &obj, key);
            (values.len() > 1).then_some(FieldConflict { field, values })
        })
        .collect()
}

impl DoorView {
    /// Reads door `address` from its street document, its household document (absent
    /// until someone records a conversation there) and the confidential documents at hand.
    pub fn read<'a>(
        street: &AutoCommit,
        address: AddressId,
        household: Option<&AutoCommit>,
        confidential: impl IntoIterator<Item = (Partner, &'a AutoCommit)>,
    ) -> Result<DoorView, RecordError> {
        let key = address.to_string();
        let entry: Address = docs::get_entry(street, docs::ADDRESSES, &key)?
            .ok_or(RecordError::UnknownAddress(address.0))?;
        let building: Option<Complex> = docs::get_entry(street, docs::COMPLEXES, &entry.complex)?;
        let visits: Vec<(String, Visit)> =
            docs::entries_where(street, docs::VISITS, "address", |a| a == key)?;
        let ids: BTreeSet<&str> = visits.iter().map(|(id, _)| id.as_str()).collect();
        let wishes: Vec<(String, Wish)> =
            docs::entries_where(street, docs::WISHES, "visit", |v| ids.contains(v))?;
        let follow_ups = WishFollowUps::read(street)?;
        let corrections = Corrections::read(street)?;
        let clearances = read_clearances(street)?;
        let answers = household
            .and_then(|doc| docs::consent_answers(doc).ok())
            .unwrap_or_default();
        let notes_by = |id: &str| {
            household
                .map(|doc| docs::authorship(doc, id))
                .unwrap_or_default()
        };
        let conflicts = household
            .map(|doc| {
                let ids: Vec<VisitId> = visits
                    .iter()
                    .filter_map(|(id, _)| id.parse().ok())
                    .collect();
                household_conflicts(doc, &ids)
            })
            .unwrap_or_default();
        let took_part: Vec<String> = household
            .and_then(|doc| docs::amended(doc, docs::PARTICIPATION).ok())
            .map(|all| all.into_keys().collect())
            .unwrap_or_default();
        let household: Household = household
            .and_then(|doc| docs::read(doc).ok())
            .unwrap_or_default();
        let cleared_ms = clearances
            .values()
            .filter(|c| c.address == key)
            .map(|c| c.at_ms)
            .max();
        let mut refusal: Option<(i64, VisitId)> = None;
        let mut client_status = Vec::new();
        let mut held: Vec<Confidential> = Vec::new();
        for (partner, doc) in confidential {
            if partner == Partner::CareOrganisation {
                let history = docs::amended(doc, docs::CLIENT_STATUS).unwrap_or_default();
                client_status = history.into_iter().collect::<Vec<_>>();
            }
            held.extend(docs::read(doc).ok());
        }
        // Newest first, ties by id: the first is the one that counts.
        client_status.sort_by(|(a_id, a), (b_id, b)| (b.at_ms, b_id).cmp(&(a.at_ms, a_id)));
        let client_status = client_status.into_iter().map(|(_, c)| c).collect();
        let mut views = Vec::with_capacity(visits.len());
        for (id, visit) in visits {
            // Visit ids are UUIDs (the schema's rule); one that is not can't be shown.
            let Ok(visit_id) = id.parse() else {
                continue;
            };
            let conversation = household.conversations.get(&id);
            let latest = corrections.latest(&id);
            let outcome = latest.map_or(visit.outcome, |c| c.outcome);
            let return_on = latest.map_or(visit.return_on, |c| c.return_on);
            let decided_ms = latest.map_or(visit.at_ms, |c| c.at_ms.max(visit.at_ms));
            if outcome == Outcome::Refused
                && cleared_ms.is_none_or(|at| at < decided_ms)
                && refusal.is_none_or(|(at, _)| at < visit.at_ms)
            {
                refusal = Some((visit.at_ms, visit_id));
            }
            views.push(VisitView {
                id: visit_id,
                author: visit.author,
                at_ms: visit.at_ms,
                outcome,
                return_on: Visit::planned_return(outcome, return_on),
                recorded: visit.outcome,
                corrections: corrections.of(&id).iter().map(|(_, c)| c.clone()).collect(),
                notes_by: notes_by(&id),
                notes: conversation
                    .map(|c| c.notes.as_str().to_string())
                    .unwrap_or_default(),
                contribution: conversation
                    .map(|c| c.contribution.clone())
                    .unwrap_or_default(),
                contribution_theme: conversation.and_then(|c| c.contribution_theme),
                wishes: wishes
                    .iter()
                    .filter(|(_, w)| w.visit == id)
                    .map(|(wish_id, w)| WishView {
                        id: wish_id.clone(),
                        theme: w.theme,
                        text: w.text.clone(),
                        follow_ups: follow_ups.of(wish_id, w, visit.at_ms),
                    })
                    .collect(),
                signals: held
                    .iter()
                    .flat_map(|c| &c.signals)
                    .filter(|(_, s)| s.visit == id)
                    .map(|(signal_id, s)| SignalView {
                        id: signal_id.clone(),
                        kind: s.kind,
                        text: s.text.clone(),
                        status: s.status,
                        picked_by: s.picked_by.clone(),
                        note: s.note.clone().unwrap_or_default(),
                    })
                    .collect(),
            });
        }
        views.sort_by(|a, b| b.at_ms.cmp(&a.at_ms).then(b.id.cmp(&a.id)));
        Ok(DoorView {
            number: entry.number,
            building: building.map(|c| c.name).unwrap_or_default(),
            floor: entry.floor,
            consent: household.consent,
            resident: household.resident_shown(&answers),
            visits: views,
            conflicts,
            refusal: refusal.map(|(_, id)| id),
            client_status,
            took_part,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::{
        demo,
        docs::{DocKind, new_actor},
        model::Partner,
        record::{Door, VisitRecord},
        sync::client::{Replica, ReplicaDoc},
        walk::WalkList,
    };

    #[test]
    fn a_door_shows_its_visits_newest_first_with_what_was_said() {
        let (kind, doc) = demo::street(new_actor()).unwrap();
        let mut replica = Replica::new(new_actor());
        replica.insert(ReplicaDoc::restore(kind, doc, Vec::new()));
        let street = demo::street_id();
        let walk = WalkList::read(&replica.get(&kind.id()).unwrap().doc).unwrap();
        let address = walk.doors().next().unwrap().id;
        let record = |at_ms, outcome, notes: &str| VisitRecord {
            street,
            address: address.0,
            author: "Sanne".into(),
            at_ms,
            outcome,
            return_on: None,
            notes: notes.into(),
            contribution: String::new(),
            wishes: vec![(Theme::Greenery, "Meer groen".into())],
            signals: vec![(SignalKind::CareNeed, "Hulp bij de post".into())],
        };
        let first = record(1_000, Outcome::NotHome, "")
            .record(&mut replica)
            .unwrap();
        let second = record(2_000, Outcome::Talked, "Over de tuin")
            .record(&mut replica)
            .unwrap();
        let door = Door::find(&replica, street, address.0).unwrap();
        let doc = |kind: DocKind| replica.get(&kind.id()).map(|d| &d.doc);
        let view = DoorView::read(
            doc(door.street_kind()).unwrap(),
            address,
            doc(door.household()),
            Partner::ALL
                .iter()
                .filter_map(|p| Some((*p, doc(door.confidential(*p))?))),
        )
        .unwrap();
        assert_eq!(
            view.visits.iter().map(|v| v.id).collect::<Vec<_>>(),
            [second, first]
        );
        assert_eq!(view.visits[0].notes, "Over de tuin");
        let wish = &view.visits[0].wishes[0];
        assert_eq!(
            (wish.theme, wish.text.as_str()),
            (Theme::Greenery, "Meer groen")
        );
        assert!(wish.follow_ups.is_empty(), "no partner took it on yet");
        let signal = &view.visits[0].signals[0];
        assert_eq!(
            (signal.kind, signal.text.as_str(), signal.status),
            (
                SignalKind::CareNeed,
                "Hulp bij de post",
                FollowUpStatus::New
            )
        );
        let without_care = DoorView::read(
            doc(door.street_kind()).unwrap(),
            address,
            doc(door.household()),
            [],
        )
        .unwrap();
        assert!(without_care.visits[0].signals.is_empty());
    }
}
