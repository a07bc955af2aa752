//! Voordeur's field app: the community builder's phone app, offline from the first tap.
//!
//! - [`state`]: the phone's state (documents, storage, settings, session), owned by one
//!   [`state::Field`], free of the browser so it runs in native tests.
//! - [`actions`]: every action, from the screens to the state and back.
//! - [`ui`]: the screens and the signals they read.
//! - [`sync`]: the loop that syncs by itself; [`session`]: the API's other calls.
//! - [`browser`]: local storage, clock and marks; [`vault`]: the key that seals the data.
//! - [`boot`]: the sign-in form the page shows before the app has arrived.
//! - [`error`]: what can go wrong, in Dutch and English; [`i18n`]: the words, Dutch first.

mod actions;
mod boot;
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
    // The page's sign-in form, if a person used it before the app arrived, says which
    // language they chose there.
    let lang = boot::language().unwrap_or_else(|| state::store::settings(&LocalKv::open()).lang);
    mount_to_body(move || {
        let actions = Actions::provide(Ui::new(lang));
        leptos::task::spawn_local(actions.start());
        view! { <ui::App ui=actions.ui /> }
    });
    ui::register_service_worker();
}
