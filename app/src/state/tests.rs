//! The state layer without a browser: a visit recorded, stored, reopened after a reload,
//! synced against an in-process server, storage full mid-write, a damaged stored value, a
//! refused sync. Storage is [`MemoryKv`]; the server is the protocol's own `serve` over
//! documents held in memory.

use std::collections::BTreeMap;

use voordeur_shared::{
    access::{Grant, Role},
    automerge::AutoCommit,
    demo,
    docs::{self, DocKind, DocumentId, new_actor},
    door::ConflictField,
    erase::{self, Gone, Request},
    ids::{AccountId, AddressId, StreetId, VisitId},
    model::{Consent, Outcome, Partner, Resident, SignalKind, Theme},
    sync::{
        SyncError, SyncRequest, SyncResponse,
        rules::{Writer, Writers},
        server::{Catalog, CatalogEntry, Incoming, Plan, serve},
        wire,
    },
    walk::DoorState,
};

use super::{
    Edit, Field, Kv, MemoryKv, Person, Session, SharedKv,
    aside::{Refused, Why},
    cipher::{Cipher, random},
    waiting::Waiting,
};
use crate::error::AppError;

const KEY: [u8; 64] = [7; 64];

/// The server, in memory: each document as the bytes it saved, as a store keeps chunks.
struct Server {
    docs: BTreeMap<DocumentId, (DocKind, Vec<u8>)>,
    /// The erasure register.
    gone: BTreeMap<DocumentId, Gone>,
    grant: Grant,
}

impl Server {
    fn with_demo_street() -> Server {
        let (kind, mut doc) = demo::street(new_actor()).unwrap();
        Server {
            docs: BTreeMap::from([(kind.id(), (kind, doc.save()))]),
            gone: BTreeMap::new(),
            grant: Grant {
                role: Role::CommunityBuilder,
                partner: Some(Partner::Municipality),
                streets: [demo::street_id()].into(),
            },
        }
    }

    fn load(&self, id: &DocumentId) -> AutoCommit {
        AutoCommit::load(&self.docs[id].1).unwrap()
    }

    /// One exchange, through the wire encoding both ways, as over HTTP.
    fn handle(&mut self, request: SyncRequest) -> Result<SyncResponse, SyncError> {
        let bytes = wire::encode_request(&request);
        let request = wire::decode_request(&bytes, 64 << 20).unwrap();
        let wanted = Catalog::wanted(&request);
        let catalog = Catalog {
            docs: self
                .docs
                .iter()
                .filter(|(id, (kind, _))| {
                    wanted.ids.contains(id) || wanted.streets.contains(&kind.street())
                })
                .map(|(id, (kind, _))| {
                    let heads = self.load(id).get_heads();
                    (*id, CatalogEntry { kind: *kind, heads })
                })
                .collect(),
            gone: self
                .gone
                .iter()
                .filter(|(id, _)| wanted.ids.contains(id))
                .map(|(id, gone)| (*id, *gone))
                .collect(),
        };
        let plan = Plan::new(&request, &catalog, &self.grant);
        let loaded = plan
            .to_load()
            .iter()
            .map(|id| (*id, self.load(id)))
            .collect();
        // One account, which wrote every change this server sees.
        let writers = Writers::new(Writer {
            account: AccountId(voordeur_shared::uuid::Uuid::from_u128(1)),
            grant: self.grant.clone(),
            actors: Default::default(),
        });
        let incoming = Incoming::read(request)?;
        let mut served = serve(&incoming, &catalog, &plan, loaded, &new_actor(), &writers)?;
        for write in &served.writes {
            let doc = served.docs.get_mut(&write.id).unwrap();
            self.docs.insert(write.id, (write.kind, doc.save()));
        }
        let bytes = wire::encode_response(&served.response);
        Ok(wire::decode_response(&bytes, 64 << 20).unwrap())
    }

    fn household(&self, street: StreetId, address: AddressId) -> Option<AutoCommit> {
        let id = DocKind::Household {
            street: street.0,
            address: address.0,
            epoch: 0,
        }
        .id();
        self.docs.contains_key(&id).then(|| self.load(&id))
    }
}

fn session() -> Session {
    session_of("Sanne")
}

fn session_of(name: &str) -> Session {
    Session {
        token: "token".into(),
        expires_ms: i64::MAX,
        person: Person {
            id: AccountId(voordeur_shared::uuid::Uuid::from_u128(1)),
            username: name.to_lowercase(),
            display_name: name.into(),
            role: Role::CommunityBuilder,
            partner: Some(Partner::Municipality),
            streets: vec![demo::street_id()],
        },
    }
}

/// A signed-in phone that follows the demo street and holds it (one sync).
fn phone(server: &mut Server) -> Field<MemoryKv> {
    phone_on(MemoryKv::new(), server)
}

fn phone_of(server: &mut Server, name: &str) -> Field<MemoryKv> {
    phone_named(MemoryKv::new(), server, name)
}

/// A signed-in phone on storage `kv` that follows the demo street and holds it.
fn phone_on<K: Kv>(kv: K, server: &mut Server) -> Field<K> {
    phone_named(kv, server, "Sanne")
}

fn phone_named<K: Kv>(kv: K, server: &mut Server, name: &str) -> Field<K> {
    let mut field = Field::open(kv, Cipher::new(&KEY)).unwrap();
    field.sign_in(session_of(name)).unwrap();
    field.follow(StreetId(demo::street_id())).unwrap();
    sync(&mut field, server).unwrap();
    field
}

