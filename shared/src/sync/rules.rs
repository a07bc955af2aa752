//! What a change may do, checked operation by operation against the rights of its author.
//!
//! A change is judged by who wrote it, not by who sends it: every actor is bound to the
//! account that first brought a change of it to the server ([`Writers`], kept by the
//! server), and each new change must stay inside what that account may write to the
//! document ([`Write`], decided by [`crate::access`]). Checking the operations themselves,
//! not the document after the merge, is what makes "write only" mean "add only": a change
//! that replaces a confidential document's `signals` map with an empty one leaves a valid
//! document behind, but its one operation overwrites a value the builder did not write.
//!
//! The rules look only at a change and at the history it builds on (the objects it
//! touches and the operations it overwrites), so a change that passes passes in any merge
//! order; what they cannot see (a value written concurrently under a key a write-only
//! writer adds) is checked against everything the server holds when the change arrives.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use automerge::{
    ActorId, AutoCommit, Change, ObjId as ExId, ObjType, Prop, ReadDoc,
    legacy::{Key, ObjectId, OpId, OpType},
};

use crate::{
    access::{Grant, Write},
    docs::{self, DocKind},
    ids::AccountId,
};

/// An account that writes changes, as the server knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Writer {
    pub account: AccountId,
    /// What the account may see and change now.
    pub grant: Grant,
    /// Every actor bound to the account (one per device and installation).
    pub actors: BTreeSet<ActorId>,
}

/// The authors of a request's changes, as the server knows them: the account each actor
/// is bound to, and those accounts. An actor the server has never seen is the sender's (it
/// is bound to the sender once its change is stored); an actor bound to no account (the
/// server's own, the genesis actor) authors nothing a client may send.
#[derive(Debug, Clone, PartialEq)]
pub struct Writers {
    sender: AccountId,
    actors: BTreeMap<ActorId, Option<AccountId>>,
    accounts: BTreeMap<AccountId, Writer>,
}

impl Writers {
    /// The writers of a request sent by `sender`, who is one of them.
    pub fn new(sender: Writer) -> Writers {
        let mut writers = Writers {
            sender: sender.account,
            actors: BTreeMap::new(),
            accounts: BTreeMap::new(),
        };
        writers.add(sender);
        writers
    }

    /// The account that sends the request.
    pub fn sender(&self) -> &Writer {
        &self.accounts[&self.sender]
    }

    /// Adds `writer` and binds each of its actors to it.
    pub fn add(&mut self, writer: Writer) {
        for actor in &writer.actors {
            self.actors.insert(actor.clone(), Some(writer.account));
        }
        self.accounts.insert(writer.account, writer);
    }

    /// Records that `actor` is bound to no account: no client may write with it.
    pub fn add_unbindable(&mut self, actor: ActorId) {
        self.actors.insert(actor, None);
    }

    /// The account that wrote the changes of `actor`, and whether `actor` is new to the
    /// server (so it is the sender's from now on); `None` for an actor no client may use.
    pub fn author(&self, actor: &ActorId) -> Option<(&Writer, bool)> {
        match self.actors.get(actor) {
            Some(Some(account)) => Some((self.accounts.get(account)?, false)),
            Some(None) => None,
            None => Some((self.accounts.get(&self.sender)?, true)),
        }
    }

    /// The account `actor` is bound to, or will be once its change is stored.
    pub fn account_of(&self, actor: &ActorId) -> Option<AccountId> {
        self.author(actor).map(|(writer, _)| writer.account)
    }
}

/// Why a change was refused.
pub type Refusal = String;

