//! After the knock: what each partner follows up. A wish for the street is taken on by a
//! partner that can act on it ([`FollowUp`] in the street document, one per partner); a
//! signal is followed up inside the partner it was handed to (its status, in that
//! partner's confidential document of the household). [`FollowUpList`] is one partner's
//! list, read from the documents its coordinators and coaches hold; the writes here are
//! the follow-up's own, the only ones a coordinator may make (`crate::access`).

use std::collections::BTreeMap;

use automerge::AutoCommit;
use uuid::Uuid;

use crate::{
    docs::{self, DocKind, DocumentId, EditError, Signature},
    ids::AddressId,
    model::{
        Address, FollowUp, FollowUpStatus, MAX_SHORT_CHARS, Partner, SchemaViolation, Signal,
        SignalKind, Theme, Visit, Wish,
    },
    record::RecordError,
    sync::client::Replica,
};

/// How long something may stay new before it is overdue.
pub const OVERDUE_AFTER_MS: i64 = 14 * DAY_MS;
const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// What is followed up.
#[derive(Debug, Clone, PartialEq)]
pub enum Subject {
    Wish {
        id: String,
        theme: Theme,
        text: String,
    },
    /// A signal, in the confidential document `document`.
    Signal {
        document: DocumentId,
        id: String,
        kind: SignalKind,
        text: String,
    },
}

/// One line of a partner's follow-up list.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub subject: Subject,
    pub address: AddressId,
    /// The door's number, as on the door.
    pub number: String,
    /// When it was raised (its visit), and by whom.
    pub raised_ms: i64,
    pub raised_by: String,
    pub status: FollowUpStatus,
    /// For a wish, the partner that took it on (none: offered to every partner).
    pub owner: Option<Partner>,
    /// Who picked it up, and when.
    pub picked_by: Option<String>,
    pub picked_at_ms: Option<i64>,
    pub note: String,
    /// When its status or note last moved.
    pub moved_ms: Option<i64>,
}

impl Item {
    /// Whole days since it was raised.
    pub fn age_days(&self, now_ms: i64) -> i64 {
        (now_ms - self.raised_ms).max(0) / DAY_MS
    }

    /// Still new, [`OVERDUE_AFTER_MS`] after it was raised.
    pub fn overdue(&self, now_ms: i64) -> bool {
        self.status == FollowUpStatus::New && now_ms - self.raised_ms > OVERDUE_AFTER_MS
    }

    pub fn theme(&self) -> Option<Theme> {
        match &self.subject {
            Subject::Wish { theme, .. } => Some(*theme),
            Subject::Signal { .. } => None,
        }
    }
}

/// One partner's follow-ups: the wishes it took on, its own signals, and the open wishes
/// no partner has taken on yet (offered to every partner). Overdue first (oldest first),
/// then what is still open, then what is done; oldest first within each.
#[derive(Debug, Clone, PartialEq)]
pub struct FollowUpList {
    pub partner: Partner,
    pub items: Vec<Item>,
}

/// The follow-ups of every wish of a street: each partner's, by wish id, with what a
/// street from before follow-ups holds in the wish itself read as its owner's follow-up.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WishFollowUps(BTreeMap<String, Vec<(Partner, FollowUp)>>);

impl WishFollowUps {
    pub fn read(street: &AutoCommit) -> Result<WishFollowUps, EditError> {
        Ok(WishFollowUps::new(docs::follow_ups(street)?))
    }

    /// From each partner's follow-ups by wish id (as `docs::follow_ups` reads them).
    pub fn new(by_partner: BTreeMap<Partner, BTreeMap<String, FollowUp>>) -> WishFollowUps {
        let mut by_wish: BTreeMap<String, Vec<(Partner, FollowUp)>> = BTreeMap::new();
        for (partner, follow_ups) in by_partner {
            for (wish, follow_up) in follow_ups {
                by_wish.entry(wish).or_default().push((partner, follow_up));
            }
        }
        WishFollowUps(by_wish)
    }

    /// Every partner's follow-up of wish `id` (`wish` as the street holds it, `raised_ms`
    /// its visit's time).
    pub fn of(&self, id: &str, wish: &Wish, raised_ms: i64) -> Vec<(Partner, FollowUp)> {
        let mut all = self.0.get(id).cloned().unwrap_or_default();
        if let Some(owner) = wish.owner
            && !all.iter().any(|(p, _)| *p == owner)
        {
            all.push((
                owner,
                FollowUp {
                    status: wish.status.follow_up(),
                    note: String::new(),
                    by: String::new(),
                    at_ms: raised_ms,
                    moved_ms: raised_ms,
                },
            ));
        }
        all.sort_by_key(|(p, _)| *p);
        all
    }
}

