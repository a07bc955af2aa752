//! The sync protocol on an in-process simulated network, through the server's own sync
//! exchange (`voordeur_server::exchange`) over an in-memory store: several replicas and one
//! server, with messages dropped, duplicated, reordered and retried, and a server that
//! loses its recent history to a restored backup. For every seed, once the network
//! behaves, every device holds exactly what the server holds.
//!
//! The server keeps one document cache across requests (and across the restore, as a
//! running server would: its entries must then not be served stale), writes the audit
//! log, and compacts documents after a few chunks. Every request also goes to a reference
//! server that has neither cache nor compaction: both must answer alike and end up
//! holding the same documents.

// Test helpers unwrap: a panic is a failing test that names what broke.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};

use rand::{Rng, SeedableRng, rngs::SmallRng, seq::SliceRandom};
use voordeur_server::{
    cache::DocCache,
    exchange::{self, Caller, ExchangeError, Synced},
    store::memory::MemoryStore,
};
use voordeur_shared::{
    access::{Grant, Role},
    automerge::{ActorId, AutoCommit, ChangeHash},
    demo,
    docs::{self, DocKind, DocumentId, new_actor},
    ids::AccountId,
    model::{Confidential, Household, Outcome, Partner, SignalKind, Street, Theme},
    record::VisitRecord,
    sync::{
        Hash, ReplyStatus, SyncRequest, SyncResponse,
        chunks::parse_changes,
        client::{Received, Replica},
        wire,
    },
};

const LIMIT: usize = 64 << 20;
/// Small, so that the simulation compacts often.
const COMPACT_AFTER: i64 = 4;

/// A server's store and the cache of the server process running on it.
struct Server {
    store: MemoryStore,
    /// `None`: a fresh, empty cache for every request.
    cache: Option<DocCache>,
}

impl Server {
    async fn sync(
        &self,
        actor: &ActorId,
        caller: &Caller,
        request: SyncRequest,
    ) -> Result<Synced, ExchangeError> {
        let fresh;
        let cache = match &self.cache {
            Some(cache) => cache,
            None => {
                fresh = DocCache::new(64 << 20);
                &fresh
            }
        };
        exchange::run(&self.store, cache, actor, caller, request).await
    }
}

/// What a backup holds: both servers' stores as they are now.
struct Backup {
    store: MemoryStore,
    reference: MemoryStore,
}

/// The server under test (cache kept across requests, compaction after
/// [`COMPACT_AFTER`] chunks), and a reference server without either that gets the same
/// requests.
struct SimServer {
    runtime: tokio::runtime::Runtime,
    actor: ActorId,
    tested: Server,
    reference: Server,
    /// Documents compacted so far.
    compacted: usize,
}

impl SimServer {
    fn with_demo_street() -> Self {
        let (kind, mut doc) = demo::street(new_actor()).unwrap();
        let store = MemoryStore::new(COMPACT_AFTER);
        let reference = MemoryStore::never_compacting();
        store.create(kind, &mut doc);
        reference.create(kind, &mut doc);
        SimServer {
            runtime: tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap(),
            actor: new_actor(),
            tested: Server {
                store,
                cache: Some(DocCache::new(64 << 20)),
            },
            reference: Server {
                store: reference,
                cache: None,
            },
            compacted: 0,
        }
    }

    fn backup(&self) -> Backup {
        Backup {
            store: self.tested.store.clone(),
            reference: self.reference.store.clone(),
        }
    }

    /// The stores go back to the backup; the server's cache stays as it was.
    fn restore(&mut self, backup: Backup) {
        self.tested.store = backup.store;
        self.reference.store = backup.reference;
    }

    /// The document as the server stores it.
    fn load(&self, id: &DocumentId) -> AutoCommit {
        self.tested.store.document(id).unwrap().unwrap()
    }

    fn heads(&self) -> BTreeMap<DocumentId, Vec<ChangeHash>> {
        self.tested.store.heads()
    }

    /// Handles one request of a care coach of the demo street (who may read and write
    /// every document the simulation makes); returns the response bytes and how many
    /// documents it wrote.
    fn handle(&mut self, request: &[u8]) -> Result<(Vec<u8>, usize), ExchangeError> {
        self.handle_as(request, &caller(Role::Coach, Partner::CareOrganisation))
    }

