//! A resident's request at their door, recorded by a coordinator: consent withdrawn (the
//! name and contact leave every history, the notes stay) or erasure (everything about the
//! household goes), each asked twice before it is sent; and the access request's export
//! (everything the coordinator's organisation holds about the household, as a file and as
//! a page to print).

use leptos::{prelude::*, task::spawn_local};
use voordeur_shared::{erase::Request, ids::AddressId};

use super::{Ui, texts};
use crate::actions::use_actions;

#[component]
pub fn ResidentRequestCard(ui: Ui, address: AddressId) -> impl IntoView {
    let t = texts(ui);
    let actions = use_actions();
    // The request being confirmed, and what came of the last one.
    let asking: RwSignal<Option<Request>> = RwSignal::new(None);
    let outcome: RwSignal<Option<Result<Request, String>>> = RwSignal::new(None);
    let confirm = move |_| {
        let Some(request) = asking.get_untracked() else {
            return;
        };
        asking.set(None);
        spawn_local(async move {
            let done = actions.ask_request(address, request).await;
            outcome.set(Some(done.map(|()| request)));
        });
    };
    let export = move |page: bool| {
        let (Some(token), Some(street)) = (actions.token(), actions.street_id()) else {
            return;
        };
        let format = if page { "&format=html" } else { "" };
        let url = format!(
            "/api/access-request?street={}&address={}{format}",
            street.0, address.0
        );
        let name = format!(
            "inzage-{}.{}",
            address.0,
            if page { "html" } else { "json" }
        );
        spawn_local(async move {
            if let Err(e) = crate::session::download(&token, &url, &name).await {
                outcome.set(Some(Err(e)));
            }
        });
    };
    view! {
        <section class="card resident-request" aria-labelledby="resident-request-title">
            <h2 id="resident-request-title">{t.request_title}</h2>
            <p class="hint">{t.request_explain}</p>
            <div class="row">
                <button class="small" on:click=move |_| asking.set(Some(Request::ConsentWithdrawn))>
                    {t.request_consent}
                </button>
                <button class="small danger" on:click=move |_| asking.set(Some(Request::Erasure))>
                    {t.request_erasure}
                </button>
            </div>
            {move || asking.get().map(|request| {
                let question = match request {
                    Request::ConsentWithdrawn => t.request_consent_confirm,
                    Request::Erasure => t.request_erasure_confirm,
                };
                view! {
                    <div class="confirm" role="alertdialog" aria-label=question>
                        <p>{question}</p>
                        <button class="danger" on:click=confirm>{t.request_confirm}</button>
                        <button class="link" on:click=move |_| asking.set(None)>{t.cancel}</button>
                    </div>
                }
            })}
            {move || outcome.get().map(|done| match done {
                Ok(Request::Erasure) => view! { <p role="status">{t.request_erased}</p> }.into_any(),
                Ok(Request::ConsentWithdrawn) => {
                    view! { <p role="status">{t.request_withdrawn}</p> }.into_any()
                }
                Err(e) => view! { <p class="problem" role="alert">{format!("{} {e}", t.request_failed)}</p> }.into_any(),
            })}
            <h3>{t.access_title}</h3>
            <div class="row">
                <button class="small" on:click=move |_| export(false)>{t.access_file}</button>
                <button class="small" on:click=move |_| export(true)>{t.access_page}</button>
            </div>
        </section>
    }
}
