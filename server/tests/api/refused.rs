//! One refused document never blocks the others: the server applies, stores and
//! acknowledges what it can, refuses the rest document by document, and stores and audits
//! nothing of a refused document; the phone sets those changes aside and syncs on.

use std::collections::BTreeMap;

use uuid::Uuid;
use voordeur_server::people;
use voordeur_shared::{
    docs::{self, DocKind, DocumentId, new_id},
    layout::StreetPlan,
    model::{Outcome, Street, Visit},
    record::VisitRecord,
    sync::{ReplyStatus, SyncResponse},
};

use crate::helpers::{
    Backend, COACH, TestApp, TestDb, device, heads, record_visit, refusals, rng, spawn_app,
    street_kind,
};

fn status(response: &SyncResponse, id: DocumentId) -> Option<ReplyStatus> {
    response
        .docs
        .iter()
        .find(|r| r.id == id)
        .map(|r| r.status.clone())
}

/// The audit log's change lines of the coach, by document.
async fn coach_changes(app: &TestApp) -> BTreeMap<String, usize> {
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
    let coach = app
        .store
        .account_by_username(COACH)
        .await
        .unwrap()
        .unwrap()
        .0
        .id
        .to_string();
    let mut changes = BTreeMap::new();
    for line in log.as_array().unwrap() {
        if line["account"] == coach.as_str() && line["action"] == "change" {
            *changes
                .entry(line["document"].as_str().unwrap().to_string())
                .or_default() += 1;
        }
    }
    changes
}

/// A request with a street whose changes break the schema and a good new household: 200,
/// the household stored and acknowledged, the street refused and as it was; sent again, it
/// applies nothing twice. The phone sets the street's changes aside and is synced.
async fn one_refused_document_does_not_block_the_others(backend: Backend) {
    let db = TestDb::new(backend).await;
    let app = spawn_app(&db).await;
    let mut phone = device();
    app.sync(&mut phone).await;
    let street = street_kind().id();
    let before = app.server_heads().await;
    record_visit(&mut phone, &mut rng(1));
    let doc = &mut phone.get_mut(&street).unwrap().doc;
    let bad = Visit {
        address: new_id(),
        author: "Sanne".into(),
        at_ms: 0,
        outcome: Outcome::Talked,
        return_on: None,
    };
    docs::put_entry(doc, docs::VISITS, &new_id(), &bad).unwrap();
    doc.commit();
    let request = phone.request();
    let household = request
        .docs
        .iter()
        .find(|o| matches!(o.kind, Some(DocKind::Household { .. })))
        .expect("a new household is offered")
        .id;

    let response = app
        .exchange(&request)
        .await
        .expect("the request is answered");
    let refused = refusals(&response);
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(
        (refused[0].0, refused[0].1.as_str()),
        (street, "schema_violation")
    );
    assert_eq!(status(&response, household), Some(ReplyStatus::Merged));
    let stored = app.server_heads().await;
    assert_eq!(
        stored.get(&street),
        before.get(&street),
        "the street is as it was"
    );
    let mut on_phone = heads(&mut phone);
    assert_eq!(
        stored.get(&household),
        on_phone.get(&household),
        "the household is stored"
    );
    let audited = coach_changes(&app).await;
    assert!(!audited.contains_key(&street.to_string()), "{audited:?}");
    assert!(audited.contains_key(&household.to_string()), "{audited:?}");

    // The same request again (a retry): the household is not applied twice, the street is
    // refused again.
    let again = app.exchange(&request).await.expect("answered again");
    assert_eq!(refusals(&again).len(), 1);
    assert_eq!(app.server_heads().await, stored, "nothing applied twice");
    assert_eq!(coach_changes(&app).await, audited, "nor audited twice");

    // The phone: the street's changes set aside, the street back at the server's heads,
    // the household acknowledged; nothing waits.
    let received = phone.receive(response);
    assert_eq!(received.refused.len(), 1);
    assert_eq!(received.refused[0].id, street);
    assert!(!received.refused[0].changes.is_empty(), "kept, not lost");
    assert_eq!(phone.unsynced(), 0);
    on_phone = heads(&mut phone);
    assert_eq!(on_phone.get(&street), stored.get(&street));
    let received = app.sync(&mut phone).await;
    assert!(
        received.refused.is_empty(),
        "not offered again: {received:?}"
    );
}

/// A person unassigned from one of their two streets while offline: that street's
/// documents are refused, the other street's visit is stored.
async fn an_unassigned_street_is_refused_while_the_other_syncs(backend: Backend) {
    let db = TestDb::new(backend).await;
    let app = spawn_app(&db).await;
    let plan = StreetPlan {
        name: "Eikenlaan".into(),
        complexes: vec!["Blok A:2x4:1".parse().unwrap()],
    };
    let second = people::create_street(&app.store, &plan).await.unwrap();
    people::assign(&app.store, COACH, second).await.unwrap();
    let mut phone = device();
    phone.follow(second);
    app.sync(&mut phone).await;
    let second_street = DocKind::Street {
        street: second,
        epoch: 0,
    }
    .id();
    let held: Street = docs::read(&phone.get(&second_street).expect("held").doc).unwrap();
    let address: Uuid = held.addresses.keys().next().unwrap().parse().unwrap();
    VisitRecord {
        street: second,
        address,
        author: "Karim".into(),
        at_ms: 1_764_000_000_000,
        outcome: Outcome::Talked,
        return_on: None,
        notes: "Over de speeltuin".into(),
        contribution: String::new(),
        wishes: Vec::new(),
        signals: Vec::new(),
    }
    .record(&mut phone)
    .unwrap();
    record_visit(&mut phone, &mut rng(2));
    let before = app.server_heads().await;

    people::unassign(&app.store, COACH, second).await.unwrap();
    let request = phone.request();
    let response = app
        .exchange(&request)
        .await
        .expect("the request is answered");
    let refused: Vec<(DocumentId, String)> = refusals(&response)
        .into_iter()
        .map(|(id, code, _)| (id, code))
        .collect();
    let household = DocKind::Household {
        street: second,
        address,
        epoch: 0,
    }
    .id();
    assert_eq!(
        refused
            .iter()
            .map(|(id, _)| *id)
            .collect::<std::collections::BTreeSet<_>>(),
        [second_street, household].into(),
        "{refused:?}"
    );
    assert!(refused.iter().all(|(_, code)| code == "no_access"));
    let stored = app.server_heads().await;
    assert_ne!(
        stored.get(&street_kind().id()),
        before.get(&street_kind().id()),
        "the other street's visit is stored"
    );
    assert!(stored.len() > before.len(), "with its household");
    phone.receive(response);
    assert_eq!(phone.unsynced(), 0, "nothing waits");
    // Syncing on: the first street as usual, the second refused, nothing set aside again.
    let received = app.sync(&mut phone).await;
    assert!(received.refused.iter().all(|r| r.changes.is_empty()));
}

crate::on_both_backends!(
    one_refused_document_does_not_block_the_others,
    an_unassigned_street_is_refused_while_the_other_syncs,
);