    /// Handles one request on both servers, and checks that they answer alike and that
    /// the audit log names exactly the documents read and changed.
    fn handle_as(
        &mut self,
        request: &[u8],
        caller: &Caller,
    ) -> Result<(Vec<u8>, usize), ExchangeError> {
        let request = wire::decode_request(request, LIMIT).unwrap();
        let brought: BTreeSet<DocumentId> = request
            .docs
            .iter()
            .filter(|offer| !offer.changes.is_empty())
            .map(|offer| offer.id)
            .collect();
        let heads_before = self.heads();
        let audited_before = self.tested.store.audit_log().len();
        let (synced, expected) = self.runtime.block_on(async {
            (
                self.tested.sync(&self.actor, caller, request.clone()).await,
                self.reference.sync(&self.actor, caller, request).await,
            )
        });
        let audit = self.tested.store.audit_log().split_off(audited_before);
        let synced = match (synced, expected) {
            (Ok(synced), Ok(expected)) => {
                assert_eq!(
                    meaning(&synced.response),
                    meaning(&expected.response),
                    "the cache and compaction change nothing a client sees"
                );
                assert!(expected.compaction.is_none());
                synced
            }
            (Err(e), Err(expected)) => {
                assert_eq!(e.to_string(), expected.to_string());
                assert_eq!(
                    self.heads(),
                    heads_before,
                    "a refused request changes nothing"
                );
                assert!(audit.is_empty(), "a refused request is not audited");
                return Err(e);
            }
            (synced, expected) => panic!("the servers disagree: {synced:?} / {expected:?}"),
        };
        if let Some(compaction) = &synced.compaction {
            self.compacted += compaction.result.as_ref().copied().unwrap();
        }

        // The audit log names who read and changed what, and nothing else.
        assert!(audit.iter().all(|line| line.account == caller.account));
        let heads_after = self.heads();
        let moved: BTreeSet<DocumentId> = heads_after
            .iter()
            .filter(|(id, heads)| heads_before.get(id) != Some(heads))
            .map(|(id, _)| *id)
            .collect();
        let changed: BTreeSet<DocumentId> = audit
            .iter()
            .filter(|line| line.action == "change")
            .map(|line| line.kind.id())
            .collect();
        assert_eq!(changed.len(), synced.written);
        // Every change names its author: here always a phone of the caller's (a replay
        // would name another).
        assert!(
            audit
                .iter()
                .filter_map(|line| line.author.as_ref())
                .all(|(_, account)| *account == caller.account)
        );
        assert_eq!(changed, moved, "the audit log names the documents changed");
        for reply in &synced.response.docs {
            if matches!(reply.status, ReplyStatus::Refused { .. }) {
                assert!(
                    !moved.contains(&reply.id),
                    "a refused document is not written"
                );
            }
        }
        // What is pushed: every document written, and every document the request brought
        // changes for that was merged (a retry tells again what its first try, on a
        // server that stopped before its notice, may not have told), at its heads now.
        let pushed: BTreeMap<DocumentId, Vec<ChangeHash>> = synced
            .changed
            .iter()
            .map(|(kind, heads)| (kind.id(), heads.clone()))
            .collect();
        let merged = synced
            .response
            .docs
            .iter()
            .filter(|reply| reply.status == ReplyStatus::Merged && brought.contains(&reply.id))
            .map(|reply| reply.id);
        let told: BTreeMap<DocumentId, Vec<ChangeHash>> = moved
            .iter()
            .copied()
            .chain(merged)
            .map(|id| (id, heads_after[&id].clone()))
            .collect();
        assert_eq!(pushed, told, "what the others are told");
        let read: Vec<DocumentId> = audit
            .iter()
            .filter(|line| line.action == "read")
            .map(|line| line.kind.id())
            .collect();
        let sent: Vec<DocumentId> = synced
            .response
            .docs
            .iter()
            .filter(|reply| !reply.changes.is_empty())
            .map(|reply| reply.id)
            .collect();
        assert_eq!(read, sent, "the audit log names the documents read");
        let change_lines = audit.iter().filter(|l| l.action == "change").count();
        assert_eq!(audit.len(), read.len() + change_lines);
        Ok((wire::encode_response(&synced.response), synced.written))
    }

    /// Checks that every document the server compacted equals the reference's, which is
    /// stored as every chunk ever written; returns how many documents the reference keeps
    /// in more chunks than the server.
    fn check_compacted_documents(&self) -> usize {
        let kinds = self.tested.store.kinds();
        assert_eq!(kinds, self.reference.store.kinds());
        assert_eq!(self.heads(), self.reference.store.heads());
        let mut fewer_chunks = 0;
        for (id, kind) in &kinds {
            let compacted = self.load(id);
            let plain = self.reference.store.document(id).unwrap().unwrap();
            assert_eq!(content(kind, &compacted), content(kind, &plain));
            kind.validate(&compacted).unwrap();
            let chunks = self.tested.store.chunk_count(id);
            assert!(chunks as i64 <= COMPACT_AFTER, "{chunks} chunks");
            if self.reference.store.chunk_count(id) > chunks {
                fewer_chunks += 1;
            }
        }
        fewer_chunks
    }
}

