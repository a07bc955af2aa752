//! The picture and report benchmark (issue 13): prints the figures recorded in
//! docs/benchmarks.md.
//!
//! 1. The picture of a street with 10,000 visits (2,000 wishes, 500 signals): computed in
//!    process, and over HTTP from the real server on SQLite as a coordinator's laptop asks
//!    for it (`GET /api/picture`, the documents parsed from storage every time).
//! 2. The steering group's report of 10 such streets: every picture, the tables and the
//!    workbook, with the process's peak memory before and after.
//! 3. The push: a phone records and syncs 100 times while a coordinator's connection
//!    listens on `/api/events`; the delay from the start of each sync to the push.
//! 4. A resident's erasure in the street of 10,000 visits, over HTTP on SQLite: from the
//!    request to the answer, the street made anew and the database file vacuumed.
//!
//! Run with `cargo bench -p voordeur-server --bench report`.

// A benchmark that hits an error has nothing to report: it stops with the message.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng, rngs::SmallRng};
use uuid::Uuid;
use voordeur_server::{Application, Config, people, store::Store};
use voordeur_shared::{
    automerge::AutoCommit,
    demo,
    docs::{self, DocKind, new_actor},
    layout::StreetPlan,
    model::{FollowUpStatus, Outcome, Partner, Signal, SignalKind, Street, Theme, Visit, Wish},
    record::VisitRecord,
    report::{self, Documents, Period, Picture, Viewer},
    sync::{client::Replica, wire},
};

const VISITS: usize = 10_000;
const OUTCOMES: [Outcome; 4] = [
    Outcome::Talked,
    Outcome::NotHome,
    Outcome::Refused,
    Outcome::ComeBackLater,
];

/// A street and its confidential documents, as the server holds them.
struct BigStreet {
    id: Uuid,
    street: AutoCommit,
    confidential: Vec<(DocKind, AutoCommit)>,
}

/// A street of the demo's layout with `VISITS` visits over a year: every fifth with a
/// wish, every twentieth with a signal.
fn big_street(seed: u64) -> BigStreet {
    let street = Uuid::from_u128(0xb16_0000 + u128::from(seed));
    let mut plan: StreetPlan = demo::plan();
    plan.name = format!("Straat {seed}");
    let (kind, mut doc) = plan.build(street, new_actor()).unwrap();
    let value: Street = docs::read(&doc).unwrap();
    let addresses: Vec<String> = value.addresses.keys().cloned().collect();
    let mut rng = SmallRng::seed_from_u64(seed);
    let start = 1_764_000_000_000_i64;
    let mut confidential: std::collections::BTreeMap<DocKind, AutoCommit> =
        std::collections::BTreeMap::new();
    for i in 0..VISITS {
        let address = addresses[rng.gen_range(0..addresses.len())].clone();
        let visit = Uuid::now_v7().to_string();
        let at_ms = start + (i as i64) * 3_000_000;
        let outcome = OUTCOMES[rng.gen_range(0..OUTCOMES.len())];
        let v = Visit {
            address: address.clone(),
            author: "Sanne".into(),
            at_ms,
            outcome,
            return_on: None,
        };
        docs::put_entry(&mut doc, docs::VISITS, &visit, &v).unwrap();
        if i % 5 == 0 {
            let wish = Wish {
                visit: visit.clone(),
                theme: Theme::ALL[rng.gen_range(0..Theme::ALL.len())],
                text: format!("Wens {i}"),
                status: voordeur_shared::model::WishStatus::Open,
                owner: None,
            };
            docs::put_entry(&mut doc, docs::WISHES, &docs::new_id(), &wish).unwrap();
        }
        if i % 20 == 0 {
            let kind = if i % 40 == 0 {
                SignalKind::CareNeed
            } else {
                SignalKind::MovingWish
            };
            let partner = kind.partner();
            let held_kind = DocKind::Confidential {
                street,
                address: address.parse().unwrap(),
                epoch: 0,
                partner,
            };
            let held = confidential
                .entry(held_kind)
                .or_insert_with(|| held_kind.genesis(new_actor()));
            let signal = Signal {
                visit,
                kind,
                text: format!("Signaal {i}"),
                status: FollowUpStatus::New,
                note: None,
                picked_by: None,
                picked_at_ms: None,
                moved_ms: None,
            };
            docs::put_entry(held, docs::SIGNALS, &docs::new_id(), &signal).unwrap();
        }
        if i % 500 == 499 {
            doc.commit();
        }
    }
    doc.commit();
    kind.validate(&doc).unwrap();
    let confidential = confidential
        .into_iter()
        .map(|(kind, mut doc)| {
            doc.commit();
            (kind, doc)
        })
        .collect();
    BigStreet {
        id: street,
        street: doc,
        confidential,
    }
}

