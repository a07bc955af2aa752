//! The load tool: phones × streets × time against real server processes, over real HTTP.
//!
//! `cargo xtask load [options]` (or `cargo bench -p voordeur-server --bench load -- …`):
//!
//! - `--backend sqlite|postgres` (sqlite), `--servers N` (1; several need postgres): the
//!   server binary, built for release, runs as N processes on one fresh database;
//! - `--streets S` (1) of 43 doors each, one community builder's account per street;
//! - `--phones P` (50), phone `p` in street `p % S`; each receives its street, then
//!   records a visit and syncs, `--syncs K` times (10) or for `--seconds T`;
//! - `--clients C` (2): the phones run in C client processes of their own (this binary,
//!   `--client`), apart from the servers; each phone sends each request to one of the
//!   servers at random, as a load balancer would;
//! - `--compression deflate|brotli` (deflate: the field app's);
//! - `--connections N` (500): afterwards, N push streams (`GET /api/events`) are opened on
//!   the first server, and its memory measured before and after.
//!
//! It prints throughput, the sync's latency percentiles (each request until its answer
//! is read; a 503 retried counts as one more request), the servers' CPU per sync and
//! peak memory (from `/proc`), when a coordinator's open push stream on the first server
//! hears each write (against the moment the writing phone read its answer: the write was
//! committed before), and the push streams' memory. docs/benchmarks.md has the figures.

#![allow(clippy::unwrap_used, clippy::print_stdout, clippy::print_stderr)]

