//! Signing in (the first screen, and again when a session has ended) and signing out,
//! which warns when work is still waiting and then wipes the phone.

use leptos::{ev, prelude::*};

use super::{SyncState, Ui, texts};
use crate::{
    actions::use_actions,
    boot,
    session::{self, SignInError},
};

#[component]
pub fn SignInScreen(ui: Ui) -> impl IntoView {
    let t = texts(ui);
    // What was typed into the page's own form while the app downloaded (`boot`).
    let boot::Typed {
        username,
        password,
        submitted,
    } = boot::typed().unwrap_or_default();
    let username = RwSignal::new(username);
    let password = RwSignal::new(password);
    let busy = RwSignal::new(false);
    let error: RwSignal<Option<&'static str>> = RwSignal::new(None);
    let other_error = RwSignal::new(String::new());
    let actions = use_actions();
    // A session that ended (expired, or ended on the server) leaves the work on the phone.
    let ended = actions.session().is_some() || ui.sync.get_untracked() == SyncState::SignedOut;
    let sign_in = move || {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        error.set(None);
        let name = username.get_untracked();
        let secret = password.get_untracked();
        leptos::task::spawn_local(async move {
            let t = texts(ui);
            match session::sign_in(name.trim(), &secret).await {
                Ok(session) => {
                    password.set(String::new());
                    if let Err(e) = actions.signed_in(session, &secret).await {
                        other_error.set(e.message(ui.lang.get_untracked()));
                        error.set(Some(""));
                    }
                }
                Err(SignInError::Offline) => error.set(Some(t.sign_in_offline)),
                Err(SignInError::WrongCredentials) => error.set(Some(t.wrong_credentials)),
                Err(SignInError::TooManyAttempts) => error.set(Some(t.too_many_attempts)),
                Err(SignInError::Other(message)) => {
                    other_error.set(message);
                    error.set(Some(""));
                }
            }
            busy.set(false);
        });
    };
    let submit = move |ev: ev::SubmitEvent| {
        ev.prevent_default();
        sign_in();
    };
    // Once drawn, it takes the focus and the caret from the page's form, which goes; and
    // signs in if sign in was pressed there.
    let form = NodeRef::<leptos::html::Form>::new();
    Effect::new(move || {
        let Some(form) = form.get() else { return };
        boot::hand_over(&form);
        if submitted {
            sign_in();
        }
    });
    view! {
        <form class="card sign-in" node_ref=form on:submit=submit>
            <h1>{t.sign_in_title}</h1>
            {ended.then(|| view! { <p class="notice">{t.session_ended}</p> })}
            <label>
                {t.username}
                <input name="username" autocomplete="username" autocapitalize="none"
                    prop:value=move || username.get()
                    on:input=move |ev| username.set(event_target_value(&ev)) />
            </label>
            <label>
                {t.password}
                <input name="password" type="password" autocomplete="current-password"
                    prop:value=move || password.get()
                    on:input=move |ev| password.set(event_target_value(&ev)) />
            </label>
            {move || error.get().map(|message| view! {
                <p class="problem" role="alert">{message}{other_error.get()}</p>
            })}
            <button type="submit" disabled=move || busy.get()>{t.sign_in}</button>
        </form>
    }
}

/// The signed-in person, and signing out.
#[component]
pub fn SignOut(ui: Ui) -> impl IntoView {
    let t = texts(ui);
    let confirming = RwSignal::new(false);
    let actions = use_actions();
    let sign_out = move || leptos::task::spawn_local(actions.sign_out());
    let ask = move |_| {
        // Changes the server refused are on this phone only, too.
        if ui.unsynced.get_untracked() > 0 || ui.refusals.with_untracked(|r| !r.is_empty()) {
            confirming.set(true);
        } else {
            sign_out();
        }
    };
    let name = move || ui.person.get().map(|p| p.display_name).unwrap_or_default();
    view! {
        <section class="account">
            <p>{t.signed_in_as}" "<strong>{name}</strong></p>
            <Show when=move || !confirming.get()>
                <button class="small sign-out" on:click=ask>{t.sign_out}</button>
            </Show>
            <Show when=move || confirming.get()>
                <p class="problem" role="alert">{texts(ui).sign_out_unsynced}</p>
                <div class="row">
                    <button class="sign-out-anyway" on:click=move |_| sign_out()>{texts(ui).sign_out_anyway}</button>
                    <button class="small" on:click=move |_| confirming.set(false)>{texts(ui).cancel}</button>
                </div>
            </Show>
        </section>
    }
}