/// Syncs until the server has nothing more to say (at most four round trips).
fn sync<K: Kv>(field: &mut Field<K>, server: &mut Server) -> Result<(), SyncError> {
    for _ in 0..4 {
        let response = server.handle(field.sync_request())?;
        if !field.receive(response, 2_000).unwrap().received.again {
            break;
        }
    }
    Ok(())
}

/// Closes the state and opens it again from what it stored, as a reload does.
fn reload(field: Field<MemoryKv>) -> Field<MemoryKv> {
    let mut field = Field::open(field.close(), Cipher::new(&KEY)).unwrap();
    field.load().unwrap();
    field
}

fn first_door<K: Kv>(field: &mut Field<K>) -> AddressId {
    field.stored_walk().unwrap().doors().next().unwrap().id
}

/// The street's first `n` doors.
fn doors<K: Kv>(field: &mut Field<K>, n: usize) -> Vec<AddressId> {
    field
        .stored_walk()
        .unwrap()
        .doors()
        .take(n)
        .map(|d| d.id)
        .collect()
}

/// A signed-in phone that has just talked to someone at the street's first door.
fn after_a_talk() -> (Server, Field<MemoryKv>, AddressId, VisitId) {
    let mut server = Server::with_demo_street();
    let mut field = phone(&mut server);
    let door = first_door(&mut field);
    field
        .record_visit(door, Outcome::Talked, None, 1_000)
        .unwrap();
    let visit = field.door_view(door).unwrap().visits[0].id;
    (server, field, door, visit)
}

#[test]
fn a_visit_recorded_is_stored_and_shows_after_a_reload() {
    let mut server = Server::with_demo_street();
    let mut field = phone(&mut server);
    let door = first_door(&mut field);
    let walk = field
        .record_visit(door, Outcome::Talked, None, 1_000)
        .unwrap()
        .unwrap();
    assert_eq!(walk.doors().next().unwrap().state, DoorState::Talked);
    let visit = field.door_view(door).unwrap().visits[0].id;
    field
        .edit(
            door,
            Edit::Notes {
                visit,
                text: "Over de tuin".into(),
            },
            2_000,
        )
        .unwrap();

    let mut field = reload(field);
    let view = field.door_view(door).unwrap();
    assert_eq!(view.visits.len(), 1);
    assert_eq!(view.visits[0].author, "Sanne");
    assert_eq!(view.visits[0].notes, "Over de tuin");
    let walk = field.stored_walk().unwrap();
    assert_eq!(walk.doors().next().unwrap().state, DoorState::Talked);
    assert!(field.unsynced() > 0, "nothing was synced yet");
}

#[test]
fn a_sync_brings_the_work_to_the_server_and_others_work_back() {
    let mut server = Server::with_demo_street();
    let mut sanne = phone(&mut server);
    let mut karim = phone(&mut server);
    let door = first_door(&mut sanne);
    sanne
        .record_visit(door, Outcome::Talked, None, 1_000)
        .unwrap();
    let visit = sanne.door_view(door).unwrap().visits[0].id;
    let wish = Edit::Wish {
        visit,
        theme: Theme::Greenery,
        text: "Meer groen".into(),
    };
    sanne.edit(door, wish, 2_000).unwrap();
    sync(&mut sanne, &mut server).unwrap();
    assert_eq!(sanne.unsynced(), 0);
    assert!(
        server
            .household(StreetId(demo::street_id()), door)
            .is_some()
    );

    sync(&mut karim, &mut server).unwrap();
    let view = karim.door_view(door).unwrap();
    assert_eq!(view.visits.len(), 1);
    let wish = &view.visits[0].wishes[0];
    assert_eq!(
        (wish.theme, wish.text.as_str()),
        (Theme::Greenery, "Meer groen")
    );
    // And what Karim received survives his reload, acknowledged.
    let mut karim = reload(karim);
    assert_eq!(karim.door_view(door).unwrap().visits.len(), 1);
    assert_eq!(karim.unsynced(), 0);
}

#[test]
fn a_change_that_does_not_fit_in_storage_is_kept_and_stored_with_the_next_write() {
    let (_, mut field, door, visit) = after_a_talk();
    let used = field.kv_mut().chars();
    field.kv_mut().set_quota(Some(used));
    let full = field.edit(
        door,
        Edit::Notes {
            visit,
            text: "Eerste zin.".into(),
        },
        2_000,
    );
    assert_eq!(full, Err(AppError::StorageFull));
    // Room again: the next edit stores both.
    field.kv_mut().set_quota(None);
    field
        .edit(
            door,
            Edit::Notes {
                visit,
                text: "Eerste zin. Tweede zin.".into(),
            },
            2_000,
        )
        .unwrap();
    let mut field = reload(field);
    assert_eq!(
        field.door_view(door).unwrap().visits[0].notes,
        "Eerste zin. Tweede zin."
    );
}

#[test]
fn a_full_storage_changes_nothing_that_was_stored() {
    let mut server = Server::with_demo_street();
    let mut field = phone(&mut server);
    let door = first_door(&mut field);
    let used = field.kv_mut().chars();
    field.kv_mut().set_quota(Some(used));
    let before = field.kv_mut().clone();
    let full = field.record_visit(door, Outcome::Refused, None, 1_000);
    assert_eq!(full.unwrap_err(), AppError::StorageFull);
    assert_eq!(field.kv_mut().keys_and_values(), before.keys_and_values());
}

#[test]
fn a_damaged_stored_document_is_an_error_that_names_it_not_a_crash() {
    let (_, field, _, _) = after_a_talk();
    let mut kv = field.close();
    let snapshots: Vec<String> = kv
        .keys()
        .unwrap()
        .into_iter()
        .filter(|k| k.starts_with("vd.snap."))
        .collect();
    for key in &snapshots {
        kv.set(key, "not what was sealed").unwrap();
    }
    let mut field = Field::open(kv, Cipher::new(&KEY)).unwrap();
    let damaged = field.load();
    assert!(
        matches!(damaged, Err(AppError::Damaged(_))),
        "loading says what is damaged: {damaged:?}"
    );
}

