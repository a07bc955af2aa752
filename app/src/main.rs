//! Voordeur's field app: the community builder's phone app, offline from the first tap.
//!
//! - [`state`]: the phone's state (documents, storage, settings, session), owned by one
//!   [`state::Field`], free of the browser so it runs in native tests.
//! - [`actions`]: every action, from the screens to the state and back.
//! - [`ui`]: the screens and the signals they read.
//! - [`sync`]: the loop that syncs by itself; [`session`]: the API's other calls.
//! - [`browser`]: local storage, clock and marks; [`vault`]: the key that seals the data.
//! - [`error`]: what can go wrong, in Dutch and English; [`i18n`]: the words, Dutch first.

mod actions;
mod browser;
mod error;
mod i18n;
mod push;
mod session;
mod state;
mod sync;
mod ui;
mod vault;

use leptos::prelude::*;

use crate::{actions::Actions, browser::LocalKv, ui::Ui};

fn main() {
    let lang = state::store::settings(&LocalKv::open()).lang;
    mount_to_body(move || {
        let actions = Actions::provide(Ui::new(lang));
        leptos::task::spawn_local(actions.start());
        view! { <ui::App ui=actions.ui /> }
    });
    ui::register_service_worker();
}
