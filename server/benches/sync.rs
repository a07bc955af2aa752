//! Sync benchmark: prints the figures recorded in docs/benchmarks.md.
//!
//! 1. A phone that was offline recorded 100 visits (about 200 characters of notes each)
//!    while the server gained 100 visits from another phone; then the phone syncs over HTTP.
//!    Round trips, bytes up and down, and request time; and, on the same documents in the
//!    same run, automerge's own sync protocol (`automerge::sync`) between stateless peers.
//! 2. Throughput: 50 phones syncing at once, each recording a visit and syncing 10 times,
//!    on SQLite and on PostgreSQL (skipped with a message when PostgreSQL does not answer).
//!
//! Run with `cargo xtask bench` (or `cargo bench -p voordeur-server --bench sync`).

// A benchmark that hits an error has nothing to report: it stops with the message.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::{
    collections::BTreeSet,
    time::{Duration, Instant},
};

use rand::{Rng, SeedableRng, rngs::SmallRng};
use sqlx::Connection;
use voordeur_server::{Application, Config};
use voordeur_shared::{
    automerge::{
        AutoCommit,
        sync::{State, SyncDoc},
    },
    demo,
    docs::{DocKind, DocumentId, new_actor},
    model::{Outcome, Street, Theme},
    record::VisitRecord,
    sync::{client::Replica, wire},
};

const PG_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const WORDS: &[&str] = &[
    "bewoner",
    "wil",
    "graag",
    "meer",
    "groen",
    "in",
    "de",
    "straat",
    "en",
    "een",
    "bankje",
    "bij",
    "ingang",
    "heeft",
    "last",
    "van",
    "overlast",
    "jongeren",
    "avond",
    "kent",
    "buren",
    "nog",
    "niet",
    "zou",
    "helpen",
    "met",
    "plantdag",
    "koffieochtend",
    "organiseren",
    "zorgen",
    "over",
    "renovatie",
    "lift",
    "vaak",
    "kapot",
    "kinderen",
    "spelen",
    "op",
    "parkeerplaats",
    "afval",
    "naast",
    "container",
    "terugkomen",
    "volgende",
    "week",
    "dinsdag",
    "middag",
];

fn notes(rng: &mut SmallRng) -> String {
    let mut text = String::new();
    while text.len() < 200 {
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(WORDS[rng.gen_range(0..WORDS.len())]);
    }
    text
}

fn device() -> Replica {
    let mut replica = Replica::new(new_actor());
    replica.follow(demo::street_id());
    replica
}

fn record(replica: &mut Replica, rng: &mut SmallRng) {
    let street_id = DocKind::Street {
        street: demo::street_id(),
        epoch: 0,
    }
    .id();
    let street: Street =
        voordeur_shared::docs::read(&replica.get(&street_id).unwrap().doc).unwrap();
    let addresses: Vec<&String> = street.addresses.keys().collect();
    let address = addresses[rng.gen_range(0..addresses.len())]
        .parse()
        .unwrap();
    VisitRecord {
        street: demo::street_id(),
        address,
        author: "Sanne de Vries".into(),
        at_ms: 1_764_000_000_000 + rng.gen_range(0..86_400_000),
        outcome: Outcome::Talked,
        return_on: None,
        notes: notes(rng),
        contribution: String::new(),
        wishes: vec![(Theme::Greenery, "Plantenbakken bij de ingang".into())],
        signals: vec![],
    }
    .record(replica)
    .unwrap();
}

