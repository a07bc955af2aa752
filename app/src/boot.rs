//! The sign-in form the page shows before the app's code has arrived (`static/index.html`,
//! shown by `static/start.js` on a phone where nobody is signed in): a person types into
//! it while the app downloads, and the app's own sign-in screen takes over what was typed.

use serde::Deserialize;
use wasm_bindgen::prelude::*;

use crate::i18n::Lang;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(catch, js_namespace = voordeurBoot, js_name = typed)]
    fn typed_js() -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch, js_namespace = voordeurBoot, js_name = handOver)]
    fn hand_over_js(form: &web_sys::HtmlFormElement) -> Result<(), JsValue>;
}

/// What was typed into the page's form before the app took over.
#[derive(Debug, Default, Deserialize)]
pub struct Typed {
    pub username: String,
    pub password: String,
    /// Sign in was pressed before the app had arrived.
    pub submitted: bool,
}

/// The language of the page's form, if it is shown (a person may have switched it there
/// before the app arrived).
pub fn language() -> Option<Lang> {
    let boot = leptos::prelude::document().get_element_by_id("boot")?;
    Some(match boot.get_attribute("data-lang").as_deref() {
        Some("en") => Lang::En,
        _ => Lang::Nl,
    })
}

/// What was typed into the page's form, if it is shown: the app's sign-in form is drawn
/// with it, then takes over from it ([`hand_over`]).
pub fn typed() -> Option<Typed> {
    serde_wasm_bindgen::from_value(typed_js().ok()?).ok()
}

/// Gives what was typed, the focus and the caret of the page's form to the app's sign-in
/// form `form`, and removes the page's form.
pub fn hand_over(form: &web_sys::HtmlFormElement) {
    let _ = hand_over_js(form);
}