fn read(big: &BigStreet, viewer: Viewer) -> Picture {
    let partner = |kind: &DocKind| match kind {
        DocKind::Confidential { partner, .. } => *partner,
        _ => unreachable!("only confidential documents"),
    };
    let documents = Documents {
        street: &big.street,
        confidential: big
            .confidential
            .iter()
            .map(|(k, d)| (partner(k), d))
            .collect(),
    };
    Picture::read(&documents, Period::default(), viewer, 1_800_000_000_000).unwrap()
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

/// The process's peak resident memory so far, in MiB (Linux).
fn peak_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

async fn start(
    data_dir: &std::path::Path,
) -> (
    std::net::SocketAddr,
    tokio::task::JoinHandle<anyhow::Result<()>>,
    String,
) {
    let database_url = format!(
        "sqlite://{}?mode=rwc",
        data_dir.join("voordeur.db").display()
    );
    let app = Application::build(Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: data_dir.to_path_buf(),
        database_url: Some(database_url.clone()),
        body_limit: 64 << 20,
        app_dir: data_dir.join("app"),
        demo: true,
        session_hours: 16,
        retention_months: 12,
        retention_notice_days: 14,
        cache_mib: 256,
        max_syncs: None,
        trusted_proxies: Vec::new(),
        log_json: false,
    })
    .await
    .unwrap();
    let address = app.address();
    (address, tokio::spawn(app.run_until_stopped()), database_url)
}

