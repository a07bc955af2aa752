//! Building and running the server: [`Application::build`] opens the store, seeds the
//! demo street if asked, and binds the listener (port 0 allowed); [`router`] is the whole
//! HTTP surface, for tests to call directly.

use std::{collections::BTreeSet, net::SocketAddr, sync::Arc};

use anyhow::Context;
use axum::{
    Router,
    extract::{DefaultBodyLimit, Request, State},
    handler::Handler,
    http::{HeaderValue, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{any, delete, get, post},
};
use tokio::{net::TcpListener, sync::Semaphore};
use tower::ServiceExt;
use tower_http::{
    services::{ServeDir, ServeFile},
    set_header::SetResponseHeaderLayer,
    trace::TraceLayer,
};
use voordeur_shared::{automerge::ActorId, demo, docs::new_actor};

use crate::{
    AppError, admin,
    cache::DocCache,
    config::{Config, JSON_BODY_LIMIT},
    erasure, events,
    events::Events,
    handed_on, people, report, retention, routes, session,
    state::AppState,
    store::{Backend, Store},
};

/// What the page may load: its own scripts, styles and WebAssembly, and nothing inline or
/// from elsewhere. `'wasm-unsafe-eval'` allows compiling WebAssembly and nothing else
/// (no `eval`).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; \
    script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; \
    connect-src 'self'; worker-src 'self'; manifest-src 'self'; object-src 'none'; \
    base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The HTTP surface: the API, and the field app's files for everything else.
pub fn router(state: Arc<AppState>) -> Router {
    let app_files = ServeDir::new(&state.config.app_dir)
        .precompressed_br()
        .precompressed_gzip()
        .fallback(page_or_not_found.with_state(state.clone()));
    let forms = Router::new()
        .route(
            "/session",
            post(session::sign_in)
                .get(session::current)
                .delete(session::sign_out),
        )
        .route(
            "/admin/organisations",
            get(admin::organisations).post(admin::add_organisation),
        )
        .route(
            "/admin/accounts",
            get(admin::accounts).post(admin::add_account),
        )
        .route(
            "/admin/accounts/{username}/password",
            post(admin::set_password),
        )
        .route("/admin/accounts/{username}/streets", post(admin::assign))
        .route(
            "/admin/accounts/{username}/streets/{street}",
            delete(admin::unassign),
        )
        .route("/admin/streets", post(admin::add_street))
        .route("/admin/audit", get(admin::audit))
        .route("/admin/retention", get(retention::listed))
        .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT));
    let api = Router::new()
        .route("/streets", get(routes::streets))
        .route("/events", get(events::events))
        .route("/picture", get(report::get_picture))
        .route("/report.xlsx", get(report::get_xlsx))
        .route("/report.csv", get(report::get_csv))
        .route(
            "/requests",
            get(erasure::register)
                .post(erasure::ask)
                .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT)),
        )
        .route("/access-request", get(erasure::access_request))
        .route(
            "/handed-on",
            post(handed_on::handed_on).layer(DefaultBodyLimit::max(JSON_BODY_LIMIT)),
        )
        .route(
            "/sync",
            post(routes::sync).layer(DefaultBodyLimit::max(state.config.body_limit)),
        )
        .merge(forms)
        .fallback(routes::api_not_found);
    let header =
        |name, value| SetResponseHeaderLayer::overriding(name, HeaderValue::from_static(value));
    Router::new()
        .route("/healthz", get(routes::healthz))
        .nest("/api", api)
        // `/api` itself is an unknown API path too, not the app's page.
        .route("/api", any(routes::api_not_found))
        .route("/api/", any(routes::api_not_found))
        .fallback_service(app_files)
        .layer(header(
            header::CONTENT_SECURITY_POLICY,
            CONTENT_SECURITY_POLICY,
        ))
        .layer(header(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(header(header::REFERRER_POLICY, "no-referrer"))
        .layer(middleware::from_fn(cache_and_errors))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Any other path is a screen of the app (its page), unless it names a file: a file the
/// app does not have is a 404, never the page under a file's name (which a browser would
/// then keep for good).
async fn page_or_not_found(State(state): State<Arc<AppState>>, request: Request) -> Response {
    if file_name(request.uri().path()).contains('.') {
        return StatusCode::NOT_FOUND.into_response();
    }
    let page = ServeFile::new(state.config.app_dir.join("index.html"));
    match page.oneshot(request).await {
        Ok(response) => response.into_response(),
        Err(never) => match never {},
    }
}

/// A path's last segment: `app.css` of `/app.css`, empty for `/`.
fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or_default()
}

/// Whether a path names one of the app's files by its hash (`app.0f3c5a9e1b2d4c6f.css`,
/// written by `cargo xtask build-app`): its bytes never change under that name.
fn hashed(path: &str) -> bool {
    let mut parts = file_name(path).split('.');
    parts.next().is_some_and(|stem| !stem.is_empty())
        && parts
            .next()
            .is_some_and(|hash| hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()))
        && parts.next().is_some()
}

