//! `POST /api/handed-on`: a builder who handed a signal to another partner sees where it
//! stands, never what it says, and nothing of signals others handed on.

use voordeur_server::people::{self, AccountForm};
use voordeur_shared::{
    access::Role,
    api::{HandedOn, HandedOnQuery, HandedOnSignal},
    demo,
    docs::{self, DocKind, DocumentId, Signature},
    follow_up,
    model::{Confidential, FollowUpStatus, Outcome, Partner, SignalKind},
    record::{Door, VisitRecord},
    sync::client::Replica,
};

use crate::helpers::{Backend, TestApp, TestDb, device, spawn_app, street_of};

const SANNES: &str = "Wil kleiner wonen, liefst met een lift";
const OTHERS: &str = "Zoekt een woning dichter bij zijn dochter";
const NOTE: &str = "Gebeld, woning aangeboden";

/// A second community builder of the municipality, beside Sanne.
async fn other_builder(app: &TestApp) -> String {
    let username = "bram";
    let form = AccountForm {
        username: username.into(),
        display_name: "Bram (buurtcoach)".into(),
        role: Role::CommunityBuilder,
        organisation: Some("Gemeente".into()),
        password: demo::PASSWORD.into(),
    };
    people::create_account(&app.store, form).await.unwrap();
    people::assign(&app.store, username, demo::street_id())
        .await
        .unwrap();
    app.sign_in(username).await
}

