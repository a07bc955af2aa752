//! Building and running the server: [`Application::build`] opens the store, seeds the
//! demo street if asked, and binds the listener (port 0 allowed); [`router`] is the whole
//! HTTP surface, for tests to call directly.

use std::{net::SocketAddr, sync::Arc};

use anyhow::Context;
use axum::{
    Router,
    extract::DefaultBodyLimit,
    routing::{get, post},
};
use tokio::net::TcpListener;
use tower_http::{
    services::{ServeDir, ServeFile},
    trace::TraceLayer,
};
use voordeur_shared::{automerge::ActorId, demo, docs::new_actor};

use crate::{cache::DocCache, config::Config, routes, store::Store};

#[derive(Debug)]
pub struct AppState {
    pub config: Config,
    pub store: Store,
    pub cache: DocCache,
    /// The actor of the few changes the server writes itself (genesis of new documents,
    /// the demo street).
    pub actor: ActorId,
}

/// The HTTP surface: the API, and the field app's files for everything else.
pub fn router(state: Arc<AppState>) -> Router {
    let app_dir = &state.config.app_dir;
    let app_files =
        ServeDir::new(app_dir).not_found_service(ServeFile::new(app_dir.join("index.html")));
    let api = Router::new()
        .route("/streets", get(routes::streets))
        .route("/sync", post(routes::sync))
        .fallback(routes::api_not_found);
    Router::new()
        .route("/healthz", get(routes::healthz))
        .nest("/api", api)
        .fallback_service(app_files)
        .layer(DefaultBodyLimit::max(state.config.body_limit))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    state: Arc<AppState>,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        let url = config.database_url();
        if config.database_url.is_none() {
            std::fs::create_dir_all(&config.data_dir).with_context(|| {
                format!(
                    "failed to create data directory {}",
                    config.data_dir.display()
                )
            })?;
        }
        let store = Store::connect(&url).await?;
        tracing::info!(database = %crate::config::redact(&url), "database ready");
        let actor = new_actor();
        if config.demo {
            seed_demo(&store, actor.clone()).await?;
        }
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("failed to listen on {}", config.listen))?;
        Ok(Application {
            listener,
            state: Arc::new(AppState {
                config,
                store,
                cache: DocCache::new(4096),
                actor,
            }),
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub fn port(&self) -> u16 {
        self.address().port()
    }

    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `stop` completes, then finishes the requests under way and closes
    /// every connection.
    pub async fn run_until(
        self,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let state = self.state.clone();
        axum::serve(self.listener, router(self.state))
            .with_graceful_shutdown(stop)
            .await
            .context("server failed")?;
        state.store.close().await;
        Ok(())
    }
}

async fn seed_demo(store: &Store, actor: ActorId) -> anyhow::Result<()> {
    let (kind, mut doc) = demo::street(actor).context("failed to build the demo street")?;
    if store.exists(kind.id()).await? {
        return Ok(());
    }
    store.create(kind, &mut doc).await?;
    tracing::info!(street = demo::STREET_NAME, "demo street created");
    Ok(())
}

async fn shutdown_signal() {
    // If the signal handler cannot be installed, run until killed.
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}
