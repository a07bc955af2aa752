//! Any merge of valid edits syncs: the property every rule the server enforces must keep.
//!
//! Several phones make random edits of the kinds the field app makes (visits, notes typed
//! anywhere in the text, contributions, consent answers with and without a name,
//! corrections of outcomes, cleared refusals, conflicts settled, wishes, signals), each one
//! valid where it is made, and sync with a server in random order while the others are
//! offline. The server runs the protocol's own `serve` (merge, rules, repair, schema). No
//! sync may ever be refused, and once everyone has synced, every phone reads every door
//! the same way the server does, and the server's documents keep the schema.
//!
//! Before the rules were made merge-safe, a "yes" with a name on one phone and a "no" on
//! another made the household break the schema for good (the second phone's every sync
//! refused with 422), and two people's long notes merged past the length limit.

#![allow(clippy::unwrap_used, clippy::expect_used)] // reason: a test; failures are findings

use std::collections::{BTreeMap, BTreeSet};

use rand::{Rng, SeedableRng, rngs::StdRng, seq::SliceRandom};
use uuid::Uuid;
use voordeur_shared::{
    access::{Grant, Role},
    automerge::{ActorId, AutoCommit},
    demo,
    docs::{DocKind, DocumentId, new_actor},
    door::DoorView,
    ids::{AccountId, AddressId},
    model::{Consent, IsoDate, Outcome, Partner, Resident, SignalKind, Theme},
    record::Door,
    sync::{
        SyncError, SyncRequest, SyncResponse,
        client::Replica,
        rules::{Writer, Writers},
        server::{Catalog, CatalogEntry, Incoming, Plan, serve},
    },
    walk::WalkList,
};

/// A server holding documents in memory, answering with the protocol's own `serve`.
struct Server {
    docs: BTreeMap<DocumentId, (DocKind, AutoCommit)>,
    actor: ActorId,
}

impl Server {
    fn new() -> Server {
        let actor = new_actor();
        let (kind, street) = demo::street(actor.clone()).unwrap();
        Server {
            docs: BTreeMap::from([(kind.id(), (kind, street))]),
            actor,
        }
    }

    fn sync(
        &mut self,
        account: AccountId,
        request: SyncRequest,
    ) -> Result<SyncResponse, SyncError> {
        let grant = grant();
        let catalog = Catalog {
            docs: self
                .docs
                .iter_mut()
                .map(|(id, (kind, doc))| {
                    let mut heads = doc.get_heads();
                    heads.sort();
                    (*id, CatalogEntry { kind: *kind, heads })
                })
                .collect(),
            ..Catalog::default()
        };
        let plan = Plan::new(&request, &catalog, &grant);
        let incoming = Incoming::read(request)?;
        let loaded = plan
            .to_load()
            .iter()
            .filter_map(|id| self.docs.get(id).map(|(_, doc)| (*id, doc.clone())))
            .collect();
        let writers = Writers::new(Writer {
            account,
            grant,
            actors: BTreeSet::new(),
        });
        let mut served = serve(&incoming, &catalog, &plan, loaded, &self.actor, &writers)?;
        for write in &served.writes {
            let doc = served
                .docs
                .remove(&write.id)
                .expect("a written document is returned");
            self.docs.insert(write.id, (write.kind, doc));
        }
        Ok(served.response)
    }
}

fn grant() -> Grant {
    Grant {
        role: Role::CommunityBuilder,
        partner: Some(Partner::Municipality),
        streets: BTreeSet::from([demo::street_id()]),
    }
}

struct Phone {
    account: AccountId,
    name: &'static str,
    replica: Replica,
}

impl Phone {
    fn sync(&mut self, server: &mut Server) {
        let request = self.replica.request();
        let response = server
            .sync(self.account, request)
            .unwrap_or_else(|e| panic!("{}'s sync was refused: {e}", self.name));
        let received = self.replica.receive(response);
        assert!(received.rejected.is_empty(), "{:?}", received.rejected);
        if received.again {
            self.sync(server);
        }
    }

    fn door(&self, address: AddressId) -> Door {
        Door::find(&self.replica, demo::street_id(), address.0).unwrap()
    }

    fn view(&self, address: AddressId) -> DoorView {
        let door = self.door(address);
        let doc = |kind: DocKind| self.replica.get(&kind.id()).map(|d| &d.doc);
        DoorView::read(
            doc(door.street_kind()).unwrap(),
            address,
            doc(door.household()),
            Partner::ALL
                .iter()
                .filter_map(|p| Some((*p, doc(door.confidential(*p))?))),
        )
        .unwrap()
    }
}

const WORDS: [&str; 8] = [
    "buurtbarbecue",
    "wil graag",
    "helpen",
    "met de tuin",
    "belt terug.",
    "koffie",
    "Fatima",
    "ééntje",
];

