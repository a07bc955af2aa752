//! Test harness: a real server on port 0 over a fresh database (a SQLite file in its own
//! temp dir, or a PostgreSQL database created for the test and dropped after it), and
//! typed helpers to sync a device with it over HTTP.

use std::{collections::BTreeMap, net::SocketAddr, path::PathBuf};

use rand::{Rng, SeedableRng, rngs::SmallRng};
use sqlx::Connection;
use voordeur_server::{Application, Config, store::Store};
use voordeur_shared::{
    automerge::ChangeHash,
    demo,
    docs::{self, DocKind, DocumentId, new_actor},
    model::{Outcome, SignalKind, Street, Theme},
    record::VisitRecord,
    sync::{
        ReplyStatus, SyncRequest, SyncResponse,
        client::{Received, Replica},
        wire,
    },
};

pub const PG_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs the given async test body against SQLite, then PostgreSQL. PostgreSQL is skipped
/// with a message when it does not answer, unless `VOORDEUR_REQUIRE_POSTGRES=1` (as in CI).
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name($crate::helpers::Backend::Sqlite).await }) *
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                if $crate::helpers::postgres_available().await {
                    super::$name($crate::helpers::Backend::Postgres).await
                }
            }) *
        }
    };
}

pub async fn postgres_available() -> bool {
    sqlx::any::install_default_drivers();
    match sqlx::AnyConnection::connect(PG_ADMIN_URL).await {
        Ok(conn) => {
            let _ = conn.close().await;
            true
        }
        Err(e) => {
            assert!(
                std::env::var("VOORDEUR_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "PostgreSQL is required (VOORDEUR_REQUIRE_POSTGRES=1) but does not answer: {e}"
            );
            eprintln!("PostgreSQL skipped: it does not answer at {PG_ADMIN_URL} ({e})");
            false
        }
    }
}

/// A fresh, empty database for one test.
pub struct TestDb {
    pub url: String,
    pub dir: tempfile::TempDir,
    pg_name: Option<String>,
}

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        match backend {
            Backend::Sqlite => TestDb {
                url: format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("voordeur.db").display()
                ),
                dir,
                pg_name: None,
            },
            Backend::Postgres => {
                sqlx::any::install_default_drivers();
                let name = format!("voordeur_test_{}", uuid::Uuid::new_v4().simple());
                let mut conn = sqlx::AnyConnection::connect(PG_ADMIN_URL)
                    .await
                    .expect("postgres");
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await
                    .expect("create test database");
                let _ = conn.close().await;
                TestDb {
                    url: format!("postgres://postgres@127.0.0.1:5432/{name}"),
                    dir,
                    pg_name: Some(name),
                }
            }
        }
    }

    pub fn sqlite_file(&self) -> PathBuf {
        self.dir.path().join("voordeur.db")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(name) = self.pg_name.take() else {
            return;
        };
        // Drop runs outside any runtime we may block: use a thread with its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(async {
                let mut conn = sqlx::AnyConnection::connect(PG_ADMIN_URL).await?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn)
                    .await?;
                conn.close().await
            })
            .map_err(std::io::Error::other)
        })
        .join();
    }
}

pub struct TestApp {
    pub address: SocketAddr,
    pub http: reqwest::Client,
    pub store: Store,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
    /// The coach's session, used by the helpers without `_as`.
    pub token: String,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

pub fn config(db: &TestDb) -> Config {
    Config {
        listen: "127.0.0.1:0".parse().expect("address"),
        data_dir: db.dir.path().to_path_buf(),
        database_url: Some(db.url.clone()),
        body_limit: 1024 * 1024,
        app_dir: db.dir.path().join("app"),
        demo: true,
        session_hours: 16,
        retention_months: 12,
        retention_notice_days: 14,
        cache_mib: 256,
        max_syncs: None,
        trusted_proxies: Vec::new(),
        log_json: false,
    }
}

pub async fn spawn_app(db: &TestDb) -> TestApp {
    spawn_app_with(config(db)).await
}

pub async fn spawn_app_with(config: Config) -> TestApp {
    // Server logs in tests only on request: RUST_LOG=info cargo test …
    if std::env::var_os("RUST_LOG").is_some() {
        voordeur_server::telemetry::init(false);
    }
    let url = config.database_url();
    let app = Application::build(config).await.expect("server starts");
    let address = app.address();
    let server = tokio::spawn(app.run_until_stopped());
    let mut app = TestApp {
        address,
        http: reqwest::Client::new(),
        store: Store::connect(&url).await.expect("store"),
        server,
        token: String::new(),
    };
    app.token = app.sign_in(COACH).await;
    app
}

/// The demo's care coach: may read and write every document the tests make.
pub const COACH: &str = "karim";

/// What a sync over HTTP answered.
#[derive(Debug)]
pub struct HttpError {
    pub status: u16,
    pub body: serde_json::Value,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// Signs in as a demo person; the session's token.
    pub async fn sign_in(&self, username: &str) -> String {
        let response = self
            .http
            .post(self.url("/api/session"))
            .json(&serde_json::json!({ "username": username, "password": demo::PASSWORD }))
            .send()
            .await
            .expect("request reaches the server");
        assert_eq!(response.status(), 201, "{username} signs in");
        let body: serde_json::Value = response.json().await.expect("JSON");
        body["token"].as_str().expect("a token").to_string()
    }