/// What every response gets by its path, whichever handler (or axum itself) made it.
///
/// The app's files: those named by their hash may be kept for a year without asking
/// again (`immutable`); the rest (the page, the service worker, the manifest) are asked
/// for anew each time (`no-cache`: kept, but checked), so an update is found at once.
///
/// `/api`: `Cache-Control: no-store`, since the API carries personal data that no
/// browser or proxy cache may keep (ASVS 14.3.2), errors included; and a JSON body for
/// axum's own empty 405, like every other error (`AppError`), with its `Allow` header
/// kept.
async fn cache_and_errors(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let api = path == "/api" || path.starts_with("/api/");
    let immutable = hashed(path);
    let mut response = next.run(request).await;
    if !api {
        let cache = if immutable && response.status().is_success() {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
        return response;
    }
    let json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if response.status() == StatusCode::METHOD_NOT_ALLOWED && !json {
        let allow = response.headers().get(header::ALLOW).cloned();
        response = AppError::MethodNotAllowed.into_response();
        if let Some(allow) = allow {
            response.headers_mut().insert(header::ALLOW, allow);
        }
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
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
            seed_demo_people(&store).await?;
        }
        // Several servers may share one PostgreSQL database: they tell each other what
        // changed through it (`events`).
        let events = match store.backend() {
            Backend::Sqlite => Events::alone(),
            Backend::Postgres => Events::shared(store.pool().clone()),
        };
        let cache = DocCache::new(config.cache_mib.saturating_mul(1 << 20));
        let syncs = Semaphore::new(config.max_syncs.map_or_else(
            || 4 * std::thread::available_parallelism().map_or(1, |n| n.get()),
            |n| n as usize,
        ));
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("failed to listen on {}", config.listen))?;
        Ok(Application {
            listener,
            state: Arc::new(AppState {
                config,
                store,
                cache,
                syncs,
                actor,
                events,
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
        let events = self.state.clone();
        let sweeper = tokio::spawn(retention::every_hour(self.state.clone()));
        let relay = (self.state.store.backend() == Backend::Postgres).then(|| {
            let url = self.state.config.database_url();
            tokio::spawn(events::relay(self.state.clone(), url))
        });
        // Connection info gives sign-in's throttle the client's address (`crate::client`).
        let app = router(self.state).into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(self.listener, app)
            .with_graceful_shutdown(async move {
                stop.await;
                // Open pushes never end by themselves: end them, or shutdown waits on them.
                events.events.close();
            })
            .await
            .context("server failed")?;
        sweeper.abort();
        if let Some(relay) = relay {
            relay.abort();
        }
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

/// The demo's organisations and people (see `voordeur_shared::demo`), each created only
/// if missing, all but the administrator working in the demo street.
async fn seed_demo_people(store: &Store) -> anyhow::Result<()> {
    for (name, partner) in demo::ORGANISATIONS {
        if store.organisation_by_name(name).await?.is_none() {
            people::create_organisation(store, name, partner).await?;
        }
    }
    for (username, display_name, role, organisation) in demo::PEOPLE {
        if store.account_by_username(username).await?.is_none() {
            let form = people::AccountForm {
                username: username.into(),
                display_name: display_name.into(),
                role,
                organisation: organisation.map(String::from),
                password: demo::PASSWORD.into(),
            };
            // With their street in the same transaction: a person created here is never
            // left without the street by a crash (a restart skips people who exist).
            let streets = if role == voordeur_shared::access::Role::Administrator {
                BTreeSet::new()
            } else {
                BTreeSet::from([demo::street_id()])
            };
            people::create_account_in(store, form, streets).await?;
        }
    }
    tracing::info!(
        password = "see README",
        "demo accounts ready: {}",
        demo::PEOPLE.map(|p| p.0).join(", ")
    );
    Ok(())
}

async fn shutdown_signal() {
    // If the signal handler cannot be installed, run until killed.
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}
