//! Who may see and change what, enforced on every sync: every role × organisation ×
//! document kind, for reading and for writing, and the audit log that records it.

use std::collections::BTreeSet;

use voordeur_server::people::{self, AccountForm};
use voordeur_shared::{
    access::Role,
    demo,
    docs::{DocKind, DocumentId, new_actor},
    ids::VisitId,
    model::{Outcome, Partner, SignalKind, Theme},
    record::{Door, VisitRecord},
    sync::client::{Replica, ReplicaDoc},
};

use crate::helpers::{Backend, TestApp, TestDb, device, spawn_app};

/// The documents of one door, and the visit that made them.
pub struct Door1 {
    pub door: Door,
    pub visit: VisitId,
    pub seeder: Replica,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Doc {
    Street,
    Household,
    Care,
    Corporation,
}

pub const DOCS: [Doc; 4] = [Doc::Street, Doc::Household, Doc::Care, Doc::Corporation];

impl Door1 {
    pub fn kind(&self, doc: Doc) -> DocKind {
        match doc {
            Doc::Street => self.door.street_kind(),
            Doc::Household => self.door.household(),
            Doc::Care => self.door.confidential(Partner::CareOrganisation),
            Doc::Corporation => self.door.confidential(Partner::Corporation),
        }
    }
}

/// The rules of the brief, written out once more by hand: (may read, may write).
fn expected(role: Role, partner: Partner, doc: Doc) -> (bool, bool) {
    let records = matches!(role, Role::CommunityBuilder | Role::Coach);
    let own = match doc {
        Doc::Street | Doc::Household => true,
        Doc::Care => partner == Partner::CareOrganisation,
        Doc::Corporation => partner == Partner::Corporation,
    };
    match role {
        Role::Administrator => (false, false),
        _ if own => (true, records),
        _ => (false, records),
    }
}

pub fn username(role: Role, partner: Partner) -> String {
    format!("{}.{}", role.label(), partner.label()).replace('_', "-")
}

/// One account per role and organisation, all in the demo street (administrators are
/// never assigned to a street).
pub async fn make_people(app: &TestApp) {
    for (name, partner) in demo::ORGANISATIONS {
        for role in Role::ALL {
            let username = username(role, partner);
            let form = AccountForm {
                username: username.clone(),
                display_name: username.clone(),
                role,
                organisation: Some(name.to_string()),
                password: demo::PASSWORD.into(),
            };
            people::create_account(&app.store, form).await.unwrap();
            if role != Role::Administrator {
                people::assign(&app.store, &username, demo::street_id())
                    .await
                    .unwrap();
            }
        }
    }
}

/// The coach records a visit with notes, a wish, a care need and a moving wish: a street,
/// household, care and corporation document on the server.
pub async fn seed(app: &TestApp) -> Door1 {
    let mut seeder = device();
    app.sync(&mut seeder).await;
    let street = crate::helpers::street_of(&seeder);
    let address = street.addresses.keys().next().unwrap().parse().unwrap();
    let visit = VisitRecord {
        street: demo::street_id(),
        address,
        author: "Karim".into(),
        at_ms: 1_764_000_000_000,
        outcome: Outcome::Talked,
        return_on: None,
        notes: "Gesprek over de tuin.".into(),
        contribution: String::new(),
        wishes: vec![(Theme::Greenery, "Meer groen".into())],
        signals: vec![
            (SignalKind::CareNeed, "Hulp bij de post".into()),
            (SignalKind::MovingWish, "Wil kleiner wonen".into()),
        ],
    }
    .record(&mut seeder)
    .unwrap();
    app.sync(&mut seeder).await;
    app.sync(&mut seeder).await;
    let door = Door::find(&seeder, demo::street_id(), address).unwrap();
    Door1 {
        door,
        visit,
        seeder,
    }
}

/// The stored heads of one document, read straight from the database.
pub async fn stored_heads(
    app: &TestApp,
    id: DocumentId,
) -> Vec<voordeur_shared::automerge::ChangeHash> {
    let mut tx = app.store.begin().await.unwrap();
    let mut docs = app
        .store
        .load(&mut tx, &BTreeSet::from([id]))
        .await
        .unwrap();
    docs.remove(&id).expect("stored").get_heads()
}

/// A change to `doc` that keeps its schema.
fn change(door: &Door1, replica: &mut Replica, doc: Doc) {
    let d = door.door;
    match doc {
        Doc::Street => d.add_wish(replica, door.visit, Theme::Safety, "Licht in de gang"),
        Doc::Household => d.set_notes(replica, door.visit, "Gesprek over de tuin en de gang."),
        Doc::Care => d.add_signal(replica, door.visit, SignalKind::CareNeed, "Ook de buurman"),
        Doc::Corporation => d.add_signal(
            replica,
            door.visit,
            SignalKind::MovingWish,
            "Liefst begane grond",
        ),
    }
    .unwrap();
}

async fn every_role_and_organisation_reads_exactly_its_documents(backend: Backend) {
    let db = TestDb::new(backend).await;
    let app = spawn_app(&db).await;
    make_people(&app).await;
    let door = seed(&app).await;
    for (_, partner) in demo::ORGANISATIONS {
        for role in Role::ALL {
            let who = username(role, partner);
            let token = app.sign_in(&who).await;
            let mut phone = device();
            let result = app.exchange_as(&token, &phone.request()).await;
            if role == Role::Administrator {
                // Administrators follow no street: it is refused, as a document.
                let response = result.expect("answered");
                let refused: Vec<(String, Option<_>)> = crate::helpers::refusals(&response)
                    .into_iter()
                    .map(|(id, code, _)| (code, Some(id)))
                    .collect();
                assert_eq!(
                    refused,
                    [(
                        "no_access".to_string(),
                        Some(crate::helpers::street_kind().id())
                    )]
                );
                assert_eq!(response.docs.len(), 1, "and nothing else is answered");
                continue;
            }
            phone.receive(result.unwrap());
            for doc in DOCS {
                let (read, _) = expected(role, partner, doc);
                let id = door.kind(doc).id();
                assert_eq!(
                    phone.get(&id).is_some(),
                    read,
                    "{who} reads {doc:?}: {read}"
                );
                if read {
                    let mut held = phone.get(&id).unwrap().doc.clone();
                    assert_eq!(
                        held.get_heads(),
                        stored_heads(&app, id).await,
                        "{who} {doc:?}"
                    );
                }
            }
        }
    }
}

async fn every_role_and_organisation_writes_exactly_its_documents(backend: Backend) {
    let db = TestDb::new(backend).await;
    let app = spawn_app(&db).await;
    make_people(&app).await;
    let door = seed(&app).await;
    for (_, partner) in demo::ORGANISATIONS {
        for role in Role::ALL {
            let who = username(role, partner);
            let token = app.sign_in(&who).await;
            for doc in DOCS {
                let (_, write) = expected(role, partner, doc);
                let kind = door.kind(doc);
                let id = kind.id();
                // A phone that holds only this document, as the server has it, and changes it.
                let mut held = door.seeder.get(&id).unwrap().doc.clone();
                let heads = held.get_heads();
                let mut phone = Replica::new(new_actor());
                phone.insert(ReplicaDoc::restore(
                    kind,
                    held.with_actor(new_actor()),
                    heads,
                ));
                if doc != Doc::Street {
                    // The door's street, unchanged, so the edit helpers find it.
                    let street = door.door.street_kind();
                    let mut s = door.seeder.get(&street.id()).unwrap().doc.clone();
                    let h = s.get_heads();
                    phone.insert(ReplicaDoc::restore(street, s, h));
                }
                change(&door, &mut phone, doc);
                let before = stored_heads(&app, id).await;
                let mut request = phone.request();
                request.docs.retain(|offer| offer.id == id);
                let result = app.exchange_as(&token, &request).await;
                let after = stored_heads(&app, id).await;
                if write {
                    let response = result.unwrap_or_else(|e| panic!("{who} writes {doc:?}: {e:?}"));
                    assert_ne!(before, after, "{who}'s change to {doc:?} is stored");
                    let (read, _) = expected(role, partner, doc);
                    if !read {
                        let reply = response.docs.iter().find(|r| r.id == id).unwrap();
                        assert!(
                            reply.changes.is_empty() && reply.heads.is_none(),
                            "{who} learns nothing of {doc:?}"
                        );
                    }
                } else {
                    let response = result.unwrap_or_else(|e| panic!("{who} {doc:?}: {e:?}"));
                    let (read, _) = expected(role, partner, doc);
                    let code = if read { "forbidden" } else { "no_access" };
                    let refused: Vec<(_, String)> = crate::helpers::refusals(&response)
                        .into_iter()
                        .map(|(id, code, _)| (id, code))
                        .collect();
                    assert_eq!(refused, [(id, code.to_string())], "{who} {doc:?}");
                    assert_eq!(before, after, "a refused change to {doc:?} stores nothing");
                }
            }
        }
    }
}

async fn reads_and_changes_are_in_the_audit_log(backend: Backend) {
    let db = TestDb::new(backend).await;
    let app = spawn_app(&db).await;
    let door = seed(&app).await;
    let audit = |token: String| {
        let request = app
            .http
            .get(app.url("/api/admin/audit?limit=1000"))
            .bearer_auth(token);
        async move { request.send().await.unwrap() }
    };
    let refused = audit(app.token.clone()).await;
    assert_eq!(refused.status(), 403, "a coach does not read the audit log");
    let admin = app.sign_in("beheer").await;
    let log: serde_json::Value = audit(admin.clone()).await.json().await.unwrap();
    let lines = log.as_array().unwrap();
    let karim = app
        .store
        .account_by_username("karim")
        .await
        .unwrap()
        .unwrap()
        .0
        .id
        .to_string();
    let has = |action: &str, kind: DocKind| {
        lines.iter().any(|l| {
            l["account"] == karim.as_str()
                && l["action"] == action
                && l["document"] == kind.id().to_string().as_str()
        })
    };
    assert!(
        has("read", door.kind(Doc::Street)),
        "the coach's first read: {log}"
    );
    for doc in DOCS {
        assert!(
            has("change", door.kind(doc)),
            "the coach changed {doc:?}: {log}"
        );
    }
    // An idle sync sends nothing and reads nothing.
    let count = lines.len();
    let mut seeder = door.seeder;
    app.sync(&mut seeder).await;
    let again: serde_json::Value = audit(admin).await.json().await.unwrap();
    assert_eq!(again.as_array().unwrap().len(), count, "{again}");
}

crate::on_both_backends!(
    every_role_and_organisation_reads_exactly_its_documents,
    every_role_and_organisation_writes_exactly_its_documents,
    reads_and_changes_are_in_the_audit_log,
);
