//! A resident's erasure and consent withdrawal, over HTTP on both backends: the name and
//! a marker from the notes are in no byte of the database files, no response, no phone's
//! documents after its next sync and no export; a phone that was offline comes back with
//! unsent edits to the erased household and to another door: the other door's edits
//! arrive, the erased household stays erased.

use std::{collections::BTreeSet, path::PathBuf};

use sqlx::{Connection, Row};
use voordeur_shared::{
    demo,
    docs::{self, DocKind, Signature},
    model::{Consent, Household, Outcome, Resident, SignalKind, Street, Theme},
    record::{Door, VisitRecord},
    sync::{ReplyStatus, client::Replica},
};

use crate::helpers::{Backend, TestApp, TestDb, config, device, spawn_app, spawn_app_with};

const NAME: &str = "Johanna Vlinderhaag";
const CONTACT: &str = "06-vlinderhaag";
const NOTES: &str = "Praatte over de tuin. MARKER-ZWALUW-7731 bij de ingang.";
const WISH: &str = "Bankje bij de vlinderstruik WENS-9941";
const CARE: &str = "Zorgsignaal-ZORG-5521 hulp bij de was";
const MOVING: &str = "Verhuiswens-VERHUIS-6613 begane grond";
const OFFLINE: &str = "ONVERZONDEN-4402";
const OTHER_DOOR: &str = "Andere deur ANDERS-8830";

/// Every marker of the household that must go.
const GONE: [&str; 6] = [
    NAME,
    CONTACT,
    "MARKER-ZWALUW-7731",
    "WENS-9941",
    "ZORG-5521",
    "VERHUIS-6613",
];

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

/// The markers of `markers` found in `bytes`.
fn found<'a>(bytes: &[u8], markers: &[&'a str]) -> Vec<&'a str> {
    markers
        .iter()
        .copied()
        .filter(|m| contains(bytes, m))
        .collect()
}

/// Every byte of the database as it is on disk: SQLite's file and its write-ahead log;
/// PostgreSQL's files of the tables that hold documents and the register (after a
/// checkpoint, so that what is in memory is on disk too).
async fn database_bytes(db: &TestDb, backend: Backend) -> Vec<u8> {
    database_files(db, backend)
        .await
        .into_iter()
        .flat_map(|(_, bytes)| bytes)
        .collect()
}

/// The files of [`database_bytes`] that hold `marker`: what a failing check names.
async fn holding(db: &TestDb, backend: Backend, marker: &str) -> Vec<String> {
    database_files(db, backend)
        .await
        .into_iter()
        .filter(|(_, bytes)| contains(bytes, marker))
        .map(|(name, _)| name)
        .collect()
}

async fn database_files(db: &TestDb, backend: Backend) -> Vec<(String, Vec<u8>)> {
    match backend {
        Backend::Sqlite => {
            let mut files = vec![(
                "database".to_string(),
                std::fs::read(db.sqlite_file()).unwrap(),
            )];
            let wal = PathBuf::from(format!("{}-wal", db.sqlite_file().display()));
            if let Ok(more) = std::fs::read(wal) {
                files.push(("write-ahead log".to_string(), more));
            }
            files
        }
        Backend::Postgres => {
            let mut conn = sqlx::AnyConnection::connect(&db.url).await.unwrap();
            sqlx::query("CHECKPOINT").execute(&mut conn).await.unwrap();
            let dir: String = sqlx::query("SHOW data_directory")
                .fetch_one(&mut conn)
                .await
                .unwrap()
                .try_get(0)
                .unwrap();
            let mut files = Vec::new();
            for table in [
                "chunks",
                "documents",
                "erasures",
                "erased_documents",
                "audit_log",
            ] {
                let sql = format!(
                    "SELECT pg_relation_filepath(c.oid) AS main, \
                     CASE WHEN c.reltoastrelid = 0 THEN NULL ELSE pg_relation_filepath(c.reltoastrelid) END AS toast \
                     FROM pg_class c WHERE c.relname = '{table}'"
                );
                let row = sqlx::query(&sql).fetch_one(&mut conn).await.unwrap();
                let main: String = row.try_get("main").unwrap();
                let toast: Option<String> = row.try_get("toast").unwrap();
                for file in std::iter::once(main).chain(toast) {
                    let path = PathBuf::from(&dir).join(&file);
                    let mut bytes = std::fs::read(&path).unwrap_or_default();
                    // Segments beyond the first gigabyte, if any.
                    for n in 1.. {
                        match std::fs::read(format!("{}.{n}", path.display())) {
                            Ok(more) => bytes.extend(more),
                            Err(_) => break,
                        }
                    }
                    files.push((format!("{table} ({file})"), bytes));
                }
            }
            files
        }
    }
}