/// Checks every operation of `change` against what its author may write to `doc`, a
/// document of `kind` that holds every change `change` depends on (and not `change`).
pub fn check(
    doc: &AutoCommit,
    kind: &DocKind,
    change: &Change,
    writers: &Writers,
) -> Result<(), Refusal> {
    let actor = change.actor_id();
    if *actor == docs::genesis_actor() {
        // Only the schema's upgrades, made the same everywhere (see `DocKind::upgrades`).
        if kind.is_upgrade(&change.hash()) {
            return Ok(());
        }
        return Err("it is written with the genesis actor".into());
    }
    let (author, _) = writers
        .author(actor)
        .ok_or_else(|| format!("actor {actor} is the server's: no client writes with it"))?;
    let write = author
        .grant
        .access(kind)
        .write
        .ok_or_else(|| format!("its author may not change a {} document", kind.label()))?;
    if write == Write::EVERYTHING {
        return Ok(());
    }
    let own = |other: &ActorId| other == actor || author.actors.contains(other);
    let start = change.start_op().get();
    // Objects made earlier in this change: where they are, and what they are.
    let mut made: HashMap<OpId, (Vec<String>, ObjType)> = HashMap::new();
    for (i, op) in change.decode().operations.iter().enumerate() {
        // Where the object written into is, what it is, and whether the author made it.
        let (path, obj_type, obj, obj_own) = match &op.obj {
            ObjectId::Root => (Vec::new(), ObjType::Map, Some(ExId::Root), false),
            ObjectId::Id(id) => match made.get(id) {
                Some((path, obj_type)) => (path.clone(), *obj_type, None, true),
                None => {
                    let (obj, obj_type) = existing(doc, id)?;
                    (path_of(doc, &obj)?, obj_type, Some(obj), own(id.actor()))
                }
            },
        };
        let mut place = path;
        match &op.key {
            Key::Map(key) if obj_type == ObjType::Map || obj_type == ObjType::Table => {
                place.push(key.to_string())
            }
            Key::Map(_) => return Err("it writes a map key into a list".into()),
            Key::Seq(_) if obj_type == ObjType::Map || obj_type == ObjType::Table => {
                return Err("it writes a list element into a map".into());
            }
            Key::Seq(_) => {}
        }
        let shown = || format!("/{}", place.join("/"));
        let refs: Vec<&str> = place.iter().map(String::as_str).collect();
        let partner = author.grant.partner;
        if !write.allows(&refs, partner) {
            return Err(format!(
                "it writes {}, which its author may not change",
                shown()
            ));
        }
        if !write.over_others {
            // Into an object someone else made, only a new entry of a collection it may add
            // to (a signal into `signals`), never a field of another's entry or a character
            // of another's text.
            if !obj_own && (obj_type != ObjType::Map || !write.is_entry(&refs, partner)) {
                return Err(format!(
                    "it edits {}, inside what another account wrote",
                    shown()
                ));
            }
            if let Some(other) = op.pred.iter().find(|pred| !own(pred.actor())) {
                return Err(format!(
                    "it overwrites or deletes {} written by actor {}",
                    shown(),
                    other.actor()
                ));
            }
            // A value put beside others instead of over them would hide them just as well:
            // a key a write-only writer adds must hold nothing of anyone else.
            if let (Key::Map(key), Some(obj)) = (&op.key, &obj)
                && !matches!(op.action, OpType::Delete)
            {
                let held = doc
                    .get_all(obj, key.as_str())
                    .map_err(|e| format!("{}: {e}", shown()))?;
                if let Some((_, other)) = held.iter().find(|(_, id)| !own(&actor_of(id))) {
                    return Err(format!(
                        "it puts a value beside {} written by actor {}",
                        shown(),
                        actor_of(other)
                    ));
                }
            }
        }
        if let OpType::Make(made_type) = op.action {
            let id = OpId::new(start + i as u64, actor);
            made.insert(id, (place, made_type));
        }
    }
    Ok(())
}

/// The object `id` names in `doc`, and its type; an error if `doc` has no such object.
fn existing(doc: &AutoCommit, id: &OpId) -> Result<(ExId, ObjType), Refusal> {
    doc.import(&format!("{}@{}", id.counter(), id.actor()))
        .map_err(|_| {
            format!(
                "it writes into object {}@{}, which the document lacks",
                id.counter(),
                id.actor()
            )
        })
}

/// The keys from the root to `obj` (a list index as its number).
fn path_of(doc: &AutoCommit, obj: &ExId) -> Result<Vec<String>, Refusal> {
    let parents = doc.parents(obj).map_err(|e| e.to_string())?;
    Ok(parents
        .path()
        .into_iter()
        .map(|(_, prop)| match prop {
            Prop::Map(key) => key,
            Prop::Seq(index) => index.to_string(),
        })
        .collect())
}