/// A request the server refuses whole (here: a document offered twice) changes nothing
/// on the phone: the work waits.
#[test]
fn a_refused_request_keeps_the_work_waiting() {
    let (mut server, mut field, _, _) = after_a_talk();
    let waiting = field.unsynced();
    let mut request = field.sync_request();
    request.docs.push(request.docs[0].clone());
    let refused = server.handle(request);
    assert!(
        matches!(refused, Err(SyncError::DuplicateDocument(_))),
        "{refused:?}"
    );
    let mut field = reload(field);
    assert_eq!(field.unsynced(), waiting, "still waiting after a reload");
    sync(&mut field, &mut server).unwrap();
    assert_eq!(field.unsynced(), 0);
}

/// Changes the person may not make (a coordinator's visit) are set aside, not lost and not
/// offered again; once they may, "try again" sends them.
#[test]
fn changes_the_person_may_not_make_are_set_aside_and_tried_again_on_request() {
    let (mut server, mut field, door, _) = after_a_talk();
    let street = DocKind::Street {
        street: demo::street_id(),
        epoch: 0,
    }
    .id();
    let server_heads = server.load(&street).get_heads();
    server.grant.role = Role::Coordinator;
    sync(&mut field, &mut server).unwrap();
    assert_eq!(field.unsynced(), 0, "nothing waits to be offered again");
    let refusals = field.refusals();
    assert_eq!(
        refusals.len(),
        2,
        "the street and the household: {refusals:?}"
    );
    assert!(
        refusals
            .iter()
            .all(|r| r.why == Why::Forbidden && r.at(door))
    );
    assert_eq!(
        server.load(&street).get_heads(),
        server_heads,
        "nothing stored"
    );
    assert!(
        field.door_view(door).unwrap().visits.is_empty(),
        "the door shows the server's version"
    );

    let mut field = reload(field);
    assert_eq!(field.refusals(), refusals, "kept across a reload");
    server.grant.role = Role::CommunityBuilder;
    for refusal in &refusals {
        field.retry_aside(refusal.doc).unwrap();
    }
    assert!(field.refusals().is_empty());
    assert_eq!(
        field.door_view(door).unwrap().visits.len(),
        1,
        "back on the door"
    );
    sync(&mut field, &mut server).unwrap();
    assert_eq!(field.unsynced(), 0);
    assert!(
        server
            .household(StreetId(demo::street_id()), door)
            .is_some()
    );
}

/// A phone follows two streets and records a visit in each while offline; meanwhile the
/// person is no longer assigned to the second. The first street's visit syncs; the
/// second's is set aside (stored, across a reload), its documents go back to the server's
/// version, and the phone keeps syncing.
#[test]
fn a_refused_document_is_set_aside_and_the_others_sync_on() {
    let mut server = Server::with_demo_street();
    let second = voordeur_shared::uuid::Uuid::now_v7();
    let plan = voordeur_shared::layout::StreetPlan {
        name: "Eikenlaan".into(),
        complexes: vec!["Blok A:2x4:1".parse().unwrap()],
    };
    let (kind, mut doc) = plan.build(second, new_actor()).unwrap();
    server.docs.insert(kind.id(), (kind, doc.save()));
    server.grant.streets.insert(second);
    let mut field = phone(&mut server);
    field.follow(StreetId(second)).unwrap();
    sync(&mut field, &mut server).unwrap();
    assert_eq!(field.street_id(), Some(StreetId(second)));
    let door2 = first_door(&mut field);
    field
        .record_visit(door2, Outcome::Talked, None, 1_000)
        .unwrap();
    field.follow(StreetId(demo::street_id())).unwrap();
    let door1 = first_door(&mut field);
    field
        .record_visit(door1, Outcome::Talked, None, 1_100)
        .unwrap();
    let second_heads = server.load(&kind.id()).get_heads();

    server.grant.streets.remove(&second);
    sync(&mut field, &mut server).unwrap();
    assert!(
        server
            .household(StreetId(demo::street_id()), door1)
            .is_some(),
        "the other street's visit reached the server"
    );
    assert!(server.household(StreetId(second), door2).is_none());
    assert_eq!(server.load(&kind.id()).get_heads(), second_heads);
    assert_eq!(
        field.unsynced(),
        0,
        "nothing waits, nothing is offered again"
    );
    let live = field.replica.get_mut(&kind.id()).unwrap().doc.get_heads();
    assert_eq!(live, second_heads, "the live street is the server's again");
    let refusals = field.refusals();
    let visit = refusals
        .iter()
        .find(|r| r.what == Refused::Visits)
        .expect("the visit is set aside");
    assert_eq!(
        (visit.street.as_str(), visit.why, visit.at(door2)),
        ("Eikenlaan", Why::NoAccess, true)
    );
    assert!(visit.doors[0].1.starts_with("Blok A "), "{visit:?}");
    assert!(
        refusals
            .iter()
            .any(|r| r.what == Refused::Notes && r.at(door2)),
        "{refusals:?}"
    );

    // Kept across a reload; syncing on changes nothing of it.
    let mut field = reload(field);
    assert_eq!(field.refusals(), refusals);
    assert_eq!(field.unsynced(), 0);
    let door = first_door(&mut field);
    field
        .record_visit(door, Outcome::NotHome, None, 1_200)
        .unwrap();
    sync(&mut field, &mut server).unwrap();
    assert_eq!(field.unsynced(), 0, "the first street syncs on");
    assert_eq!(field.refusals(), refusals);
    assert_eq!(server.load(&kind.id()).get_heads(), second_heads);

    // Assigned again: tried again, the visit reaches the server.
    server.grant.streets.insert(second);
    for refusal in &refusals {
        field.retry_aside(refusal.doc).unwrap();
    }
    sync(&mut field, &mut server).unwrap();
    assert_eq!(field.unsynced(), 0);
    assert!(server.household(StreetId(second), door2).is_some());
    assert!(field.refusals().is_empty());
}