async fn sign_in(http: &reqwest::Client, address: std::net::SocketAddr, username: &str) -> String {
    let session: serde_json::Value = http
        .post(format!("http://{address}/api/session"))
        .json(&serde_json::json!({ "username": username, "password": demo::PASSWORD }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    session["token"].as_str().unwrap().to_string()
}

#[tokio::main]
async fn main() {
    // 1. One street, in process.
    let built = Instant::now();
    let mut big = big_street(1);
    println!(
        "street of {VISITS} visits, {} confidential documents, built in {:.1?}; {} KiB saved",
        big.confidential.len(),
        built.elapsed(),
        big.street.save().len() / 1024
    );
    let mut times = Vec::new();
    let mut picture = None;
    for _ in 0..5 {
        let started = Instant::now();
        picture = Some(read(&big, Viewer::Partner(Partner::Municipality)));
        times.push(started.elapsed());
    }
    let json = serde_json::to_vec(&picture.unwrap()).unwrap();
    println!(
        "picture in process: median {:.1?} of 5 ({} KiB of JSON)",
        median(times),
        json.len() / 1024
    );

    // Over HTTP, from the real server's storage.
    let data = tempfile::tempdir().unwrap();
    let (address, task, database_url) = start(data.path()).await;
    let store = Store::connect(&database_url).await.unwrap();
    let street_id = big.id;
    store
        .create(
            DocKind::Street {
                street: street_id,
                epoch: 0,
            },
            &mut big.street,
        )
        .await
        .unwrap();
    for (kind, doc) in &mut big.confidential {
        store.create(*kind, doc).await.unwrap();
    }
    people::assign(&store, "joost", street_id).await.unwrap();
    let http = reqwest::Client::new();
    let token = sign_in(&http, address, "joost").await;
    let mut times = Vec::new();
    for _ in 0..10 {
        let started = Instant::now();
        let response = http
            .get(format!("http://{address}/api/picture?street={street_id}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{}", response.status());
        let _ = response.bytes().await.unwrap();
        times.push(started.elapsed());
    }
    times.sort();
    println!(
        "picture over HTTP (SQLite, parsed from storage each time): median {:.1?}, slowest {:.1?} of 10",
        median(times.clone()),
        times[times.len() - 1]
    );

    // 2. The steering group's report of 10 streets.
    let streets: Vec<BigStreet> = (2..12).map(big_street).collect();
    let before = peak_mib();
    let started = Instant::now();
    let pictures: Vec<Picture> = streets
        .iter()
        .map(|big| read(big, Viewer::SteeringGroup))
        .collect();
    let tables = report::tables(&pictures, true);
    let workbook = voordeur_server::report::workbook(&tables).unwrap();
    let took = started.elapsed();
    println!(
        "report of 10 streets x {VISITS} visits: {took:.1?} ({} KiB workbook); peak memory {before:.0} MiB before, {:.0} MiB after",
        workbook.len() / 1024,
        peak_mib()
    );

    // 3. The push: 100 syncs by a phone, a coordinator listening.
    let mut listen = http
        .get(format!("http://{address}/api/events"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let sanne = sign_in(&http, address, "sanne").await;
    let mut phone = Replica::new(new_actor());
    phone.follow(demo::street_id());
    let sync = async |phone: &mut Replica| {
        for _ in 0..4 {
            let body = wire::encode_request(&phone.request());
            let bytes = http
                .post(format!("http://{address}/api/sync"))
                .bearer_auth(&sanne)
                .header("content-type", wire::CONTENT_TYPE)
                .body(body)
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            let response = wire::decode_response(&bytes, 256 << 20).unwrap();
            if !phone.receive(response).again {
                break;
            }
        }
    };
    sync(&mut phone).await;
    let value: Street = docs::read(
        &phone
            .get(
                &DocKind::Street {
                    street: demo::street_id(),
                    epoch: 0,
                }
                .id(),
            )
            .unwrap()
            .doc,
    )
    .unwrap();
    let doors: Vec<Uuid> = value.addresses.keys().map(|a| a.parse().unwrap()).collect();
    let mut delays = Vec::new();
    for i in 0..100 {
        VisitRecord {
            street: demo::street_id(),
            address: doors[i % doors.len()],
            author: "Sanne".into(),
            at_ms: 1_800_000_000_000 + i as i64,
            outcome: Outcome::Talked,
            return_on: None,
            notes: String::new(),
            contribution: String::new(),
            wishes: Vec::new(),
            signals: Vec::new(),
        }
        .record(&mut phone)
        .unwrap();
        let started = Instant::now();
        let pushed = async {
            loop {
                let chunk = listen.chunk().await.unwrap().unwrap();
                if String::from_utf8_lossy(&chunk).contains("event: changed") {
                    return started.elapsed();
                }
            }
        };
        let (delay, ()) = tokio::join!(pushed, sync(&mut phone));
        delays.push(delay);
    }
    delays.sort();
    println!(
        "push from a phone's sync to the coordinator's connection, 100 syncs: p50 {:.1?}, p99 {:.1?}",
        percentile(&delays, 0.5),
        percentile(&delays, 0.99)
    );

    // 4. A resident's erasure in the street of 10,000 visits: the street made anew
    // without the household, the bytes scrubbed (SQLite's VACUUM), answered.
    people::assign(&store, "mirjam", street_id).await.unwrap();
    let mirjam = sign_in(&http, address, "mirjam").await;
    let street: Street = docs::read(&big.street).unwrap();
    let file = data.path().join("voordeur.db");
    let size_before = std::fs::metadata(&file).unwrap().len();
    let mut doors: Vec<&String> = street.addresses.keys().collect();
    doors.sort();
    let mut times = Vec::new();
    for door in doors.iter().take(3) {
        let started = Instant::now();
        let response = http
            .post(format!("http://{address}/api/requests"))
            .bearer_auth(&mirjam)
            .json(
                &serde_json::json!({ "street": street_id, "address": door, "request": "erasure" }),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
        times.push(started.elapsed());
    }
    times.sort();
    println!(
        "erasure of one household in a street of {VISITS} visits (SQLite, {} MiB file before, {} MiB after): median {:.1?}, slowest {:.1?} of 3 (goal: 1 minute)",
        size_before >> 20,
        std::fs::metadata(&file).unwrap().len() >> 20,
        median(times.clone()),
        times[times.len() - 1]
    );
    task.abort();
}
