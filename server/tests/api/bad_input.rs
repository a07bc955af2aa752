//! Bad input gets a 4xx with a JSON error that names the problem, and changes nothing; a
//! bad document in a good request is refused alone, and names its problem in its reply.

use uuid::Uuid;
use voordeur_shared::{
    demo,
    docs::{self, DocKind, new_id},
    model::{Outcome, Partner, Visit},
    sync::{DocOffer, Hash, SyncRequest, wire},
};

use crate::helpers::{
    Backend, TestApp, TestDb, config, device, record_visit, refusals, rng, spawn_app,
    spawn_app_with,
};

/// Sends `request`, expects it answered with document `id` refused as `code` (and no
/// other refused), and that nothing of `id` is stored; the refusal's reason.
async fn assert_refused_doc(
    app: &TestApp,
    request: &SyncRequest,
    id: docs::DocumentId,
    code: &str,
) -> String {
    let before = app.server_heads().await;
    let response = app
        .exchange(request)
        .await
        .expect("the request is answered");
    let refused = refusals(&response);
    assert_eq!(refused.len(), 1, "{refused:?}");
    let (refused_id, refused_code, reason) = refused.into_iter().next().unwrap();
    assert_eq!((refused_id, refused_code.as_str()), (id, code));
    assert_eq!(
        app.server_heads().await.get(&id),
        before.get(&id),
        "nothing of a refused document is stored"
    );
    reason
}

/// Sends `body`, expects `status` with error `code`, and checks the server is unchanged.
async fn assert_refused(app: &TestApp, body: Vec<u8>, status: u16, code: &str) -> String {
    let before = app.server_heads().await;
    let response = app.post_sync(body).await;
    assert_eq!(response.status().as_u16(), status);
    let json: serde_json::Value = response.json().await.expect("a JSON error body");
    assert_eq!(json["error"], code, "{json}");
    let message = json["message"].as_str().expect("a message").to_string();
    assert!(!message.is_empty());
    assert_eq!(
        app.server_heads().await,
        before,
        "a refused request changes nothing"
    );
    message
}

/// A phone with one good visit that the server does not have yet.
async fn phone_with_a_visit(app: &TestApp) -> voordeur_shared::sync::client::Replica {
    let mut phone = device();
    app.sync(&mut phone).await;
    record_visit(&mut phone, &mut rng(1));
    phone
}

async fn bytes_that_are_no_sync_message_are_refused(backend: Backend) {
    let db = TestDb::new(backend).await;
    let app = spawn_app(&db).await;
    let message = assert_refused(&app, b"hello, server".to_vec(), 400, "malformed").await;
    assert!(message.contains("header"), "{message}");
    let mut truncated = wire::encode_request(&phone_with_a_visit(&app).await.request());
    truncated.truncate(truncated.len() / 2);
    assert_refused(&app, truncated, 400, "malformed").await;
}

async fn a_wrong_content_type_is_refused(backend: Backend) {
    let db = TestDb::new(backend).await;
    let app = spawn_app(&db).await;
    let response = app
        .http
        .post(app.url("/api/sync"))
        .bearer_auth(&app.token)
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 415);
    let json: serde_json::Value = response.json().await.unwrap();
    assert_eq!(json["error"], "unsupported_media_type");
}