/// Unreachable is retried soon and at every change; refused is retried only after long
/// pauses or when the person asks, so a refused phone does not hammer the server.
#[test]
fn a_refused_sync_is_retried_rarely_and_an_unreachable_one_soon() {
    use std::time::Duration;

    use super::retry::{Attempt, Retry, Wake};

    let mut retry = Retry::default();
    let secs = Duration::from_secs;
    // The server cannot be reached: 2 s, doubling to 30 s; a change wakes it at once.
    let pauses: Vec<Duration> = (0..6).map(|_| retry.after(Attempt::Unreachable)).collect();
    assert_eq!(
        pauses,
        [secs(2), secs(4), secs(8), secs(16), secs(30), secs(30)]
    );
    assert!(retry.wakes(Wake::Changed) && retry.wakes(Wake::Now));
    // Refused: a minute, doubling to half an hour; changes do not wake it, asking does.
    let pauses: Vec<Duration> = (0..7).map(|_| retry.after(Attempt::Refused)).collect();
    assert_eq!(
        pauses,
        [
            secs(60),
            secs(120),
            secs(240),
            secs(480),
            secs(960),
            secs(1800),
            secs(1800)
        ]
    );
    assert!(
        !retry.wakes(Wake::Changed),
        "typing does not resend a refused request"
    );
    assert!(retry.wakes(Wake::Now), "the person may ask");
    // Even an hour of refusals sends few requests.
    let mut fresh = Retry::default();
    let mut elapsed = Duration::ZERO;
    let mut requests = 0;
    while elapsed < secs(3600) {
        elapsed += fresh.after(Attempt::Refused);
        requests += 1;
    }
    assert!(requests <= 7, "{requests} requests in an hour");
    // Once synced, all is as at the start: polling, and changes sync at once.
    assert_eq!(retry.after(Attempt::Synced), Retry::POLL);
    assert_eq!(retry, Retry::default());
    assert!(retry.wakes(Wake::Changed));
    assert_eq!(retry.after(Attempt::Refused), secs(60));
}

#[test]
fn consent_with_a_name_and_a_signal_for_the_care_organisation_are_stored() {
    let (_, mut field, door, visit) = after_a_talk();
    let resident = Resident {
        name: "Mevrouw Jansen".into(),
        contact: "06 12345678".into(),
    };
    field
        .edit(
            door,
            Edit::Consent {
                consent: Consent::Given,
                resident: resident.clone(),
            },
            2_000,
        )
        .unwrap();
    field
        .edit(
            door,
            Edit::Signal {
                visit,
                kind: SignalKind::CareNeed,
                text: "Hulp bij de post".into(),
            },
            2_000,
        )
        .unwrap();
    let mut field = reload(field);
    let view = field.door_view(door).unwrap();
    assert_eq!((view.consent, view.resident), (Consent::Given, resident));
    let signal = &view.visits[0].signals[0];
    assert_eq!(
        (signal.kind, signal.text.as_str()),
        (SignalKind::CareNeed, "Hulp bij de post")
    );
}

#[test]
fn stored_values_are_sealed_and_keys_name_no_document() {
    let (_, field, door, _) = after_a_talk();
    let kv = field.close();
    let street = DocKind::Street {
        street: demo::street_id(),
        epoch: 0,
    }
    .id()
    .to_string();
    for (key, value) in kv.keys_and_values() {
        assert!(
            !key.contains(&street) && !key.contains(&door.to_string()),
            "{key}"
        );
        assert!(!value.contains("Sanne"), "{key} holds a name in the clear");
    }
    // Another key opens nothing.
    let other = Field::open(kv, Cipher::new(&random::<64>())).unwrap();
    assert!(other.session().is_none());
}

#[test]
fn an_expired_session_has_no_token_but_keeps_its_person() {
    let mut field = Field::open(MemoryKv::new(), Cipher::new(&KEY)).unwrap();
    field
        .sign_in(Session {
            expires_ms: 5_000,
            ..session()
        })
        .unwrap();
    assert_eq!(field.token(4_999).as_deref(), Some("token"));
    assert_eq!(field.token(5_000), None);
    assert_eq!(field.session().unwrap().person.display_name, "Sanne");
}

thread_local! {
    static NOW: std::cell::Cell<i64> = const { std::cell::Cell::new(0) };
}

/// The tests' clock: what the test set.
fn now() -> i64 {
    NOW.with(|n| n.get())
}

fn set_now(ms: i64) {
    NOW.with(|n| n.set(ms));
}

const MINUTE: i64 = 60_000;

/// Types `text` after the notes of `visit`, one key at a time, as the door screen does.
fn type_notes<K: Kv>(field: &mut Field<K>, door: AddressId, visit: VisitId, text: &str) {
    let mut notes = field
        .door_view(door)
        .unwrap()
        .visits
        .iter()
        .find(|v| v.id == visit)
        .unwrap()
        .notes
        .clone();
    for c in text.chars() {
        notes.push(c);
        let text = notes.clone();
        field
            .edit(door, Edit::Notes { visit, text }, 2_000)
            .unwrap();
    }
}

