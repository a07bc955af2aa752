//! Building and running the server: [`Application::build`] opens the store, seeds the
//! demo street if asked, and binds the listener (port 0 allowed); [`router`] is the whole
//! HTTP surface, for tests to call directly.

use std::{collections::BTreeSet, net::SocketAddr, sync::Arc};

use anyhow::Context;
use axum::{
    Router,
    extract::{DefaultBodyLimit, Request},
    http::{HeaderValue, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{any, delete, get, post},
};
use tokio::net::TcpListener;
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
    let app_dir = &state.config.app_dir;
    let app_files =
        ServeDir::new(app_dir).not_found_service(ServeFile::new(app_dir.join("index.html")));
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
        .layer(middleware::from_fn(api_responses))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// What every `/api` response gets, whichever handler (or axum itself) made it:
/// `Cache-Control: no-store`, since the API carries personal data that no browser or
/// proxy cache may keep (ASVS 14.3.2), errors included; and a JSON body for axum's own
/// empty 405, like every other error (`AppError`), with its `Allow` header kept.
async fn api_responses(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let api = path == "/api" || path.starts_with("/api/");
    let mut response = next.run(request).await;
    if !api {
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
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("failed to listen on {}", config.listen))?;
        Ok(Application {
            listener,
            state: Arc::new(AppState {
                config,
                store,
                cache,
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
