//! The sync protocol on an in-process simulated network: several replicas and one server,
//! with messages dropped, duplicated, reordered and retried, and a server that loses its
//! recent history to a restored backup. For every seed, once the network behaves, every
//! device holds exactly what the server holds.

// Test helpers unwrap: a panic is a failing test that names what broke.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng, rngs::SmallRng, seq::SliceRandom};
use voordeur_shared::{
    access::{Grant, Role},
    automerge::{AutoCommit, ChangeHash},
    demo,
    docs::{self, DocKind, DocumentId, new_actor},
    model::{Confidential, Household, Outcome, Partner, SignalKind, Street, Theme},
    record::VisitRecord,
    sync::{
        SyncError,
        client::{Received, Replica},
        server::{Catalog, CatalogEntry, documents_to_load, serve},
        wire,
    },
};

const LIMIT: usize = 64 << 20;

/// A server that keeps each document as a list of saved chunks, as the real store does.
#[derive(Clone)]
struct SimServer {
    store: BTreeMap<DocumentId, (DocKind, Vec<Vec<u8>>)>,
}

impl SimServer {
    fn with_demo_street() -> Self {
        let (kind, mut doc) = demo::street(new_actor()).unwrap();
        let mut store = BTreeMap::new();
        store.insert(kind.id(), (kind, vec![doc.save()]));
        SimServer { store }
    }

    fn load(&self, id: &DocumentId) -> AutoCommit {
        let (_, chunks) = &self.store[id];
        AutoCommit::load(&chunks.concat()).unwrap()
    }

    /// Handles one request of a care coach of the demo street (who may read and write
    /// every document the simulation makes); returns the response bytes and how many
    /// documents it wrote.
    fn handle(&mut self, request: &[u8]) -> Result<(Vec<u8>, usize), SyncError> {
        self.handle_as(request, &grant(Role::Coach, Partner::CareOrganisation))
    }

    fn handle_as(&mut self, request: &[u8], grant: &Grant) -> Result<(Vec<u8>, usize), SyncError> {
        let request = wire::decode_request(request, LIMIT).unwrap();
        let wanted = Catalog::wanted(&request);
        let catalog = Catalog {
            docs: self
                .store
                .iter()
                .filter(|(id, (kind, _))| {
                    wanted.ids.contains(id) || wanted.streets.contains(&kind.street())
                })
                .map(|(id, (kind, _))| {
                    let entry = CatalogEntry {
                        kind: *kind,
                        heads: self.load(id).get_heads(),
                    };
                    (*id, entry)
                })
                .collect(),
        };
        let loaded = documents_to_load(&request, &catalog, grant)
            .into_iter()
            .map(|id| (id, self.load(&id)))
            .collect();
        let served = serve(&request, &catalog, loaded, &new_actor(), grant)?;
        let written = served.writes.len();
        for write in served.writes {
            let entry = self
                .store
                .entry(write.id)
                .or_insert_with(|| (write.kind, Vec::new()));
            entry.1.push(write.changes);
        }
        Ok((wire::encode_response(&served.response), written))
    }

    fn heads(&self) -> BTreeMap<DocumentId, Vec<ChangeHash>> {
        self.store
            .keys()
            .map(|id| (*id, self.load(id).get_heads()))
            .collect()
    }
}

fn grant(role: Role, partner: Partner) -> Grant {
    Grant {
        role,
        partner: Some(partner),
        streets: [demo::street_id()].into(),
    }
}

fn replica_heads(replica: &mut Replica) -> BTreeMap<DocumentId, Vec<ChangeHash>> {
    let ids: Vec<DocumentId> = replica.docs().map(|(id, _)| *id).collect();
    ids.into_iter()
        .map(|id| (id, replica.get_mut(&id).unwrap().doc.get_heads()))
        .collect()
}

fn new_replica() -> Replica {
    let mut replica = Replica::new(new_actor());
    replica.follow(demo::street_id());
    replica
}

/// One reliable round trip.
fn sync(replica: &mut Replica, server: &mut SimServer) -> Received {
    let request = wire::encode_request(&replica.request());
    let (response, _) = server.handle(&request).unwrap();
    replica.receive(wire::decode_response(&response, LIMIT).unwrap())
}

fn street_of(replica: &Replica) -> Street {
    let id = DocKind::Street {
        street: demo::street_id(),
    }
    .id();
    docs::read(&replica.get(&id).unwrap().doc).unwrap()
}

fn some_address(replica: &Replica, rng: &mut SmallRng) -> uuid::Uuid {
    let street = street_of(replica);
    let ids: Vec<&String> = street.addresses.keys().collect();
    ids.choose(rng).unwrap().parse().unwrap()
}