fn visit_at<K: Kv>(field: &mut Field<K>, door: AddressId) -> VisitId {
    field.door_view(door).unwrap().visits[0].id
}

#[test]
fn what_waits_is_counted_in_visits_notes_and_doors_not_keystrokes() {
    let mut server = Server::with_demo_street();
    let field = phone(&mut server);
    let mut field = field.with_clock(now);
    assert_eq!(field.waiting(), Waiting::default());
    let doors = doors(&mut field, 3);
    set_now(10 * MINUTE);
    for (i, door) in doors.iter().enumerate() {
        set_now((10 + i as i64) * MINUTE);
        field
            .record_visit(*door, Outcome::Talked, None, now())
            .unwrap();
    }
    // Notes at two of the three doors, typed key by key: many changes, two notes.
    for door in &doors[..2] {
        let visit = visit_at(&mut field, *door);
        type_notes(
            &mut field,
            *door,
            visit,
            "Wil graag een bankje bij de ingang.",
        );
    }
    assert!(
        field.unsynced() > 60,
        "keystrokes made {} changes",
        field.unsynced()
    );
    let expected = Waiting {
        docs: 4,
        visits: 3,
        notes: 2,
        doors: 3,
        since_ms: Some(10 * MINUTE),
    };
    assert_eq!(field.waiting(), expected);
    // The same after a reload, age included.
    let mut field = reload(field).with_clock(now);
    assert_eq!(field.waiting(), expected);

    sync(&mut field, &mut server).unwrap();
    assert_eq!(field.waiting(), Waiting::default());
    let field = reload(field);
    let mut field = field.with_clock(now);
    assert_eq!(
        field.waiting(),
        Waiting::default(),
        "cleared in storage too"
    );

    // Later, a note added to an earlier visit: one note at one door, no visit.
    set_now(60 * MINUTE);
    let visit = visit_at(&mut field, doors[2]);
    type_notes(&mut field, doors[2], visit, "Later gebeld.");
    assert_eq!(
        field.waiting(),
        Waiting {
            docs: 1,
            visits: 0,
            notes: 1,
            doors: 1,
            since_ms: Some(60 * MINUTE),
        }
    );
    // A wish counts for its door only.
    set_now(61 * MINUTE);
    let wish = Edit::Wish {
        visit: visit_at(&mut field, doors[0]),
        theme: Theme::Safety,
        text: "Meer licht".into(),
    };
    field.edit(doors[0], wish, 2_000).unwrap();
    let waiting = field.waiting();
    assert_eq!((waiting.visits, waiting.notes, waiting.doors), (0, 1, 2));
    assert_eq!(
        waiting.since_ms,
        Some(60 * MINUTE),
        "the oldest stays the oldest"
    );
}

#[test]
fn notes_typed_and_deleted_again_are_no_note_waiting() {
    let (mut server, field, door, visit) = after_a_talk();
    let mut field = field.with_clock(now);
    sync(&mut field, &mut server).unwrap();
    type_notes(&mut field, door, visit, "abc");
    field
        .edit(
            door,
            Edit::Notes {
                visit,
                text: String::new(),
            },
            2_000,
        )
        .unwrap();
    let waiting = field.waiting();
    assert_eq!((waiting.docs, waiting.notes, waiting.visits), (1, 0, 0));
}

/// Delivers to `tab` the writes the others made since `since`, as the browser's `storage`
/// event does; returns where the log is now.
fn tell(tab: &mut Field<SharedKv>, kv: &SharedKv, since: usize) -> usize {
    for write in kv.writes_by_others(since) {
        tab.take_in(&write.key, write.value.as_deref(), write.old.as_deref())
            .unwrap();
    }
    kv.logged()
}

fn notes_of<K: Kv>(field: &mut Field<K>, door: AddressId) -> Vec<String> {
    field
        .door_view(door)
        .unwrap()
        .visits
        .iter()
        .map(|v| v.notes.clone())
        .collect()
}