/// Every document a phone holds, uncompressed.
fn phone_bytes(replica: &mut Replica) -> Vec<u8> {
    let ids: Vec<_> = replica.docs().map(|(id, _)| *id).collect();
    ids.iter()
        .flat_map(|id| replica.get_mut(id).unwrap().doc.save_nocompress())
        .collect()
}

/// Two doors of the demo street: the household that asks, and another.
fn doors(replica: &Replica) -> (Door, Door) {
    let street: Street = docs::read(&replica.street(demo::street_id()).unwrap().doc).unwrap();
    let mut addresses = street.addresses.keys().map(|a| a.parse().unwrap());
    let (a, b) = (addresses.next().unwrap(), addresses.next().unwrap());
    (
        Door::find(replica, demo::street_id(), a).unwrap(),
        Door::find(replica, demo::street_id(), b).unwrap(),
    )
}

/// Records, as Sanne, a conversation at `door` with the resident's name, notes, a wish, a
/// care signal and a moving wish.
fn record_household(replica: &mut Replica, door: &Door) -> String {
    let visit = VisitRecord {
        street: door.street,
        address: door.address,
        author: "Sanne (buurtcoach)".into(),
        at_ms: 1_764_000_000_000,
        outcome: Outcome::Talked,
        return_on: None,
        notes: NOTES.into(),
        contribution: "Wil helpen met planten".into(),
        wishes: vec![(Theme::Greenery, WISH.into())],
        signals: vec![
            (SignalKind::CareNeed, CARE.into()),
            (SignalKind::MovingWish, MOVING.into()),
        ],
    }
    .record(replica)
    .unwrap();
    let sign = Signature {
        by: "Sanne (buurtcoach)",
        at_ms: 1_764_000_000_500,
    };
    door.set_consent(
        replica,
        sign,
        Consent::Given,
        &Resident {
            name: NAME.into(),
            contact: CONTACT.into(),
        },
    )
    .unwrap();
    visit.to_string()
}

