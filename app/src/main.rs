//! The field app's entry point. For now a placeholder page, in Dutch, that says what is
//! coming; the walk list and the visit screen arrive with the field-app issue.

use leptos::prelude::*;

#[component]
fn App() -> impl IntoView {
    view! {
        <main class="placeholder">
            <h1>"Voordeur"</h1>
            <p>"De veldapp voor buurtwerk, deur voor deur."</p>
            <p>
                "De server draait en bewaart de straat. De looplijst en het gespreksscherm "
                "komen in de volgende versie."
            </p>
            <p>
                <a href="/api/streets">"Straten op deze server (JSON)"</a>
            </p>
        </main>
    }
}

fn main() {
    mount_to_body(App);
}
