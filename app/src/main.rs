//! Voordeur's field app: the community builder's phone app, offline from the first tap.
//!
//! - [`field`]: the phone's documents and every action on them.
//! - [`session`]: signing in and out; the session kept for offline days.
//! - [`store`]: the documents in the browser's local storage.
//! - [`sync`]: the loop that syncs by itself.
//! - [`ui`]: the screens (walk list, door, status bar).
//! - [`i18n`]: the words, Dutch first.
//! - [`vault`]: the phone's copy encrypted at rest.

mod field;
mod i18n;
mod session;
mod store;
mod sync;
mod ui;
mod vault;

use leptos::prelude::*;
use voordeur_shared::access::Role;

use crate::field::{Screen, SyncState, Ui};

/// Recounts what is waiting to be synced and how much storage is used.
pub fn refresh_counts(ui: Ui) {
    if let Some((unsynced, usage)) = field::with(|f| (f.replica.unsynced(), f.store.usage())) {
        ui.unsynced.set(unsynced);
        ui.usage.set(usage);
    }
}

fn main() {
    let ui = Ui {
        lang: RwSignal::new(store::settings().lang),
        started: RwSignal::new(false),
        person: RwSignal::new(None),
        walk: RwSignal::new(None),
        ready: RwSignal::new(false),
        revision: RwSignal::new(0),
        sync: RwSignal::new(SyncState::Idle),
        unsynced: RwSignal::new(0),
        usage: RwSignal::new(Default::default()),
        problem: RwSignal::new(None),
        choices: RwSignal::new(Vec::new()),
        screen: RwSignal::new(ui::screen_from_hash()),
    };
    mount_to_body(move || view! { <ui::App ui=ui /> });
    leptos::task::spawn_local(start(ui));
    ui::register_service_worker();
    ui::ask_persistent_storage();
}

/// Opens the phone's data with the key kept since sign-in, if the session still lasts;
/// otherwise the data stays sealed and the sign-in screen shows.
async fn start(ui: Ui) {
    if let Some(cipher) = vault::unlock().await {
        if let Err(e) = field::open(cipher) {
            ui.problem.set(Some(e.to_string()));
        }
        let session = field::with(|f| f.session.clone()).flatten();
        match session {
            Some(session) if !session.expired() => {
                ui.person.set(Some(session.person));
                ui.walk.set(field::with(|f| f.stored_walk()).flatten());
                ui.started.set(true);
                mark("voordeur-shell");
                // Load the documents after the first paint: the stored walk list shows.
                gloo_timers::future::sleep(std::time::Duration::from_millis(0)).await;
                load(ui).await;
            }
            _ => sign_in_again(ui).await,
        }
    }
    if !ui.started.get_untracked() {
        // Not signed in: the sign-in screen is the first screen, usable at once.
        ui.started.set(true);
        mark("voordeur-shell");
        mark("voordeur-ready");
    }
    sync::start(ui);
}

/// The session has ended: the data is sealed again (key dropped, state closed) until the
/// person signs in; the sign-in screen shows.
pub async fn sign_in_again(ui: Ui) {
    field::close();
    vault::forget().await;
    ui.sync.set(SyncState::SignedOut);
    ui.ready.set(false);
    ui.person.set(None);
}

/// Loads the documents of the open state and follows the person's street.
pub async fn load(ui: Ui) {
    match field::with(field::Field::load) {
        Some(Err(e)) => ui.problem.set(Some(e.to_string())),
        Some(Ok(Some(walk))) => ui.walk.set(Some(walk)),
        _ => {}
    }
    refresh_counts(ui);
    ui.ready.set(true);
    mark("voordeur-ready");
    // Administrators follow no street: they set streets up.
    let follows = ui
        .person
        .with_untracked(|p| p.as_ref().is_some_and(|p| p.role != Role::Administrator));
    if follows
        && field::with(|f| f.street_id().is_none()).unwrap_or(false)
        && let Some(token) = field::with(|f| f.token()).flatten()
        && let Some(streets) = session::streets(&token).await
    {
        // One street: follow it. Several: the walk list asks which.
        match streets.as_slice() {
            [(id, _)] => ui::follow(ui, id),
            _ => ui.choices.set(streets),
        }
    }
    if ui.screen.get_untracked() != Screen::Walk {
        ui.revision.update(|r| *r += 1);
    }
}

/// Marks a moment in the browser's performance timeline (read by the benchmarks).
pub fn mark(name: &str) {
    if let Some(performance) = web_sys::window().and_then(|w| w.performance()) {
        let _ = performance.mark(name);
    }
}
