//! Signing in and out, sessions, the administrator's API and command line, and the bad
//! input around them: every refusal is a clear JSON error and changes nothing.

use serde_json::{Value, json};
use voordeur_server::{CONTENT_SECURITY_POLICY, auth::token_hash};
use voordeur_shared::demo;

use crate::helpers::{Backend, TestApp, TestDb, device, spawn_app};

async fn sign_in_raw(app: &TestApp, username: &str, password: &str) -> reqwest::Response {
    app.http
        .post(app.url("/api/session"))
        .json(&json!({ "username": username, "password": password }))
        .send()
        .await
        .unwrap()
}

async fn error_of(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.expect("a JSON error body");
    (
        status,
        body["error"].as_str().unwrap_or_default().to_string(),
    )
}

async fn session_status(app: &TestApp, token: &str) -> (u16, String) {
    let response = app
        .http
        .get(app.url("/api/session"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    if response.status() == 200 {
        return (200, String::new());
    }
    error_of(response).await
}

async fn a_session_knows_its_person_and_ends_at_sign_out(backend: Backend) {
    let db = TestDb::new(backend).await;
    let app = spawn_app(&db).await;
    let response = sign_in_raw(&app, "Sanne ", demo::PASSWORD).await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    let token = body["token"].as_str().unwrap().to_string();
    assert_eq!(body["account"]["role"], "community_builder");
    assert_eq!(body["account"]["organisation"]["partner"], "municipality");
    assert_eq!(body["account"]["streets"][0], demo::street_id().to_string());
    assert!(body.get("password_hash").is_none() && !body.to_string().contains("argon2"));

    let me: Value = app
        .http
        .get(app.url("/api/session"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["account"]["username"], "sanne");
    assert!(me.get("token").is_none(), "the token is sent only once");

    let out = app
        .http
        .delete(app.url("/api/session"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    assert_eq!(
        session_status(&app, &token).await,
        (401, "unauthenticated".into())
    );
}

async fn a_wrong_password_and_an_unknown_name_are_refused_alike(backend: Backend) {
    let db = TestDb::new(backend).await;
    let app = spawn_app(&db).await;
    assert_eq!(
        error_of(sign_in_raw(&app, "nobody", demo::PASSWORD).await).await,
        (401, "wrong_credentials".into()),
        "an unknown name is refused like a wrong password"
    );
    assert_eq!(
        error_of(sign_in_raw(&app, "sanne", "not-the-password").await).await,
        (401, "wrong_credentials".into())
    );
}

async fn missing_forged_and_expired_tokens_are_refused(backend: Backend) {
    let db = TestDb::new(backend).await;
    let app = spawn_app(&db).await;
    let none = app.http.get(app.url("/api/streets")).send().await.unwrap();
    assert_eq!(none.headers()["www-authenticate"], "Bearer");
    assert_eq!(error_of(none).await, (401, "unauthenticated".into()));
    let forged = "A".repeat(43);
    assert_eq!(
        session_status(&app, &forged).await,
        (401, "unauthenticated".into())
    );
    let before = app.server_heads().await;
    let mut phone = device();
    let refused = app
        .post_sync_as(
            &forged,
            voordeur_shared::sync::wire::encode_request(&phone.request()),
        )
        .await;
    assert_eq!(error_of(refused).await, (401, "unauthenticated".into()));

    // A session past its expiry, as the database holds it after a field day.
    let (karim, _) = app
        .store
        .account_by_username("karim")
        .await
        .unwrap()
        .unwrap();
    let old = "an-old-token-from-yesterday-aaaaaaaaaaaaaaa";
    app.store
        .create_session(
            &token_hash(old),
            karim.id.0,
            voordeur_server::store::now_ms() - 1,
        )
        .await
        .unwrap();
    assert_eq!(
        session_status(&app, old).await,
        (401, "session_expired".into())
    );
    let _ = phone.request();
    assert_eq!(app.server_heads().await, before, "nothing changed");
}

async fn oversized_and_malformed_sign_ins_are_refused(backend: Backend) {
    let db = TestDb::new(backend).await;
    let app = spawn_app(&db).await;
    let huge = sign_in_raw(&app, &"a".repeat(100_000), "x").await;
    assert_eq!(error_of(huge).await, (413, "too_large".into()));
    let long = sign_in_raw(&app, &"a".repeat(65), demo::PASSWORD).await;
    assert_eq!(error_of(long).await, (422, "invalid".into()));
    let not_json = app
        .http
        .post(app.url("/api/session"))
        .header("content-type", "application/json")
        .body("{\"username\": 12")
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(not_json).await.0, 400);
}

async fn admin_post(app: &TestApp, token: &str, path: &str, body: Value) -> reqwest::Response {
    app.http
        .post(app.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn account_count(app: &TestApp, admin: &str) -> usize {
    let accounts: Value = app
        .http
        .get(app.url("/api/admin/accounts"))
        .bearer_auth(admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    accounts.as_array().unwrap().len()
}

/// The administrator sets up a second street with its own coach, from the admin API; the
/// coach sees that street and nothing of the demo street.
async fn an_administrator_sets_up_a_street_and_its_people(backend: Backend) {
    let db = TestDb::new(backend).await;
    let app = spawn_app(&db).await;
    let admin = app.sign_in("beheer").await;
    let refused = admin_post(
        &app,
        &app.token,
        "/api/admin/organisations",
        json!({"name": "X", "partner": "municipality"}),
    )
    .await;
    assert_eq!(error_of(refused).await, (403, "forbidden".into()));

    let org = admin_post(
        &app,
        &admin,
        "/api/admin/organisations",
        json!({"name": "Zorg Oost", "partner": "care_organisation"}),
    )
    .await;
    assert_eq!(org.status(), 201);
    let street = admin_post(&app, &admin, "/api/admin/streets", json!({
        "name": "Eikenlaan",
        "complexes": [{"name": "Eikenhof", "floors": 2, "doors_per_floor": 4, "first_number": 2, "businesses": []}]
    })).await;
    assert_eq!(street.status(), 201, "{:?}", street.text().await);
    let street: Value = street.json().await.unwrap();
    let street_id: uuid::Uuid = street["id"].as_str().unwrap().parse().unwrap();

    let before = account_count(&app, &admin).await;
    let form = json!({"username": "fatima", "display_name": "Fatima", "role": "coach",
        "organisation": "Zorg Oost", "password": "een-goed-wachtwoord"});
    assert_eq!(
        admin_post(&app, &admin, "/api/admin/accounts", form.clone())
            .await
            .status(),
        201
    );
    assert_eq!(
        error_of(admin_post(&app, &admin, "/api/admin/accounts", form).await).await,
        (409, "conflict".into())
    );
    for bad in [
        json!({"username": "Fatima Z", "display_name": "F", "role": "coach", "organisation": "Zorg Oost", "password": "een-goed-wachtwoord"}),
        json!({"username": "f2", "display_name": "F".repeat(101), "role": "coach", "organisation": "Zorg Oost", "password": "een-goed-wachtwoord"}),
        json!({"username": "f3", "display_name": "F", "role": "coach", "organisation": "Zorg Oost", "password": "kort"}),
        json!({"username": "f4", "display_name": "F", "role": "coach", "password": "een-goed-wachtwoord"}),
        json!({"username": "f5", "display_name": "F", "role": "coach", "organisation": "Nergens", "password": "een-goed-wachtwoord"}),
    ] {
        let response = admin_post(&app, &admin, "/api/admin/accounts", bad.clone()).await;
        assert_eq!(error_of(response).await, (422, "invalid".into()), "{bad}");
    }
    let role = admin_post(&app, &admin, "/api/admin/accounts", json!({"username": "f6", "display_name": "F", "role": "king", "password": "een-goed-wachtwoord"})).await;
    assert_eq!(
        error_of(role).await,
        (400, "bad_body".into()),
        "an unknown role"
    );
    assert_eq!(
        account_count(&app, &admin).await,
        before + 1,
        "nothing else was created"
    );

    let assign = admin_post(
        &app,
        &admin,
        "/api/admin/accounts/fatima/streets",
        json!({"street": street_id}),
    )
    .await;
    assert_eq!(assign.status(), 200);
    let nowhere = admin_post(
        &app,
        &admin,
        "/api/admin/accounts/fatima/streets",
        json!({"street": uuid::Uuid::now_v7()}),
    )
    .await;
    assert_eq!(error_of(nowhere).await, (422, "invalid".into()));

    // Fatima works in the Eikenlaan only.
    let response = sign_in_raw(&app, "fatima", "een-goed-wachtwoord").await;
    let fatima = response.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let streets: Value = app
        .http
        .get(app.url("/api/streets"))
        .bearer_auth(&fatima)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(streets.as_array().unwrap().len(), 1);
    assert_eq!(streets[0]["name"], "Eikenlaan");
    assert_eq!(streets[0]["addresses"], 8);
    let mut phone = voordeur_shared::sync::client::Replica::new(voordeur_shared::docs::new_actor());
    phone.follow(street_id);
    let request = phone.request();
    phone.receive(app.exchange_as(&fatima, &request).await.unwrap());
    assert_eq!(phone.docs().count(), 1, "the Eikenlaan's street document");

    // Another street's documents: neither followed nor offered, each refused alone.
    let no_access = |response: &voordeur_shared::sync::SyncResponse| {
        let refused = crate::helpers::refusals(response);
        assert!(!refused.is_empty());
        assert!(
            refused.iter().all(|(_, code, _)| code == "no_access"),
            "{refused:?}"
        );
        assert_eq!(refused.len(), response.docs.len(), "nothing else answered");
    };
    let before = app.server_heads().await;
    no_access(&app.exchange_as(&fatima, &device().request()).await.unwrap());
    let mut demo_phone = device();
    app.sync(&mut demo_phone).await;
    crate::helpers::record_visit(&mut demo_phone, &mut crate::helpers::rng(3));
    let mut request = demo_phone.request();
    request.streets.clear();
    no_access(&app.exchange_as(&fatima, &request).await.unwrap());
    assert_eq!(
        app.server_heads().await,
        before,
        "nothing of the refused requests stored"
    );

    // A new password ends Fatima's sessions.
    let set = admin_post(
        &app,
        &admin,
        "/api/admin/accounts/fatima/password",
        json!({"password": "nog-een-wachtwoord"}),
    )
    .await;
    assert_eq!(set.status(), 204);
    assert_eq!(
        session_status(&app, &fatima).await,
        (401, "unauthenticated".into())
    );
}

async fn pages_and_api_carry_the_security_headers(backend: Backend) {
    let db = TestDb::new(backend).await;
    let app = spawn_app(&db).await;
    for path in ["/", "/api/streets", "/healthz"] {
        let response = app.http.get(app.url(path)).send().await.unwrap();
        let headers = response.headers();
        assert_eq!(
            headers["content-security-policy"], CONTENT_SECURITY_POLICY,
            "{path}"
        );
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["referrer-policy"], "no-referrer");
    }
    assert!(!CONTENT_SECURITY_POLICY.contains("unsafe-inline"));
}

/// The command line sets up what the admin page does, against the same database; a
/// server started on it afterwards lets the new person in.
async fn the_command_line_sets_up_people_and_streets(backend: Backend) {
    let db = TestDb::new(backend).await;
    let exe = env!("CARGO_BIN_EXE_voordeur-server");
    let run = |args: &[&str], stdin: &str| {
        use std::io::Write;
        let mut child = std::process::Command::new(exe)
            .args(["--database-url", &db.url, "admin"])
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (ok, out, err) = run(
        &[
            "add-organisation",
            "--name",
            "Gemeente Oost",
            "--partner",
            "municipality",
        ],
        "",
    );
    assert!(ok, "{out}{err}");
    let (ok, out, err) = run(
        &[
            "add-street",
            "--name",
            "Beukenlaan",
            "--complex",
            "Beukenhof:3x4:1:1A",
        ],
        "",
    );
    assert!(ok, "{out}{err}");
    let street = out.trim().strip_prefix("street ").unwrap().to_string();
    let (ok, out, err) = run(
        &[
            "add-account",
            "--username",
            "ali",
            "--name",
            "Ali",
            "--role",
            "community_builder",
            "--organisation",
            "Gemeente Oost",
        ],
        "wachtwoord-van-ali\n",
    );
    assert!(ok, "{out}{err}");
    let (ok, _, err) = run(&["assign", "--username", "ali", "--street", &street], "");
    assert!(ok, "{err}");
    let (ok, _, err) = run(
        &[
            "add-account",
            "--username",
            "bob",
            "--name",
            "Bob",
            "--role",
            "coach",
            "--organisation",
            "Gemeente Oost",
        ],
        "kort\n",
    );
    assert!(!ok && err.contains("10 to 256"), "{err}");
    let (ok, out, _) = run(&["list"], "");
    assert!(
        ok && out.contains("Beukenlaan")
            && out.contains("ali (community_builder, Gemeente Oost)")
            && !out.contains("bob"),
        "{out}"
    );

    let app = spawn_app(&db).await;
    let response = sign_in_raw(&app, "ali", "wachtwoord-van-ali").await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["account"]["streets"][0], street.as_str());
}

crate::on_both_backends!(
    a_session_knows_its_person_and_ends_at_sign_out,
    a_wrong_password_and_an_unknown_name_are_refused_alike,
    missing_forged_and_expired_tokens_are_refused,
    oversized_and_malformed_sign_ins_are_refused,
    an_administrator_sets_up_a_street_and_its_people,
    pages_and_api_carry_the_security_headers,
    the_command_line_sets_up_people_and_streets,
    secrets_never_reach_the_logs,
);

/// The server binary, logging at debug level as JSON, is asked to sign in with a right
/// and a wrong password, to sync and to sign out: neither password nor token (session or
/// device) is in its log.
async fn secrets_never_reach_the_logs(backend: Backend) {
    use std::io::BufRead;
    let db = TestDb::new(backend).await;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_voordeur-server"))
        .args([
            "--database-url",
            &db.url,
            "--listen",
            "127.0.0.1:0",
            "--demo",
            "--log-json",
        ])
        .env("RUST_LOG", "debug")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (lines_tx, lines_rx) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = lines_tx.send(line);
        }
    });
    let mut log = Vec::new();
    let address = loop {
        let line = lines_rx
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("the server starts");
        let json: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
        log.push(line);
        if let Some(address) = json["fields"]["address"].as_str() {
            break address.to_string();
        }
    };
    let http = reqwest::Client::new();
    let url = |path: &str| format!("http://{address}{path}");
    let wrong = "a-wrong-password-9f3k";
    let response = http
        .post(url("/api/session"))
        .json(&json!({ "username": "karim", "password": wrong }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let signed_in = http
        .post(url("/api/session"))
        .json(&json!({ "username": "karim", "password": demo::PASSWORD }))
        .send()
        .await
        .unwrap();
    let device_token = signed_in.headers()["set-cookie"].to_str().unwrap();
    let device_token = device_token
        .split(';')
        .next()
        .and_then(|pair| pair.split_once('='))
        .unwrap()
        .1
        .to_string();
    let body: Value = signed_in.json().await.unwrap();
    let token = body["token"].as_str().unwrap().to_string();
    let request = voordeur_shared::sync::wire::encode_request(&device().request());
    let synced = http
        .post(url("/api/sync"))
        .bearer_auth(&token)
        .header("content-type", voordeur_shared::sync::wire::CONTENT_TYPE)
        .body(request)
        .send()
        .await
        .unwrap();
    assert_eq!(synced.status(), 200);
    let out = http
        .delete(url("/api/session"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    child.kill().unwrap();
    let _ = child.wait();
    reader.join().unwrap();
    log.extend(lines_rx.try_iter());
    let log = log.join("\n");
    assert!(
        log.contains("signed in") && log.contains("sign-in failed"),
        "the log is on: {log}"
    );
    for secret in [wrong, demo::PASSWORD, token.as_str(), device_token.as_str()] {
        assert!(!log.contains(secret), "{secret:?} is in the log");
    }
}
