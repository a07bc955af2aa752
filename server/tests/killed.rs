//! Scenario 5 on the real process: the server binary is killed (SIGKILL) at random
//! moments while phones sync, on SQLite and on PostgreSQL, and started again on the same
//! database; the phones retry by themselves. Afterwards every change the server
//! acknowledged is stored, none is stored twice, every document loads and validates, the
//! stored heads are exact, every phone converges with the server, and the database passes
//! its integrity checks.
//!
//! A change is *acknowledged* when a 200 sync response reached a phone that merged the
//! document it was offered in (`ReplyStatus::Merged`): the heads the phone offered for it
//! must then be on the server, whatever happens to the process afterwards.
//!
//! **Several servers** (`two_servers_on_one_postgres_lose_and_double_nothing`): two server
//! processes on one PostgreSQL database, as behind one address that sends each request to
//! either; every phone's request goes to one of them at random, and the second is killed at
//! random moments while the first serves on. The same checks hold, and a coordinator's
//! open push stream on the first server hears every write the second acknowledged,
//! through PostgreSQL's `LISTEN/NOTIFY` (the delays are printed).
//!
//! `cargo test` kills the server 100 times per backend (`VOORDEUR_CRASH_KILLS` sets
//! another number; `cargo xtask crash --kills 1000` runs 1,000 and prints the figures
//! recorded in docs/crash-safety.md). The moments are drawn from a seed, printed at the
//! start; `VOORDEUR_CRASH_SEED` replays one (the same moments, not the same interleaving:
//! the processes' timing decides the rest). The server's log is kept in the test's temp
//! dir and its tail printed on failure.

#![allow(clippy::unwrap_used, clippy::print_stdout)]

#[path = "api/helpers.rs"]
#[allow(dead_code)]
mod helpers;

