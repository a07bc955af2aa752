//! What every API response is like: never cached (ASVS 14.3.2), every error a JSON body
//! (a wrong method and an unknown path too), and the sync's media type read as a media
//! type (parameters allowed).

use serde_json::Value;
use voordeur_shared::sync::wire;

use crate::helpers::{Backend, TestApp, TestDb, device, spawn_app};

async fn json_error(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        content_type.starts_with("application/json"),
        "{status}: {content_type}"
    );
    let body: Value = response.json().await.expect("a JSON error body");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    (status, body["error"].as_str().unwrap().to_string())
}

fn no_store(response: &reqwest::Response, what: &str) {
    assert_eq!(
        response
            .headers()
            .get("cache-control")
            .map(|v| v.to_str().unwrap()),
        Some("no-store"),
        "{what} ({})",
        response.status()
    );
}

async fn sync_with_content_type(app: &TestApp, content_type: Option<&str>) -> reqwest::Response {
    let mut request = app
        .http
        .post(app.url("/api/sync"))
        .bearer_auth(&app.token)
        .body(wire::encode_request(&device().request()));
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    request.send().await.unwrap()
}

/// Every `/api` answer, successful or not, tells browsers and proxies to keep nothing.
async fn api_responses_are_never_cached(backend: Backend) {
    let db = TestDb::new(backend).await;
    let app = spawn_app(&db).await;
    let admin = app.sign_in("beheer").await;
    let get = |path: &str, token: Option<&str>| {
        let mut request = app.http.get(app.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token.to_string());
        }
        request.send()
    };
    for (path, token, status) in [
        ("/api/streets", Some(app.token.as_str()), 200),
        ("/api/streets", None, 401),
        ("/api/session", Some(app.token.as_str()), 200),
        ("/api/admin/accounts", Some(admin.as_str()), 200),
        ("/api/admin/audit", Some(admin.as_str()), 200),
        ("/api/admin/accounts", Some(app.token.as_str()), 403),
        ("/api/nothing-here", None, 404),
        ("/api/sync", None, 405),
    ] {
        let response = get(path, token).await.unwrap();
        assert_eq!(response.status(), status, "{path}");
        no_store(&response, path);
    }
    let synced = sync_with_content_type(&app, Some(wire::CONTENT_TYPE)).await;
    assert_eq!(synced.status(), 200);
    no_store(&synced, "a sync");
    let refused = sync_with_content_type(&app, Some("text/plain")).await;
    no_store(&refused, "a refused sync");
    let signed_in = app
        .http
        .post(app.url("/api/session"))
        .json(
            &serde_json::json!({"username": "sanne", "password": voordeur_shared::demo::PASSWORD}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 201);
    no_store(&signed_in, "a new session's token");
    // The probe is no API: kept, if at all, only after asking again.
    let health = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.headers()["cache-control"], "no-cache");
}

/// The app's files as a phone gets them: a file named by its hash is kept for good and
/// comes compressed as the browser accepts (Brotli, else gzip, else as it is); the page
/// and the service worker are asked for anew; any screen's path is the page, but a file
/// the app does not have is a 404, not the page under that name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_files_come_compressed_and_cached_by_their_names() {
    let db = TestDb::new(Backend::Sqlite).await;
    let dir = db.dir.path().join("app");
    std::fs::create_dir_all(&dir).unwrap();
    let css = "app.0123456789abcdef.css";
    for (name, bytes) in [
        ("index.html", &b"<!doctype html><title>Voordeur</title>"[..]),
        ("sw.js", b"// the service worker"),
        (css, b"body { margin: 0 }"),
        ("app.0123456789abcdef.css.br", b"brotli bytes"),
        ("app.0123456789abcdef.css.gz", b"gzip bytes"),
    ] {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    let app = spawn_app(&db).await;
    let get = async |path: &str, accept: &str| {
        let response = app
            .http
            .get(app.url(path))
            .header("accept-encoding", accept)
            .send()
            .await
            .unwrap();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_string())
        };
        let (encoding, cache) = (header("content-encoding"), header("cache-control"));
        let status = response.status().as_u16();
        (status, encoding, cache, response.text().await.unwrap())
    };
    let kept = Some("public, max-age=31536000, immutable".to_string());
    let asked = Some("no-cache".to_string());
    let path = format!("/{css}");
    assert_eq!(
        get(&path, "gzip, deflate, br").await,
        (200, Some("br".into()), kept.clone(), "brotli bytes".into())
    );
    assert_eq!(
        get(&path, "gzip").await,
        (200, Some("gzip".into()), kept.clone(), "gzip bytes".into())
    );
    assert_eq!(
        get(&path, "identity").await,
        (200, None, kept, "body { margin: 0 }".into())
    );
    let page = "<!doctype html><title>Voordeur</title>".to_string();
    for screen in ["/", "/index.html", "/doors/12"] {
        assert_eq!(
            get(screen, "br").await,
            (200, None, asked.clone(), page.clone()),
            "{screen}"
        );
    }
    assert_eq!(get("/sw.js", "br").await.2, asked);
    for missing in ["/app.fedcba9876543210.css", "/old.js"] {
        let (status, _, cache, _) = get(missing, "br").await;
        assert_eq!((status, cache), (404, asked.clone()), "{missing}");
    }
}

/// A method an API path does not take, or a path the API does not have, is a JSON error
/// like every other.
async fn a_wrong_method_or_path_is_a_json_error(backend: Backend) {
    let db = TestDb::new(backend).await;
    let app = spawn_app(&db).await;
    let response = app.http.get(app.url("/api/sync")).send().await.unwrap();
    let allow = response.headers()["allow"].to_str().unwrap().to_string();
    assert!(allow.contains("POST"), "{allow}");
    assert_eq!(
        json_error(response).await,
        (405, "method_not_allowed".into())
    );
    let response = app
        .http
        .put(app.url("/api/session"))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        json_error(response).await,
        (405, "method_not_allowed".into())
    );
    for path in ["/api/nothing-here", "/api", "/api/", "/api/admin/nothing"] {
        let response = app.http.get(app.url(path)).send().await.unwrap();
        assert_eq!(
            json_error(response).await,
            (404, "not_found".into()),
            "{path}"
        );
    }
}

/// `Content-Type` is a media type: parameters and any case of type and subtype are fine;
/// another type, or none, is a 415 with a JSON body.
async fn the_sync_media_type_may_carry_parameters(backend: Backend) {
    let db = TestDb::new(backend).await;
    let app = spawn_app(&db).await;
    for content_type in [
        "application/vnd.voordeur.sync; charset=binary",
        "Application/VND.Voordeur.Sync",
        "application/vnd.voordeur.sync ; version=\"1\"",
    ] {
        let response = sync_with_content_type(&app, Some(content_type)).await;
        assert_eq!(response.status(), 200, "{content_type}");
    }
    for content_type in [
        Some("application/json; charset=utf-8"),
        Some("application/vnd.voordeur.sync-v2"),
        Some("application/vnd.voordeur.sync; charset"),
        None,
    ] {
        let response = sync_with_content_type(&app, content_type).await;
        assert_eq!(
            json_error(response).await,
            (415, "unsupported_media_type".into()),
            "{content_type:?}"
        );
    }
}

crate::on_both_backends!(
    api_responses_are_never_cached,
    a_wrong_method_or_path_is_a_json_error,
    the_sync_media_type_may_carry_parameters,
);
