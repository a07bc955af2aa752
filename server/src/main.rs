//! The `voordeur-server` binary: reads its configuration, starts logging, runs the server.

use clap::Parser;
use voordeur_server::{Application, Config};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    voordeur_server::telemetry::init(config.log_json);
    let app = Application::build(config).await?;
    tracing::info!(address = %app.address(), "voordeur server listening");
    app.run_until_stopped().await
}