impl FollowUpList {
    /// `partner`'s list, from the street document and `confidential`, the partner's
    /// confidential documents at hand (others' are skipped).
    pub fn read<'a>(
        street: &AutoCommit,
        partner: Partner,
        confidential: impl IntoIterator<Item = (DocKind, &'a AutoCommit)>,
        now_ms: i64,
    ) -> Result<FollowUpList, EditError> {
        let addresses: BTreeMap<String, Address> =
            autosurgeon::hydrate_prop(street, automerge::ROOT, docs::ADDRESSES.name)?;
        let wishes: BTreeMap<String, Wish> =
            autosurgeon::hydrate_prop(street, automerge::ROOT, docs::WISHES.name)?;
        let follow_ups = WishFollowUps::read(street)?;
        // Only the visits something was raised at are read, not the street's thousands.
        let door = |visit: &str| -> Option<(AddressId, String, i64, String)> {
            let visit: Visit = docs::get_entry(street, docs::VISITS, visit).ok()??;
            let number = addresses.get(&visit.address)?.number.clone();
            Some((
                visit.address.parse().ok()?,
                number,
                visit.at_ms,
                visit.author.clone(),
            ))
        };
        let mut items = Vec::new();
        for (id, wish) in &wishes {
            let Some((address, number, raised_ms, raised_by)) = door(&wish.visit) else {
                continue;
            };
            let all = follow_ups.of(id, wish, raised_ms);
            let (owner, follow_up) = match all.iter().find(|(p, _)| *p == partner) {
                Some((_, own)) => (Some(partner), Some(own)),
                // Offered to every partner while no one has taken it on.
                None if all.is_empty() => (None, None),
                None => continue,
            };
            items.push(Item {
                subject: Subject::Wish {
                    id: id.clone(),
                    theme: wish.theme,
                    text: wish.text.clone(),
                },
                address,
                number,
                raised_ms,
                raised_by,
                status: follow_up.map_or(FollowUpStatus::New, |f| f.status),
                owner,
                picked_by: follow_up.map(|f| f.by.clone()).filter(|by| !by.is_empty()),
                picked_at_ms: follow_up.map(|f| f.at_ms),
                note: follow_up.map(|f| f.note.clone()).unwrap_or_default(),
                moved_ms: follow_up.map(|f| f.moved_ms),
            });
        }
        for (kind, doc) in confidential {
            let DocKind::Confidential { partner: of, .. } = kind else {
                continue;
            };
            if of != partner {
                continue;
            }
            let signals: BTreeMap<String, Signal> =
                autosurgeon::hydrate_prop(doc, automerge::ROOT, docs::SIGNALS.name)?;
            for (id, signal) in signals {
                let Some((address, number, raised_ms, raised_by)) = door(&signal.visit) else {
                    continue;
                };
                items.push(Item {
                    subject: Subject::Signal {
                        document: kind.id(),
                        id,
                        kind: signal.kind,
                        text: signal.text,
                    },
                    address,
                    number,
                    raised_ms,
                    raised_by,
                    status: signal.status,
                    owner: Some(partner),
                    picked_by: signal.picked_by,
                    picked_at_ms: signal.picked_at_ms,
                    note: signal.note.unwrap_or_default(),
                    moved_ms: signal.moved_ms,
                });
            }
        }
        let rank = |item: &Item| match item.status {
            _ if item.overdue(now_ms) => 0,
            status if status.is_open() => 1,
            _ => 2,
        };
        items.sort_by(|a, b| {
            (rank(a), a.raised_ms, &a.number).cmp(&(rank(b), b.raised_ms, &b.number))
        });
        Ok(FollowUpList { partner, items })
    }

    /// How many are overdue at `now_ms`.
    pub fn overdue(&self, now_ms: i64) -> usize {
        self.items.iter().filter(|i| i.overdue(now_ms)).count()
    }
}

fn check_note(note: &str) -> Result<(), SchemaViolation> {
    if note.chars().count() > MAX_SHORT_CHARS {
        return Err(SchemaViolation(format!(
            "a follow-up note is longer than {MAX_SHORT_CHARS} characters"
        )));
    }
    Ok(())
}