#[test]
fn two_tabs_on_one_storage_lose_nothing_and_see_each_others_edits() {
    let mut server = Server::with_demo_street();
    let storage = SharedKv::new();
    let (kv_a, kv_b) = (storage.tab(1), storage.tab(2));
    let mut a = phone_on(kv_a.clone(), &mut server);
    // The second tab opens what the first stored.
    let mut b = Field::open(kv_b.clone(), Cipher::new(&KEY)).unwrap();
    b.load().unwrap();
    let doors = doors(&mut a, 3);
    let (mut seen_a, mut seen_b) = (storage.logged(), storage.logged());

    // At once, before either hears of the other: a visit each, at different doors, and
    // notes typed key by key.
    a.record_visit(doors[0], Outcome::Talked, None, 1_000)
        .unwrap();
    b.record_visit(doors[1], Outcome::NotHome, None, 1_000)
        .unwrap();
    let visit_a = visit_at(&mut a, doors[0]);
    type_notes(&mut a, doors[0], visit_a, "Tab A aan deur een.");
    // Both at the same door: one visit, its notes edited by both tabs at once.
    b.record_visit(doors[2], Outcome::Talked, None, 1_000)
        .unwrap();
    seen_a = tell(&mut a, &storage, seen_a);
    seen_b = tell(&mut b, &storage, seen_b);
    let shared = visit_at(&mut a, doors[2]);
    assert_eq!(visit_at(&mut b, doors[2]), shared);
    // Enough keystrokes on both sides, unheard, to make both compact the household.
    let first: String = "Eerst A. ".repeat(5);
    let second: String = "Dan B. ".repeat(5);
    type_notes(&mut a, doors[2], shared, &first);
    type_notes(&mut b, doors[2], shared, &second);
    seen_a = tell(&mut a, &storage, seen_a);
    let _ = tell(&mut b, &storage, seen_b);

    for (name, tab) in [("a", &mut a), ("b", &mut b)] {
        let walk = tab.stored_walk().unwrap();
        let states: Vec<DoorState> = doors
            .iter()
            .map(|d| walk.doors().find(|w| w.id == *d).unwrap().state.clone())
            .collect();
        assert_eq!(
            states,
            [
                DoorState::Talked,
                DoorState::NotHome { times: 1 },
                DoorState::Talked
            ],
            "tab {name}'s walk list"
        );
        assert_eq!(
            notes_of(tab, doors[0]),
            ["Tab A aan deur een."],
            "tab {name}"
        );
        let notes = notes_of(tab, doors[2]).remove(0);
        assert!(
            notes.contains(&first) && notes.contains(&second),
            "tab {name} shows both tabs' notes: {notes:?}"
        );
    }

    // What is stored holds it all, read afresh.
    let mut fresh = Field::open(storage.contents(), Cipher::new(&KEY)).unwrap();
    fresh.load().unwrap();
    let notes = notes_of(&mut fresh, doors[2]).remove(0);
    assert!(
        notes.contains(&first) && notes.contains(&second),
        "{notes:?}"
    );
    assert_eq!(notes_of(&mut fresh, doors[0]), ["Tab A aan deur een."]);
    assert_eq!(fresh.door_view(doors[1]).unwrap().visits.len(), 1);

    // Both tabs sync, one after the other; the server holds everything, and the other tab
    // learns that all is sent.
    sync(&mut a, &mut server).unwrap();
    sync(&mut b, &mut server).unwrap();
    let _ = tell(&mut a, &storage, seen_a);
    assert_eq!(a.waiting(), Waiting::default());
    assert_eq!(b.waiting(), Waiting::default());
    let street = StreetId(demo::street_id());
    let on_server = server.household(street, doors[2]).unwrap();
    let notes = voordeur_shared::door::DoorView::read(
        &server.load(
            &DocKind::Street {
                street: street.0,
                epoch: 0,
            }
            .id(),
        ),
        doors[2],
        Some(&on_server),
        std::iter::empty(),
    )
    .unwrap()
    .visits
    .remove(0)
    .notes;
    assert!(
        notes.contains(&first) && notes.contains(&second),
        "{notes:?}"
    );
}

#[test]
fn a_compaction_keeps_what_another_tab_wrote_meanwhile() {
    let mut server = Server::with_demo_street();
    let storage = SharedKv::new();
    let mut a = phone_on(storage.tab(1), &mut server);
    let door = first_door(&mut a);
    a.record_visit(door, Outcome::Talked, None, 1_000).unwrap();
    let mut b = Field::open(storage.tab(2), Cipher::new(&KEY)).unwrap();
    b.load().unwrap();
    let visit = visit_at(&mut b, door);
    // B writes one increment that A never hears of; then A compacts, twice over.
    type_notes(&mut b, door, visit, "B");
    type_notes(&mut a, door, visit, &"a".repeat(70));
    let mut fresh = Field::open(storage.contents(), Cipher::new(&KEY)).unwrap();
    fresh.load().unwrap();
    let notes = notes_of(&mut fresh, door).remove(0);
    assert!(
        notes.contains('B') && notes.contains(&"a".repeat(70)),
        "{notes:?}"
    );
}

/// Issue 11's clash: offline at the same door, Sanne taps "yes" and types the name, Karim
/// taps "no". Neither phone is refused (the second was refused for good before: 422); both
/// show the two answers with whose they are; Karim settles it with one tap, for everyone.
#[test]
fn a_consent_clash_syncs_and_is_settled_with_one_tap() {
    let mut server = Server::with_demo_street();
    let mut sanne = phone_of(&mut server, "Sanne");
    let mut karim = phone_of(&mut server, "Karim");
    let door = first_door(&mut sanne);
    sanne
        .record_visit(door, Outcome::Talked, None, 1_000)
        .unwrap();
    sync(&mut sanne, &mut server).unwrap();
    sync(&mut karim, &mut server).unwrap();

    // Both offline now.
    let named = Resident {
        name: "Jan Smit".into(),
        contact: String::new(),
    };
    let yes = Edit::Consent {
        consent: Consent::Given,
        resident: named.clone(),
    };
    sanne.edit(door, yes, 2_000).unwrap();
    let no = Edit::Consent {
        consent: Consent::Refused,
        resident: Resident::default(),
    };
    karim.edit(door, no, 2_100).unwrap();
    sync(&mut sanne, &mut server).unwrap();
    sync(&mut karim, &mut server).expect("the second phone is not refused");
    sync(&mut sanne, &mut server).unwrap();
    assert_eq!(karim.unsynced(), 0);

    for phone in [&mut sanne, &mut karim] {
        let view = phone.door_view(door).unwrap();
        let conflict = view
            .conflicts
            .iter()
            .find(|c| c.field == ConflictField::Consent)
            .expect("the clash is shown");
        let mut answers: Vec<(String, String, i64)> = conflict
            .values
            .iter()
            .map(|c| {
                let by = c.by.clone().unwrap();
                (c.value.clone(), by.by, by.at_ms)
            })
            .collect();
        answers.sort();
        assert_eq!(
            answers,
            [
                ("Given".into(), "Sanne".into(), 2_000),
                ("Refused".into(), "Karim".into(), 2_100)
            ]
        );
        assert_eq!(view.resident, named, "kept while one answer is yes");
    }

    let settle = Edit::Settle {
        field: ConflictField::Consent,
        value: "Refused".into(),
    };
    karim.edit(door, settle, 3_000).unwrap();
    sync(&mut karim, &mut server).unwrap();
    sync(&mut sanne, &mut server).unwrap();
    let view = sanne.door_view(door).unwrap();
    assert!(view.conflicts.is_empty(), "{:?}", view.conflicts);
    assert_eq!(view.consent, Consent::Refused);
    assert_eq!(view.resident, Resident::default());
    let household = server.household(StreetId(demo::street_id()), door).unwrap();
    let kept: voordeur_shared::model::Household = docs::read(&household).unwrap();
    assert!(
        kept.resident.is_empty(),
        "the name is gone from the server too"
    );
}

