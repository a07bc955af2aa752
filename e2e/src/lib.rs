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

/// The built field app.
pub fn app_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("e2e lives in the workspace")
        .join("app")
        .join("dist")
}

/// A server on a free port, with its own data directory.
#[derive(Debug)]
pub struct Server {
    pub address: SocketAddr,
    _data: tempfile::TempDir,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    pub async fn start() -> anyhow::Result<Server> {
        let app_dir = app_dir();
        if !app_dir.join("index.html").exists() {
            bail!(
                "the field app is not built at {}: run `cargo xtask build-app`",
                app_dir.display()
            );
        }
        let data = tempfile::tempdir()?;
        let app = Application::build(Config {
            listen: "127.0.0.1:0".parse()?,
            data_dir: data.path().to_path_buf(),
            database_url: None,
            body_limit: 8 << 20,
            app_dir,
            demo: true,
            log_json: false,
        })
        .await?;
        let address = app.address();
        Ok(Server {
            address,
            _data: data,
            task: tokio::spawn(app.run_until_stopped()),
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }
}

/// Chromium's flags for a headless run as root on a machine without network.
const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];

fn chromium() -> anyhow::Result<&'static str> {
    ["chromium", "chromium-browser"]
        .into_iter()
        .find(|name| {
            std::process::Command::new(name)
                .arg("--version")
                .output()
                .is_ok_and(|out| out.status.success())
        })
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
