//! Harness for browser tests: start the real server over a fresh SQLite database with the
//! demo street and the built field app, and drive headless Chromium against it.
//!
//! The app must be built first (`cargo xtask build-app`; `cargo xtask test` does it).

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::{Context, bail};
use voordeur_server::{Application, Config};

mod phone;
pub use phone::{Held, LAPTOP, PHONE, Phone, Screen, THE_APP, Tab};

/// The built field app.
pub fn app_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("e2e lives in the workspace")
        .join("app")
        .join("dist")
}

/// A server with its own data directory. It can be stopped and started again on the same
/// address, keeping its database: the phone's "no signal" in these tests is a server that
/// is really gone.
#[derive(Debug)]
pub struct Server {
    pub address: SocketAddr,
    data: tempfile::TempDir,
    body_limit: usize,
    /// The field app it serves.
    pub app: PathBuf,
    running: Option<Running>,
}

#[derive(Debug)]
struct Running {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Server {
    pub async fn start() -> anyhow::Result<Server> {
        Self::start_with_body_limit(8 << 20).await
    }

    /// A server that refuses sync requests larger than `body_limit` bytes.
    pub async fn start_with_body_limit(body_limit: usize) -> anyhow::Result<Server> {
        let app_dir = app_dir();
        if !app_dir.join("index.html").exists() {
            bail!(
                "the field app is not built at {}: run `cargo xtask build-app`",
                app_dir.display()
            );
        }
        let mut server = Server {
            address: "127.0.0.1:0".parse()?,
            data: tempfile::tempdir()?,
            body_limit,
            app: app_dir,
            running: None,
        };
        server.restart().await?;
        Ok(server)
    }

    /// Starts the server (again) on its address, over the same database.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        if self.running.is_some() {
            bail!("the server is already running");
        }
        let app = Application::build(self.config()).await?;
        self.address = app.address();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(app.run_until(async {
            let _ = stopped.await;
        }));
        self.running = Some(Running { stop, task });
        Ok(())
    }

    /// Stops the server and closes every connection to it.
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(running) = self.running.take() {
            let _ = running.stop.send(());
            tokio::time::timeout(Duration::from_secs(30), running.task)
                .await
                .context("the server did not stop within 30 s")???;
        }
        Ok(())
    }

    /// Adds a street of one small complex, with the given demo people working in it.
    pub async fn add_street(&self, name: &str, people: &[&str]) -> anyhow::Result<uuid::Uuid> {
        use voordeur_server::people;
        let config = self.config();
        let store = voordeur_server::store::Store::connect(&config.database_url()).await?;
        let plan = voordeur_shared::layout::StreetPlan {
            name: name.to_string(),
            complexes: vec!["Blok A:2x4:1".parse()?],
        };
        let street = people::create_street(&store, &plan).await?;
        for username in people {
            people::assign(&store, username, street).await?;
        }
        store.close().await;
        Ok(street)
    }

    /// Takes a demo person off a street, as an administrator does (`admin unassign`); the
    /// server may be stopped meanwhile.
    pub async fn unassign(&self, username: &str, street: uuid::Uuid) -> anyhow::Result<()> {
        use voordeur_server::people;
        let config = self.config();
        let store = voordeur_server::store::Store::connect(&config.database_url()).await?;
        people::unassign(&store, username, street).await?;
        store.close().await;
        Ok(())
    }

    fn config(&self) -> Config {
        Config {
            listen: self.address,
            data_dir: self.data.path().to_path_buf(),
            database_url: None,
            body_limit: self.body_limit,
            app_dir: self.app.clone(),
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

    /// Signs a demo person in over the API; the session's token.
    pub async fn sign_in(&self, username: &str) -> anyhow::Result<String> {
        let session: serde_json::Value = reqwest::Client::new()
            .post(self.url("/api/session"))
            .json(&serde_json::json!({
                "username": username,
                "password": voordeur_shared::demo::PASSWORD,
            }))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        Ok(session["token"].as_str().context("no token")?.to_string())
    }

    /// How many visits the server holds in its first street, as `GET /api/streets` says
    /// to the demo's care coach.
    pub async fn visits(&self) -> anyhow::Result<u64> {
        let token = self.sign_in("karim").await?;
        let streets: serde_json::Value = reqwest::Client::new()
            .get(self.url("/api/streets"))
            .bearer_auth(token)
            .send()
            .await?
            .json()
            .await?;
        streets[0]["visits"]
            .as_u64()
            .with_context(|| format!("no visit count in {streets}"))
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(running) = self.running.take() {
            running.task.abort();
        }
    }
}

/// Chromium's flags for a headless run as root on a machine without network.
pub const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];

pub fn chromium() -> anyhow::Result<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    ["chromium", "chromium-browser"]
        .into_iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|candidate| candidate.is_file())
        .context("Chromium is not installed (Debian: apt-get install chromium)")
}

/// The DOM of `url` after the page has run for `budget` of virtual time, as a phone of
/// 360×740 sees it, in a fresh browser profile.
pub async fn dump_dom(url: &str, budget: Duration) -> anyhow::Result<String> {
    let profile = tempfile::tempdir()?;
    let mut command = tokio::process::Command::new(chromium()?);
    command
        .args(CHROMIUM_FLAGS)
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--window-size=360,740")
        .arg(format!("--virtual-time-budget={}", budget.as_millis()))
        .arg("--dump-dom")
        .arg(url)
        .kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(60), command.output())
        .await
        .context("Chromium did not finish within 60 s")??;
    if !output.status.success() {
        bail!(
            "Chromium failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}