/// Two people at one door: Sanne hears "no", Karim knocks later and talks. The door stays
/// refused on both phones until someone clears it; a wrong tap is corrected, visibly.
#[test]
fn a_refusal_stays_until_cleared_and_an_outcome_can_be_corrected() {
    let mut server = Server::with_demo_street();
    let mut sanne = phone_of(&mut server, "Sanne");
    let mut karim = phone_of(&mut server, "Karim");
    let door = first_door(&mut sanne);
    let state = |phone: &mut Field<MemoryKv>| {
        phone
            .stored_walk()
            .unwrap()
            .doors()
            .find(|d| d.id == door)
            .unwrap()
            .state
            .clone()
    };
    sanne
        .record_visit(door, Outcome::Refused, None, 1_000)
        .unwrap();
    karim
        .record_visit(door, Outcome::Talked, None, 2_000)
        .unwrap();
    sync(&mut sanne, &mut server).unwrap();
    sync(&mut karim, &mut server).unwrap();
    sync(&mut sanne, &mut server).unwrap();
    assert_eq!(state(&mut sanne), DoorState::Refused);
    assert_eq!(state(&mut karim), DoorState::Refused);

    // Karim's knock was really nobody home: corrected, with the history kept.
    let talk = karim
        .door_view(door)
        .unwrap()
        .visits
        .iter()
        .find(|v| v.author == "Karim")
        .unwrap()
        .id;
    let correct = Edit::Correct {
        visit: talk,
        outcome: Outcome::NotHome,
        return_on: None,
    };
    karim.edit(door, correct, 2_500).unwrap();
    karim.edit(door, Edit::ClearRefusal, 3_000).unwrap();
    assert_eq!(state(&mut karim), DoorState::NotHome { times: 1 });
    sync(&mut karim, &mut server).unwrap();
    sync(&mut sanne, &mut server).unwrap();
    assert_eq!(state(&mut sanne), DoorState::NotHome { times: 1 });
    let view = sanne.door_view(door).unwrap();
    assert_eq!(view.refusal, None);
    let corrected = view.visits.iter().find(|v| v.id == talk).unwrap();
    assert_eq!(
        (corrected.recorded, corrected.outcome),
        (Outcome::Talked, Outcome::NotHome)
    );
    assert_eq!(corrected.corrections[0].by, "Karim");
}

/// A moving wish the municipality's builder handed to the corporation: its coordinator
/// closes it, and the builder's door shows it closed once the server says so (the
/// corporation's document itself never comes back to her phone).
#[test]
fn a_signal_handed_on_shows_where_it_stands_at_the_builders_door() {
    use voordeur_shared::{
        api::{HandedOn, HandedOnSignal},
        follow_up::Subject,
        model::FollowUpStatus,
    };

    use super::work::Work;

    let (mut server, mut sanne, door, visit) = after_a_talk();
    let signal = Edit::Signal {
        visit,
        kind: SignalKind::MovingWish,
        text: "Wil kleiner wonen".into(),
    };
    sanne.edit(door, signal, 2_000).unwrap();
    sync(&mut sanne, &mut server).unwrap();

    server.grant = Grant {
        role: Role::Coordinator,
        partner: Some(Partner::Corporation),
        streets: [demo::street_id()].into(),
    };
    let mut mirjam = Field::open(MemoryKv::new(), Cipher::new(&KEY)).unwrap();
    let mut session = session_of("Mirjam");
    session.person.role = Role::Coordinator;
    session.person.partner = Some(Partner::Corporation);
    mirjam.sign_in(session).unwrap();
    mirjam.follow(StreetId(demo::street_id())).unwrap();
    sync(&mut mirjam, &mut server).unwrap();
    let list = mirjam.follow_ups(3_000).unwrap();
    let (document, id) = list
        .items
        .iter()
        .find_map(|item| match &item.subject {
            Subject::Signal {
                document, id, text, ..
            } if text == "Wil kleiner wonen" => Some((*document, id.clone())),
            _ => None,
        })
        .expect("the moving wish is on the corporation's list");
    let close = Work::FollowUpSignal {
        document,
        signal: id.clone(),
        status: FollowUpStatus::Closed,
        note: "Gesproken, staat ingeschreven".into(),
    };
    mirjam.work(close, 4_000).unwrap();
    sync(&mut mirjam, &mut server).unwrap();
    let closed = mirjam.follow_ups(5_000).unwrap();
    let line = closed
        .items
        .iter()
        .find(|i| matches!(&i.subject, Subject::Signal { id: s, .. } if *s == id))
        .unwrap();
    assert_eq!(
        (line.status, line.picked_by.as_deref()),
        (FollowUpStatus::Closed, Some("Mirjam"))
    );

    // Sanne asks where what she handed on stands: about the corporation's document.
    let query = sanne.handed_on_query().expect("she handed something on");
    assert_eq!(query.documents, [document]);
    let status =
        |field: &mut Field<MemoryKv>| field.door_view(door).unwrap().visits[0].signals[0].status;
    assert_eq!(status(&mut sanne), FollowUpStatus::New);
    let answer = HandedOn {
        signals: vec![HandedOnSignal {
            document,
            signal: id,
            status: FollowUpStatus::Closed,
            moved_ms: Some(4_000),
        }],
    };
    assert!(sanne.take_handed_on(answer.clone()).unwrap());
    assert!(!sanne.take_handed_on(answer).unwrap(), "nothing new");
    assert_eq!(status(&mut sanne), FollowUpStatus::Closed);
    let mut sanne = reload(sanne);
    assert_eq!(
        status(&mut sanne),
        FollowUpStatus::Closed,
        "kept for offline"
    );
}

