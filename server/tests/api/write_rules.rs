//! What a change may do, checked on its operations against the rights of its author:
//! crafted changes that delete, overwrite, replace a map or write outside the fields a
//! role may change, for every role × organisation × document kind; the follow-ups, field
//! by field (a coordinator moves only their own partner's follow-ups and signal
//! statuses); the attack the issue measured (a builder who never saw a care document
//! replaces its signals); and changes replayed by another account, judged and audited as
//! their author's.

use voordeur_shared::{
    access::Role,
    automerge::{AutoCommit, ObjType, ROOT, ReadDoc, transaction::Transactable},
    autosurgeon::reconcile_prop,
    demo,
    docs::{self, DocKind, new_actor},
    model::{FollowUp, FollowUpStatus, Partner, SignalKind, Theme, Visit, WishStatus},
    sync::{DocOffer, Hash, SyncRequest},
};

use crate::{
    access::{DOCS, Doc, Door1, make_people, seed, stored_heads, username},
    helpers::{Backend, HttpError, TestDb, device, spawn_app},
};

/// The map of entries an attack aims at in a document of `doc`, one of its entries (made
/// by the seeding coach) and a text field of that entry.
fn target(door: &Door1, held: &AutoCommit, doc: Doc) -> (&'static str, String, &'static str) {
    let visit = door.visit.to_string();
    match doc {
        Doc::Street => ("visits", visit, "author"),
        Doc::Household => ("conversations", visit, "contribution"),
        Doc::Care | Doc::Corporation => {
            let signals = held.get(ROOT, "signals").unwrap().unwrap().1;
            let key = held.keys(&signals).next().expect("the seed's signal");
            ("signals", key, "text")
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Attack {
    DeleteEntry,
    OverwriteField,
    /// A new field in an entry someone else wrote.
    AddField,
    ReplaceMap,
}

const ATTACKS: [Attack; 4] = [
    Attack::DeleteEntry,
    Attack::OverwriteField,
    Attack::AddField,
    Attack::ReplaceMap,
];

/// The key of the seed's wish.
fn wish_key(doc: &AutoCommit) -> String {
    let wishes = doc.get(ROOT, "wishes").unwrap().unwrap().1;
    doc.keys(&wishes).next().expect("the seed's wish")
}

fn wish_of(doc: &AutoCommit) -> voordeur_shared::automerge::ObjId {
    let wishes = doc.get(ROOT, "wishes").unwrap().unwrap().1;
    doc.get(&wishes, wish_key(doc).as_str()).unwrap().unwrap().1
}

/// An offer of one change to `kind`, made on a copy of the server's document by a device
/// of its own.
fn offer(
    door: &Door1,
    kind: DocKind,
    edit: impl FnOnce(&mut AutoCommit),
) -> (SyncRequest, Vec<u8>) {
    let mut held = door.seeder.get(&kind.id()).unwrap().doc.clone();
    let since = held.get_heads();
    let mut phone = held.fork().with_actor(new_actor());
    edit(&mut phone);
    phone.commit();
    let change = phone.get_last_local_change().unwrap().raw_bytes().to_vec();
    let request = SyncRequest {
        id: 1,
        streets: Vec::new(),
        docs: vec![DocOffer {
            id: kind.id(),
            kind: Some(kind),
            since: Some(since.into_iter().map(Hash::from).collect()),
            heads: phone.get_heads().into_iter().map(Hash::from).collect(),
            changes: change.clone(),
        }],
    };
    (request, change)
}

fn attack(door: &Door1, doc: Doc, how: Attack) -> SyncRequest {
    let kind = door.kind(doc);
    let held = door.seeder.get(&kind.id()).unwrap().doc.clone();
    let (map, entry, field) = target(door, &held, doc);
    offer(door, kind, |d| match how {
        Attack::DeleteEntry => {
            let map = d.get(ROOT, map).unwrap().unwrap().1;
            d.delete(&map, entry.as_str()).unwrap();
        }
        Attack::OverwriteField => {
            let map = d.get(ROOT, map).unwrap().unwrap().1;
            let entry = d.get(&map, entry.as_str()).unwrap().unwrap().1;
            d.put(&entry, field, "overschreven").unwrap();
        }
        Attack::AddField => {
            let map = d.get(ROOT, map).unwrap().unwrap().1;
            let entry = d.get(&map, entry.as_str()).unwrap().unwrap().1;
            d.put(&entry, "extra", "erbij").unwrap();
        }
        Attack::ReplaceMap => {
            d.put_object(ROOT, map, ObjType::Map).unwrap();
        }
    })
    .0
}

/// A follow-up, or an edit near one, as a person of some partner makes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Edit {
    /// Takes the seed's wish on for the editor's own partner (`follow_ups/<own>/<wish>`).
    TakeOnWish,
    /// Writes another partner's follow-up of the seed's wish.
    OthersFollowUp,
    /// The wish's own status and owner, as before follow-ups.
    WishStatus,
    WishText,
    /// A new visit at the seed's door.
    NewVisit,
    /// The seed visit's notes, in the household document.
    Notes,
    /// Moves the status of the seed's signal in this partner's confidential document.
    SignalStatus(Partner),
    /// Changes what that signal says.
    SignalText(Partner),
    DeleteSignal(Partner),
}

/// Every case, each tried by every role of every organisation; the signals' deletions
/// last, so that every other case finds the seed's signals in place.
const EDITS: [Edit; 12] = [
    Edit::TakeOnWish,
    Edit::OthersFollowUp,
    Edit::WishStatus,
    Edit::WishText,
    Edit::NewVisit,
    Edit::Notes,
    Edit::SignalStatus(Partner::Corporation),
    Edit::SignalStatus(Partner::CareOrganisation),
    Edit::SignalText(Partner::Corporation),
    Edit::SignalText(Partner::CareOrganisation),
    Edit::DeleteSignal(Partner::Corporation),
    Edit::DeleteSignal(Partner::CareOrganisation),
];

/// The rules, written out by hand: `Ok` if `role` of `partner` may make `edit`,
/// else the refusal's code (`forbidden` where they may touch the document at all).
fn may(role: Role, partner: Partner, edit: Edit) -> Result<(), &'static str> {
    let records = matches!(role, Role::CommunityBuilder | Role::Coach);
    let recorders_only = if records { Ok(()) } else { Err("forbidden") };
    match edit {
        // Administrators work in no street.
        _ if role == Role::Administrator => Err("no_access"),
        Edit::TakeOnWish => Ok(()),
        Edit::OthersFollowUp | Edit::WishStatus | Edit::WishText | Edit::NewVisit | Edit::Notes => {
            recorders_only
        }
        // A coordinator moves their own partner's signals' statuses, never what they say.
        Edit::SignalStatus(of) if of == partner => Ok(()),
        Edit::SignalText(of) | Edit::DeleteSignal(of) if of == partner => recorders_only,
        // Another partner's signals: builders and coaches add their own, and touch no one
        // else's; coordinators see nothing of them.
        _ if records => Err("forbidden"),
        _ => Err("no_access"),
    }
}

/// `edit` as an offer of one change, as someone of `partner` makes it.
fn follow_up(door: &Door1, partner: Partner, edit: Edit) -> SyncRequest {
    let taken_on = |d: &mut AutoCommit, of: Partner| {
        let wish = wish_key(d);
        let follow_up = FollowUp {
            status: FollowUpStatus::PickedUp,
            note: "Gebeld".into(),
            by: "Iemand".into(),
            at_ms: 1_764_100_000_000,
            moved_ms: 1_764_100_000_000,
        };
        docs::put_follow_up(d, of, &wish, &follow_up).unwrap();
    };
    let signal = |d: &AutoCommit| -> voordeur_shared::automerge::ObjId {
        let signals = d.get(ROOT, "signals").unwrap().unwrap().1;
        let key = d.keys(&signals).next().expect("the seed's signal");
        d.get(&signals, key.as_str()).unwrap().unwrap().1
    };
    let (kind, visit) = (door.kind(Doc::Street), door.visit.to_string());
    let confidential = |of| door.door.confidential(of);
    match edit {
        Edit::TakeOnWish => offer(door, kind, |d| taken_on(d, partner)),
        Edit::OthersFollowUp => offer(door, kind, |d| {
            let other = Partner::ALL.into_iter().find(|p| *p != partner).unwrap();
            taken_on(d, other);
        }),
        Edit::WishStatus => offer(door, kind, |d| {
            let wish = wish_of(d);
            reconcile_prop(d, &wish, "status", WishStatus::InProgress).unwrap();
            reconcile_prop(d, &wish, "owner", Some(partner)).unwrap();
        }),
        Edit::WishText => offer(door, kind, |d| {
            let wish = wish_of(d);
            d.put(&wish, "text", "iets anders").unwrap();
        }),
        Edit::NewVisit => offer(door, kind, |d| {
            let mut again: Visit = docs::get_entry(d, docs::VISITS, &visit).unwrap().unwrap();
            again.at_ms += 60_000;
            let id = uuid::Uuid::new_v4().to_string();
            docs::put_entry(d, docs::VISITS, &id, &again).unwrap();
        }),
        Edit::Notes => offer(door, door.kind(Doc::Household), |d| {
            docs::update_notes(d, &visit, "Gesprek over de tuin, en de gang.").unwrap();
        }),
        Edit::SignalStatus(of) => offer(door, confidential(of), |d| {
            let signal = signal(d);
            reconcile_prop(d, &signal, "status", FollowUpStatus::PickedUp).unwrap();
            reconcile_prop(d, &signal, "moved_ms", Some(1_764_100_000_000_i64)).unwrap();
        }),
        Edit::SignalText(of) => offer(door, confidential(of), |d| {
            let signal = signal(d);
            d.put(&signal, "text", "iets anders").unwrap();
        }),
        Edit::DeleteSignal(of) => offer(door, confidential(of), |d| {
            let signals = d.get(ROOT, "signals").unwrap().unwrap().1;
            let key = d.keys(&signals).next().unwrap();
            d.delete(&signals, key.as_str()).unwrap();
        }),
    }
    .0
}

/// Whether the server refused a document of the request as not the person's to change (or
/// to see): the request itself is answered.
fn forbidden(result: &Result<voordeur_shared::sync::SyncResponse, HttpError>) -> bool {
    matches!(result, Ok(response) if crate::helpers::refusals(response)
        .iter()
        .any(|(_, code, _)| code == "forbidden" || code == "no_access"))
}

/// Whether the server took every document of the request.
fn accepted(result: &Result<voordeur_shared::sync::SyncResponse, HttpError>) -> bool {
    matches!(result, Ok(response) if crate::helpers::refusals(response).is_empty())
}

async fn every_role_changes_only_what_its_rights_allow(backend: Backend) {
    let db = TestDb::new(backend).await;
    let app = spawn_app(&db).await;
    make_people(&app).await;
    let door = seed(&app).await;
    for (_, partner) in demo::ORGANISATIONS {
        for role in Role::ALL {
            let who = username(role, partner);
            let token = app.sign_in(&who).await;
            for doc in DOCS {
                let kind = door.kind(doc);
                let access = voordeur_shared::access::Grant {
                    role,
                    partner: Some(partner),
                    streets: [demo::street_id()].into(),
                }
                .access(&kind);
                for how in ATTACKS {
                    let before = stored_heads(&app, kind.id()).await;
                    let result = app.exchange_as(&token, &attack(&door, doc, how)).await;
                    let after = stored_heads(&app, kind.id()).await;
                    if access.writes_everything() {
                        // Only the schema may refuse these (a visit its wish still needs).
                        assert!(!forbidden(&result), "{who} {doc:?} {how:?}: {result:?}");
                        if accepted(&result) {
                            // Put the server back as it was for the next person.
                            continue;
                        }
                    } else {
                        assert!(forbidden(&result), "{who} {doc:?} {how:?}: {result:?}");
                    }
                    assert_eq!(before, after, "{who} {doc:?} {how:?} stored nothing");
                }
            }
        }
    }
}

/// The follow-ups' field-level rules, as a matrix of every edit × role × organisation:
/// a coordinator takes wishes on for their own partner and moves their own partner's
/// signals' statuses, and nothing else; builders and coaches keep every right they had.
async fn every_role_follows_up_only_what_its_rights_allow(backend: Backend) {
    let db = TestDb::new(backend).await;
    let app = spawn_app(&db).await;
    make_people(&app).await;
    let door = seed(&app).await;
    let mut tokens = Vec::new();
    for (_, partner) in demo::ORGANISATIONS {
        for role in Role::ALL {
            let who = username(role, partner);
            tokens.push((role, partner, app.sign_in(&who).await, who));
        }
    }
    for edit in EDITS {
        for (role, partner, token, who) in &tokens {
            let request = follow_up(&door, *partner, edit);
            let id = request.docs[0].id;
            let before = stored_heads(&app, id).await;
            let result = app.exchange_as(token, &request).await;
            let after = stored_heads(&app, id).await;
            match may(*role, *partner, edit) {
                Ok(()) => {
                    assert!(accepted(&result), "{who} {edit:?}: {result:?}");
                    assert_ne!(before, after, "{who} {edit:?} is stored");
                }
                Err(code) => {
                    let refused: Vec<(_, String)> = result
                        .as_ref()
                        .map(crate::helpers::refusals)
                        .unwrap_or_else(|e| panic!("{who} {edit:?}: {e:?}"))
                        .into_iter()
                        .map(|(id, code, _)| (id, code))
                        .collect();
                    assert_eq!(refused, [(id, code.to_string())], "{who} {edit:?}");
                    assert_eq!(before, after, "{who} {edit:?} stored nothing");
                }
            }
        }
    }
}

/// The attack as measured: a community builder of the municipality, who has never seen the
/// care organisation's document of a door, replaces its signals with an empty map from the
/// document's genesis (which every device can make).
async fn a_write_only_builder_cannot_wipe_anothers_signals(backend: Backend) {
    let db = TestDb::new(backend).await;
    let app = spawn_app(&db).await;
    let door = seed(&app).await;
    let care = door.kind(Doc::Care);
    let before = stored_heads(&app, care.id()).await;
    let mut genesis = care.genesis(new_actor());
    genesis.put_object(ROOT, "signals", ObjType::Map).unwrap();
    genesis.commit();
    let request = SyncRequest {
        id: 1,
        streets: Vec::new(),
        docs: vec![DocOffer {
            id: care.id(),
            kind: Some(care),
            since: Some(Vec::new()),
            heads: genesis.get_heads().into_iter().map(Hash::from).collect(),
            changes: genesis
                .get_last_local_change()
                .unwrap()
                .raw_bytes()
                .to_vec(),
        }],
    };
    let sanne = app.sign_in("sanne").await;
    let result = app.exchange_as(&sanne, &request).await;
    assert!(forbidden(&result), "{result:?}");
    assert_eq!(before, stored_heads(&app, care.id()).await);
    // The care coach still sees the signal; Sanne may still add one of her own.
    let mut coach = device();
    app.sync(&mut coach).await;
    let signals: voordeur_shared::model::Confidential =
        docs::read(&coach.get(&care.id()).unwrap().doc).unwrap();
    assert_eq!(signals.signals.len(), 1);
    let mut phone = device();
    app.sync_as(&sanne, &mut phone).await;
    door.door
        .add_signal(
            &mut phone,
            door.visit,
            SignalKind::CareNeed,
            "Ook de buurman",
        )
        .unwrap();
    app.sync_as(&sanne, &mut phone).await;
    app.sync(&mut coach).await;
    let signals: voordeur_shared::model::Confidential =
        docs::read(&coach.get(&care.id()).unwrap().doc).unwrap();
    assert_eq!(signals.signals.len(), 2);
}

/// A change is judged by its author's rights, whoever sends it, and the audit log names
/// its author beside its sender.
async fn a_replayed_change_counts_as_its_authors(backend: Backend) {
    let db = TestDb::new(backend).await;
    let app = spawn_app(&db).await;
    let door = seed(&app).await;
    let (sanne, joost) = (app.sign_in("sanne").await, app.sign_in("joost").await);
    let street = door.kind(Doc::Street);

    // Sanne's phone brings a change (its actor is now hers), then adds a wish it does not
    // send yet.
    let mut phone = device();
    app.sync_as(&sanne, &mut phone).await;
    door.door
        .add_wish(&mut phone, door.visit, Theme::Play, "Een speeltuin")
        .unwrap();
    app.sync_as(&sanne, &mut phone).await;
    let since = phone.get_mut(&street.id()).unwrap().doc.get_heads();
    door.door
        .add_wish(&mut phone, door.visit, Theme::Play, "Een bankje")
        .unwrap();
    let held = &mut phone.get_mut(&street.id()).unwrap().doc;
    let sannes_actor = held.get_actor().to_string();
    // The change, captured before it reached the server, is sent by Joost, a coordinator,
    // who may not add wishes himself: it is Sanne's, so it stands.
    let replayed = captured(&door, held, &since);
    let stands = app.exchange_as(&joost, &replayed).await;
    assert!(
        accepted(&stands),
        "Sanne's change stands whoever sends it: {stands:?}"
    );

    // Joost's own phone adds a wish; Sanne, who may add wishes, sends it for him: refused,
    // for its author may not.
    let mut his = device();
    app.sync_as(&joost, &mut his).await;
    let his_since = his.get(&street.id()).unwrap().doc.clone().get_heads();
    {
        // He takes the wish on for the municipality, which he may.
        let doc = &mut his.get_mut(&street.id()).unwrap().doc;
        let wish = wish_key(doc);
        let follow_up = FollowUp {
            status: FollowUpStatus::PickedUp,
            note: String::new(),
            by: "Joost".into(),
            at_ms: 1_764_100_000_000,
            moved_ms: 1_764_100_000_000,
        };
        docs::put_follow_up(doc, Partner::Municipality, &wish, &follow_up).unwrap();
        doc.commit();
    }
    app.sync_as(&joost, &mut his).await;
    door.door
        .add_wish(&mut his, door.visit, Theme::Safety, "Licht")
        .unwrap();
    let doc = &mut his.get_mut(&street.id()).unwrap().doc;
    let his_heads = doc.get_heads();
    let request = SyncRequest {
        id: 8,
        streets: Vec::new(),
        docs: vec![DocOffer {
            id: street.id(),
            kind: Some(street),
            since: Some(his_since.iter().copied().map(Hash::from).collect()),
            heads: his_heads.into_iter().map(Hash::from).collect(),
            changes: doc.get_last_local_change().unwrap().raw_bytes().to_vec(),
        }],
    };
    let result = app.exchange_as(&sanne, &request).await;
    assert!(forbidden(&result), "{result:?}");

    // The audit log: Joost sent a change of Sanne's actor, which is Sanne's.
    let admin = app.sign_in("beheer").await;
    let log: serde_json::Value = app
        .http
        .get(app.url("/api/admin/audit?limit=1000"))
        .bearer_auth(admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let line = log
        .as_array()
        .unwrap()
        .iter()
        .find(|l| {
            l["action"] == "change"
                && l["username"] == "joost"
                && l["author"]["actor"] == sannes_actor.as_str()
        })
        .unwrap_or_else(|| panic!("Joost's sending of Sanne's change is audited: {log}"));
    assert_eq!(line["author"]["username"], "sanne", "{line}");
}

/// An offer of the changes of `doc` after `since` that the server does not have yet, as
/// an attacker who captured them would send them.
fn captured(
    door: &Door1,
    doc: &mut AutoCommit,
    since: &[voordeur_shared::automerge::ChangeHash],
) -> SyncRequest {
    let street = door.kind(Doc::Street);
    let changes: Vec<u8> = doc
        .get_changes(since)
        .iter()
        .flat_map(|c| c.raw_bytes().to_vec())
        .collect();
    SyncRequest {
        id: 1,
        streets: Vec::new(),
        docs: vec![DocOffer {
            id: street.id(),
            kind: Some(street),
            since: Some(since.iter().copied().map(Hash::from).collect()),
            heads: doc.get_heads().into_iter().map(Hash::from).collect(),
            changes,
        }],
    }
}

crate::on_both_backends!(
    every_role_changes_only_what_its_rights_allow,
    every_role_follows_up_only_what_its_rights_allow,
    a_write_only_builder_cannot_wipe_anothers_signals,
    a_replayed_change_counts_as_its_authors,
);