fn record_visit(replica: &mut Replica, rng: &mut SmallRng) {
    let record = VisitRecord {
        street: demo::street_id(),
        address: some_address(replica, rng),
        author: "Sanne".into(),
        at_ms: rng.gen_range(0..1_000_000),
        outcome: [Outcome::NotHome, Outcome::Talked, Outcome::Refused][rng.gen_range(0..3)],
        return_on: None,
        notes: format!("Gesprek {}", rng.gen_range(0..1000)),
        contribution: if rng.gen_bool(0.3) {
            "Wil helpen met de tuin".into()
        } else {
            String::new()
        },
        wishes: if rng.gen_bool(0.5) {
            vec![(Theme::Greenery, "Meer bomen".into())]
        } else {
            vec![]
        },
        signals: if rng.gen_bool(0.2) {
            vec![(SignalKind::CareNeed, "Hulp bij post".into())]
        } else {
            vec![]
        },
    };
    record.record(replica).unwrap();
}

/// Inserts a word at a random place in the notes of a random conversation on the device.
fn edit_some_notes(replica: &mut Replica, rng: &mut SmallRng) {
    let households: Vec<DocumentId> = replica
        .docs()
        .filter(|(_, d)| matches!(d.kind, DocKind::Household { .. }))
        .map(|(id, _)| *id)
        .collect();
    let Some(id) = households.choose(rng) else {
        return;
    };
    let doc = &mut replica.get_mut(id).unwrap().doc;
    let household: Household = docs::read(doc).unwrap();
    let Some((visit, conversation)) = household.conversations.iter().next() else {
        return;
    };
    let mut notes: Vec<char> = conversation.notes.as_str().chars().collect();
    let at = rng.gen_range(0..=notes.len());
    notes.splice(at..at, format!(" [{}]", rng.gen_range(0..100)).chars());
    docs::update_notes(doc, visit, &notes.into_iter().collect::<String>()).unwrap();
    doc.commit();
}

enum Msg {
    Request { from: usize, bytes: Vec<u8> },
    Response { to: usize, bytes: Vec<u8> },
}

impl Clone for Msg {
    fn clone(&self) -> Self {
        match self {
            Msg::Request { from, bytes } => Msg::Request {
                from: *from,
                bytes: bytes.clone(),
            },
            Msg::Response { to, bytes } => Msg::Response {
                to: *to,
                bytes: bytes.clone(),
            },
        }
    }
}

fn run_seed(seed: u64) {
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut server = SimServer::with_demo_street();
    let mut backup: Option<SimServer> = None;
    let peers = rng.gen_range(2..=4);
    let mut replicas: Vec<Replica> = (0..peers).map(|_| new_replica()).collect();
    for replica in &mut replicas {
        sync(replica, &mut server);
    }
    let mut network: Vec<Msg> = Vec::new();
    for _ in 0..120 {
        let peer = rng.gen_range(0..peers);
        match rng.gen_range(0..100) {
            0..=24 => record_visit(&mut replicas[peer], &mut rng),
            25..=34 => edit_some_notes(&mut replicas[peer], &mut rng),
            35..=54 => {
                let bytes = wire::encode_request(&replicas[peer].request());
                network.push(Msg::Request { from: peer, bytes });
            }
            55..=84 if !network.is_empty() => {
                // Deliver any message in flight: the network reorders freely.
                let msg = network.swap_remove(rng.gen_range(0..network.len()));
                match msg {
                    Msg::Request { from, bytes } => {
                        let (response, _) = server.handle(&bytes).unwrap();
                        network.push(Msg::Response {
                            to: from,
                            bytes: response,
                        });
                    }
                    Msg::Response { to, bytes } => {
                        let response = wire::decode_response(&bytes, LIMIT).unwrap();
                        let received = replicas[to].receive(response);
                        assert!(received.rejected.is_empty(), "{received:?}");
                    }
                }
            }
            85..=90 if !network.is_empty() => {
                network.swap_remove(rng.gen_range(0..network.len()));
            }
            91..=96 if !network.is_empty() => {
                let copy = network[rng.gen_range(0..network.len())].clone();
                network.push(copy);
            }
            97 => backup = Some(server.clone()),
            98 => {
                if let Some(old) = backup.take() {
                    server = old;
                }
            }
            _ => {}
        }
    }
    // Late and duplicate messages still arrive after the storm.
    network.shuffle(&mut rng);
    for msg in network {
        if let Msg::Response { to, bytes } = msg {
            replicas[to].receive(wire::decode_response(&bytes, LIMIT).unwrap());
        } else if let Msg::Request { bytes, .. } = msg {
            server.handle(&bytes).unwrap();
        }
    }
    // Now the network behaves: sync everyone until nothing moves.
    for round in 0.. {
        assert!(round < 10, "seed {seed}: no quiescence after 10 rounds");
        let mut moved = false;
        for replica in &mut replicas {
            let request = wire::encode_request(&replica.request());
            let (response, written) = server.handle(&request).unwrap();
            let received = replica.receive(wire::decode_response(&response, LIMIT).unwrap());
            moved |= written > 0 || !received.changed.is_empty() || received.again;
        }
        if !moved {
            break;
        }
    }
    let expected = server.heads();
    for (i, replica) in replicas.iter_mut().enumerate() {
        assert_eq!(
            replica.unsynced(),
            0,
            "seed {seed}: peer {i} has unsynced work"
        );
        assert_eq!(
            replica_heads(replica),
            expected,
            "seed {seed}: peer {i} differs from the server"
        );
    }
    for (id, (kind, _)) in &server.store {
        kind.validate(&server.load(id)).unwrap();
    }
}