struct Server {
    url: String,
    http: reqwest::Client,
    /// The demo care coach's session: may read and write every document the bench makes.
    token: String,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn start(database_url: String, data_dir: &std::path::Path) -> Server {
    let app = Application::build(Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: data_dir.to_path_buf(),
        database_url: Some(database_url),
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
    let task = tokio::spawn(app.run_until_stopped());
    let http = reqwest::Client::new();
    let session: serde_json::Value = http
        .post(format!("http://{address}/api/session"))
        .json(&serde_json::json!({ "username": "karim", "password": demo::PASSWORD }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    Server {
        url: format!("http://{address}/api/sync"),
        http,
        token: session["token"].as_str().unwrap().to_string(),
        task,
    }
}

#[derive(Default)]
struct Exchange {
    round_trips: usize,
    up: usize,
    down: usize,
    /// The same messages compressed as the field app's are (DEFLATE).
    up_deflate: usize,
    down_deflate: usize,
    time: Duration,
}

/// Syncs until the server has nothing more to ask; retries a 503 (contended creation).
async fn sync(server: &Server, replica: &mut Replica) -> Exchange {
    let mut exchange = Exchange::default();
    for _ in 0..10 {
        let request = replica.request();
        let body = wire::encode_request(&request);
        exchange.up_deflate += wire::encode_request_as(&request, wire::Compression::Deflate).len();
        let started = Instant::now();
        let response = server
            .http
            .post(&server.url)
            .bearer_auth(&server.token)
            .header("content-type", wire::CONTENT_TYPE)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        let status = response.status();
        let bytes = response.bytes().await.unwrap();
        exchange.time += started.elapsed();
        exchange.round_trips += 1;
        exchange.up += body.len();
        exchange.down += bytes.len();
        if status == 503 {
            continue;
        }
        assert!(
            status.is_success(),
            "{status}: {}",
            String::from_utf8_lossy(&bytes)
        );
        let response = wire::decode_response(&bytes, 256 << 20).unwrap();
        exchange.down_deflate +=
            wire::encode_response_as(&response, wire::Compression::Deflate).len();
        let received = replica.receive(response);
        if !received.again {
            return exchange;
        }
    }
    panic!("sync did not settle in 10 round trips");
}

/// automerge's own sync between two stateless peers, one document: (round trips, up, down).
fn automerge_sync(client: &mut AutoCommit, server: &mut AutoCommit) -> (usize, usize, usize) {
    let (mut client_state, mut server_state) = (State::new(), State::new());
    let (mut trips, mut up, mut down) = (0, 0, 0);
    for _ in 0..20 {
        let to_server = client.sync().generate_sync_message(&mut client_state);
        let sent = to_server.is_some();
        if let Some(message) = to_server {
            let bytes = message.encode();
            up += bytes.len();
            let message = voordeur_shared::automerge::sync::Message::decode(&bytes).unwrap();
            server
                .sync()
                .receive_sync_message(&mut server_state, message)
                .unwrap();
        }
        let to_client = server.sync().generate_sync_message(&mut server_state);
        let answered = to_client.is_some();
        if let Some(message) = to_client {
            let bytes = message.encode();
            down += bytes.len();
            let message = voordeur_shared::automerge::sync::Message::decode(&bytes).unwrap();
            client
                .sync()
                .receive_sync_message(&mut client_state, message)
                .unwrap();
        }
        if !sent && !answered {
            break;
        }
        trips += 1;
    }
    (trips, up, down)
}

fn kib(bytes: usize) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}

async fn offline_phone_catches_up() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("voordeur.db").display()
    );
    let server = start(url, dir.path()).await;
    let mut rng = SmallRng::seed_from_u64(2026);
    let (mut phone, mut other) = (device(), device());
    sync(&server, &mut phone).await;
    sync(&server, &mut other).await;
    for _ in 0..100 {
        record(&mut other, &mut rng);
        record(&mut phone, &mut rng);
    }
    sync(&server, &mut other).await;

    // The same documents for automerge's sync: the phone's copies and the server's.
    let mut snapshot = device();
    sync(&server, &mut snapshot).await;
    let ids: BTreeSet<DocumentId> = phone
        .docs()
        .map(|(id, _)| *id)
        .chain(snapshot.docs().map(|(id, _)| *id))
        .collect();
    let (mut am_trips, mut am_up, mut am_down) = (0, 0, 0);
    for id in &ids {
        let mut client = phone.get(id).map(|d| d.doc.clone()).unwrap_or_default();
        let mut server_doc = snapshot.get(id).map(|d| d.doc.clone()).unwrap_or_default();
        let (trips, up, down) = automerge_sync(&mut client, &mut server_doc);
        am_trips = am_trips.max(trips);
        am_up += up;
        am_down += down;
    }

    let unsynced = phone.unsynced();
    let ours = sync(&server, &mut phone).await;
    assert_eq!(phone.unsynced(), 0);
    let after: Street = voordeur_shared::docs::read(
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
    assert_eq!(after.visits.len(), 200);

    // An idle sync afterwards: nothing new on either side.
    let idle = sync(&server, &mut phone).await;

    println!(
        "## offline phone with 100 visits meets a server that gained 100 ({} documents, {unsynced} unsynced changes)",
        ids.len()
    );
    println!("| protocol | round trips | bytes up | bytes down | request time |");
    println!("|---|---|---|---|---|");
    println!(
        "| voordeur sync (HTTP, SQLite) | {} | {} | {} | {:.1} ms |",
        ours.round_trips,
        kib(ours.up),
        kib(ours.down),
        ours.time.as_secs_f64() * 1000.0
    );
    println!(
        "| the same messages with DEFLATE, as the field app sends them | {} | {} | {} | — |",
        ours.round_trips,
        kib(ours.up_deflate),
        kib(ours.down_deflate),
    );
    println!(
        "| automerge::sync, stateless peers, one session per document | {am_trips} | {} | {} | — |",
        kib(am_up),
        kib(am_down)
    );
    println!(
        "| voordeur, idle sync afterwards | {} | {} | {} | {:.1} ms |",
        idle.round_trips,
        kib(idle.up),
        kib(idle.down),
        idle.time.as_secs_f64() * 1000.0
    );
    println!(
        "\nbytes on the wire, voordeur / automerge sync: up {:.0}%, down {:.0}%, total {:.0}%\n",
        100.0 * ours.up as f64 / am_up as f64,
        100.0 * ours.down as f64 / am_down as f64,
        100.0 * (ours.up + ours.down) as f64 / (am_up + am_down) as f64
    );
    println!(
        "with DEFLATE (the field app): up {:.0}%, down {:.0}%, total {:.0}%\n",
        100.0 * ours.up_deflate as f64 / am_up as f64,
        100.0 * ours.down_deflate as f64 / am_down as f64,
        100.0 * (ours.up_deflate + ours.down_deflate) as f64 / (am_up + am_down) as f64
    );
}

async fn throughput(label: &str, database_url: String, data_dir: &std::path::Path) {
    const PHONES: usize = 50;
    const SYNCS: usize = 10;
    let server = std::sync::Arc::new(start(database_url, data_dir).await);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..PHONES {
        let server = server.clone();
        tasks.push(tokio::spawn(async move {
            let mut rng = SmallRng::seed_from_u64(i as u64);
            let mut phone = device();
            sync(&server, &mut phone).await;
            let mut times = Vec::new();
            for _ in 0..SYNCS {
                record(&mut phone, &mut rng);
                let exchange = sync(&server, &mut phone).await;
                times.push(exchange.time);
            }
            times
        }));
    }
    let mut times = Vec::new();
    for task in tasks {
        times.extend(task.await.unwrap());
    }
    let elapsed = started.elapsed();
    times.sort();
    let pct = |p: f64| {
        times[((times.len() as f64 * p) as usize).min(times.len() - 1)].as_secs_f64() * 1000.0
    };
    println!(
        "| {label} | {PHONES} | {} | {:.1} s | {:.0} syncs/s | {:.0} ms | {:.0} ms | {:.0} ms |",
        times.len(),
        elapsed.as_secs_f64(),
        times.len() as f64 / elapsed.as_secs_f64(),
        pct(0.5),
        pct(0.95),
        pct(1.0)
    );
}

#[tokio::main]
async fn main() {
    offline_phone_catches_up().await;
    if std::env::args().any(|a| a == "--wire-only") {
        return;
    }

    println!(
        "## 50 phones syncing at once (each: record a visit, sync; 10 times; client work in the same process)"
    );
    println!("| store | phones | syncs | wall time | throughput | p50 | p95 | max |");
    println!("|---|---|---|---|---|---|---|---|");
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("voordeur.db").display()
    );
    throughput("SQLite", url, dir.path()).await;

    sqlx::any::install_default_drivers();
    match sqlx::AnyConnection::connect(PG_ADMIN_URL).await {
        Ok(mut admin) => {
            let name = format!("voordeur_bench_{}", uuid::Uuid::new_v4().simple());
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut admin)
                .await
                .unwrap();
            let dir = tempfile::tempdir().unwrap();
            throughput(
                "PostgreSQL",
                format!("postgres://postgres@127.0.0.1:5432/{name}"),
                dir.path(),
            )
            .await;
            sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
                .execute(&mut admin)
                .await
                .unwrap();
        }
        Err(e) => println!("| PostgreSQL | skipped: {e} |"),
    }
}
