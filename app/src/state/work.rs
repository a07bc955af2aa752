//! The work after the knock, on the phone or laptop: a partner's follow-ups, the street's
//! activities, and what became of the signals this person handed to another partner.
//! Like every edit, each is one Automerge change stored at once and synced later.

use std::collections::{BTreeMap, BTreeSet};

use voordeur_shared::{
    activity::{self, Afterwards, Contributor, Plan},
    api::{HandedOn, HandedOnQuery},
    automerge::AutoCommit,
    docs::{self, DocKind, DocumentId, Signature},
    follow_up::{self, FollowUpList},
    ids::AddressId,
    model::{Activity, FollowUpStatus, Theme, Wish},
    record::Door,
};

use super::{Field, Kv};
use crate::error::AppError;

/// One edit of the work after the knock.
#[derive(Debug, Clone)]
pub enum Work {
    /// Takes a wish on for the person's organisation, or moves its follow-up.
    FollowUpWish {
        wish: String,
        status: FollowUpStatus,
        note: String,
    },
    /// Moves the follow-up of one of the organisation's signals.
    FollowUpSignal {
        document: DocumentId,
        signal: String,
        status: FollowUpStatus,
        note: String,
    },
    Plan(Plan),
    Replan {
        id: String,
        plan: Plan,
    },
    Afterwards {
        id: String,
        afterwards: Afterwards,
    },
    Invite {
        id: String,
        address: AddressId,
        invited: bool,
    },
    /// Whether the household at `address` took part (kept in its own document).
    TookPart {
        id: String,
        address: AddressId,
        took_part: bool,
    },
}

impl<K: Kv> Field<K> {
    /// Applies `work` at `at_ms`, signed with the person's name, and stores it. Returns
    /// the id of an activity just planned.
    pub fn work(&mut self, work: Work, at_ms: i64) -> Result<Option<String>, AppError> {
        let street = self.street_id().ok_or(AppError::NoStreet)?;
        let person = self.session.as_ref().map(|s| s.person.clone());
        let by = person
            .as_ref()
            .map(|p| p.display_name.clone())
            .unwrap_or_default();
        let signature = Signature { by: &by, at_ms };
        let mut planned = None;
        let touched = match work {
            Work::FollowUpWish { wish, status, note } => {
                let partner = person
                    .and_then(|p| p.partner)
                    .ok_or(AppError::NotSaved("no organisation".into()))?;
                follow_up::follow_up_wish(
                    &mut self.replica,
                    signature,
                    street.0,
                    partner,
                    &wish,
                    status,
                    &note,
                )?;
                self.replica.street_kind(street.0)
            }
            Work::FollowUpSignal {
                document,
                signal,
                status,
                note,
            } => {
                let kind = self
                    .replica
                    .get(&document)
                    .map(|d| d.kind)
                    .ok_or(AppError::UnknownDoor)?;
                self.ensure_loaded(kind)?;
                follow_up::follow_up_signal(
                    &mut self.replica,
                    signature,
                    kind,
                    &signal,
                    status,
                    &note,
                )?;
                kind
            }
            Work::Plan(plan) => {
                planned = Some(activity::plan(
                    &mut self.replica,
                    signature,
                    street.0,
                    &plan,
                )?);
                self.replica.street_kind(street.0)
            }
            Work::Replan { id, plan } => {
                activity::replan(&mut self.replica, signature, street.0, &id, &plan)?;
                self.replica.street_kind(street.0)
            }
            Work::Afterwards { id, afterwards } => {
                activity::record_afterwards(
                    &mut self.replica,
                    signature,
                    street.0,
                    &id,
                    &afterwards,
                )?;
                self.replica.street_kind(street.0)
            }
            Work::Invite {
                id,
                address,
                invited,
            } => {
                activity::invite(
                    &mut self.replica,
                    signature,
                    street.0,
                    &id,
                    address,
                    invited,
                )?;
                self.replica.street_kind(street.0)
            }
            Work::TookPart {
                id,
                address,
                took_part,
            } => {
                let door = self.door(address)?;
                activity::took_part(&mut self.replica, signature, &door, &id, took_part)?;
                door.household()
            }
        };
        self.persist(&touched.id())?;
        self.store.set_waiting(&touched.id(), (self.clock)(), true);
        if touched == self.replica.street_kind(street.0) {
            self.walk = None;
        }
        Ok(planned)
    }