/// Takes wish `wish` of `street` on for `partner`, or moves the partner's follow-up of it:
/// its status and note. The first write records who took it on, and when.
pub fn follow_up_wish(
    replica: &mut Replica,
    signature: Signature<'_>,
    street: Uuid,
    partner: Partner,
    wish: &str,
    status: FollowUpStatus,
    note: &str,
) -> Result<(), RecordError> {
    check_note(note)?;
    let kind = replica.street_kind(street);
    let doc = &mut replica
        .get_mut(&kind.id())
        .ok_or(RecordError::UnknownStreet(street))?
        .doc;
    if docs::get_entry::<Wish>(doc, docs::WISHES, wish)?.is_none() {
        return Err(EditError::MissingEntry {
            collection: docs::WISHES.name,
            key: wish.to_string(),
        }
        .into());
    }
    kind.upgrade(doc).map_err(EditError::from)?;
    let follow_up = match docs::get_follow_up(doc, partner, wish)? {
        Some(mut known) => {
            known.status = status;
            known.note = note.to_string();
            known.moved_ms = signature.at_ms;
            known
        }
        None => FollowUp {
            status,
            note: note.to_string(),
            by: signature.by.to_string(),
            at_ms: signature.at_ms,
            moved_ms: signature.at_ms,
        },
    };
    docs::put_follow_up(doc, partner, wish, &follow_up)?;
    signature.commit(doc);
    Ok(())
}