#[test]
fn every_seed_converges_despite_drops_duplicates_reorders_and_restores() {
    for seed in 0..40 {
        run_seed(seed);
    }
}

#[test]
fn offline_work_on_both_sides_syncs_in_one_round_trip() {
    let mut rng = SmallRng::seed_from_u64(1);
    let mut server = SimServer::with_demo_street();
    let (mut a, mut b) = (new_replica(), new_replica());
    sync(&mut a, &mut server);
    sync(&mut b, &mut server);
    for _ in 0..10 {
        record_visit(&mut a, &mut rng);
        record_visit(&mut b, &mut rng);
    }
    assert!(!sync(&mut b, &mut server).again);
    let received = sync(&mut a, &mut server);
    assert!(!received.again, "one round trip is enough");
    assert_eq!(a.unsynced(), 0);
    assert_eq!(street_of(&a).visits.len(), 20, "a has b's visits too");
    assert_eq!(replica_heads(&mut a), server.heads());
}

#[test]
fn a_retried_request_applies_nothing_twice() {
    let mut rng = SmallRng::seed_from_u64(2);
    let mut server = SimServer::with_demo_street();
    let mut a = new_replica();
    sync(&mut a, &mut server);
    record_visit(&mut a, &mut rng);
    let request = wire::encode_request(&a.request());
    let (first, wrote_first) = server.handle(&request).unwrap();
    let (second, wrote_second) = server.handle(&request).unwrap();
    assert!(wrote_first > 0);
    assert_eq!(wrote_second, 0, "the retry writes nothing");
    assert_eq!(first, second, "and gets the same answer");
    a.receive(wire::decode_response(&second, LIMIT).unwrap());
    assert_eq!(street_of(&a).visits.len(), 1);
}

#[test]
fn a_server_restored_from_backup_costs_one_extra_round_trip() {
    let mut rng = SmallRng::seed_from_u64(3);
    let mut server = SimServer::with_demo_street();
    let backup = server.clone();
    let mut a = new_replica();
    sync(&mut a, &mut server);
    record_visit(&mut a, &mut rng);
    sync(&mut a, &mut server);
    assert_eq!(a.unsynced(), 0);
    server = backup; // the visit is gone from the server
    record_visit(&mut a, &mut rng);
    assert!(
        sync(&mut a, &mut server).again,
        "the server asks for everything"
    );
    assert!(
        !sync(&mut a, &mut server).again,
        "and the second round trip converges"
    );
    assert_eq!(replica_heads(&mut a), server.heads());
    let mut fresh = new_replica();
    sync(&mut fresh, &mut server);
    assert_eq!(
        street_of(&fresh).visits.len(),
        2,
        "both visits are back on the server"
    );
}