/// What a response tells a client: everything in it, but each reply's changes as the set
/// of changes the bytes hold (two servers may encode the same changes differently).
#[allow(clippy::type_complexity)]
fn meaning(
    response: &SyncResponse,
) -> (
    u64,
    Vec<(
        DocumentId,
        Option<DocKind>,
        ReplyStatus,
        Option<Vec<Hash>>,
        BTreeSet<ChangeHash>,
    )>,
) {
    let replies = response
        .docs
        .iter()
        .map(|reply| {
            let changes = parse_changes(&reply.changes)
                .unwrap()
                .iter()
                .map(|change| change.hash())
                .collect();
            (
                reply.id,
                reply.kind,
                reply.status.clone(),
                reply.heads.clone(),
                changes,
            )
        })
        .collect();
    (response.request, replies)
}

/// What a document holds, as the app reads it.
fn content(kind: &DocKind, doc: &AutoCommit) -> String {
    match kind {
        DocKind::Street { .. } => format!("{:?}", docs::read::<Street>(doc).unwrap()),
        DocKind::Household { .. } => format!("{:?}", docs::read::<Household>(doc).unwrap()),
        DocKind::Confidential { .. } => {
            format!("{:?}", docs::read::<Confidential>(doc).unwrap())
        }
    }
}

/// A person of `role` at a `partner` organisation working in the demo street.
fn caller(role: Role, partner: Partner) -> Caller {
    Caller {
        account: AccountId(uuid::Uuid::new_v5(
            &uuid::Uuid::NAMESPACE_OID,
            format!("{role:?}/{partner:?}").as_bytes(),
        )),
        grant: Grant {
            role,
            partner: Some(partner),
            streets: [demo::street_id()].into(),
        },
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
        epoch: 0,
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
    let mut backup: Option<Backup> = None;
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
            97 => backup = Some(server.backup()),
            98 => {
                if let Some(old) = backup.take() {
                    server.restore(old);
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
    // Compaction happened, and changed nothing of the documents (each of them valid).
    assert!(server.compacted > 0, "seed {seed}: nothing was compacted");
    assert!(
        server.check_compacted_documents() > 0,
        "seed {seed}: every document is in as many chunks as on the reference server"
    );
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
    let backup = server.backup();
    let mut a = new_replica();
    sync(&mut a, &mut server);
    record_visit(&mut a, &mut rng);
    sync(&mut a, &mut server);
    assert_eq!(a.unsynced(), 0);
    server.restore(backup); // the visit is gone from the server, not from its cache
    let street = DocKind::Street {
        street: demo::street_id(),
        epoch: 0,
    }
    .id();
    let cached = server.tested.cache.as_ref().unwrap().heads(&street);
    assert!(cached.is_some(), "the cache holds the street");
    assert_ne!(
        cached.as_ref(),
        server.heads().get(&street),
        "at heads the restored store does not have"
    );
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
        epoch: 0,
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
    let builder_caller = caller(Role::CommunityBuilder, Partner::Municipality);
    let mut builder = new_replica();
    let mut coach = new_replica();
    let sync_builder = |builder: &mut Replica, server: &mut SimServer| {
        let request = wire::encode_request(&builder.request());
        let (response, _) = server.handle_as(&request, &builder_caller).unwrap();
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
        .handle_as(&request, &caller(Role::Coordinator, Partner::Municipality))
        .unwrap();
    coordinator.receive(wire::decode_response(&response, LIMIT).unwrap());
    assert!(coordinator.get(&care).is_none());
    let before = server.heads();
    let (response, written) = server
        .handle_as(
            &wire::encode_request(&builder.request()),
            &caller(Role::Coordinator, Partner::Municipality),
        )
        .unwrap();
    let response = wire::decode_response(&response, LIMIT).unwrap();
    let refused = response.docs.iter().find(|r| r.id == care).unwrap();
    assert!(
        matches!(&refused.status, ReplyStatus::Refused { code, .. } if code == "no_access"),
        "{refused:?}"
    );
    assert!(refused.changes.is_empty() && refused.heads.is_none());
    assert_eq!(written, 0);
    assert_eq!(server.heads(), before, "a refused document changes nothing");
}