/// `POST /api/requests` as `token`: the status and the JSON body.
async fn ask(app: &TestApp, token: &str, door: &Door, request: &str) -> (u16, serde_json::Value) {
    let response = app
        .http
        .post(app.url("/api/requests"))
        .bearer_auth(token)
        .json(&serde_json::json!({
            "street": door.street, "address": door.address, "request": request,
        }))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn an_erased_household_is_gone_from_every_byte_phone_and_export(backend: Backend) {
    let db = TestDb::new(backend).await;
    let app = spawn_app(&db).await;
    let (sanne, mirjam, els) = (
        app.sign_in("sanne").await,
        app.sign_in("mirjam").await,
        app.sign_in("els").await,
    );
    // Sanne records the household; Karim's phone and Els's laptop receive it.
    let mut sanne_phone = device();
    app.sync_as(&sanne, &mut sanne_phone).await;
    let (door, other) = doors(&sanne_phone);
    let visit = record_household(&mut sanne_phone, &door);
    app.sync_as(&sanne, &mut sanne_phone).await;
    let mut karim_phone = device();
    app.sync(&mut karim_phone).await;
    let mut els_laptop = device();
    app.sync_as(&els, &mut els_laptop).await;
    assert_eq!(
        found(&phone_bytes(&mut karim_phone), &GONE),
        vec![
            NAME,
            CONTACT,
            "MARKER-ZWALUW-7731",
            "WENS-9941",
            "ZORG-5521"
        ],
        "Karim's phone holds the household (not the corporation's moving wish)"
    );
    // The database holds every marker before: the scan below can fail.
    assert_eq!(
        found(&database_bytes(&db, backend).await, &GONE),
        GONE.to_vec()
    );

    // Karim goes offline and edits the household's notes and another door.
    let karim_door = Door::find(&karim_phone, door.street, door.address).unwrap();
    karim_door
        .set_notes(
            &mut karim_phone,
            visit.parse().unwrap(),
            &format!("{NOTES} {OFFLINE}"),
        )
        .unwrap();
    let karim_other = Door::find(&karim_phone, other.street, other.address).unwrap();
    let other_visit = VisitRecord {
        street: other.street,
        address: other.address,
        author: "Karim (coach zorg)".into(),
        at_ms: 1_764_000_100_000,
        outcome: Outcome::Talked,
        return_on: None,
        notes: OTHER_DOOR.into(),
        contribution: String::new(),
        wishes: vec![],
        signals: vec![],
    }
    .record(&mut karim_phone)
    .unwrap();
    let _ = karim_other;

    // A builder may not record the request; Mirjam (corporation's coordinator) does.
    let (status, body) = ask(&app, &sanne, &door, "erasure").await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"], "forbidden");
    let started = std::time::Instant::now();
    let (status, body) = ask(&app, &mirjam, &door, "erasure").await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["request"], "erasure");
    assert!(
        started.elapsed().as_secs() < 60,
        "carried out within a minute"
    );

    // No byte of it in the database.
    let bytes = database_bytes(&db, backend).await;
    assert_eq!(
        found(&bytes, &GONE),
        Vec::<&str>::new(),
        "erased from the database files"
    );

    // Sanne's phone drops the household at its next sync, and says so.
    let received = app.sync_as(&sanne, &mut sanne_phone).await;
    assert!(
        received.gone.iter().any(|g| g.gone.address == door.address),
        "{received:?}"
    );
    assert!(
        received.gone.iter().all(|g| !g.lost_unsent()),
        "Sanne had nothing unsent"
    );
    assert_eq!(
        found(&phone_bytes(&mut sanne_phone), &GONE),
        Vec::<&str>::new()
    );
    // The street she holds is the one made anew: the visit at no door, the wish without
    // its text, the door's household in its next epoch.
    let street: Street = docs::read(&sanne_phone.street(door.street).unwrap().doc).unwrap();
    assert_eq!(street.visits[&visit].address, "");
    assert!(street.wishes.values().all(|w| w.text != WISH));
    assert_eq!(
        street.addresses[&door.address.to_string()].household_epoch,
        1
    );
    assert!(matches!(
        sanne_phone.street_kind(door.street),
        DocKind::Street { epoch: 1, .. }
    ));
    app.sync_as(&els, &mut els_laptop).await;
    assert_eq!(
        found(&phone_bytes(&mut els_laptop), &GONE),
        Vec::<&str>::new()
    );

    // Karim comes back: the other door's edits arrive, the household stays erased, and
    // his phone says his unsent note for it was not kept.
    let received = app.sync(&mut karim_phone).await;
    let departed: Vec<_> = received
        .gone
        .iter()
        .filter(|g| g.gone.address == door.address)
        .collect();
    assert!(departed.iter().any(|g| g.lost_unsent()), "{received:?}");
    app.sync(&mut karim_phone).await;
    assert_eq!(
        found(
            &phone_bytes(&mut karim_phone),
            &[GONE.as_slice(), &[OFFLINE]].concat()
        ),
        Vec::<&str>::new()
    );
    let mut fresh = device();
    app.sync(&mut fresh).await;
    let street: Street = docs::read(&fresh.street(door.street).unwrap().doc).unwrap();
    assert_eq!(
        street.visits[&other_visit.to_string()].address,
        other.address.to_string(),
        "the other door's visit arrived"
    );
    let fresh_bytes = phone_bytes(&mut fresh);
    assert!(
        contains(&fresh_bytes, OTHER_DOOR),
        "the other door's notes arrived"
    );
    assert_eq!(
        found(&fresh_bytes, &[GONE.as_slice(), &[OFFLINE]].concat()),
        Vec::<&str>::new()
    );

    // An old copy offered again is refused for ever: gone, and nothing stored.
    let mut old = karim_phone.clone();
    let old_household = door.household();
    old.open(old_household);
    let request = old.request();
    let response = app.exchange(&request).await.unwrap();
    let reply = response
        .docs
        .iter()
        .find(|r| r.id == old_household.id())
        .unwrap();
    assert!(matches!(reply.status, ReplyStatus::Gone(_)), "{reply:?}");
    assert_eq!(
        found(
            &database_bytes(&db, backend).await,
            &[GONE.as_slice(), &[OFFLINE]].concat()
        ),
        Vec::<&str>::new()
    );

    // No export holds it: the access request for the door finds nothing of the household,
    // and the report's workbook neither.
    let export = app
        .http
        .get(app.url(&format!(
            "/api/access-request?street={}&address={}",
            door.street, door.address
        )))
        .bearer_auth(&mirjam)
        .send()
        .await
        .unwrap();
    assert_eq!(export.status(), 200);
    let export = export.bytes().await.unwrap();
    assert_eq!(found(&export, &GONE), Vec::<&str>::new());
    let report = app
        .http
        .get(app.url(&format!(
            "/api/report.csv?table=wensen&texts=true&streets={}",
            door.street
        )))
        .bearer_auth(&mirjam)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(found(&report, &GONE), Vec::<&str>::new());

    // The register and the audit log say what was asked, by whom, for which door; no
    // content.
    let register: serde_json::Value = app
        .http
        .get(app.url(&format!("/api/requests?street={}", door.street)))
        .bearer_auth(&mirjam)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(register[0]["address"], door.address.to_string());
    assert_eq!(register[0]["request"], "erasure");
    let audit = app.store.audit_log(50).await.unwrap();
    let actions: BTreeSet<&str> = audit
        .iter()
        .filter(|line| line.address == Some(door.address))
        .map(|line| line.action.as_str())
        .collect();
    assert!(
        actions.contains("asked_erasure") && actions.contains("carried_out"),
        "{actions:?}"
    );
}