fn actor_of(id: &ExId) -> ActorId {
    match id {
        ExId::Root => ActorId::from([0u8; 0].as_slice()),
        ExId::Id(_, actor, _) => actor.clone(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use automerge::{ROOT, ScalarValue, transaction::Transactable};
    use uuid::Uuid;

    use super::*;
    use crate::{
        access::Role,
        demo,
        docs::{self, new_actor, new_id},
        model::{
            FollowUp, FollowUpStatus, Outcome, Partner, Signal, SignalKind, Theme, Visit, Wish,
            WishStatus,
        },
    };

    const COACH: AccountId = AccountId(Uuid::from_u128(1));
    const BUILDER: AccountId = AccountId(Uuid::from_u128(2));
    const COORDINATOR: AccountId = AccountId(Uuid::from_u128(3));

    fn writer(account: AccountId, role: Role, partner: Partner, actor: &ActorId) -> Writer {
        Writer {
            account,
            grant: Grant {
                role,
                partner: Some(partner),
                streets: [demo::street_id()].into(),
            },
            actors: [actor.clone()].into(),
        }
    }

    /// A care coach, a municipality builder and a corporation coordinator, each with one
    /// device.
    struct People {
        coach: ActorId,
        builder: ActorId,
        coordinator: ActorId,
        writers: Writers,
    }

    fn people() -> People {
        let (coach, builder, coordinator) = (new_actor(), new_actor(), new_actor());
        let mut writers = Writers::new(writer(
            COACH,
            Role::Coach,
            Partner::CareOrganisation,
            &coach,
        ));
        writers.add(writer(
            BUILDER,
            Role::CommunityBuilder,
            Partner::Municipality,
            &builder,
        ));
        writers.add(writer(
            COORDINATOR,
            Role::Coordinator,
            Partner::Corporation,
            &coordinator,
        ));
        People {
            coach,
            builder,
            coordinator,
            writers,
        }
    }

    fn care(street: &AutoCommit) -> DocKind {
        let value: crate::model::Street = docs::read(street).unwrap();
        DocKind::Confidential {
            street: demo::street_id(),
            address: value.addresses.keys().next().unwrap().parse().unwrap(),
            epoch: 0,
            partner: Partner::CareOrganisation,
        }
    }

    fn signal(text: &str) -> Signal {
        Signal {
            visit: new_id(),
            kind: SignalKind::CareNeed,
            text: text.into(),
            status: FollowUpStatus::New,
            note: None,
            picked_by: None,
            picked_at_ms: None,
            moved_ms: None,
        }
    }

    /// The change `edit` makes on a copy of `doc` (at `at`, or its heads) written by `actor`.
    fn change_by(
        doc: &mut AutoCommit,
        at: Option<&[automerge::ChangeHash]>,
        actor: &ActorId,
        edit: impl FnOnce(&mut AutoCommit),
    ) -> Change {
        let mut copy = match at {
            Some(heads) => doc.fork_at(heads).unwrap(),
            None => doc.fork(),
        }
        .with_actor(actor.clone());
        edit(&mut copy);
        copy.commit();
        copy.get_last_local_change().unwrap().clone()
    }

    fn apply(doc: &mut AutoCommit, change: Change) {
        doc.apply_changes([change]).unwrap();
    }

    /// A care organisation's confidential document holding a signal of its coach's.
    fn care_document(people: &People) -> (DocKind, AutoCommit, String, Vec<automerge::ChangeHash>) {
        let (_, street) = demo::street(new_actor()).unwrap();
        let kind = care(&street);
        let mut doc = kind.genesis(new_actor());
        let genesis = doc.get_heads();
        let key = new_id();
        let coach_signal = change_by(&mut doc, None, &people.coach, |d| {
            docs::put_entry(d, docs::SIGNALS, &key, &signal("zorg nodig")).unwrap()
        });
        check(&doc, &kind, &coach_signal, &people.writers).unwrap();
        apply(&mut doc, coach_signal);
        (kind, doc, key, genesis)
    }

    #[test]
    fn a_coordinator_moves_their_organisations_signals_and_not_what_they_say() {
        let mut people = people();
        let (kind, mut doc, key, _) = care_document(&people);
        let els = new_actor();
        people.writers.add(writer(
            AccountId(Uuid::from_u128(4)),
            Role::Coordinator,
            Partner::CareOrganisation,
            &els,
        ));
        let signal_obj = |d: &AutoCommit| {
            let signals = d.get(ROOT, "signals").unwrap().unwrap().1;
            d.get(&signals, key.as_str()).unwrap().unwrap().1
        };
        let picked_up = change_by(&mut doc, None, &els, |d| {
            let signal = signal_obj(d);
            d.put(&signal, "status", "PickedUp").unwrap();
            d.put(&signal, "picked_by", "Els").unwrap();
            d.put(&signal, "picked_at_ms", 5).unwrap();
            d.put(&signal, "note", "huisbezoek gepland").unwrap();
        });
        check(&doc, &kind, &picked_up, &people.writers).unwrap();
        for (what, field) in [("what it says", "text"), ("its kind", "kind")] {
            let change = change_by(&mut doc, None, &els, |d| {
                let signal = signal_obj(d);
                d.put(&signal, field, "MovingWish").unwrap();
            });
            assert!(
                check(&doc, &kind, &change, &people.writers).is_err(),
                "a coordinator changed {what}"
            );
        }
        let delete = change_by(&mut doc, None, &els, |d| {
            let signals = d.get(ROOT, "signals").unwrap().unwrap().1;
            d.delete(&signals, key.as_str()).unwrap();
        });
        assert!(check(&doc, &kind, &delete, &people.writers).is_err());
        // The corporation's coordinator may not touch the care organisation's signals.
        let other = change_by(&mut doc, None, &people.coordinator, |d| {
            let signal = signal_obj(d);
            d.put(&signal, "status", "Closed").unwrap();
        });
        assert!(check(&doc, &kind, &other, &people.writers).is_err());
    }

    #[test]
    fn a_write_only_builder_adds_signals_and_edits_only_their_own() {
        let people = people();
        let (kind, mut doc, coach_key, genesis) = care_document(&people);
        let signals = |d: &AutoCommit| d.get(ROOT, "signals").unwrap().unwrap().1;

        // Adding a signal, from the bare genesis the builder's phone holds: allowed.
        let own_key = new_id();
        let add = change_by(&mut doc, Some(&genesis), &people.builder, |d| {
            docs::put_entry(d, docs::SIGNALS, &own_key, &signal("verhuizen?")).unwrap()
        });
        check(&doc, &kind, &add, &people.writers).unwrap();
        apply(&mut doc, add);
        // Editing it: allowed.
        let edit = change_by(&mut doc, None, &people.builder, |d| {
            let mut own = signal("verhuizen!");
            own.status = FollowUpStatus::New;
            docs::put_entry(d, docs::SIGNALS, &own_key, &own).unwrap()
        });
        check(&doc, &kind, &edit, &people.writers).unwrap();

        let refused: Vec<(&str, Change)> = vec![
            (
                "replace the signals map",
                change_by(&mut doc, Some(&genesis), &people.builder, |d| {
                    d.put_object(ROOT, "signals", ObjType::Map).unwrap();
                }),
            ),
            (
                "delete the coach's signal",
                change_by(&mut doc, None, &people.builder, |d| {
                    let signals = signals(d);
                    d.delete(&signals, coach_key.as_str()).unwrap();
                }),
            ),
            (
                "overwrite the coach's text",
                change_by(&mut doc, None, &people.builder, |d| {
                    let signals = signals(d);
                    let entry = d.get(&signals, coach_key.as_str()).unwrap().unwrap().1;
                    d.put(&entry, "text", "niets").unwrap();
                }),
            ),
            (
                "add a field to the coach's signal",
                change_by(&mut doc, None, &people.builder, |d| {
                    let signals = signals(d);
                    let entry = d.get(&signals, coach_key.as_str()).unwrap().unwrap().1;
                    d.put(&entry, "extra", "erbij").unwrap();
                }),
            ),
            (
                "put a signal beside the coach's, unseen",
                change_by(&mut doc, Some(&genesis), &people.builder, |d| {
                    docs::put_entry(d, docs::SIGNALS, &coach_key, &signal("ander")).unwrap()
                }),
            ),
            (
                "write outside the signals",
                change_by(&mut doc, Some(&genesis), &people.builder, |d| {
                    d.put(ROOT, "note", "hallo").unwrap();
                }),
            ),
        ];
        for (what, change) in refused {
            let result = check(&doc, &kind, &change, &people.writers);
            assert!(result.is_err(), "{what} was allowed");
        }
        // The coach, who may write it all, may do what the builder may not.
        let delete = change_by(&mut doc, None, &people.coach, |d| {
            let signals = signals(d);
            d.delete(&signals, coach_key.as_str()).unwrap();
        });
        check(&doc, &kind, &delete, &people.writers).unwrap();
    }

    #[test]
    fn another_device_of_the_same_account_may_edit_what_the_first_wrote() {
        let mut people = people();
        let (kind, mut doc, _, genesis) = care_document(&people);
        let key = new_id();
        let add = change_by(&mut doc, Some(&genesis), &people.builder, |d| {
            docs::put_entry(d, docs::SIGNALS, &key, &signal("a")).unwrap()
        });
        apply(&mut doc, add);
        let tablet = new_actor();
        let mut builder = writer(
            BUILDER,
            Role::CommunityBuilder,
            Partner::Municipality,
            &people.builder,
        );
        builder.actors.insert(tablet.clone());
        people.writers.add(builder);
        let edit = change_by(&mut doc, None, &tablet, |d| {
            docs::put_entry(d, docs::SIGNALS, &key, &signal("b")).unwrap()
        });
        check(&doc, &kind, &edit, &people.writers).unwrap();
    }

    /// A street with a visit and a wish, written by the builder.
    fn street_with_a_wish(people: &People) -> (DocKind, AutoCommit, String) {
        let (kind, mut street) = demo::street(new_actor()).unwrap();
        let value: crate::model::Street = docs::read(&street).unwrap();
        let address = value.addresses.keys().next().unwrap().clone();
        let (visit, wish) = (new_id(), new_id());
        let change = change_by(&mut street, None, &people.builder, |d| {
            let v = Visit {
                address,
                author: "Sanne".into(),
                at_ms: 1,
                outcome: Outcome::Talked,
                return_on: None,
            };
            docs::put_entry(d, docs::VISITS, &visit, &v).unwrap();
            let w = Wish {
                visit: visit.clone(),
                theme: Theme::Greenery,
                text: "meer groen".into(),
                status: WishStatus::Open,
                owner: None,
            };
            docs::put_entry(d, docs::WISHES, &wish, &w).unwrap();
        });
        check(&street, &kind, &change, &people.writers).unwrap();
        apply(&mut street, change);
        (kind, street, wish)
    }

    #[test]
    fn a_coordinator_follows_a_wish_up_for_their_organisation_and_changes_nothing_else() {
        let people = people();
        let (kind, mut street, wish) = street_with_a_wish(&people);
        let entry = |d: &AutoCommit| {
            let wishes = d.get(ROOT, "wishes").unwrap().unwrap().1;
            d.get(&wishes, wish.as_str()).unwrap().unwrap().1
        };
        let follow_up = |status| FollowUp {
            status,
            note: "in overleg met de beheerder".into(),
            by: "Mirjam".into(),
            at_ms: 1,
            moved_ms: 1,
        };
        let take_on = change_by(&mut street, None, &people.coordinator, |d| {
            docs::put_follow_up(
                d,
                Partner::Corporation,
                &wish,
                &follow_up(FollowUpStatus::PickedUp),
            )
            .unwrap();
        });
        check(&street, &kind, &take_on, &people.writers).unwrap();
        apply(&mut street, take_on);
        let close = change_by(&mut street, None, &people.coordinator, |d| {
            docs::put_follow_up(
                d,
                Partner::Corporation,
                &wish,
                &follow_up(FollowUpStatus::Closed),
            )
            .unwrap();
        });
        check(&street, &kind, &close, &people.writers).unwrap();

        let refused: Vec<(&str, Change)> = vec![
            (
                "take the wish on for another partner",
                change_by(&mut street, None, &people.coordinator, |d| {
                    let other = follow_up(FollowUpStatus::PickedUp);
                    docs::put_follow_up(d, Partner::Municipality, &wish, &other).unwrap();
                }),
            ),
            (
                "set the wish's own status and owner",
                change_by(&mut street, None, &people.coordinator, |d| {
                    let entry = entry(d);
                    d.put(&entry, "status", "InProgress").unwrap();
                    d.put(&entry, "owner", "Corporation").unwrap();
                }),
            ),
            (
                "replace every partner's follow-ups",
                change_by(&mut street, None, &people.coordinator, |d| {
                    d.put_object(ROOT, docs::FOLLOW_UPS, ObjType::Map).unwrap();
                }),
            ),
            (
                "change the wish's text",
                change_by(&mut street, None, &people.coordinator, |d| {
                    let entry = entry(d);
                    d.put(&entry, "text", "iets anders").unwrap();
                }),
            ),
            (
                "delete the wish",
                change_by(&mut street, None, &people.coordinator, |d| {
                    let wishes = d.get(ROOT, "wishes").unwrap().unwrap().1;
                    d.delete(&wishes, wish.as_str()).unwrap();
                }),
            ),
            (
                "replace the wish",
                change_by(&mut street, None, &people.coordinator, |d| {
                    let wishes = d.get(ROOT, "wishes").unwrap().unwrap().1;
                    d.put_object(&wishes, wish.as_str(), ObjType::Map).unwrap();
                }),
            ),
            (
                "rename the street",
                change_by(&mut street, None, &people.coordinator, |d| {
                    d.put(ROOT, "name", "Eikenlaan").unwrap();
                }),
            ),
            (
                "count a visit",
                change_by(&mut street, None, &people.coordinator, |d| {
                    d.put(ROOT, "visits", ScalarValue::Null).unwrap();
                }),
            ),
        ];
        for (what, change) in refused {
            assert!(
                check(&street, &kind, &change, &people.writers).is_err(),
                "{what} was allowed"
            );
        }
    }

    #[test]
    fn every_role_writes_only_what_its_access_allows() {
        let people = people();
        let (street_kind, mut street, _) = street_with_a_wish(&people);
        let household = DocKind::Household {
            street: demo::street_id(),
            address: Uuid::from_u128(7),
            epoch: 0,
        };
        for role in Role::ALL {
            for partner in Partner::ALL {
                let actor = new_actor();
                let mut writers = people.writers.clone();
                let account = AccountId(Uuid::now_v7());
                writers.add(writer(account, role, partner, &actor));
                for kind in [street_kind, household, care(&street)] {
                    let mut doc = kind.genesis(new_actor());
                    let change = change_by(&mut doc, None, &actor, |d| {
                        d.put(ROOT, "x", 1).unwrap();
                    });
                    let write = writers.author(&actor).unwrap().0.grant.access(&kind).write;
                    let allowed = check(&doc, &kind, &change, &writers).is_ok();
                    assert_eq!(
                        allowed,
                        write == Some(Write::EVERYTHING),
                        "{role:?} of {partner:?} on {kind:?}"
                    );
                }
                let _ = &mut street;
            }
        }
    }

    #[test]
    fn no_client_writes_with_the_servers_actors() {
        let mut people = people();
        let server = new_actor();
        people.writers.add_unbindable(server.clone());
        let (kind, mut doc, _, _) = care_document(&people);
        let change = change_by(&mut doc, None, &server, |d| {
            d.put(ROOT, "x", 1).unwrap();
        });
        assert!(check(&doc, &kind, &change, &people.writers).is_err());
        // An actor never seen before is the sender's (here the coach's).
        let phone = new_actor();
        assert_eq!(
            people.writers.author(&phone).unwrap(),
            (people.writers.sender(), true)
        );
    }
}