use std::{
    collections::{BTreeMap, BTreeSet},
    fs::File,
    io::{Read, Seek, SeekFrom, Write},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{
        Arc, Mutex, RwLock,
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use helpers::{Backend, TestDb};
use rand::{Rng, SeedableRng, rngs::SmallRng};
use sqlx::{Connection, Row};
use uuid::Uuid;
use voordeur_shared::{
    automerge::{ActorId, AutoCommit, ChangeHash},
    demo,
    docs::{DocKind, DocumentId, new_actor},
    ids::VisitId,
    model::{Outcome, Partner, SignalKind, Theme},
    record::{Door, VisitRecord},
    sync::{ReplyStatus, chunks::parse_changes, client::Replica, wire},
};

/// Kill points per backend in `cargo test`.
const DEFAULT_KILLS: usize = 100;
/// Of the kills, the share that lands while the server starts (migrations, seeding
/// check, binding), before it has answered its health check.
const STARTUP_KILL_SHARE: f64 = 0.1;
/// After the server answers (and, for half the kills, after it answered a sync), it is
/// killed within this many milliseconds (uniformly).
const MAX_RUN_MS: u64 = 250;
const AFTER_ACK_SHARE: f64 = 0.5;
/// The first kills land in the first starts, within this many milliseconds of each (the
/// demo's seeding takes about half a second in a debug build).
const FIRST_STARTS: usize = 5;
const FIRST_START_MS: u64 = 600;
/// A phone's pause after a failed attempt grows from 10 ms to this (the app's grows to
/// 30 s; here the server lives 125 ms on average between kills, and a phone that waits
/// longer than that syncs in few of its lives).
const MAX_PAUSE: Duration = Duration::from_millis(80);
/// A phone gives up (and the test fails) when it cannot sync for this long.
const SYNC_DEADLINE: Duration = Duration::from_secs(60);
/// The server must answer its health check this soon after it starts.
const START_DEADLINE: Duration = Duration::from_secs(30);

/// The phones: (username, whether the account reads confidential care documents).
/// Sanne, the community builder, writes care signals without reading them back.
const PHONES: [(&str, bool); 4] = [
    ("karim", true),
    ("karim", true),
    ("sanne", false),
    ("sanne", false),
];

fn kills() -> usize {
    std::env::var("VOORDEUR_CRASH_KILLS")
        .ok()
        .map(|v| v.parse().expect("VOORDEUR_CRASH_KILLS is a number"))
        .unwrap_or(DEFAULT_KILLS)
}

fn seed() -> u64 {
    std::env::var("VOORDEUR_CRASH_SEED")
        .ok()
        .map(|v| v.parse().expect("VOORDEUR_CRASH_SEED is a number"))
        .unwrap_or_else(rand::random)
}

// ---------------------------------------------------------------------------------------
// The server process.

/// The real `voordeur-server` binary on one database, started and killed at will. Drop
/// kills it: no test leaves a server behind.
struct ServerProcess {
    /// Which of the servers on the database (their places in [`Shared::bases`]).
    index: usize,
    db_url: String,
    data_dir: PathBuf,
    log: PathBuf,
    port: u16,
    child: Option<Child>,
    starts: usize,
}

impl ServerProcess {
    fn new(db: &TestDb, index: usize) -> ServerProcess {
        ServerProcess {
            index,
            db_url: db.url.clone(),
            data_dir: db.dir.path().to_path_buf(),
            log: db.dir.path().join(format!("server-{index}.log")),
            port: free_port(),
            child: None,
            starts: 0,
        }
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Starts the server on its port, without waiting for it to answer.
    fn spawn(&mut self) {
        assert!(self.child.is_none(), "the server is already running");
        self.starts += 1;
        let mut log = File::options()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        writeln!(log, "=== start {} on port {}", self.starts, self.port).unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_voordeur-server"));
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("VOORDEUR_") {
                command.env_remove(name);
            }
        }
        command
            .args(["--listen", &format!("127.0.0.1:{}", self.port)])
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(["--database-url", &self.db_url])
            .arg("--app-dir")
            .arg(self.data_dir.join("app"))
            .arg("--demo")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        self.child = Some(command.spawn().expect("the server binary starts"));
    }

    /// SIGKILL, and reaped.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Waits until the server answers `/healthz`. A server that exits while starting
    /// because its port was taken (by anything else on the machine) moves to a new port,
    /// which the phones learn through `bases`.
    async fn wait_ready(&mut self, http: &reqwest::Client, bases: &RwLock<Vec<String>>) {
        let deadline = Instant::now() + START_DEADLINE;
        loop {
            let url = format!("{}/healthz", self.base());
            if let Ok(response) = http.get(&url).send().await
                && response.status() == 200
            {
                return;
            }
            let exited = self
                .child
                .as_mut()
                .and_then(|child| child.try_wait().unwrap());
            if let Some(status) = exited {
                self.child = None;
                let tail = self.log_tail();
                assert!(
                    tail.contains("failed to listen"),
                    "the server exited while starting ({status}):\n{tail}"
                );
                self.port = free_port();
                bases.write().unwrap()[self.index] = self.base();
                self.spawn();
            }
            assert!(
                Instant::now() < deadline,
                "the server did not answer within {START_DEADLINE:?}:\n{}",
                self.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    fn log_tail(&self) -> String {
        log_tail(&self.log)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

fn log_tail(path: &Path) -> String {
    let Ok(mut file) = File::open(path) else {
        return String::new();
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = file.seek(SeekFrom::Start(len.saturating_sub(6000)));
    let mut tail = String::new();
    let _ = file.read_to_string(&mut tail);
    tail
}

/// A port free at this moment, on the loopback address only.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

// ---------------------------------------------------------------------------------------
// The phones.

/// What the phones and the killer share.
#[derive(Default)]
struct Shared {
    /// Where the servers are (a port changes only if it was taken).
    bases: RwLock<Vec<String>>,
    /// The killer is done: phones finish their sync and stop editing.
    stop: AtomicBool,
    /// Sync requests under way.
    in_flight: AtomicUsize,
    /// Per document, every head set some 200 response acknowledged.
    acked: Mutex<BTreeMap<DocumentId, BTreeSet<ChangeHash>>>,
    /// 200 responses.
    acknowledged: AtomicU64,
    /// Attempts that failed on the way (refused connection, reset, cut-off body) and
    /// were retried.
    retried: AtomicU64,
    /// 503 `contended` (two phones creating one document at once), retried.
    contended: AtomicU64,
    /// Changes the phones made (one per document an edit touched).
    changes: AtomicU64,
    /// With several servers: the writes a server other than the first acknowledged, each
    /// a document at the heads the sync left it, and when its request was sent.
    written_elsewhere: Mutex<Vec<(DocumentId, BTreeSet<ChangeHash>, Instant)>>,
}

impl Shared {
    /// Where a request goes: to any of the servers, as a load balancer would send it.
    fn server(&self, rng: &mut SmallRng) -> (usize, String) {
        let bases = self.bases.read().unwrap();
        let index = rng.gen_range(0..bases.len());
        (index, bases[index].clone())
    }
}

struct Phone {
    username: &'static str,
    reads_confidential: bool,
    token: String,
    replica: Replica,
    rng: SmallRng,
    addresses: Vec<Uuid>,
    /// This phone's visits: only their author edits their notes and wishes.
    visits: Vec<(Door, VisitId)>,
}

const WORDS: &[&str] = &[
    "bewoner", "wil", "graag", "meer", "groen", "bij", "de", "ingang", "kent", "buren", "nog",
    "niet", "helpen", "plantdag", "koffie", "lift", "kapot", "volgende", "week",
];

impl Phone {
    fn sentence(&mut self) -> String {
        let words = self.rng.gen_range(3..9);
        (0..words)
            .map(|_| WORDS[self.rng.gen_range(0..WORDS.len())])
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// One edit as the app makes them: a new visit (street, household and sometimes a
    /// confidential document), more notes, or a wish. Returns the changes it made.
    fn edit(&mut self) -> u64 {
        let choice = self.rng.gen_range(0..10);
        if self.visits.is_empty() || choice < 4 {
            let address = self.addresses[self.rng.gen_range(0..self.addresses.len())];
            let signal = self.rng.gen_bool(0.2);
            let notes = self.sentence();
            let record = VisitRecord {
                street: demo::street_id(),
                address,
                author: self.username.into(),
                at_ms: 1_764_000_000_000 + self.rng.gen_range(0..86_400_000),
                outcome: [Outcome::Talked, Outcome::NotHome, Outcome::Refused]
                    [self.rng.gen_range(0..3)],
                return_on: None,
                notes,
                contribution: String::new(),
                wishes: if self.rng.gen_bool(0.3) {
                    vec![(
                        Theme::Safety,
                        "Betere verlichting bij de fietsenstalling".into(),
                    )]
                } else {
                    vec![]
                },
                signals: if signal {
                    vec![(SignalKind::CareNeed, "Wil hulp bij de administratie".into())]
                } else {
                    vec![]
                },
            };
            let visit = record.record(&mut self.replica).expect("the visit records");
            let door = Door::find(&self.replica, demo::street_id(), address).unwrap();
            self.visits.push((door, visit));
            2 + u64::from(signal)
        } else {
            let (door, visit) = self.visits[self.rng.gen_range(0..self.visits.len())];
            if choice < 8 {
                let household = door.household().id();
                let notes: voordeur_shared::model::Household =
                    voordeur_shared::docs::read(&self.replica.get(&household).unwrap().doc)
                        .unwrap();
                let mut text = notes.conversations[&visit.to_string()]
                    .notes
                    .as_str()
                    .to_string();
                if text.len() > 2000 {
                    text.clear();
                }
                text.push_str(". ");
                text.push_str(&self.sentence());
                door.set_notes(&mut self.replica, visit, &text).unwrap();
            } else {
                door.add_wish(&mut self.replica, visit, Theme::Greenery, "Meer bankjes")
                    .unwrap();
            }
            1
        }
    }

    /// Syncs until a 200 response has been taken in (and any whole document the server
    /// asked for has been sent), retrying after failures with a growing pause.
    async fn sync(&mut self, http: &reqwest::Client, shared: &Shared) {
        let deadline = Instant::now() + SYNC_DEADLINE;
        let mut pause = Duration::from_millis(10);
        loop {
            assert!(
                Instant::now() < deadline,
                "a phone of {} could not sync for {SYNC_DEADLINE:?}",
                self.username
            );
            let request = self.replica.request();
            let offered: BTreeMap<DocumentId, Vec<ChangeHash>> = request
                .docs
                .iter()
                .map(|o| (o.id, o.heads.iter().map(|h| ChangeHash::from(*h)).collect()))
                .collect();
            let written: Vec<DocumentId> = request
                .docs
                .iter()
                .filter(|o| !o.changes.is_empty())
                .map(|o| o.id)
                .collect();
            let body = wire::encode_request(&request);
            let (server, base) = shared.server(&mut self.rng);
            let url = format!("{base}/api/sync");
            let sent = Instant::now();
            shared.in_flight.fetch_add(1, Ordering::SeqCst);
            let result = post(http, &url, &self.token, body).await;
            shared.in_flight.fetch_sub(1, Ordering::SeqCst);
            match result {
                Ok((200, bytes)) => {
                    let response =
                        wire::decode_response(&bytes, 256 << 20).expect("a 200 response decodes");
                    {
                        let mut acked = shared.acked.lock().unwrap();
                        for reply in &response.docs {
                            if reply.status == ReplyStatus::Merged
                                && let Some(heads) = offered.get(&reply.id)
                            {
                                acked.entry(reply.id).or_default().extend(heads);
                            }
                        }
                    }
                    shared.acknowledged.fetch_add(1, Ordering::Relaxed);
                    let merged: BTreeSet<DocumentId> = response
                        .docs
                        .iter()
                        .filter(|reply| reply.status == ReplyStatus::Merged)
                        .map(|reply| reply.id)
                        .collect();
                    let received = self.replica.receive(response);
                    assert!(received.rejected.is_empty(), "{:?}", received.rejected);
                    if server > 0 {
                        // What the sync wrote, at the heads it left: what the push says.
                        let mut elsewhere = shared.written_elsewhere.lock().unwrap();
                        for id in written.iter().filter(|id| merged.contains(id)) {
                            let held = self.replica.get_mut(id).unwrap();
                            if !self.reads_confidential
                                && matches!(held.kind, DocKind::Confidential { .. })
                            {
                                // Written, never read back: the phone is not at its heads.
                                continue;
                            }
                            let doc = &mut held.doc;
                            elsewhere.push((*id, doc.get_heads().into_iter().collect(), sent));
                        }
                    }
                    if received.again {
                        continue;
                    }
                    return;
                }
                Ok((503, _)) => {
                    shared.contended.fetch_add(1, Ordering::Relaxed);
                }
                Ok((status, bytes)) => panic!(
                    "a sync of {} got {status}: {}",
                    self.username,
                    String::from_utf8_lossy(&bytes)
                ),
                Err(_) => {
                    shared.retried.fetch_add(1, Ordering::Relaxed);
                }
            }
            let jitter = Duration::from_millis(self.rng.gen_range(0..10));
            tokio::time::sleep(pause + jitter).await;
            pause = (pause * 2).min(MAX_PAUSE);
        }
    }
}

/// One POST: the status and the whole body, or the transport's error (the server gone
/// before, while or after it read the request).
async fn post(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    body: Vec<u8>,
) -> Result<(u16, Vec<u8>), reqwest::Error> {
    let response = http
        .post(url)
        .bearer_auth(token)
        .header("content-type", wire::CONTENT_TYPE)
        .body(body)
        .send()
        .await?;
    let status = response.status().as_u16();
    Ok((status, response.bytes().await?.to_vec()))
}

async fn sign_in(http: &reqwest::Client, base: &str, username: &str) -> String {
    let response = http
        .post(format!("{base}/api/session"))
        .json(&serde_json::json!({ "username": username, "password": demo::PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "{username} signs in");
    let body: serde_json::Value = response.json().await.unwrap();
    body["token"].as_str().unwrap().to_string()
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

// ---------------------------------------------------------------------------------------
// The test.

async fn a_server_killed_at_random_moments_loses_and_doubles_nothing(backend: Backend) {
    crash_test(backend, 1, kills()).await;
}

/// Two servers on one PostgreSQL database; the second is killed, a third as often as the
/// one server of the crash test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_postgres_lose_and_double_nothing() {
    if helpers::postgres_available().await {
        crash_test(Backend::Postgres, 2, kills().div_ceil(3)).await;
    }
}

/// `servers` server processes on one database (the first is killed at random moments if
/// it is alone, else the last), `kills` times; see the module's documentation.
async fn crash_test(backend: Backend, servers: usize, kills: usize) {
    let seed = seed();
    let name = match (backend, servers) {
        (Backend::Sqlite, _) => "sqlite".to_string(),
        (Backend::Postgres, 1) => "postgres".to_string(),
        (Backend::Postgres, n) => format!("{n} servers on postgres"),
    };
    println!("crash test ({name}): {kills} kills, seed {seed} (VOORDEUR_CRASH_SEED)");
    let started = Instant::now();
    let db = TestDb::new(backend).await;
    let mut others: Vec<ServerProcess> = (0..servers - 1)
        .map(|index| ServerProcess::new(&db, index))
        .collect();
    let mut server = ServerProcess::new(&db, servers - 1);
    let shared = Arc::new(Shared {
        bases: RwLock::new(
            others
                .iter()
                .chain([&server])
                .map(ServerProcess::base)
                .collect(),
        ),
        ..Shared::default()
    });
    let http = http();
    // The servers that stay up start first (and set the database up).
    for other in &mut others {
        other.spawn();
        other.wait_ready(&http, &shared.bases).await;
    }
    let heard = match others.first() {
        Some(first) => Some(Heard::listen(&http, &first.base()).await),
        None => None,
    };
    let mut rng = SmallRng::seed_from_u64(seed);
    // The first kills land in the first starts (creating the tables, seeding the demo
    // street and people, hashing their passwords: each start goes on where the last one
    // was killed) or soon after.
    let (mut killed, mut in_flight_kills, mut startup_kills) = (0, 0, 0);
    for _ in 0..FIRST_STARTS.min(kills) {
        server.spawn();
        tokio::time::sleep(Duration::from_millis(rng.gen_range(0..FIRST_START_MS))).await;
        server.kill();
        killed += 1;
        startup_kills += 1;
    }
    server.spawn();
    server.wait_ready(&http, &shared.bases).await;

    let mut on_disk = OnDisk::new(&db.url).await;
    let mut tasks = Vec::new();
    for (username, reads_confidential) in PHONES {
        let base = server.base();
        let mut phone = Phone {
            username,
            reads_confidential,
            token: sign_in(&http, &base, username).await,
            replica: Replica::new(new_actor()),
            rng: SmallRng::seed_from_u64(rng.r#gen()),
            addresses: Vec::new(),
            visits: Vec::new(),
        };
        phone.replica.follow(demo::street_id());
        phone.sync(&http, &shared).await;
        phone.addresses = helpers::street_of(&phone.replica)
            .addresses
            .keys()
            .map(|a| a.parse().unwrap())
            .collect();
        let (shared, http) = (shared.clone(), http.clone());
        tasks.push(tokio::spawn(async move {
            while !shared.stop.load(Ordering::SeqCst) {
                let changes = phone.edit();
                shared.changes.fetch_add(changes, Ordering::Relaxed);
                phone.sync(&http, &shared).await;
                let pause = phone.rng.gen_range(0..10);
                tokio::time::sleep(Duration::from_millis(pause)).await;
            }
            phone
        }));
    }

    for _ in FIRST_STARTS.min(kills)..kills {
        if rng.gen_bool(STARTUP_KILL_SHARE) {
            // While it starts: the moment counts from the spawn.
            tokio::time::sleep(Duration::from_millis(rng.gen_range(0..40))).await;
            startup_kills += 1;
        } else {
            server.wait_ready(&http, &shared.bases).await;
            if rng.gen_bool(AFTER_ACK_SHARE) {
                // After a sync is answered: the phones always make progress, however
                // long a sync takes as the documents grow (and the kill may land in the
                // compaction that follows a commit, or in the next sync).
                let before = shared.acknowledged.load(Ordering::SeqCst);
                let deadline = Instant::now() + SYNC_DEADLINE;
                while shared.acknowledged.load(Ordering::SeqCst) == before {
                    assert!(
                        Instant::now() < deadline && !tasks.iter().any(|t| t.is_finished()),
                        "no sync was answered for {SYNC_DEADLINE:?}"
                    );
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
            tokio::time::sleep(Duration::from_millis(rng.gen_range(0..MAX_RUN_MS))).await;
        }
        if shared.in_flight.load(Ordering::SeqCst) > 0 {
            in_flight_kills += 1;
        }
        server.kill();
        killed += 1;
        // Before any phone can send it again: the database alone holds what was
        // acknowledged (a phone whose changes were acknowledged but lost would offer them
        // again when the server asks for everything, hiding the loss by the end).
        let acked = shared.acked.lock().unwrap().clone();
        if let Err(lost) = on_disk.holds(&acked).await {
            panic!(
                "after kill {killed}: {lost}\nserver log:\n{}",
                server.log_tail()
            );
        }
        if tasks.iter().any(|t| t.is_finished()) {
            break;
        }
        server.spawn();
    }
    if server.child.is_none() {
        server.spawn();
    }
    server.wait_ready(&http, &shared.bases).await;
    shared.stop.store(true, Ordering::SeqCst);
    let mut phones = Vec::new();
    for task in tasks {
        match tokio::time::timeout(SYNC_DEADLINE * 2, task).await {
            Ok(Ok(phone)) => phones.push(phone),
            Ok(Err(panic)) => panic!(
                "a phone failed: {panic}\nserver log:\n{}",
                server.log_tail()
            ),
            Err(_) => panic!("a phone did not stop"),
        }
    }
    assert_eq!(killed, kills, "every kill was made");

    // Everyone syncs twice more, the server up: each then holds what all others sent.
    for _ in 0..2 {
        for phone in &mut phones {
            phone.sync(&http, &shared).await;
        }
    }
    let mut fresh = Phone {
        username: "karim",
        reads_confidential: true,
        token: phones[0].token.clone(),
        replica: Replica::new(new_actor()),
        rng: SmallRng::seed_from_u64(0),
        addresses: Vec::new(),
        visits: Vec::new(),
    };
    fresh.replica.follow(demo::street_id());
    fresh.sync(&http, &shared).await;
    // The last kill: the checks read the database as a crash left it.
    server.kill();
    for other in &mut others {
        other.kill();
    }
    let pushes = heard.map(|heard| heard.check(&shared.written_elsewhere.lock().unwrap()));

    let stored = check_database(&db, backend).await;
    // Every acknowledged change is stored.
    let acked = std::mem::take(&mut *shared.acked.lock().unwrap());
    let mut acked_heads = 0;
    for (id, heads) in &acked {
        let changes = stored
            .changes
            .get(id)
            .unwrap_or_else(|| panic!("document {id} was acknowledged but is not stored"));
        for head in heads {
            assert!(
                changes.contains(head),
                "change {head} of document {id} was acknowledged but is not stored"
            );
            acked_heads += 1;
        }
    }
    assert!(
        stored.problems.is_empty(),
        "the stored documents:\n{}",
        stored.problems.join("\n")
    );
    // Every phone converged with the server, and so did a new phone.
    let mut phone_changes = 0;
    for phone in phones.iter_mut().chain([&mut fresh]) {
        assert_eq!(
            phone.replica.unsynced(),
            0,
            "{} has unsynced changes",
            phone.username
        );
        let reads = |kind: &DocKind| {
            phone.reads_confidential || !matches!(kind, DocKind::Confidential { .. })
        };
        let ids: Vec<DocumentId> = phone
            .replica
            .docs()
            .filter(|(_, d)| reads(&d.kind))
            .map(|(id, _)| *id)
            .collect();
        let held: BTreeMap<DocumentId, BTreeSet<ChangeHash>> = ids
            .into_iter()
            .map(|id| {
                let doc = &mut phone.replica.get_mut(&id).unwrap().doc;
                (id, doc.get_heads().into_iter().collect())
            })
            .collect();
        let expected: BTreeMap<DocumentId, BTreeSet<ChangeHash>> = stored
            .kinds
            .iter()
            .filter(|(_, kind)| reads(kind))
            .map(|(id, _)| (*id, stored.heads[id].clone()))
            .collect();
        assert_eq!(held, expected, "a phone of {} converged", phone.username);
        phone_changes += stored
            .by_actor
            .get(phone.replica.actor())
            .copied()
            .unwrap_or(0);
    }
    let made = shared.changes.load(Ordering::Relaxed);
    assert_eq!(
        phone_changes, made,
        "every change the phones made is stored, once"
    );

    println!(
        "crash test ({name}, seed {seed}): {killed} kills ({in_flight_kills} with a sync in flight, \
         {startup_kills} while starting), {} syncs acknowledged, {} attempts retried \
         (+{} contended), {made} changes made and stored, {acked_heads} acknowledged heads \
         checked, {} documents in {} chunks checked, {:.1} s",
        shared.acknowledged.load(Ordering::Relaxed),
        shared.retried.load(Ordering::Relaxed),
        shared.contended.load(Ordering::Relaxed),
        stored.kinds.len(),
        stored.chunks,
        started.elapsed().as_secs_f64()
    );
    if let Some(pushes) = pushes {
        println!("crash test ({name}): {pushes}");
    }
    drop(server);
}

/// A coordinator's open push stream (`GET /api/events`) on one server: each document at
/// the heads it was pushed at, and when it was first heard.
/// A document at some heads.
type At = (DocumentId, BTreeSet<ChangeHash>);

struct Heard {
    pushed: Arc<Mutex<BTreeMap<At, Instant>>>,
    reader: tokio::task::JoinHandle<()>,
}

impl Heard {
    async fn listen(http: &reqwest::Client, base: &str) -> Heard {
        #[derive(serde::Deserialize)]
        struct Pushed {
            document: DocumentId,
            heads: Vec<voordeur_shared::sync::Hash>,
        }
        let token = sign_in(http, base, "karim").await;
        // The stream stays open for the whole test: no timeout.
        let mut response = reqwest::Client::new()
            .get(format!("{base}/api/events"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let pushed = Arc::new(Mutex::new(BTreeMap::new()));
        let into = pushed.clone();
        let reader = tokio::spawn(async move {
            let mut buffer = String::new();
            while let Ok(Some(bytes)) = response.chunk().await {
                let now = Instant::now();
                buffer.push_str(&String::from_utf8_lossy(&bytes));
                while let Some(end) = buffer.find("\n\n") {
                    let event: String = buffer.drain(..end + 2).collect();
                    let Some(data) = event.lines().find_map(|l| l.strip_prefix("data:")) else {
                        continue;
                    };
                    let Ok(documents) = serde_json::from_str::<Vec<Pushed>>(data.trim()) else {
                        continue;
                    };
                    let mut pushed = into.lock().unwrap();
                    for document in documents {
                        let heads = document.heads.into_iter().map(ChangeHash::from).collect();
                        pushed.entry((document.document, heads)).or_insert(now);
                    }
                }
            }
        });
        Heard { pushed, reader }
    }

    /// Every write in `written` was pushed; the delays from each sync's request to the
    /// push, in words.
    fn check(self, written: &[(DocumentId, BTreeSet<ChangeHash>, Instant)]) -> String {
        self.reader.abort();
        let pushed = self.pushed.lock().unwrap();
        let mut delays: Vec<Duration> = written
            .iter()
            .map(|(id, heads, sent)| {
                let heard = pushed.get(&(*id, heads.clone())).unwrap_or_else(|| {
                    panic!("a write of document {id} through the second server was never pushed by the first")
                });
                heard.saturating_duration_since(*sent)
            })
            .collect();
        assert!(!delays.is_empty(), "the second server acknowledged writes");
        delays.sort();
        let at = |q: f64| delays[((delays.len() - 1) as f64 * q).round() as usize];
        format!(
            "{} writes through the second server, each pushed by the first: \
             from the request to the push p50 {:?}, p99 {:?}, max {:?}",
            delays.len(),
            at(0.5),
            at(0.99),
            at(1.0)
        )
    }
}

/// The changes stored, read straight from the database while the server is down; each
/// chunk is parsed once (chunks never change: compaction deletes them and writes a new
/// one).
struct OnDisk {
    postgres: bool,
    conn: sqlx::AnyConnection,
    chunks: BTreeMap<i64, (DocumentId, Vec<ChangeHash>)>,
}

impl OnDisk {
    async fn new(url: &str) -> OnDisk {
        sqlx::any::install_default_drivers();
        OnDisk {
            postgres: url.starts_with("postgres"),
            conn: sqlx::AnyConnection::connect(url).await.unwrap(),
            chunks: BTreeMap::new(),
        }
    }

    /// Whether every head of `acked` is in a stored chunk of its document.
    async fn holds(
        &mut self,
        acked: &BTreeMap<DocumentId, BTreeSet<ChangeHash>>,
    ) -> Result<(), String> {
        // One snapshot: on PostgreSQL the killed server's last statements may still be
        // finishing (a commit it sent, a compaction), and add or replace chunks meanwhile.
        let mut tx = self.conn.begin().await.unwrap();
        if self.postgres {
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                .execute(&mut *tx)
                .await
                .unwrap();
        }
        let ids: BTreeSet<i64> = sqlx::query("SELECT id FROM chunks")
            .fetch_all(&mut *tx)
            .await
            .unwrap()
            .iter()
            .map(|row| row.get("id"))
            .collect();
        self.chunks.retain(|id, _| ids.contains(id));
        for id in ids {
            if self.chunks.contains_key(&id) {
                continue;
            }
            let row = sqlx::query("SELECT doc_id, bytes FROM chunks WHERE id = $1")
                .bind(id)
                .fetch_one(&mut *tx)
                .await
                .unwrap();
            let doc: DocumentId = row.get::<String, _>("doc_id").parse().unwrap();
            let bytes: Vec<u8> = row.get("bytes");
            let changes = parse_changes(&bytes)
                .unwrap_or_else(|e| panic!("chunk {id} of {doc} does not parse: {e}"));
            self.chunks
                .insert(id, (doc, changes.iter().map(|c| c.hash()).collect()));
        }
        tx.rollback().await.unwrap();
        let mut stored: BTreeMap<DocumentId, BTreeSet<ChangeHash>> = BTreeMap::new();
        for (doc, hashes) in self.chunks.values() {
            stored.entry(*doc).or_default().extend(hashes);
        }
        for (doc, heads) in acked {
            for head in heads {
                if !stored.get(doc).is_some_and(|s| s.contains(head)) {
                    return Err(format!(
                        "change {head} of document {doc} was acknowledged but is not stored"
                    ));
                }
            }
        }
        Ok(())
    }
}

/// The database as the last kill left it, every document checked.
struct Stored {
    kinds: BTreeMap<DocumentId, DocKind>,
    /// Each document's heads (as its row says, and its chunks agree).
    heads: BTreeMap<DocumentId, BTreeSet<ChangeHash>>,
    /// Each document's changes.
    changes: BTreeMap<DocumentId, BTreeSet<ChangeHash>>,
    /// How many changes each actor wrote, over all documents.
    by_actor: BTreeMap<ActorId, u64>,
    chunks: usize,
    /// What is wrong with the stored documents (changes stored twice, heads that do not
    /// match), reported after the acknowledged changes are checked.
    problems: Vec<String>,
}

/// Reads every document and chunk straight from the database: each document loads, is
/// what its row says, validates, has exactly the stored heads, and no change is stored
/// twice (in two chunks, or twice in one); then the database's own integrity checks.
async fn check_database(db: &TestDb, backend: Backend) -> Stored {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&db.url).await.unwrap();
    let rows =
        sqlx::query("SELECT id, street_id, kind, address_id, epoch, partner, heads FROM documents")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    let mut stored = Stored {
        kinds: BTreeMap::new(),
        heads: BTreeMap::new(),
        changes: BTreeMap::new(),
        by_actor: BTreeMap::new(),
        chunks: 0,
        problems: Vec::new(),
    };
    let mut row_heads = BTreeMap::new();
    for row in &rows {
        let id: DocumentId = row.get::<String, _>("id").parse().unwrap();
        let street: Uuid = row.get::<String, _>("street_id").parse().unwrap();
        let address = || row.get::<String, _>("address_id").parse::<Uuid>().unwrap();
        let epoch = || u32::try_from(row.get::<i64, _>("epoch")).unwrap();
        let kind = match row.get::<String, _>("kind").as_str() {
            "street" => DocKind::Street { street, epoch: 0 },
            "household" => DocKind::Household {
                street,
                address: address(),
                epoch: epoch(),
            },
            "confidential" => DocKind::Confidential {
                street,
                address: address(),
                epoch: epoch(),
                partner: Partner::from_label(&row.get::<String, _>("partner")).unwrap(),
            },
            other => panic!("document {id} has an unknown kind {other}"),
        };
        assert_eq!(kind.id(), id, "document {id} is what its row says");
        let heads: BTreeSet<ChangeHash> = row
            .get::<Vec<u8>, _>("heads")
            .chunks_exact(32)
            .map(|h| ChangeHash(h.try_into().unwrap()))
            .collect();
        stored.kinds.insert(id, kind);
        row_heads.insert(id, heads);
    }
    let chunks = sqlx::query("SELECT doc_id, bytes FROM chunks ORDER BY doc_id, snapshot DESC, id")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    stored.chunks = chunks.len();
    let mut bytes: BTreeMap<DocumentId, Vec<u8>> = BTreeMap::new();
    let mut seen: BTreeMap<DocumentId, BTreeSet<ChangeHash>> = BTreeMap::new();
    for row in &chunks {
        let id: DocumentId = row.get::<String, _>("doc_id").parse().unwrap();
        let chunk: Vec<u8> = row.get("bytes");
        for change in parse_changes(&chunk).unwrap_or_else(|e| panic!("a chunk of {id}: {e}")) {
            if !seen.entry(id).or_default().insert(change.hash()) {
                stored.problems.push(format!(
                    "change {} of document {id} is stored twice",
                    change.hash()
                ));
            }
        }
        bytes.entry(id).or_default().extend_from_slice(&chunk);
    }
    assert_eq!(
        bytes.keys().collect::<Vec<_>>(),
        stored.kinds.keys().collect::<Vec<_>>(),
        "every document has chunks, every chunk a document"
    );
    for (id, kind) in &stored.kinds {
        let mut doc = AutoCommit::load(&bytes[id])
            .unwrap_or_else(|e| panic!("document {id} does not load: {e}"));
        kind.validate(&doc)
            .unwrap_or_else(|e| panic!("document {id} does not validate: {e}"));
        let heads: BTreeSet<ChangeHash> = doc.get_heads().into_iter().collect();
        if heads != row_heads[id] {
            stored.problems.push(format!(
                "document {id}'s heads are {:?} in its row, {heads:?} in its chunks",
                row_heads[id]
            ));
        }
        let changes = doc.get_changes(&[]);
        let hashes: BTreeSet<ChangeHash> = changes.iter().map(|c| c.hash()).collect();
        if hashes != seen[id] {
            stored.problems.push(format!(
                "document {id}: {} changes stored, {} in the document loaded (some wait for \
                 a missing dependency)",
                seen[id].len(),
                hashes.len()
            ));
        }
        let by_seq: BTreeSet<(ActorId, u64)> = changes
            .iter()
            .map(|c| (c.actor_id().clone(), c.seq()))
            .collect();
        assert_eq!(
            by_seq.len(),
            changes.len(),
            "document {id}: no (actor, seq) twice"
        );
        for change in &changes {
            *stored
                .by_actor
                .entry(change.actor_id().clone())
                .or_default() += 1;
        }
        stored.heads.insert(*id, heads);
        stored.changes.insert(*id, hashes);
    }
    // The seeding of the demo people, killed in the first starts, left no one without
    // their street.
    let streetless: Vec<String> = sqlx::query(
        "SELECT username FROM accounts WHERE role <> 'administrator' \
         AND id NOT IN (SELECT account_id FROM street_members)",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap()
    .iter()
    .map(|row| row.get("username"))
    .collect();
    if !streetless.is_empty() {
        stored.problems.push(format!(
            "demo people without their street after a killed start: {streetless:?}"
        ));
    }
    conn.close().await.unwrap();
    integrity_check(db, backend).await;
    stored
}

/// SQLite: `PRAGMA integrity_check` and `foreign_key_check`. PostgreSQL: amcheck's
/// `verify_heapam` on every table and `bt_index_parent_check` (with `heapallindexed`) on
/// every index of the schema.
async fn integrity_check(db: &TestDb, backend: Backend) {
    match backend {
        Backend::Sqlite => {
            let mut conn = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
            let result: Vec<String> = sqlx::query("PRAGMA integrity_check")
                .fetch_all(&mut conn)
                .await
                .unwrap()
                .iter()
                .map(|row| row.get(0))
                .collect();
            assert_eq!(result, ["ok"], "SQLite's integrity check");
            let violations = sqlx::query("PRAGMA foreign_key_check")
                .fetch_all(&mut conn)
                .await
                .unwrap();
            assert!(violations.is_empty(), "SQLite's foreign key check");
            conn.close().await.unwrap();
        }
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
            sqlx::query("CREATE EXTENSION IF NOT EXISTS amcheck")
                .execute(&mut conn)
                .await
                .expect("PostgreSQL's amcheck extension (contrib) is available");
            let tables: Vec<String> = sqlx::query_scalar(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname = 'public' AND c.relkind = 'r'",
            )
            .fetch_all(&mut conn)
            .await
            .unwrap();
            assert!(tables.contains(&"chunks".to_string()), "{tables:?}");
            for table in &tables {
                let corrupt: i64 =
                    sqlx::query_scalar("SELECT COUNT(*) FROM verify_heapam($1::text::regclass)")
                        .bind(table)
                        .fetch_one(&mut conn)
                        .await
                        .unwrap();
                assert_eq!(corrupt, 0, "amcheck finds table {table} corrupt");
            }
            let indexes: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM (SELECT bt_index_parent_check(c.oid, true) \
                 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
                 JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_am a ON a.oid = c.relam \
                 WHERE n.nspname = 'public' AND a.amname = 'btree') AS checked",
            )
            .fetch_one(&mut conn)
            .await
            .unwrap();
            assert!(indexes > 0, "amcheck checked the indexes");
            conn.close().await.unwrap();
        }
    }
}

crate::on_both_backends!(a_server_killed_at_random_moments_loses_and_doubles_nothing);
