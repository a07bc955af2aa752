//! Scenario 3 over HTTP: the coordinators' picture and the steering group's report, on
//! both backends. Each coordinator's picture counts the signals of partners it may not
//! read only as "< 5"; the workbook and the CSV read back with the figures of the
//! documents, every small count hidden, no notes and no signal's text anywhere; every
//! read is audited; a street that is not the person's, or a request that does not read, is
//! a JSON error.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use voordeur_shared::{
    access::Role,
    demo,
    model::{FollowUpStatus, Partner},
    report::{Count, Picture, State},
};

use crate::{
    access::{make_people, seed, username},
    helpers::{Backend, TestDb, spawn_app},
};

const SECRETS: [&str; 3] = [
    "Gesprek over de tuin",
    "Hulp bij de post",
    "Wil kleiner wonen",
];

async fn get(app: &crate::helpers::TestApp, token: &str, path: &str) -> reqwest::Response {
    app.http
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .expect("request reaches the server")
}

fn signals_new(picture: &Picture, partner: Partner) -> Count {
    let row = picture
        .follow_ups
        .iter()
        .find(|f| f.partner == partner)
        .expect("a row per partner");
    let new = FollowUpStatus::ALL
        .iter()
        .position(|s| *s == FollowUpStatus::New)
        .unwrap();
    row.signals[new]
}