    /// Posts raw bytes to the sync endpoint as the coach.
    pub async fn post_sync(&self, body: Vec<u8>) -> reqwest::Response {
        self.post_sync_as(&self.token, body).await
    }

    pub async fn post_sync_as(&self, token: &str, body: Vec<u8>) -> reqwest::Response {
        self.http
            .post(self.url("/api/sync"))
            .bearer_auth(token)
            .header("content-type", wire::CONTENT_TYPE)
            .body(body)
            .send()
            .await
            .expect("request reaches the server")
    }

    /// Sends `request` as the coach; the decoded response, or the JSON error.
    pub async fn exchange(&self, request: &SyncRequest) -> Result<SyncResponse, HttpError> {
        self.exchange_as(&self.token, request).await
    }

    pub async fn exchange_as(
        &self,
        token: &str,
        request: &SyncRequest,
    ) -> Result<SyncResponse, HttpError> {
        let response = self
            .post_sync_as(token, wire::encode_request(request))
            .await;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.expect("body");
        if status != 200 {
            let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
                panic!(
                    "error {status} without a JSON body: {}",
                    String::from_utf8_lossy(&bytes)
                )
            });
            return Err(HttpError { status, body });
        }
        Ok(wire::decode_response(&bytes, 256 << 20).expect("response decodes"))
    }

    /// One round trip for `replica`, as the coach.
    pub async fn sync(&self, replica: &mut Replica) -> Received {
        self.sync_as(&self.token, replica).await
    }

    pub async fn sync_as(&self, token: &str, replica: &mut Replica) -> Received {
        let request = replica.request();
        let response = self
            .exchange_as(token, &request)
            .await
            .expect("sync succeeds");
        let received = replica.receive(response);
        assert!(received.rejected.is_empty(), "{received:?}");
        received
    }

    /// Every document on the server, as a fresh device sees it after one sync.
    pub async fn server_heads(&self) -> BTreeMap<DocumentId, Vec<ChangeHash>> {
        let mut fresh = device();
        self.sync(&mut fresh).await;
        heads(&mut fresh)
    }
}

/// The documents `response` refuses, with the refusal's code and reason.
pub fn refusals(response: &SyncResponse) -> Vec<(DocumentId, String, String)> {
    response
        .docs
        .iter()
        .filter_map(|reply| match &reply.status {
            ReplyStatus::Refused { code, reason } => Some((reply.id, code.clone(), reason.clone())),
            _ => None,
        })
        .collect()
}

/// A device that follows the demo street.
pub fn device() -> Replica {
    let mut replica = Replica::new(new_actor());
    replica.follow(demo::street_id());
    replica
}

pub fn heads(replica: &mut Replica) -> BTreeMap<DocumentId, Vec<ChangeHash>> {
    let ids: Vec<DocumentId> = replica.docs().map(|(id, _)| *id).collect();
    ids.into_iter()
        .map(|id| (id, replica.get_mut(&id).expect("doc").doc.get_heads()))
        .collect()
}

pub fn street_kind() -> DocKind {
    DocKind::Street {
        street: demo::street_id(),
        epoch: 0,
    }
}

pub fn street_of(replica: &Replica) -> Street {
    docs::read(
        &replica
            .get(&street_kind().id())
            .expect("street on device")
            .doc,
    )
    .expect("street reads")
}

/// Records a visit with notes, a wish and sometimes a care signal, at a random address.
pub fn record_visit(replica: &mut Replica, rng: &mut SmallRng) -> String {
    let street = street_of(replica);
    let addresses: Vec<&String> = street.addresses.keys().collect();
    let address = addresses[rng.gen_range(0..addresses.len())]
        .parse()
        .expect("uuid");
    VisitRecord {
        street: demo::street_id(),
        address,
        author: "Sanne de Vries".into(),
        at_ms: 1_764_000_000_000 + rng.gen_range(0..1_000_000),
        outcome: Outcome::Talked,
        return_on: None,
        notes: "Bewoner wil graag meer groen voor de deur en kent de buren nog niet.".into(),
        contribution: "Wil helpen bij een plantdag".into(),
        wishes: vec![(Theme::Greenery, "Plantenbakken bij de ingang".into())],
        signals: if rng.gen_bool(0.3) {
            vec![(
                SignalKind::CareNeed,
                "Heeft hulp nodig bij administratie".into(),
            )]
        } else {
            vec![]
        },
    }
    .record(replica)
    .expect("visit records")
    .to_string()
}

pub fn rng(seed: u64) -> SmallRng {
    SmallRng::seed_from_u64(seed)
}
