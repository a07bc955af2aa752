//! Names an administrator gives (organisations, usernames, display names, streets and
//! complexes) are normalised, may hold no control, text-direction or invisible
//! characters, and may not look like an existing name of their kind; a refused name
//! writes nothing.

use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, TestDb, spawn_app};

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> (u16, Value) {
    let response = app
        .http
        .post(app.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON body"))
}

async fn list(app: &TestApp, token: &str, path: &str) -> Vec<Value> {
    let body: Value = app
        .http
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body.as_array().unwrap().clone()
}

fn refused(answer: &(u16, Value)) -> (u16, &str) {
    (answer.0, answer.1["error"].as_str().unwrap_or_default())
}

async fn organisation_names_are_normalised_and_look_alikes_refused(backend: Backend) {
    let db = TestDb::new(backend).await;
    let app = spawn_app(&db).await;
    let admin = app.sign_in("beheer").await;
    let add = |name: &str| {
        post(
            &app,
            &admin,
            "/api/admin/organisations",
            json!({"name": name, "partner": "municipality"}),
        )
    };
    let created = add("  Buurtteam\u{00A0}Noord ").await;
    assert_eq!(created.0, 201, "{created:?}");
    assert_eq!(created.1["name"], "Buurtteam Noord");
    let before = list(&app, &admin, "/api/admin/organisations").await;

    for look_alike in [
        "Buurtteam Noord",
        "buurtteam noord",
        "Buurtt\u{0435}am Noord", // a Cyrillic е
        "Woonst\u{0435}de",       // the demo's corporation, Cyrillic е
        "Zorggroep De Linde ",
        "Zorggroep De Lin\u{200D}de",
    ] {
        let answer = add(look_alike).await;
        assert_eq!(refused(&answer), (409, "conflict"), "{look_alike:?}");
    }
    for bad in [
        "Gemeente \u{202E}tsaO",         // right-to-left override
        "Gemeente \u{2067}Oost\u{2069}", // isolate
        "Gemeente\u{0007} Oost",         // a control character
        "Gemeente\nOost",
        "Gemeente\u{200B}Oost", // zero-width space
        " ",
    ] {
        let answer = add(bad).await;
        assert_eq!(refused(&answer), (422, "invalid"), "{bad:?}");
    }
    assert_eq!(
        list(&app, &admin, "/api/admin/organisations").await,
        before,
        "nothing written"
    );
}

async fn account_names_are_normalised_and_look_alikes_refused(backend: Backend) {
    let db = TestDb::new(backend).await;
    let app = spawn_app(&db).await;
    let admin = app.sign_in("beheer").await;
    let add = |username: &str, display_name: &str| {
        post(
            &app,
            &admin,
            "/api/admin/accounts",
            json!({"username": username, "display_name": display_name, "role": "coach",
                   "organisation": "Zorggroep De Linde ", "password": "een-goed-wachtwoord"}),
        )
    };
    let created = add(" fatima ", " Fatima  El\u{00A0}Amrani ").await;
    assert_eq!(created.0, 201, "{created:?}");
    assert_eq!(created.1["username"], "fatima");
    assert_eq!(created.1["display_name"], "Fatima El Amrani");
    let before = list(&app, &admin, "/api/admin/accounts").await;

    for (username, display_name, why) in [
        ("karirn", "Karim R.", "a username like karim's"),
        ("fatirna", "F.", "a username like fatima's"),
        ("fatima2", "Fatima El Amrani", "the same display name"),
        ("fatima3", "Fatima \u{0415}l Amrani", "a Cyrillic Е in it"),
        (
            "karim2",
            "KARIM (COACH ZORG)",
            "a demo person's name in capitals",
        ),
    ] {
        let answer = add(username, display_name).await;
        assert_eq!(refused(&answer), (409, "conflict"), "{why}: {answer:?}");
    }
    for (username, display_name) in [
        ("f4", "Fatima \u{202E}inamrA"),
        ("f5", "Fatima\u{0000}"),
        ("f6", "Fatima\u{FEFF}"),
        ("f7", "\u{200F}"),
    ] {
        let answer = add(username, display_name).await;
        assert_eq!(refused(&answer), (422, "invalid"), "{display_name:?}");
    }
    assert_eq!(
        list(&app, &admin, "/api/admin/accounts").await,
        before,
        "nothing written"
    );
}

async fn street_names_are_normalised_and_look_alikes_refused(backend: Backend) {
    let db = TestDb::new(backend).await;
    let app = spawn_app(&db).await;
    let admin = app.sign_in("beheer").await;
    let add = |name: &str, complexes: Value| {
        post(
            &app,
            &admin,
            "/api/admin/streets",
            json!({"name": name, "complexes": complexes}),
        )
    };
    let complex = |name: &str, first: u32, businesses: &[&str]| {
        json!({"name": name, "floors": 1, "doors_per_floor": 2, "first_number": first,
               "businesses": businesses})
    };
    let look_alike = add(
        "Lind\u{0435}nstraat", // the demo street, with a Cyrillic е
        json!([complex("Eikenhof", 2, &[])]),
    )
    .await;
    assert_eq!(refused(&look_alike), (409, "conflict"));
    for (name, complexes) in [
        ("Eikenlaan\u{202E}", json!([complex("Eikenhof", 2, &[])])),
        ("Eikenlaan", json!([complex("Eiken\u{0007}hof", 2, &[])])),
        (
            "Eikenlaan",
            json!([complex("Eikenhof", 2, &[]), complex("EIKENHOF", 20, &[])]),
        ),
        (
            "Eikenlaan",
            json!([complex("Eikenhof", 2, &["1A", "1\u{0410}"])]),
        ),
    ] {
        let answer = add(name, complexes.clone()).await;
        assert_eq!(refused(&answer), (422, "invalid"), "{name:?} {complexes}");
    }
    // Bounds are checked before any house number is compared.
    let huge = json!([{"name": "Toren", "floors": 4_000_000_000u32, "doors_per_floor": 60,
                       "first_number": 1, "businesses": []}]);
    assert_eq!(refused(&add("Torenlaan", huge).await), (422, "invalid"));
    let streets = |token: String| {
        let app = &app;
        async move {
            let body: Value = app
                .http
                .get(app.url("/api/streets"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            body.as_array().unwrap().clone()
        }
    };
    assert_eq!(streets(admin.clone()).await.len(), 1, "nothing written");
    let created = add(" Eikenlaan ", json!([complex(" Eikenhof", 2, &[" 1A"])])).await;
    assert_eq!(created.0, 201, "{created:?}");
    let names: Vec<Value> = streets(admin.clone())
        .await
        .iter()
        .map(|s| s["name"].clone())
        .collect();
    assert!(names.contains(&json!("Eikenlaan")), "{names:?}");
}

crate::on_both_backends!(
    organisation_names_are_normalised_and_look_alikes_refused,
    account_names_are_normalised_and_look_alikes_refused,
    street_names_are_normalised_and_look_alikes_refused,
);