async fn a_withdrawn_consent_takes_the_name_and_keeps_the_notes(backend: Backend) {
    let db = TestDb::new(backend).await;
    let app = spawn_app(&db).await;
    let (sanne, joost) = (app.sign_in("sanne").await, app.sign_in("joost").await);
    let mut sanne_phone = device();
    app.sync_as(&sanne, &mut sanne_phone).await;
    let (door, _) = doors(&sanne_phone);
    let visit = record_household(&mut sanne_phone, &door);
    app.sync_as(&sanne, &mut sanne_phone).await;
    // Karim's phone holds it and, offline, adds to the notes.
    let mut karim_phone = device();
    app.sync(&mut karim_phone).await;
    let karim_door = Door::find(&karim_phone, door.street, door.address).unwrap();
    karim_door
        .set_notes(
            &mut karim_phone,
            visit.parse().unwrap(),
            &format!("{NOTES} {OFFLINE}"),
        )
        .unwrap();
    assert!(contains(&database_bytes(&db, backend).await, NAME));

    let (status, body) = ask(&app, &joost, &door, "consent_withdrawn").await;
    assert_eq!(status, 201, "{body}");
    let bytes = database_bytes(&db, backend).await;
    assert_eq!(
        found(&bytes, &[NAME, CONTACT]),
        Vec::<&str>::new(),
        "the name left every history"
    );
    assert!(contains(&bytes, "MARKER-ZWALUW-7731"), "the notes stay");

    // Both phones move to the household's next epoch; Karim's unsent notes come along
    // and merge.
    let received = app.sync_as(&sanne, &mut sanne_phone).await;
    assert!(!received.gone.is_empty());
    app.sync_as(&sanne, &mut sanne_phone).await;
    assert_eq!(
        found(&phone_bytes(&mut sanne_phone), &[NAME, CONTACT]),
        Vec::<&str>::new()
    );
    let received = app.sync(&mut karim_phone).await;
    assert!(
        received.gone.iter().all(|g| !g.lost_unsent()),
        "{received:?}"
    );
    app.sync(&mut karim_phone).await;
    app.sync_as(&sanne, &mut sanne_phone).await;
    let moved = Door::find(&sanne_phone, door.street, door.address).unwrap();
    assert_eq!(moved.epoch, 1);
    let household: Household =
        docs::read(&sanne_phone.get(&moved.household().id()).unwrap().doc).unwrap();
    assert_eq!(household.consent, Consent::Withdrawn);
    assert!(household.resident.is_empty());
    let notes = household.conversations[&visit].notes.as_str().to_string();
    assert!(
        notes.contains("MARKER-ZWALUW-7731") && notes.contains(OFFLINE),
        "{notes}"
    );
    // The care signal moved with its household.
    let care = moved.confidential(voordeur_shared::model::Partner::CareOrganisation);
    assert!(contains(
        &karim_phone
            .get_mut(&care.id())
            .unwrap()
            .doc
            .save_nocompress(),
        "ZORG-5521"
    ));
    assert_eq!(
        holding(&db, backend, NAME).await,
        Vec::<String>::new(),
        "the name stays out of the database"
    );
}