/// One edit the app could make at `address`, made on `phone` at `now`.
fn edit(phone: &mut Phone, address: AddressId, now: i64, rng: &mut StdRng) {
    let door = phone.door(address);
    let view = phone.view(address);
    let visit = view.visits.choose(rng).map(|v| v.id);
    let replica = &mut phone.replica;
    replica.sign_as(phone.name, now);
    let outcome = *[
        Outcome::NotHome,
        Outcome::Talked,
        Outcome::Refused,
        Outcome::ComeBackLater,
    ]
    .choose(rng)
    .unwrap();
    let return_on = (outcome == Outcome::ComeBackLater)
        .then(|| "2026-12-01".parse::<IsoDate>().unwrap())
        .filter(|_| rng.gen_bool(0.7));
    let signature = voordeur_shared::docs::Signature {
        by: phone.name,
        at_ms: now,
    };
    let word = *WORDS.choose(rng).unwrap();
    let result = match (rng.gen_range(0..10), visit) {
        (0, _) | (_, None) => door
            .record_visit(replica, phone.name, now, outcome, return_on)
            .map(|_| ()),
        (1 | 2, Some(visit)) => {
            let notes = &view.visits.iter().find(|v| v.id == visit).unwrap().notes;
            let text = if rng.gen_bool(0.05) {
                // A long note: two of them offline merge past the app's own limit.
                format!("{notes}{}", "lang verhaal ".repeat(1_000))
            } else {
                let mut at = rng.gen_range(0..=notes.chars().count());
                while !notes.is_char_boundary(at) {
                    at -= 1;
                }
                format!("{}{word} {}", &notes[..at], &notes[at..])
            };
            door.set_notes(replica, visit, &text)
        }
        (3, Some(visit)) => door.set_contribution(replica, visit, word),
        (4, _) => {
            let consent = *Consent::ALL.choose(rng).unwrap();
            let resident = Resident {
                name: if consent == Consent::Given {
                    word.into()
                } else {
                    String::new()
                },
                contact: String::new(),
            };
            door.set_consent(replica, signature, consent, &resident)
        }
        (5, _) => match view.conflicts.choose(rng) {
            Some(conflict) => {
                let value = conflict.values.choose(rng).unwrap().value.clone();
                door.settle(replica, signature, conflict.field, &value)
            }
            None => door.set_consent(
                replica,
                signature,
                Consent::Given,
                &Resident {
                    name: word.into(),
                    contact: "06-12345678".into(),
                },
            ),
        },
        (6, Some(visit)) => door.correct_outcome(replica, signature, visit, outcome, return_on),
        (7, _) => door.clear_refusal(replica, signature),
        (8, Some(visit)) => door.add_wish(replica, visit, Theme::Greenery, word),
        (_, Some(visit)) => door.add_signal(replica, visit, SignalKind::CareNeed, word),
    };
    // An edit the app itself refuses (notes over its limit) is not made: fine.
    if let Err(e) = result {
        assert!(e.to_string().contains("longer than"), "{e}");
    }
    // Every edit leaves the phone's own documents valid once repaired, as the server
    // repairs them.
    for (_, doc) in replica.docs() {
        let mut copy = doc.doc.clone();
        doc.kind.repair(&mut copy).unwrap();
        doc.kind.validate(&copy).unwrap();
    }
}

#[test]
fn any_merge_of_valid_edits_syncs_and_reads_the_same_everywhere() {
    for seed in 0..24 {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut server = Server::new();
        let names = ["Sanne", "Karim", "Joke"];
        let mut phones: Vec<Phone> = names
            .iter()
            .map(|name| {
                let mut replica = Replica::new(new_actor());
                replica.follow(demo::street_id());
                Phone {
                    account: AccountId(Uuid::new_v4()),
                    name,
                    replica,
                }
            })
            .collect();
        for phone in &mut phones {
            phone.sync(&mut server);
        }
        let street = DocKind::Street {
            street: demo::street_id(),
            epoch: 0,
        };
        let walk = WalkList::read(&phones[0].replica.get(&street.id()).unwrap().doc).unwrap();
        // Two doors, so that people meet at the same one.
        let doors: Vec<AddressId> = walk.doors().take(2).map(|d| d.id).collect();
        let mut now = 1_700_000_000_000;
        for _ in 0..120 {
            now += rng.gen_range(1..60_000);
            let phone = rng.gen_range(0..phones.len());
            if rng.gen_bool(0.2) {
                phones[phone].sync(&mut server);
            } else {
                let address = *doors.choose(&mut rng).unwrap();
                edit(&mut phones[phone], address, now, &mut rng);
            }
        }
        // Everyone syncs until nothing moves: two rounds.
        for _ in 0..2 {
            for phone in &mut phones {
                phone.sync(&mut server);
            }
        }
        for (id, (kind, doc)) in &server.docs {
            kind.validate(doc)
                .unwrap_or_else(|e| panic!("seed {seed}: document {id} breaks the schema: {e}"));
        }
        // Signals go only to their partner: these phones' municipality never reads the
        // care organisation's, so each phone sees its own. The rest must be the same.
        let shared_view = |phone: &Phone, address: AddressId| {
            let mut view = phone.view(address);
            for visit in &mut view.visits {
                visit.signals.clear();
            }
            view
        };
        for address in &doors {
            let first = shared_view(&phones[0], *address);
            assert!(
                first.resident.name.is_empty()
                    || Consent::allows_resident(&[first.consent])
                    || !first.conflicts.is_empty(),
                "seed {seed}: a name is shown without consent: {first:?}"
            );
            for phone in &phones[1..] {
                let view = shared_view(phone, *address);
                assert!(
                    view == first,
                    "seed {seed}: {} reads door {address} otherwise:\n{view:?}\n{first:?}",
                    phone.name
                );
            }
        }
        let walks: Vec<WalkList> = phones
            .iter()
            .map(|p| WalkList::read(&p.replica.get(&street.id()).unwrap().doc).unwrap())
            .collect();
        assert!(walks.windows(2).all(|w| w[0] == w[1]), "seed {seed}");
    }
}
