//! The `voordeur-server` binary: reads its command line, then serves, or runs one
//! administrator's command (see `cli`).

use clap::Parser;
use voordeur_server::{
    Application,
    cli::{self, Cli, Command},
};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let Cli { config, command } = Cli::parse();
    voordeur_server::telemetry::init(config.log_json);
    match command {
        None | Some(Command::Serve) => {
            let app = Application::build(config).await?;
            tracing::info!(address = %app.address(), "voordeur server listening");
            app.run_until_stopped().await
        }
        Some(Command::Admin(command)) => cli::admin(&config, command).await,
    }
}