async fn the_picture_and_the_report_show_what_each_may_see(backend: Backend) {
    let db = TestDb::new(backend).await;
    let app = spawn_app(&db).await;
    make_people(&app).await;
    // One talk: a wish, a care need and a moving wish.
    seed(&app).await;
    let street = demo::street_id();

    let care = app
        .sign_in(&username(Role::Coordinator, Partner::CareOrganisation))
        .await;
    let response = get(&app, &care, &format!("/api/picture?street={street}")).await;
    assert_eq!(response.status(), 200);
    let body = response.text().await.unwrap();
    for secret in SECRETS {
        assert!(!body.contains(secret), "the picture holds {secret:?}");
    }
    let picture: Picture = serde_json::from_str(&body).unwrap();
    assert_eq!(picture.doors, 43);
    let talked = State::ALL.iter().position(|s| *s == State::Talked).unwrap();
    assert_eq!(picture.states[talked], 1);
    assert_eq!(picture.wishes[0].count, 1);
    assert_eq!(picture.wishes[0].wishes[0].text, "Meer groen");
    assert_eq!(
        signals_new(&picture, Partner::CareOrganisation),
        Count::Exact(1)
    );
    assert_eq!(signals_new(&picture, Partner::Corporation), Count::Small);

    // As printed for the steering group: its own counts protected too.
    let response = get(
        &app,
        &care,
        &format!("/api/picture?street={street}&view=report"),
    )
    .await;
    let report: Picture = response.json().await.unwrap();
    assert_eq!(
        signals_new(&report, Partner::CareOrganisation),
        Count::Small
    );
    assert_eq!(report.weeks.last().unwrap().reached, Count::Small);

    let municipality = app
        .sign_in(&username(Role::Coordinator, Partner::Municipality))
        .await;
    let response = get(
        &app,
        &municipality,
        &format!("/api/picture?street={street}"),
    )
    .await;
    let picture: Picture = response.json().await.unwrap();
    assert_eq!(
        signals_new(&picture, Partner::CareOrganisation),
        Count::Small
    );
    assert_eq!(signals_new(&picture, Partner::Corporation), Count::Small);

    // The steering group's workbook, read back.
    let response = get(
        &app,
        &municipality,
        &format!("/api/report.xlsx?streets={street}"),
    )
    .await;
    assert_eq!(response.status(), 200);
    let bytes = response.bytes().await.unwrap().to_vec();
    let mut workbook: Xlsx<_> =
        calamine::open_workbook_from_rs(Cursor::new(bytes.clone())).unwrap();
    assert_eq!(
        workbook.sheet_names(),
        [
            "Samenvatting",
            "Deuren",
            "Wensen per thema",
            "Opvolging",
            "Activiteiten",
            "Voortgang per week"
        ]
    );
    let summary = workbook.worksheet_range("Samenvatting").unwrap();
    assert_eq!(
        summary.get_value((1, 0)),
        Some(&Data::String(demo::STREET_NAME.into()))
    );
    assert_eq!(
        summary.get_value((1, 1)),
        Some(&Data::Float(43.0)),
        "all doors"
    );
    assert_eq!(
        summary.get_value((1, 2)),
        Some(&Data::String("< 5".into())),
        "one household spoken to: hidden"
    );
    assert_eq!(
        summary.get_value((1, 5)),
        Some(&Data::Float(1.0)),
        "one wish"
    );
    let doors = workbook.worksheet_range("Deuren").unwrap();
    // Per building: the one talked cell is hidden, and so is another, so that the shown
    // total gives neither away.
    let rows: Vec<Vec<String>> = (1..=2)
        .map(|r| {
            (0..8)
                .map(|c| {
                    doors
                        .get_value((r, c))
                        .map(ToString::to_string)
                        .unwrap_or_default()
                })
                .collect()
        })
        .collect();
    assert_eq!(
        rows.iter().filter(|row| row[4] == "< 5").count(),
        1,
        "{rows:?}"
    );
    for row in &rows {
        let hidden = row.iter().filter(|c| *c == "< 5").count();
        assert!(
            hidden != 1 || row[7] == "< 5",
            "a hidden cell given away: {row:?}"
        );
        assert!(row[7] == "22" || row[7] == "21", "{row:?}");
    }
    // No wishes' texts unless asked for.
    let text = String::from_utf8_lossy(&bytes).to_string();
    assert!(!text.contains("Meer groen"));
    let with_texts = get(
        &app,
        &municipality,
        &format!("/api/report.xlsx?streets={street}&texts=true"),
    )
    .await
    .bytes()
    .await
    .unwrap()
    .to_vec();
    let mut workbook: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(with_texts)).unwrap();
    let wishes = workbook.worksheet_range("Wensen per thema").unwrap();
    assert!(
        wishes
            .get_value((1, 4))
            .unwrap()
            .to_string()
            .contains("Meer groen")
    );
    for secret in SECRETS[..2].iter().chain(&SECRETS[2..]) {
        for sheet in workbook.sheet_names() {
            let range = workbook.worksheet_range(&sheet).unwrap();
            assert!(
                !range
                    .cells()
                    .any(|(_, _, v)| v.to_string().contains(secret)),
                "{sheet} holds {secret:?}"
            );
        }
    }

    // A table as CSV.
    let response = get(
        &app,
        &care,
        &format!("/api/report.csv?table=voortgang&streets={street}"),
    )
    .await;
    assert_eq!(response.status(), 200);
    let csv = response.text().await.unwrap();
    assert!(csv.starts_with("straat,week van,"), "{csv}");
    assert!(csv.contains("< 5"), "{csv}");

    // Bad requests are JSON errors and change nothing.
    for (path, status) in [
        (
            "/api/report.csv?table=notes&streets={street}".replace("{street}", &street.to_string()),
            422,
        ),
        ("/api/picture?street=not-a-uuid".to_string(), 400),
        (
            format!("/api/picture?street={}", uuid::Uuid::from_u128(9)),
            403,
        ),
        ("/api/report.xlsx?streets=".to_string(), 422),
        (
            format!("/api/picture?street={street}&from=2026-12-01&to=2026-11-01"),
            422,
        ),
        (format!("/api/picture?street={street}&view=everything"), 422),
    ] {
        let response = get(&app, &care, &path).await;
        assert_eq!(response.status(), status, "{path}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert!(body["error"].is_string(), "{path}: {body}");
    }

    // Every read is in the audit log, by street.
    let audit = app.store.audit_log(100).await.unwrap();
    let actions: Vec<&str> = audit.iter().map(|a| a.action.as_str()).collect();
    assert!(actions.contains(&"picture"), "{actions:?}");
    assert!(actions.contains(&"report"), "{actions:?}");
}

crate::on_both_backends!(the_picture_and_the_report_show_what_each_may_see);