/// A phone parks the documents it has synced (the field app keeps them in storage, not in
/// memory). A parked document costs only its heads in a request; when another device
/// changes it, the reply says to load it, and after loading one more sync brings the news.
#[test]
fn parked_documents_are_offered_by_heads_and_loaded_when_the_server_has_news() {
    let mut rng = SmallRng::seed_from_u64(7);
    let mut server = SimServer::with_demo_street();
    let mut phone = new_replica();
    let mut coach = new_replica();
    sync(&mut phone, &mut server);
    record_visit(&mut phone, &mut rng);
    sync(&mut phone, &mut server);
    sync(&mut coach, &mut server);

    // The phone parks every document but the street, keeping a copy as storage would.
    let stored: BTreeMap<DocumentId, (DocKind, Vec<u8>)> = phone
        .docs()
        .map(|(id, d)| (*id, (d.kind, d.doc.clone().save())))
        .collect();
    let street = DocKind::Street {
        street: demo::street_id(),
    };
    for (id, (kind, _)) in &stored {
        if *kind != street {
            let heads = phone.get_mut(id).unwrap().doc.get_heads();
            phone.park(*kind, heads);
        }
    }
    assert_eq!(phone.docs().count(), 1);
    let idle = sync(&mut phone, &mut server);
    assert!(idle.load.is_empty() && !idle.again, "{idle:?}");
    assert_eq!(phone.unsynced(), 0);

    // The coach adds notes to the phone's household; the phone is told to load it.
    let household = *stored.keys().find(|id| **id != street.id()).unwrap();
    let visit = {
        let doc = &coach.get(&household).unwrap().doc;
        let h: Household = docs::read(doc).unwrap();
        h.conversations.keys().next().unwrap().clone()
    };
    let doc = &mut coach.get_mut(&household).unwrap().doc;
    docs::update_notes(doc, &visit, "Notities van de coach.").unwrap();
    doc.commit();
    sync(&mut coach, &mut server);

    let told = sync(&mut phone, &mut server);
    assert_eq!(told.load, vec![household]);
    assert!(told.again);
    let saved = AutoCommit::load(&stored[&household].1).unwrap();
    phone.unpark(&household, saved);
    sync(&mut phone, &mut server);
    let h: Household = docs::read(&phone.get(&household).unwrap().doc).unwrap();
    assert_eq!(
        h.conversations[&visit].notes.as_str(),
        "Notities van de coach."
    );
    assert_eq!(
        replica_heads(&mut phone)[&household],
        server.heads()[&household]
    );
}

/// A builder of the municipality hands a care signal to the care organisation: the server
/// merges it into the care organisation's document, the care coach receives it, and the
/// builder is never sent that document — not the coach's signals, not even its heads.
#[test]
fn a_signal_handed_to_another_partner_is_merged_but_never_sent_back() {
    let mut server = SimServer::with_demo_street();
    let builder_grant = grant(Role::CommunityBuilder, Partner::Municipality);
    let mut builder = new_replica();
    let mut coach = new_replica();
    let sync_builder = |builder: &mut Replica, server: &mut SimServer| {
        let request = wire::encode_request(&builder.request());
        let (response, _) = server.handle_as(&request, &builder_grant).unwrap();
        builder.receive(wire::decode_response(&response, LIMIT).unwrap())
    };
    sync_builder(&mut builder, &mut server);
    sync(&mut coach, &mut server);
    let address = some_address(&builder, &mut SmallRng::seed_from_u64(1));
    let signal = |author: &str, text: &str| VisitRecord {
        street: demo::street_id(),
        address,
        author: author.into(),
        at_ms: 1,
        outcome: Outcome::Talked,
        return_on: None,
        notes: String::new(),
        contribution: String::new(),
        wishes: vec![],
        signals: vec![(SignalKind::CareNeed, text.into())],
    };
    signal("Coach", "Bekende cliënt")
        .record(&mut coach)
        .unwrap();
    sync(&mut coach, &mut server);
    signal("Sanne", "Zorgen om buurvrouw")
        .record(&mut builder)
        .unwrap();
    sync_builder(&mut builder, &mut server);
    sync_builder(&mut builder, &mut server);
    assert_eq!(
        builder.unsynced(),
        0,
        "the builder's signal is acknowledged"
    );

    let care = DocKind::Confidential {
        street: demo::street_id(),
        address,
        epoch: 0,
        partner: Partner::CareOrganisation,
    }
    .id();
    let texts = |doc: &AutoCommit| -> Vec<String> {
        let c: Confidential = docs::read(doc).unwrap();
        let mut texts: Vec<String> = c.signals.values().map(|s| s.text.clone()).collect();
        texts.sort();
        texts
    };
    assert_eq!(
        texts(&server.load(&care)),
        ["Bekende cliënt", "Zorgen om buurvrouw"]
    );
    sync(&mut coach, &mut server);
    assert_eq!(
        texts(&coach.get(&care).unwrap().doc),
        ["Bekende cliënt", "Zorgen om buurvrouw"]
    );
    assert_eq!(
        texts(&builder.get(&care).unwrap().doc),
        ["Zorgen om buurvrouw"],
        "the builder holds only what they wrote"
    );

    // A coordinator of the municipality may not touch the document at all.
    let mut coordinator = new_replica();
    let request = wire::encode_request(&coordinator.request());
    let (response, _) = server
        .handle_as(&request, &grant(Role::Coordinator, Partner::Municipality))
        .unwrap();
    coordinator.receive(wire::decode_response(&response, LIMIT).unwrap());
    assert!(coordinator.get(&care).is_none());
    let before = server.heads();
    let err = server
        .handle_as(
            &wire::encode_request(&builder.request()),
            &grant(Role::Coordinator, Partner::Municipality),
        )
        .unwrap_err();
    assert!(matches!(err, SyncError::Forbidden(_)), "{err:?}");
    assert_eq!(server.heads(), before, "a refused request changes nothing");
}
