//! Changes the server refused, set aside on the phone (`crate::state::aside`): each says
//! what was refused, at which door, why and what to do, with a button to send it again.
//! Every screen shows them, but a door's own are shown on that door's screen instead.

use leptos::prelude::*;
use voordeur_shared::ids::AddressId;

use super::{Screen, Ui};
use crate::{actions::use_actions, state::aside::Refusal};

fn notice(ui: Ui, refusal: Refusal) -> impl IntoView {
    let actions = use_actions();
    let lang = ui.lang.get_untracked();
    let doc = refusal.doc;
    view! {
        <div class="problem refusal" role="alert">
            <p>{refusal.message(lang)}</p>
            <button class="small" on:click=move |_| actions.retry_aside(doc)>
                {lang.texts().aside_retry}
            </button>
        </div>
    }
}

/// The refusals, but those of the door on screen.
#[component]
pub fn Refusals(ui: Ui) -> impl IntoView {
    move || {
        ui.lang.track();
        let door = match ui.screen.get() {
            Screen::Door(address) => Some(address),
            _ => None,
        };
        ui.refusals
            .get()
            .into_iter()
            .filter(|r| door.is_none_or(|address| !r.at(address)))
            .map(|r| notice(ui, r))
            .collect_view()
    }
}

/// The refusals of door `address`, on its screen.
#[component]
pub fn DoorRefusals(ui: Ui, address: AddressId) -> impl IntoView {
    move || {
        ui.lang.track();
        ui.refusals
            .get()
            .into_iter()
            .filter(|r| r.at(address))
            .map(|r| notice(ui, r))
            .collect_view()
    }
}
