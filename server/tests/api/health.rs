//! The server is up, says so, and lists its streets.

use crate::helpers::{Backend, TestDb, spawn_app};

async fn health_check_answers_ok(backend: Backend) {
    let db = TestDb::new(backend).await;
    let app = spawn_app(&db).await;
    let response = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");
}

async fn streets_lists_the_demo_street(backend: Backend) {
    let db = TestDb::new(backend).await;
    let app = spawn_app(&db).await;
    let body: serde_json::Value = app
        .http
        .get(app.url("/api/streets"))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body[0]["name"], "Lindenstraat", "{body}");
    assert_eq!(body[0]["addresses"], 43, "{body}");
    assert_eq!(
        body[0]["id"],
        voordeur_shared::demo::street_id().to_string()
    );
}

async fn an_unknown_api_route_is_a_json_404(backend: Backend) {
    let db = TestDb::new(backend).await;
    let app = spawn_app(&db).await;
    let response = app
        .http
        .get(app.url("/api/nothing-here"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "not_found");
}

crate::on_both_backends!(
    health_check_answers_ok,
    streets_lists_the_demo_street,
    an_unknown_api_route_is_a_json_404,
);