    /// The person's organisation's follow-ups at `now_ms`: the wishes it took on, its own
    /// signals (from every confidential document of it this device holds) and the open
    /// wishes no partner has taken on.
    pub fn follow_ups(&mut self, now_ms: i64) -> Result<FollowUpList, AppError> {
        let street = self.street_id().ok_or(AppError::NoStreet)?;
        let partner = self
            .session
            .as_ref()
            .and_then(|s| s.person.partner)
            .ok_or(AppError::NotSaved("no organisation".into()))?;
        let own: Vec<DocKind> = self
            .replica
            .docs()
            .map(|(_, d)| d.kind)
            .filter(|kind| {
                matches!(kind, DocKind::Confidential { street: s, partner: p, .. }
                    if *s == street.0 && *p == partner)
            })
            .collect();
        for kind in &own {
            self.ensure_loaded(*kind)?;
        }
        let doc = |kind: &DocKind| self.replica.get(&kind.id()).map(|d| &d.doc);
        let street_doc = doc(&self.replica.street_kind(street.0)).ok_or(AppError::NoStreet)?;
        Ok(FollowUpList::read(
            street_doc,
            partner,
            own.iter().filter_map(|k| Some((*k, doc(k)?))),
            now_ms,
        )?)
    }

    /// The followed street's document.
    fn street_doc(&self) -> Result<&AutoCommit, AppError> {
        let street = self.street_id().ok_or(AppError::NoStreet)?;
        Ok(&self
            .replica
            .get(&self.replica.street_kind(street.0).id())
            .ok_or(AppError::NoStreet)?
            .doc)
    }

    /// The street's activities, soonest first.
    pub fn activities(&mut self) -> Result<Vec<(String, Activity)>, AppError> {
        Ok(activity::activities(self.street_doc()?)?)
    }

    /// The street's wishes (id, theme, text), for an activity to answer.
    pub fn wishes(&mut self) -> Result<Vec<(String, Wish)>, AppError> {
        Ok(docs::amended(self.street_doc()?, docs::WISHES)?
            .into_iter()
            .collect())
    }

    /// The household documents of the street this device holds, loaded.
    fn households(&mut self) -> Result<Vec<DocKind>, AppError> {
        let street = self.street_id().ok_or(AppError::NoStreet)?;
        let kinds: Vec<DocKind> = self
            .replica
            .docs()
            .map(|(_, d)| d.kind)
            .filter(|k| matches!(k, DocKind::Household { street: s, .. } if *s == street.0))
            .collect();
        for kind in &kinds {
            self.ensure_loaded(*kind)?;
        }
        Ok(kinds)
    }

    /// Residents who offered to contribute, those on `theme` first: a list to call on.
    pub fn contributors(&mut self, theme: Option<Theme>) -> Result<Vec<Contributor>, AppError> {
        let street = self.street_id().ok_or(AppError::NoStreet)?;
        let kinds = self.households()?;
        let doc = |kind: &DocKind| self.replica.get(&kind.id()).map(|d| &d.doc);
        let street_doc = doc(&self.replica.street_kind(street.0)).ok_or(AppError::NoStreet)?;
        let households = kinds.iter().filter_map(|kind| match kind {
            DocKind::Household { address, .. } => Some((*address, doc(kind)?)),
            _ => None,
        });
        Ok(activity::contributors(street_doc, households, theme)?)
    }

    /// The doors whose households took part in activity `id`, as their own documents say.
    pub fn took_part(&mut self, id: &str) -> Result<BTreeSet<AddressId>, AppError> {
        let kinds = self.households()?;
        let mut took_part = BTreeSet::new();
        for kind in kinds {
            let DocKind::Household { address, .. } = kind else {
                continue;
            };
            let held = self.replica.get(&kind.id()).map(|d| &d.doc);
            // Only the household's current epoch counts (an erased one is another's).
            let current = Door::find(&self.replica, kind.street(), address)
                .is_ok_and(|door| door.household() == kind);
            if current && held.is_some_and(|doc| activity::took_part_in(doc, id)) {
                took_part.insert(AddressId(address));
            }
        }
        Ok(took_part)
    }

    /// The confidential documents of other partners this person handed signals to: what
    /// to ask `/api/handed-on` about (none when there is nothing).
    pub fn handed_on_query(&mut self) -> Option<HandedOnQuery> {
        let grant = self.session.as_ref()?.person.grant();
        let documents: Vec<DocumentId> = self
            .replica
            .docs()
            .filter(|(_, d)| {
                let access = grant.access(&d.kind);
                matches!(d.kind, DocKind::Confidential { .. })
                    && !access.read
                    && access.write.is_some()
            })
            .map(|(id, _)| *id)
            .collect();
        (!documents.is_empty()).then_some(HandedOnQuery { documents })
    }

    /// Keeps what the server said of the signals this person handed on; returns whether
    /// it differs from what was kept.
    pub fn take_handed_on(&mut self, handed_on: HandedOn) -> Result<bool, AppError> {
        if self.store.handed_on() == handed_on {
            return Ok(false);
        }
        self.store.set_handed_on(&handed_on)?;
        Ok(true)
    }

    /// The statuses of the signals this person handed on, by signal id.
    pub(super) fn handed_on_statuses(&self) -> BTreeMap<String, FollowUpStatus> {
        self.store
            .handed_on()
            .signals
            .into_iter()
            .map(|s| (s.signal, s.status))
            .collect()
    }
}