async fn requests_are_checked_and_answered_in_json(backend: Backend) {
    let db = TestDb::new(backend).await;
    let app = spawn_app(&db).await;
    let (beheer, mirjam) = (app.sign_in("beheer").await, app.sign_in("mirjam").await);
    let mut phone = device();
    app.sync(&mut phone).await;
    let (door, _) = doors(&phone);
    let post = |token: &str, body: serde_json::Value| {
        app.http
            .post(app.url("/api/requests"))
            .bearer_auth(token.to_string())
            .json(&body)
            .send()
    };
    let cases = [
        (
            serde_json::json!({"street": door.street, "address": door.street, "request": "erasure"}),
            422,
        ),
        (
            serde_json::json!({"street": door.street, "address": door.address, "request": "forget"}),
            400,
        ),
        (
            serde_json::json!({"street": uuid::Uuid::nil(), "address": door.address, "request": "erasure"}),
            403,
        ),
    ];
    for (body, status) in cases {
        let response = post(&mirjam, body.clone()).await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{body}");
        let error: serde_json::Value = response.json().await.unwrap();
        assert!(error["error"].is_string(), "{error}");
    }
    let response = app
        .http
        .post(app.url("/api/requests"))
        .json(&serde_json::json!({"street": door.street, "address": door.address, "request": "erasure"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    // Nothing changed: no request in the register.
    let register: serde_json::Value = app
        .http
        .get(app.url(&format!("/api/requests?street={}", door.street)))
        .bearer_auth(&beheer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(register, serde_json::json!([]));
    // An administrator may record one.
    let (status, body) = ask(&app, &beheer, &door, "consent_withdrawn").await;
    assert_eq!(status, 201, "{body}");
    // The access request is the coordinators': as JSON and as a page.
    let page = app
        .http
        .get(app.url(&format!(
            "/api/access-request?street={}&address={}&format=html",
            door.street, door.address
        )))
        .bearer_auth(&mirjam)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("Inzage"));
    let refused = app
        .http
        .get(app.url(&format!(
            "/api/access-request?street={}&address={}",
            door.street, door.address
        )))
        .bearer_auth(&beheer)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
}

async fn untouched_households_are_listed_then_erased_after_the_notice(backend: Backend) {
    let db = TestDb::new(backend).await;
    let mut config = config(&db);
    // Every household is untouched for long enough, and the notice is over at once.
    config.retention_months = 0;
    config.retention_notice_days = 0;
    let app = spawn_app_with(config).await;
    let (sanne, beheer, mirjam) = (
        app.sign_in("sanne").await,
        app.sign_in("beheer").await,
        app.sign_in("mirjam").await,
    );
    let mut phone = device();
    app.sync_as(&sanne, &mut phone).await;
    let (door, _) = doors(&phone);
    record_household(&mut phone, &door);
    app.sync_as(&sanne, &mut phone).await;
    let list = |token: String| {
        let request = app
            .http
            .get(app.url("/api/admin/retention"))
            .bearer_auth(token)
            .send();
        async move {
            let response = request.await.unwrap();
            (
                response.status().as_u16(),
                response.json::<serde_json::Value>().await.unwrap(),
            )
        }
    };
    let (status, body) = list(mirjam.clone()).await;
    assert_eq!((status, body["error"].as_str()), (403, Some("forbidden")));
    // The administrator sees the door listed: nothing is erased before they did.
    let (status, listed) = list(beheer.clone()).await;
    assert_eq!(status, 200, "{listed}");
    let row = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["address"] == door.address.to_string())
        .unwrap_or_else(|| panic!("the door is listed: {listed}"));
    assert!(
        row["seen_ms"].is_i64() && row["erase_after_ms"].is_i64(),
        "{row}"
    );
    assert!(
        row["door"]
            .as_str()
            .unwrap()
            .ends_with(&door_number(&phone, &door)),
        "{row}"
    );
    assert!(contains(&database_bytes(&db, backend).await, NAME));
    // Once the notice period is over, the next sweep erases it.
    let (status, listed) = list(beheer.clone()).await;
    assert_eq!(status, 200, "{listed}");
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["address"] != door.address.to_string()),
        "{listed}"
    );
    assert_eq!(
        found(&database_bytes(&db, backend).await, &GONE),
        Vec::<&str>::new()
    );
    let register: serde_json::Value = app
        .http
        .get(app.url(&format!("/api/requests?street={}", door.street)))
        .bearer_auth(&beheer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(register[0]["request"], "erasure");
    assert_eq!(
        register[0]["asked_by"],
        uuid::Uuid::nil().to_string(),
        "the retention period"
    );
}

fn door_number(replica: &Replica, door: &Door) -> String {
    let street: Street = docs::read(&replica.street(door.street).unwrap().doc).unwrap();
    street.addresses[&door.address.to_string()].number.clone()
}

crate::on_both_backends!(
    untouched_households_are_listed_then_erased_after_the_notice,
    an_erased_household_is_gone_from_every_byte_phone_and_export,
    a_withdrawn_consent_takes_the_name_and_keeps_the_notes,
    requests_are_checked_and_answered_in_json,
);
