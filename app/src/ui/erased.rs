//! Households erased at a resident's request (`crate::state::erased`): in plain words,
//! what went, when, and whether this phone's unsent work for it was kept.

use leptos::prelude::*;
use voordeur_shared::erase::Request;

use super::Ui;
use crate::{actions::use_actions, i18n::Lang, state::erased::Erased};

/// The date of `ms`, as people write it ("30-11-2026").
fn date(ms: i64) -> String {
    let date = js_sys::Date::new(&(ms as f64).into());
    format!(
        "{}-{}-{}",
        date.get_date(),
        date.get_month() + 1,
        date.get_full_year()
    )
}

/// "De gegevens van het huishouden bij Lindenhof 1A zijn gewist op 30-11-2026, op
/// verzoek van de bewoner. Je niet-verzonden werk voor dit huishouden is niet bewaard."
pub fn message(erased: &Erased, lang: Lang) -> String {
    let t = lang.texts();
    let door = if erased.door.is_empty() {
        t.erased_a_door
    } else {
        erased.door.as_str()
    };
    let what = match erased.request {
        Request::Erasure => t.erased_household,
        Request::ConsentWithdrawn => t.erased_name,
    };
    let what = what
        .replace("{door}", door)
        .replace("{date}", &date(erased.at_ms));
    let unsent = match (erased.lost_unsent, erased.request) {
        (false, _) => "",
        (true, Request::Erasure) => t.erased_unsent,
        (true, Request::ConsentWithdrawn) => t.erased_unsent_name,
    };
    format!("{what} {unsent}").trim_end().to_string()
}

#[component]
pub fn ErasedNotices(ui: Ui) -> impl IntoView {
    let actions = use_actions();
    move || {
        let lang = ui.lang.get();
        let erased = ui.erased.get();
        if erased.is_empty() {
            return ().into_any();
        }
        view! {
            <div class="notice erased" role="status">
                {erased.iter().map(|e| view! { <p>{message(e, lang)}</p> }).collect_view()}
                <button class="small" on:click=move |_| actions.close_erased()>
                    {lang.texts().erased_close}
                </button>
            </div>
        }
        .into_any()
    }
}