impl Server {
    /// Carries out a resident's request for `address` as the server does
    /// (`voordeur_shared::erase::carry_out`): documents made anew or deleted, registered.
    fn carry_out(&mut self, request: Request, address: AddressId, at_ms: i64) {
        let (street_kind, _) = *self
            .docs
            .values()
            .find(|(kind, _)| matches!(kind, DocKind::Street { .. }))
            .unwrap();
        let street = self.load(&street_kind.id());
        let entry = docs::get_entry(&street, docs::ADDRESSES, &address.0.to_string())
            .unwrap()
            .unwrap();
        let kinds = erase::household_kinds(demo::street_id(), address.0, entry.household_epoch);
        let loaded: Vec<(DocKind, AutoCommit)> = kinds
            .iter()
            .filter(|k| self.docs.contains_key(&k.id()))
            .map(|k| (*k, self.load(&k.id())))
            .collect();
        let held: Vec<(DocKind, &AutoCommit)> = loaded.iter().map(|(k, d)| (*k, d)).collect();
        let carried = erase::carry_out(
            request,
            address.0,
            street_kind,
            &street,
            &held,
            &new_actor(),
            at_ms,
        )
        .unwrap();
        for (id, gone) in carried.gone {
            self.docs.remove(&id);
            self.gone.insert(id, gone);
        }
        for mut renewed in carried.created {
            self.docs
                .insert(renewed.kind.id(), (renewed.kind, renewed.doc.save()));
        }
        if let Some(mut changed) = carried.street_changed {
            self.docs
                .insert(street_kind.id(), (street_kind, changed.save()));
        }
    }
}

/// Every value the phone stored, opened with its key.
fn stored_plain(kv: &MemoryKv) -> Vec<u8> {
    let cipher = Cipher::new(&KEY);
    kv.keys_and_values()
        .into_iter()
        .flat_map(|(_, value)| cipher.open(&value).unwrap_or_default())
        .collect()
}

fn holds(bytes: &[u8], text: &str) -> bool {
    bytes.windows(text.len()).any(|w| w == text.as_bytes())
}

#[test]
fn an_erased_household_leaves_every_phone_and_the_other_work_goes_through() {
    const NAME: &str = "Johanna Vlinderhaag";
    const MARKER: &str = "ZWALUW-7731";
    let (mut server, mut sanne, door, visit) = after_a_talk();
    sanne
        .edit(
            door,
            Edit::Consent {
                consent: Consent::Given,
                resident: Resident {
                    name: NAME.into(),
                    contact: "06 vlinder".into(),
                },
            },
            2_000,
        )
        .unwrap();
    type_notes(&mut sanne, door, visit, MARKER);
    sync(&mut sanne, &mut server).unwrap();
    // Bram's phone holds it, then edits offline: that household and another door.
    let mut bram = phone_of(&mut server, "Bram");
    bram.load().unwrap();
    type_notes(&mut bram, door, visit, " ONVERZONDEN");
    let other = doors(&mut bram, 2)[1];
    bram.record_visit(other, Outcome::NotHome, None, 3_000)
        .unwrap();
    let sanne_kv = sanne.close();
    assert!(holds(&stored_plain(&sanne_kv), NAME), "the check can fail");
    let mut sanne = Field::open(sanne_kv, Cipher::new(&KEY)).unwrap();
    sanne.load().unwrap();

    server.carry_out(Request::Erasure, door, 5_000);

    sync(&mut sanne, &mut server).unwrap();
    assert_eq!(sanne.erased().len(), 1);
    assert_eq!(sanne.erased()[0].address, door);
    assert!(!sanne.erased()[0].lost_unsent);
    let view = sanne.door_view(door).unwrap();
    assert!(
        view.visits.is_empty() && view.resident.is_empty(),
        "{view:?}"
    );
    let plain = stored_plain(&sanne.close());
    for text in [NAME, MARKER] {
        assert!(!holds(&plain, text), "Sanne's phone still stores {text:?}");
    }

    sync(&mut bram, &mut server).unwrap();
    let told = bram.erased().to_vec();
    assert_eq!(told.len(), 1);
    assert!(
        told[0].lost_unsent,
        "Bram is told his unsent note was not kept"
    );
    assert_eq!(
        bram.door_view(other).unwrap().visits.len(),
        1,
        "the other door's visit is kept"
    );
    sync(&mut bram, &mut server).unwrap();
    let mut fresh = phone(&mut server);
    fresh.load().unwrap();
    assert_eq!(
        fresh.door_view(other).unwrap().visits.len(),
        1,
        "and arrived"
    );
    assert!(fresh.door_view(door).unwrap().visits.is_empty());
    // The notice stays until Bram closes it, also after a reload.
    let mut bram = reload(bram);
    assert_eq!(bram.erased(), told.as_slice());
    bram.close_erased().unwrap();
    let plain = stored_plain(&bram.close());
    for text in [NAME, MARKER, "ONVERZONDEN"] {
        assert!(!holds(&plain, text), "Bram's phone still stores {text:?}");
    }
}