use std::{
    collections::BTreeMap,
    io::{BufRead, BufReader, Write},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use rand::{Rng, SeedableRng, rngs::SmallRng};
use sqlx::Connection;
use uuid::Uuid;
use voordeur_server::{
    people::{self, AccountForm},
    store::Store,
};
use voordeur_shared::{
    access::Role,
    docs::{DocumentId, new_actor},
    layout::{ComplexPlan, StreetPlan},
    model::{Outcome, Partner, Street, Theme},
    record::VisitRecord,
    sync::{Hash, client::Replica, wire},
};

const PG_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const PASSWORD: &str = "load-test-password";

#[derive(Debug, Clone)]
struct Options {
    backend: String,
    servers: usize,
    streets: usize,
    phones: usize,
    syncs: Option<usize>,
    seconds: Option<u64>,
    clients: usize,
    compression: wire::Compression,
    connections: usize,
}

impl Options {
    fn parse(args: &[String]) -> Options {
        let mut options = Options {
            backend: "sqlite".into(),
            servers: 1,
            streets: 1,
            phones: 50,
            syncs: None,
            seconds: None,
            clients: 2,
            compression: wire::Compression::Deflate,
            connections: 500,
        };
        let mut args = args.iter().filter(|a| *a != "--bench");
        while let Some(flag) = args.next() {
            let mut value = || {
                args.next()
                    .unwrap_or_else(|| panic!("{flag} needs a value"))
                    .clone()
            };
            match flag.as_str() {
                "--backend" => options.backend = value(),
                "--servers" => options.servers = value().parse().unwrap(),
                "--streets" => options.streets = value().parse().unwrap(),
                "--phones" => options.phones = value().parse().unwrap(),
                "--syncs" => options.syncs = Some(value().parse().unwrap()),
                "--seconds" => options.seconds = Some(value().parse().unwrap()),
                "--clients" => options.clients = value().parse().unwrap(),
                "--compression" => {
                    options.compression = match value().as_str() {
                        "deflate" => wire::Compression::Deflate,
                        "brotli" => wire::Compression::Brotli,
                        other => panic!("--compression deflate|brotli, not {other}"),
                    }
                }
                "--connections" => options.connections = value().parse().unwrap(),
                other => panic!("unknown option {other} (see the head of server/benches/load.rs)"),
            }
        }
        assert!(
            options.backend == "sqlite" || options.backend == "postgres",
            "--backend sqlite|postgres"
        );
        assert!(
            options.servers == 1 || options.backend == "postgres",
            "several servers share a PostgreSQL database"
        );
        assert!(options.streets >= 1 && options.phones >= options.streets);
        if options.syncs.is_none() && options.seconds.is_none() {
            options.syncs = Some(10);
        }
        options
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    if args.first().map(String::as_str) == Some("--client") {
        runtime.block_on(client(&args[1..]));
    } else {
        runtime.block_on(load(Options::parse(&args)));
    }
}

// ---------------------------------------------------------------------------------------
// The servers.

struct ServerProcess {
    child: Child,
    base: String,
}

impl ServerProcess {
    fn spawn(database_url: &str, data_dir: &Path, index: usize) -> ServerProcess {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = std::fs::File::create(data_dir.join(format!("server-{index}.log"))).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_voordeur-server"))
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--database-url", database_url])
            .arg("--app-dir")
            .arg(data_dir.join("app"))
            .arg("--log-json")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("the server binary starts");
        ServerProcess {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    /// Its CPU time so far (user and system).
    fn cpu(&self) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap();
        // The fields after the command's name, which ends in the last ')'.
        let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
        let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
        // The kernel's clock ticks are 100 a second on Linux.
        Duration::from_millis(ticks * 10)
    }

    /// A line of `/proc/<pid>/status`, in KiB (`VmHWM`: peak resident memory).
    fn memory_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.trim_start_matches(':').split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn wait_ready(http: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(response) = http.get(format!("{base}/healthz")).send().await
            && response.status() == 200
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the server at {base} did not answer within a minute");
}

async fn sign_in(http: &reqwest::Client, base: &str, username: &str) -> String {
    let response = http
        .post(format!("{base}/api/session"))
        .json(&serde_json::json!({ "username": username, "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "{username} signs in");
    let body: serde_json::Value = response.json().await.unwrap();
    body["token"].as_str().unwrap().to_string()
}

/// The streets (43 doors each: two complexes and three businesses, as the demo's), one
/// community builder per street and one coordinator of them all; the streets' ids.
async fn set_up(database_url: &str, streets: usize) -> Vec<Uuid> {
    let store = Store::connect(database_url).await.unwrap();
    people::create_organisation(&store, "Gemeente", Partner::Municipality)
        .await
        .unwrap();
    let account = |username: String, role| AccountForm {
        display_name: format!("Persoon {username}"),
        username,
        role,
        organisation: Some("Gemeente".into()),
        password: PASSWORD.into(),
    };
    people::create_account(&store, account("coordinator".into(), Role::Coordinator))
        .await
        .unwrap();
    let mut ids = Vec::new();
    for n in 0..streets {
        let plan = StreetPlan {
            name: format!("Straat {n}"),
            complexes: vec![
                ComplexPlan {
                    name: "Noord".into(),
                    floors: 4,
                    doors_per_floor: 5,
                    first_number: 1,
                    businesses: vec!["1A".into(), "1B".into(), "1C".into()],
                },
                ComplexPlan {
                    name: "Zuid".into(),
                    floors: 4,
                    doors_per_floor: 5,
                    first_number: 41,
                    businesses: vec![],
                },
            ],
        };
        let street = people::create_street(&store, &plan).await.unwrap();
        let builder = format!("builder{n}");
        people::create_account(&store, account(builder.clone(), Role::CommunityBuilder))
            .await
            .unwrap();
        people::assign(&store, &builder, street).await.unwrap();
        people::assign(&store, "coordinator", street).await.unwrap();
        ids.push(street);
    }
    store.close().await;
    ids
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn unix_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros() as u64
}

/// A document at some heads, as a line: its id and its heads in hex.
fn written_key(id: &DocumentId, heads: &[Hash]) -> String {
    let mut heads: Vec<String> = heads
        .iter()
        .map(|h| h.0.iter().map(|b| format!("{b:02x}")).collect())
        .collect();
    heads.sort();
    format!("{id}:{}", heads.join(","))
}

async fn load(options: Options) {
    println!("load: {options:?}");
    let data = tempfile::tempdir().unwrap();
    let pg_name = format!("voordeur_load_{}", std::process::id());
    let database_url = if options.backend == "postgres" {
        let mut admin = sqlx::PgConnection::connect(PG_ADMIN_URL).await.unwrap();
        sqlx::query(&format!("CREATE DATABASE {pg_name}"))
            .execute(&mut admin)
            .await
            .unwrap();
        admin.close().await.unwrap();
        format!("postgres://postgres@127.0.0.1:5432/{pg_name}")
    } else {
        format!(
            "sqlite://{}?mode=rwc",
            data.path().join("voordeur.db").display()
        )
    };
    sqlx::any::install_default_drivers();
    let streets = set_up(&database_url, options.streets).await;

    let servers: Vec<ServerProcess> = (0..options.servers)
        .map(|i| ServerProcess::spawn(&database_url, data.path(), i))
        .collect();
    let http = reqwest::Client::new();
    for server in &servers {
        wait_ready(&http, &server.base).await;
    }
    let bases: Vec<String> = servers.iter().map(|s| s.base.clone()).collect();
    // Sessions first (a password check is costly on purpose): one per street.
    let mut sessions = Vec::new();
    for (n, street) in streets.iter().enumerate() {
        let token = sign_in(&http, &bases[n % bases.len()], &format!("builder{n}")).await;
        sessions.push(format!("{street} {token}"));
    }
    let sessions_file = data.path().join("sessions");
    std::fs::write(&sessions_file, sessions.join("\n")).unwrap();

    // A coordinator's open push stream on the first server, of every street.
    let coordinator = sign_in(&http, &bases[0], "coordinator").await;
    let heard: Arc<Mutex<BTreeMap<String, u64>>> = Arc::default();
    let mut stream = http
        .get(format!("{}/api/events", bases[0]))
        .bearer_auth(&coordinator)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    let into = heard.clone();
    let listener = tokio::spawn(async move {
        #[derive(serde::Deserialize)]
        struct Pushed {
            document: DocumentId,
            heads: Vec<Hash>,
        }
        let mut buffer = String::new();
        while let Ok(Some(bytes)) = stream.chunk().await {
            let at = unix_micros();
            buffer.push_str(&String::from_utf8_lossy(&bytes));
            while let Some(end) = buffer.find("\n\n") {
                let event: String = buffer.drain(..end + 2).collect();
                let Some(data) = event.lines().find_map(|l| l.strip_prefix("data:")) else {
                    continue;
                };
                if let Ok(pushed) = serde_json::from_str::<Vec<Pushed>>(data.trim()) {
                    let mut heard = into.lock().unwrap();
                    for p in pushed {
                        heard
                            .entry(written_key(&p.document, &p.heads))
                            .or_insert(at);
                    }
                }
            }
        }
    });

    let cpu_before: Vec<Duration> = servers.iter().map(ServerProcess::cpu).collect();
    let started = Instant::now();
    let per_client = options.phones.div_ceil(options.clients);
    let mut clients = Vec::new();
    for c in 0..options.clients {
        let first = c * per_client;
        let count = per_client.min(options.phones.saturating_sub(first));
        if count == 0 {
            continue;
        }
        let mut command = Command::new(std::env::current_exe().unwrap());
        command
            .arg("--client")
            .args(["--bases", &bases.join(",")])
            .arg("--sessions")
            .arg(&sessions_file)
            .args(["--first", &first.to_string(), "--count", &count.to_string()])
            .args([
                "--compression",
                match options.compression {
                    wire::Compression::Deflate => "deflate",
                    _ => "brotli",
                },
            ]);
        if let Some(syncs) = options.syncs {
            command.args(["--syncs", &syncs.to_string()]);
        }
        if let Some(seconds) = options.seconds {
            command.args(["--seconds", &seconds.to_string()]);
        }
        clients.push(command.stdout(Stdio::piped()).spawn().unwrap());
    }
    // Each client prints one line per sync: its latency in µs, and the documents it wrote
    // with when the answer was read.
    let mut latencies = Vec::new();
    let mut writes: Vec<(String, u64)> = Vec::new();
    let readers: Vec<_> = clients
        .iter_mut()
        .map(|c| {
            let stdout = c.stdout.take().unwrap();
            std::thread::spawn(move || {
                let mut lines = Vec::new();
                for line in BufReader::new(stdout).lines() {
                    lines.push(line.unwrap());
                }
                lines
            })
        })
        .collect();
    for reader in readers {
        for line in reader.join().unwrap() {
            let mut parts = line.split(' ');
            match parts.next() {
                Some("sync") => {
                    latencies.push(Duration::from_micros(
                        parts.next().unwrap().parse().unwrap(),
                    ));
                }
                Some("wrote") => {
                    let answered: u64 = parts.next().unwrap().parse().unwrap();
                    writes.push((parts.next().unwrap().to_string(), answered));
                }
                _ => {}
            }
        }
    }
    for mut c in clients {
        assert!(c.wait().unwrap().success(), "a client failed");
    }
    let elapsed = started.elapsed();
    let cpu: Duration = servers
        .iter()
        .zip(&cpu_before)
        .map(|(s, before)| s.cpu() - *before)
        .sum();
    let peak_kib: Vec<u64> = servers.iter().map(|s| s.memory_kib("VmHWM")).collect();
    // The pushes: a second for the last ones to arrive.
    tokio::time::sleep(Duration::from_secs(1)).await;
    listener.abort();
    let heard = heard.lock().unwrap().clone();
    // Signed: the push goes out before the writer's answer, and may arrive first.
    let mut push_delays: Vec<i64> = Vec::new();
    let mut unheard = 0;
    for (key, answered) in &writes {
        match heard.get(key) {
            Some(at) => push_delays.push(*at as i64 - *answered as i64),
            None => unheard += 1,
        }
    }
    push_delays.sort();
    let ms = |q: f64| {
        if push_delays.is_empty() {
            return 0.0;
        }
        push_delays[((push_delays.len() - 1) as f64 * q).round() as usize] as f64 / 1000.0
    };
    latencies.sort();
    let syncs = latencies.len();
    println!(
        "{} phones in {} streets on {} server(s) ({}), {:?}: {syncs} syncs in {:.1} s: \
         {:.0} syncs/s; latency p50 {:.1?}, p95 {:.1?}, p99 {:.1?}, max {:.1?}",
        options.phones,
        options.streets,
        options.servers,
        options.backend,
        options.compression,
        elapsed.as_secs_f64(),
        syncs as f64 / elapsed.as_secs_f64(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.95),
        percentile(&latencies, 0.99),
        percentile(&latencies, 1.0),
    );
    println!(
        "server CPU: {:.2} s in all, {:.2} ms per sync; peak memory (VmHWM) per server: {} MiB",
        cpu.as_secs_f64(),
        cpu.as_secs_f64() * 1000.0 / syncs.max(1) as f64,
        peak_kib
            .iter()
            .map(|k| format!("{:.1}", *k as f64 / 1024.0))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "pushes to a coordinator's stream on the first server: {} of {} writes heard \
         ({unheard} not); the push arrived, after the writing phone read its answer \
         (negative: before), p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        push_delays.len(),
        writes.len(),
        ms(0.5),
        ms(0.99),
        ms(1.0),
    );

    // Open push streams: memory per connection.
    if options.connections > 0 {
        let server = &servers[0];
        let before = server.memory_kib("VmRSS");
        let mut open = Vec::new();
        for _ in 0..options.connections {
            let response = reqwest::Client::new()
                .get(format!("{}/api/events", server.base))
                .bearer_auth(&coordinator)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            open.push(response);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let after = server.memory_kib("VmRSS");
        let per = (after.saturating_sub(before) as f64 * 1024.0) / options.connections as f64;
        println!(
            "{} open push streams on one server: {:.1} MiB more resident memory, {:.1} KiB \
             each: {:.0} per GiB",
            options.connections,
            after.saturating_sub(before) as f64 / 1024.0,
            per / 1024.0,
            if per > 0.0 {
                (1u64 << 30) as f64 / per
            } else {
                f64::INFINITY
            }
        );
        drop(open);
    }

    drop(servers);
    // From the servers' log lines: how many documents a sync parsed from storage because
    // the cache did not hold them at their heads.
    let (mut logged, mut parsed) = (0, 0);
    for i in 0..options.servers {
        let log = std::fs::read_to_string(data.path().join(format!("server-{i}.log")))
            .unwrap_or_default();
        for line in log.lines() {
            let Ok(line) = serde_json::from_str::<serde_json::Value>(line) else {
                continue;
            };
            if line["fields"]["message"] == "synced" {
                logged += 1;
                parsed += line["fields"]["parsed"].as_u64().unwrap_or(0);
            }
        }
    }
    println!("documents parsed from storage (not in the cache): {parsed} in {logged} syncs");
    if options.backend == "postgres" {
        let mut admin = sqlx::PgConnection::connect(PG_ADMIN_URL).await.unwrap();
        sqlx::query(&format!("DROP DATABASE IF EXISTS {pg_name} WITH (FORCE)"))
            .execute(&mut admin)
            .await
            .unwrap();
    }
    std::io::stdout().flush().unwrap();
}

// ---------------------------------------------------------------------------------------
// A client process: some of the phones.

async fn client(args: &[String]) {
    let mut bases = Vec::new();
    let (mut sessions_file, mut first, mut count) = (PathBuf::new(), 0usize, 0usize);
    let (mut syncs, mut seconds) = (None, None);
    let mut compression = wire::Compression::Deflate;
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        let value = args.next().unwrap().clone();
        match flag.as_str() {
            "--bases" => bases = value.split(',').map(String::from).collect(),
            "--sessions" => sessions_file = value.into(),
            "--first" => first = value.parse().unwrap(),
            "--count" => count = value.parse().unwrap(),
            "--syncs" => syncs = Some(value.parse::<usize>().unwrap()),
            "--seconds" => seconds = Some(Duration::from_secs(value.parse().unwrap())),
            "--compression" => {
                compression = if value == "brotli" {
                    wire::Compression::Brotli
                } else {
                    wire::Compression::Deflate
                }
            }
            other => panic!("unknown client option {other}"),
        }
    }
    let sessions: Vec<(Uuid, String)> = std::fs::read_to_string(&sessions_file)
        .unwrap()
        .lines()
        .map(|l| {
            let (street, token) = l.split_once(' ').unwrap();
            (street.parse().unwrap(), token.to_string())
        })
        .collect();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .build()
        .unwrap();
    let out = Arc::new(Mutex::new(std::io::BufWriter::new(std::io::stdout())));
    let deadline = seconds.map(|s| Instant::now() + s);
    let mut phones = Vec::new();
    for p in first..first + count {
        let (street, token) = sessions[p % sessions.len()].clone();
        let (http, bases, out) = (http.clone(), bases.clone(), out.clone());
        phones.push(tokio::spawn(async move {
            let mut phone = Phone {
                replica: Replica::new(new_actor()),
                addresses: Vec::new(),
                rng: SmallRng::seed_from_u64(p as u64),
                street,
                token,
                http,
                bases,
                compression,
                out,
            };
            phone.replica.follow(street);
            phone.sync().await;
            // The street's doors, read once (as the app's walk list is).
            let kind = phone.replica.street_kind(street);
            let held: Street =
                voordeur_shared::docs::read(&phone.replica.get(&kind.id()).unwrap().doc).unwrap();
            phone.addresses = held.addresses.keys().map(|a| a.parse().unwrap()).collect();
            let mut done = 0;
            loop {
                if syncs.is_some_and(|n| done >= n) || deadline.is_some_and(|d| Instant::now() >= d)
                {
                    break;
                }
                phone.record();
                phone.sync().await;
                done += 1;
            }
        }));
    }
    for phone in phones {
        phone.await.unwrap();
    }
    out.lock().unwrap().flush().unwrap();
}

struct Phone {
    replica: Replica,
    addresses: Vec<Uuid>,
    rng: SmallRng,
    street: Uuid,
    token: String,
    http: reqwest::Client,
    bases: Vec<String>,
    compression: wire::Compression,
    out: Arc<Mutex<std::io::BufWriter<std::io::Stdout>>>,
}

impl Phone {
    /// A visit as the app records one: an outcome, a sentence of notes, sometimes a wish.
    fn record(&mut self) {
        let address = self.addresses[self.rng.gen_range(0..self.addresses.len())];
        let wish = self.rng.gen_bool(0.3);
        VisitRecord {
            street: self.street,
            address,
            author: "Load".into(),
            at_ms: 1_764_000_000_000 + self.rng.gen_range(0..86_400_000),
            outcome: [Outcome::Talked, Outcome::NotHome, Outcome::Refused]
                [self.rng.gen_range(0..3)],
            return_on: None,
            notes: "Bewoner wil graag meer groen bij de ingang en kent de buren nog niet.".into(),
            contribution: String::new(),
            wishes: if wish {
                vec![(Theme::Greenery, "Plantenbakken bij de ingang".into())]
            } else {
                vec![]
            },
            signals: vec![],
        }
        .record(&mut self.replica)
        .unwrap();
    }

    /// Syncs until the server has nothing more to ask; a 503 (two phones creating one
    /// document at once) is retried.
    async fn sync(&mut self) {
        for _ in 0..20 {
            let request = self.replica.request();
            let written: Vec<DocumentId> = request
                .docs
                .iter()
                .filter(|o| !o.changes.is_empty())
                .map(|o| o.id)
                .collect();
            let body = wire::encode_request_as(&request, self.compression);
            let base = &self.bases[self.rng.gen_range(0..self.bases.len())];
            let started = Instant::now();
            let response = self
                .http
                .post(format!("{base}/api/sync"))
                .bearer_auth(&self.token)
                .header("content-type", wire::CONTENT_TYPE)
                .body(body)
                .send()
                .await
                .unwrap();
            let status = response.status();
            let bytes = response.bytes().await.unwrap();
            let latency = started.elapsed();
            let answered = unix_micros();
            writeln!(self.out.lock().unwrap(), "sync {}", latency.as_micros()).unwrap();
            if status == 503 {
                continue;
            }
            assert!(
                status.is_success(),
                "{status}: {}",
                String::from_utf8_lossy(&bytes)
            );
            let response = wire::decode_response(&bytes, 256 << 20).unwrap();
            let received = self.replica.receive(response);
            assert!(received.rejected.is_empty(), "{:?}", received.rejected);
            {
                let mut out = self.out.lock().unwrap();
                for id in &written {
                    let doc = &mut self.replica.get_mut(id).unwrap().doc;
                    let heads: Vec<Hash> = doc.get_heads().into_iter().map(Hash::from).collect();
                    writeln!(out, "wrote {answered} {}", written_key(id, &heads)).unwrap();
                }
            }
            if !received.again {
                return;
            }
        }
        panic!("a sync did not settle in 20 round trips");
    }
}