async fn a_body_over_the_limit_is_refused(backend: Backend) {
    let db = TestDb::new(backend).await;
    let mut config = config(&db);
    config.body_limit = 4096;
    let app = spawn_app_with(config).await;
    // Incompressible bytes: the compressed body itself is over the limit.
    let noise: Vec<u8> = (0..20_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let mut body = wire::encode_request(&SyncRequest::default());
    body.extend_from_slice(&noise);
    let message = assert_refused(&app, body, 413, "too_large").await;
    assert!(message.contains("4096"), "{message}");
    // A small body that inflates past the limit is refused too.
    let bomb = SyncRequest {
        id: 1,
        streets: vec![],
        docs: vec![DocOffer {
            id: docs::DocumentId(Uuid::nil()),
            kind: None,
            since: None,
            heads: vec![],
            changes: vec![0; 1 << 20],
        }],
    };
    let body = wire::encode_request(&bomb);
    assert!(body.len() < 4096);
    assert_refused(&app, body, 413, "too_large").await;
}

/// A street outside the person's streets is refused as not theirs, whether or not it
/// exists (no one learns which streets the server holds), and blocks nothing else.
async fn an_unknown_street_is_refused(backend: Backend) {
    let db = TestDb::new(backend).await;
    let app = spawn_app(&db).await;
    let mut phone = phone_with_a_visit(&app).await;
    let mut request = phone.request();
    let stranger = Uuid::now_v7();
    request.streets.push(stranger);
    let street = DocKind::Street {
        street: stranger,
        epoch: 0,
    }
    .id();
    let message = assert_refused_doc(&app, &request, street, "no_access").await;
    assert!(message.contains(&stranger.to_string()), "{message}");
    assert!(
        app.server_heads().await.len() > 1,
        "the visit's household is stored beside the street"
    );
}

async fn a_street_document_the_server_lacks_is_refused(backend: Backend) {
    let db = TestDb::new(backend).await;
    let app = spawn_app(&db).await;
    let mut phone = phone_with_a_visit(&app).await;
    let kind = DocKind::Street {
        street: Uuid::now_v7(),
        epoch: 0,
    };
    phone.open(kind);
    let message = assert_refused_doc(&app, &phone.request(), kind.id(), "no_access").await;
    assert!(message.contains(&kind.id().to_string()), "{message}");
}

async fn a_document_whose_id_does_not_match_its_kind_is_refused(backend: Backend) {
    let db = TestDb::new(backend).await;
    let app = spawn_app(&db).await;
    let mut phone = phone_with_a_visit(&app).await;
    let mut request = phone.request();
    let household = request
        .docs
        .iter_mut()
        .find(|o| matches!(o.kind, Some(DocKind::Household { .. })))
        .expect("a new household is offered");
    household.id = docs::DocumentId(Uuid::now_v7());
    let id = household.id;
    assert_refused_doc(&app, &request, id, "kind_mismatch").await;
}

async fn a_household_at_an_address_the_street_lacks_is_refused(backend: Backend) {
    let db = TestDb::new(backend).await;
    let app = spawn_app(&db).await;
    let mut phone = phone_with_a_visit(&app).await;
    let nowhere = DocKind::Confidential {
        street: demo::street_id(),
        address: Uuid::now_v7(),
        epoch: 0,
        partner: Partner::CareOrganisation,
    };
    phone.open(nowhere);
    let message = assert_refused_doc(&app, &phone.request(), nowhere.id(), "kind_mismatch").await;
    assert!(message.contains("has no address"), "{message}");
}

async fn changes_that_are_not_automerge_are_refused(backend: Backend) {
    let db = TestDb::new(backend).await;
    let app = spawn_app(&db).await;
    let mut phone = phone_with_a_visit(&app).await;
    let mut request = phone.request();
    let street = &mut request.docs[0];
    street.changes = b"\x85\x6f\x4a\x83 definitely not a change".to_vec();
    street.heads = vec![Hash([7; 32])];
    let message = assert_refused(&app, wire::encode_request(&request), 400, "bad_changes").await;
    assert!(
        message.contains(&request.docs[0].id.to_string()),
        "{message}"
    );
}

async fn changes_that_break_the_schema_are_refused_and_the_other_documents_kept(backend: Backend) {
    let db = TestDb::new(backend).await;
    let app = spawn_app(&db).await;
    // A good visit with its household, and in the same request a visit at no address.
    let mut phone = phone_with_a_visit(&app).await;
    let street_id = crate::helpers::street_kind().id();
    let street = &mut phone.get_mut(&street_id).unwrap().doc;
    let bad = Visit {
        address: new_id(),
        author: "Sanne".into(),
        at_ms: 0,
        outcome: Outcome::Talked,
        return_on: None,
    };
    docs::put_entry(street, docs::VISITS, &new_id(), &bad).unwrap();
    street.commit();
    let message = assert_refused_doc(&app, &phone.request(), street_id, "schema_violation").await;
    assert!(message.contains("unknown address"), "{message}");
    assert_eq!(
        app.server_heads().await.len(),
        2,
        "the good household is stored, beside the street as it was"
    );
}

async fn a_document_offered_twice_is_refused(backend: Backend) {
    let db = TestDb::new(backend).await;
    let app = spawn_app(&db).await;
    let mut phone = phone_with_a_visit(&app).await;
    let mut request = phone.request();
    request.docs.push(request.docs[0].clone());
    assert_refused(
        &app,
        wire::encode_request(&request),
        400,
        "duplicate_document",
    )
    .await;
}

crate::on_both_backends!(
    bytes_that_are_no_sync_message_are_refused,
    a_wrong_content_type_is_refused,
    a_body_over_the_limit_is_refused,
    an_unknown_street_is_refused,
    a_street_document_the_server_lacks_is_refused,
    a_document_whose_id_does_not_match_its_kind_is_refused,
    a_household_at_an_address_the_street_lacks_is_refused,
    changes_that_are_not_automerge_are_refused,
    changes_that_break_the_schema_are_refused_and_the_other_documents_kept,
    a_document_offered_twice_is_refused,
);