/// `POST /api/handed-on` with `body` as JSON: the status and the body as text.
async fn ask(app: &TestApp, token: &str, body: &serde_json::Value) -> (u16, String) {
    let response = app
        .http
        .post(app.url("/api/handed-on"))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn handed_on(app: &TestApp, token: &str, documents: &[DocumentId]) -> (HandedOn, String) {
    let query = serde_json::to_value(HandedOnQuery {
        documents: documents.to_vec(),
    })
    .unwrap();
    let (status, body) = ask(app, token, &query).await;
    assert_eq!(status, 200, "{body}");
    (serde_json::from_str(&body).unwrap(), body)
}

/// The id of the signal in `doc` that says `text`.
fn signal_saying(replica: &Replica, doc: DocKind, text: &str) -> String {
    let held: Confidential = docs::read(&replica.get(&doc.id()).unwrap().doc).unwrap();
    held.signals
        .into_iter()
        .find(|(_, s)| s.text == text)
        .unwrap_or_else(|| panic!("a signal saying {text:?}"))
        .0
}

async fn a_builder_sees_where_her_handed_on_signal_stands_and_nothing_else(backend: Backend) {
    let db = TestDb::new(backend).await;
    let app = spawn_app(&db).await;
    let bram = other_builder(&app).await;
    let (sanne, mirjam, joost) = (
        app.sign_in("sanne").await,
        app.sign_in("mirjam").await,
        app.sign_in("joost").await,
    );

    // Sanne hears of a moving wish at a door and hands it to the corporation.
    let mut hers = device();
    app.sync_as(&sanne, &mut hers).await;
    let address = street_of(&hers)
        .addresses
        .keys()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let visit = VisitRecord {
        street: demo::street_id(),
        address,
        author: "Sanne".into(),
        at_ms: 1_764_000_000_000,
        outcome: Outcome::Talked,
        return_on: None,
        notes: "Gesprek over de trap.".into(),
        contribution: String::new(),
        wishes: Vec::new(),
        signals: vec![(SignalKind::MovingWish, SANNES.into())],
    }
    .record(&mut hers)
    .unwrap();
    app.sync_as(&sanne, &mut hers).await;
    let door = Door::find(&hers, demo::street_id(), address).unwrap();
    let corporation = door.confidential(Partner::Corporation);
    assert!(
        hers.get(&corporation.id()).is_some(),
        "her phone keeps what it wrote"
    );

    // Bram, another builder of her organisation, hands on one of his own at that door.
    let mut his = device();
    app.sync_as(&bram, &mut his).await;
    door.add_signal(&mut his, visit, SignalKind::MovingWish, OTHERS)
        .unwrap();
    app.sync_as(&bram, &mut his).await;

    // Mirjam, the corporation's coordinator, picks Sanne's up and closes it.
    let mut mirjams = device();
    app.sync_as(&mirjam, &mut mirjams).await;
    let signal = signal_saying(&mirjams, corporation, SANNES);
    let bram_signal = signal_saying(&mirjams, corporation, OTHERS);
    let closed_ms = 1_764_100_000_000;
    for (status, at_ms) in [
        (FollowUpStatus::PickedUp, 1_764_050_000_000),
        (FollowUpStatus::Closed, closed_ms),
    ] {
        let signature = Signature {
            by: "Mirjam",
            at_ms,
        };
        follow_up::follow_up_signal(&mut mirjams, signature, corporation, &signal, status, NOTE)
            .unwrap();
        app.sync_as(&mirjam, &mut mirjams).await;
    }

    // Sanne asks about every document she holds: only the one she may not read answers,
    // and only with her own signal's status.
    let held: Vec<DocumentId> = hers.docs().map(|(id, _)| *id).collect();
    assert!(held.len() >= 3, "street, household, corporation: {held:?}");
    let unknown = DocKind::Confidential {
        street: demo::street_id(),
        address,
        epoch: 9,
        partner: Partner::CareOrganisation,
    }
    .id();
    let asked: Vec<DocumentId> = held.iter().copied().chain([unknown]).collect();
    let (answer, body) = handed_on(&app, &sanne, &asked).await;
    let expected = [HandedOnSignal {
        document: corporation.id(),
        signal: signal.clone(),
        status: FollowUpStatus::Closed,
        moved_ms: Some(closed_ms),
    }];
    assert_eq!(answer.signals, expected, "{body}");
    for secret in [SANNES, OTHERS, NOTE, "Mirjam", bram_signal.as_str()] {
        assert!(!body.contains(secret), "{secret:?} is not told: {body}");
    }

    // Bram sees his own, still new, and not Sanne's.
    let (answer, body) = handed_on(&app, &bram, &[corporation.id()]).await;
    assert_eq!(
        answer.signals,
        [HandedOnSignal {
            document: corporation.id(),
            signal: bram_signal,
            status: FollowUpStatus::New,
            moved_ms: None,
        }],
        "{body}"
    );
    assert!(!body.contains(&signal), "{body}");

    // Joost, the municipality's coordinator, may not write there; Mirjam reads it by sync.
    for (who, token) in [("joost", &joost), ("mirjam", &mirjam)] {
        let (answer, body) = handed_on(&app, token, &[corporation.id()]).await;
        assert!(answer.signals.is_empty(), "{who}: {body}");
    }

    // A server that has parsed nothing yet (restarted: its cache empty) answers alike.
    let restarted = spawn_app(&db).await;
    let (answer, body) = handed_on(&restarted, &sanne, &asked).await;
    assert_eq!(answer.signals, expected, "{body}");

    // Out of the street, Bram hears nothing more of it.
    people::unassign(&app.store, "bram", demo::street_id())
        .await
        .unwrap();
    let (answer, body) = handed_on(&app, &bram, &[corporation.id()]).await;
    assert!(answer.signals.is_empty(), "{body}");
}

async fn a_bad_query_is_a_json_error(backend: Backend) {
    let db = TestDb::new(backend).await;
    let app = spawn_app(&db).await;
    let sanne = app.sign_in("sanne").await;
    let too_many: Vec<String> = (0..1001u128)
        .map(|n| uuid::Uuid::from_u128(n).to_string())
        .collect();
    for (body, expected) in [
        (serde_json::json!("garbage"), 400),
        (serde_json::json!({ "documents": "all" }), 400),
        (serde_json::json!({ "documents": ["not a uuid"] }), 400),
        (serde_json::json!({}), 400),
        (serde_json::json!({ "documents": too_many }), 422),
    ] {
        let (status, text) = ask(&app, &sanne, &body).await;
        assert_eq!(status, expected, "{body}: {text}");
        let error: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert!(error["error"].is_string(), "{text}");
    }
    // Not JSON at all, and without a session.
    let response = app
        .http
        .post(app.url("/api/handed-on"))
        .bearer_auth(&sanne)
        .header("content-type", "application/json")
        .body("{{{")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let error: serde_json::Value = response.json().await.unwrap();
    assert_eq!(error["error"], "bad_body");
    let response = app
        .http
        .post(app.url("/api/handed-on"))
        .json(&serde_json::json!({ "documents": [] }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    // Nothing asked, nothing answered.
    let (answer, _) = handed_on(&app, &sanne, &[]).await;
    assert!(answer.signals.is_empty());
}

crate::on_both_backends!(
    a_builder_sees_where_her_handed_on_signal_stands_and_nothing_else,
    a_bad_query_is_a_json_error,
);
