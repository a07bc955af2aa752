//! Voordeur's field app: the community builder's phone app, offline from the first tap.
//!
//! - [`field`]: the phone's documents and every action on them.
//! - [`store`]: the documents in the browser's local storage.
//! - [`sync`]: the loop that syncs by itself.
//! - [`ui`]: the screens (walk list, door, status bar).
//! - [`i18n`]: the words, Dutch first.

mod field;
mod i18n;
mod store;
mod sync;
mod ui;

use leptos::prelude::*;

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
        lang: RwSignal::new(i18n::Lang::Nl),
        name: RwSignal::new(String::new()),
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
    match field::open() {
        Ok(()) => {
            field::with(|f| {
                ui.lang.set(f.settings.lang);
                ui.name.set(f.settings.name.clone());
                ui.walk.set(f.stored_walk());
            });
        }
        Err(e) => ui.problem.set(Some(e.to_string())),
    }
    mount_to_body(move || view! { <ui::App ui=ui /> });
    mark("voordeur-shell");
    // Load the documents after the first paint: the stored walk list is already showing.
    leptos::task::spawn_local(async move {
        gloo_timers::future::sleep(std::time::Duration::from_millis(0)).await;
        load(ui).await;
    });
    ui::register_service_worker();
    ui::ask_persistent_storage();
}

async fn load(ui: Ui) {
    match field::with(field::Field::load) {
        Some(Err(e)) => ui.problem.set(Some(e.to_string())),
        Some(Ok(Some(walk))) => ui.walk.set(Some(walk)),
        _ => {}
    }
    refresh_counts(ui);
    ui.ready.set(true);
    mark("voordeur-ready");
    if field::with(|f| f.street_id().is_none()).unwrap_or(false)
        && let Some(streets) = sync::streets().await
    {
        // One street on the server: follow it. Several: the walk list asks which.
        match streets.as_slice() {
            [(id, _)] => ui::follow(ui, id),
            _ => ui.choices.set(streets),
        }
    }
    sync::start(ui);
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