/// Moves the follow-up of signal `signal` in confidential document `kind`: its status and
/// note. Moving it on from new records who picked it up, and when (once).
pub fn follow_up_signal(
    replica: &mut Replica,
    signature: Signature<'_>,
    kind: DocKind,
    signal: &str,
    status: FollowUpStatus,
    note: &str,
) -> Result<(), RecordError> {
    check_note(note)?;
    let doc = &mut replica
        .get_mut(&kind.id())
        .ok_or(RecordError::UnknownStreet(kind.street()))?
        .doc;
    let mut known: Signal =
        docs::get_entry(doc, docs::SIGNALS, signal)?.ok_or_else(|| EditError::MissingEntry {
            collection: docs::SIGNALS.name,
            key: signal.to_string(),
        })?;
    if status != FollowUpStatus::New && known.picked_by.is_none() {
        known.picked_by = Some(signature.by.to_string());
        known.picked_at_ms = Some(signature.at_ms);
    }
    known.status = status;
    known.note = Some(note.to_string());
    known.moved_ms = Some(signature.at_ms);
    docs::put_entry(doc, docs::SIGNALS, signal, &known)?;
    signature.commit(doc);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        demo,
        docs::new_actor,
        model::{Outcome, Street},
        record::{Door, VisitRecord},
        sync::client::ReplicaDoc,
    };

    const DAY: i64 = DAY_MS;

    /// The demo street with one talk at its first door: a wish and a moving wish.
    fn street_with_a_talk() -> (Replica, Door) {
        let (kind, doc) = demo::street(new_actor()).unwrap();
        let street: Street = docs::read(&doc).unwrap();
        let address: Uuid = street.addresses.keys().next().unwrap().parse().unwrap();
        let mut replica = Replica::new(new_actor());
        replica.insert(ReplicaDoc::restore(kind, doc, Vec::new()));
        VisitRecord {
            street: demo::street_id(),
            address,
            author: "Sanne".into(),
            at_ms: DAY,
            outcome: Outcome::Talked,
            return_on: None,
            notes: String::new(),
            contribution: String::new(),
            wishes: vec![(Theme::Play, "Een schommel".into())],
            signals: vec![(SignalKind::MovingWish, "Wil kleiner wonen".into())],
        }
        .record(&mut replica)
        .unwrap();
        let door = Door::find(&replica, demo::street_id(), address).unwrap();
        (replica, door)
    }

    fn list(replica: &Replica, door: &Door, partner: Partner, now_ms: i64) -> FollowUpList {
        let doc = |kind: DocKind| &replica.get(&kind.id()).unwrap().doc;
        let held = Partner::ALL
            .into_iter()
            .filter_map(|p| {
                let kind = door.confidential(p);
                Some((kind, &replica.get(&kind.id())?.doc))
            })
            .collect::<Vec<_>>();
        FollowUpList::read(doc(door.street_kind()), partner, held, now_ms).unwrap()
    }

    fn wish_id(list: &FollowUpList) -> String {
        list.items
            .iter()
            .find_map(|i| match &i.subject {
                Subject::Wish { id, .. } => Some(id.clone()),
                Subject::Signal { .. } => None,
            })
            .unwrap()
    }

    fn sign(by: &str, at_ms: i64) -> Signature<'_> {
        Signature { by, at_ms }
    }

    #[test]
    fn a_wish_is_offered_to_every_partner_until_one_takes_it_on() {
        let (mut replica, door) = street_with_a_talk();
        // Every partner is offered the wish; only the corporation has the moving wish.
        for partner in Partner::ALL {
            let offered = list(&replica, &door, partner, 2 * DAY);
            let kinds: Vec<bool> = offered
                .items
                .iter()
                .map(|i| matches!(i.subject, Subject::Signal { .. }))
                .collect();
            let expected = if partner == Partner::Corporation {
                vec![false, true]
            } else {
                vec![false]
            };
            assert_eq!(kinds, expected, "{partner:?}");
            assert_eq!(offered.items[0].owner, None);
        }
        let wish = wish_id(&list(&replica, &door, Partner::Corporation, 2 * DAY));
        follow_up_wish(
            &mut replica,
            sign("Mirjam", 3 * DAY),
            demo::street_id(),
            Partner::Corporation,
            &wish,
            FollowUpStatus::PickedUp,
            "Met de beheerder",
        )
        .unwrap();
        let corporation = list(&replica, &door, Partner::Corporation, 4 * DAY);
        let taken = &corporation.items[0];
        assert_eq!(taken.owner, Some(Partner::Corporation));
        assert_eq!(taken.status, FollowUpStatus::PickedUp);
        assert_eq!(taken.picked_by.as_deref(), Some("Mirjam"));
        assert_eq!(taken.picked_at_ms, Some(3 * DAY));
        assert_eq!(taken.note, "Met de beheerder");
        // Taken on by one partner, it leaves the others' lists.
        assert!(
            list(&replica, &door, Partner::Municipality, 4 * DAY)
                .items
                .is_empty()
        );
        // Moving it on keeps who took it on and when.
        follow_up_wish(
            &mut replica,
            sign("Piet", 5 * DAY),
            demo::street_id(),
            Partner::Corporation,
            &wish,
            FollowUpStatus::Closed,
            "Schommel geplaatst",
        )
        .unwrap();
        let done = &list(&replica, &door, Partner::Corporation, 6 * DAY).items;
        let wish_line = done.iter().find(|i| i.theme().is_some()).unwrap();
        assert_eq!(
            (
                wish_line.status,
                wish_line.picked_by.as_deref(),
                wish_line.moved_ms
            ),
            (FollowUpStatus::Closed, Some("Mirjam"), Some(5 * DAY))
        );
    }

    #[test]
    fn what_is_new_after_fourteen_days_is_overdue_and_first() {
        let (mut replica, door) = street_with_a_talk();
        let now = DAY + 15 * DAY;
        let corporation = list(&replica, &door, Partner::Corporation, now);
        assert_eq!(corporation.overdue(now), 2, "the wish and the signal");
        assert_eq!(corporation.items[0].age_days(now), 15);
        assert_eq!(
            list(&replica, &door, Partner::Corporation, DAY + 13 * DAY).overdue(DAY + 13 * DAY),
            0
        );
        // The signal picked up is no longer overdue, and goes after what still is.
        let signal = corporation
            .items
            .iter()
            .find_map(|i| match &i.subject {
                Subject::Signal { id, .. } => Some(id.clone()),
                Subject::Wish { .. } => None,
            })
            .unwrap();
        follow_up_signal(
            &mut replica,
            sign("Mirjam", now),
            door.confidential(Partner::Corporation),
            &signal,
            FollowUpStatus::PickedUp,
            "",
        )
        .unwrap();
        let after = list(&replica, &door, Partner::Corporation, now);
        assert_eq!(after.overdue(now), 1);
        assert!(matches!(after.items[0].subject, Subject::Wish { .. }));
        let picked = &after.items[1];
        assert_eq!(picked.status, FollowUpStatus::PickedUp);
        assert_eq!(picked.picked_by.as_deref(), Some("Mirjam"));
    }

    #[test]
    fn two_partners_taking_one_wish_on_offline_both_keep_theirs() {
        let (replica, door) = street_with_a_talk();
        let wish = wish_id(&list(&replica, &door, Partner::Corporation, DAY));
        let street = door.street_kind().id();
        let held = replica.get(&street).unwrap().doc.clone();
        let mut a = held.clone().with_actor(new_actor());
        let mut b = held.with_actor(new_actor());
        for (doc, partner) in [
            (&mut a, Partner::Corporation),
            (&mut b, Partner::Municipality),
        ] {
            door.street_kind().upgrade(doc).unwrap();
            let follow_up = FollowUp {
                status: FollowUpStatus::PickedUp,
                note: String::new(),
                by: "x".into(),
                at_ms: 2,
                moved_ms: 2,
            };
            docs::put_follow_up(doc, partner, &wish, &follow_up).unwrap();
            doc.commit();
        }
        a.merge(&mut b).unwrap();
        door.street_kind().validate(&a).unwrap();
        let all = docs::follow_ups(&a).unwrap();
        assert_eq!(all.values().filter(|f| f.contains_key(&wish)).count(), 2);
    }
}
