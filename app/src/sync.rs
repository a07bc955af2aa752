//! Syncing by itself: one loop that syncs soon after every change, at once when the
//! browser comes back online, every twenty seconds while all is synced (to bring in what
//! others synced), and with growing pauses while the server can't be reached.

use std::time::Duration;

use futures::{
    FutureExt, StreamExt,
    channel::mpsc::{UnboundedReceiver, unbounded},
};
use gloo_timers::future::sleep;
use js_sys::Uint8Array;
use leptos::prelude::*;
use voordeur_shared::sync::wire;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Request, RequestInit, Response};

use crate::{
    actions::Actions,
    browser,
    error::AppError,
    session,
    state::retry::{Attempt, Retry},
    ui::SyncState,
};

/// How long after a change the app waits for more changes before it syncs.
const SETTLE: Duration = Duration::from_millis(800);
/// Round trips one sync may take (the server may ask for whole documents once).
const MAX_ROUNDS: usize = 4;
/// The largest response the app inflates (a whole street with its households).
const MAX_INFLATED: usize = 64 * 1024 * 1024;

pub use crate::state::retry::Wake;

/// Starts the loop; it runs as long as the page.
pub fn start(actions: Actions) {
    let (tx, rx) = unbounded();
    actions.set_waker(tx);
    let online = window_event_listener(leptos::ev::online, move |_| actions.wake(Wake::Now));
    let offline = window_event_listener(leptos::ev::offline, move |_| {
        actions.ui.sync.set(SyncState::Offline);
    });
    // Another tab of the app wrote to local storage: take its edits in (see
    // `state::store`, "Several tabs"). The browser tells every other tab of the origin.
    let storage = window_event_listener(leptos::ev::storage, move |event| {
        if let Some(key) = event.key().filter(|key| key.starts_with("vd.")) {
            actions.take_in(&key, event.new_value(), event.old_value());
        }
    });
    // The listeners live as long as the page.
    std::mem::forget((online, offline, storage));
    leptos::task::spawn_local(run(actions, rx));
}

async fn run(actions: Actions, mut wakes: UnboundedReceiver<Wake>) {
    // The pauses between attempts, and which wake-ups end them: see `state::retry`.
    let mut retry = Retry::default();
    loop {
        let attempt = match sync_once(actions).await {
            Ok(()) => Attempt::Synced,
            Err(SyncFailure::Refused) => Attempt::Refused,
            Err(SyncFailure::Offline | SyncFailure::SignedOut) => Attempt::Unreachable,
        };
        let timer = sleep(retry.after(attempt)).fuse();
        futures::pin_mut!(timer);
        // Wait for the pause or a wake-up that ends it; after a change, let typing settle.
        let woke = loop {
            let why = futures::select! {
                why = wakes.next() => why,
                () = timer => break None,
            };
            match why {
                Some(wake) if retry.wakes(wake) => break Some(wake),
                // A change while refused: the same request would be refused again.
                Some(_) => {}
                None => break None,
            }
        };
        if woke == Some(Wake::Changed) {
            loop {
                let more = futures::select! {
                    why = wakes.next() => why,
                    () = sleep(SETTLE).fuse() => None,
                };
                if more.is_none() {
                    break;
                }
            }
        }
        // One sync answers every wake-up so far (signing in follows a street and wakes the
        // loop twice, a push may come with it): those left queued would each start another.
        while wakes.try_recv().is_ok() {}
    }
}

/// Why a sync did not finish.
#[derive(Debug)]
enum SyncFailure {
    Offline,
    Refused,
    SignedOut,
}

/// The session has ended: the sign-in screen shows; the phone's data stays, sealed.
fn signed_out(actions: Actions) {
    if actions.ui.person.get_untracked().is_some() {
        leptos::task::spawn_local(actions.sign_in_again());
    }
}

/// One sync at a time on the device: tabs of the app take turns (a Web Lock); the protocol
/// would also bear two at once, at the cost of sending the same changes twice.
async fn sync_once(actions: Actions) -> Result<(), SyncFailure> {
    browser::locked("voordeur-sync", sync_locked(actions)).await
}

async fn sync_locked(actions: Actions) -> Result<(), SyncFailure> {
    let ui = actions.ui;
    if actions.street_id().is_none() {
        return Ok(());
    }
    let Some(token) = actions.token() else {
        signed_out(actions);
        return Err(SyncFailure::SignedOut);
    };
    if !navigator_online() {
        ui.sync.set(SyncState::Offline);
        return Err(SyncFailure::Offline);
    }
    ui.sync.set(SyncState::Syncing);
    for _ in 0..MAX_ROUNDS {
        let Some(body) = actions.sync_request() else {
            return Ok(());
        };
        let reply = match post("/api/sync", &token, &body).await {
            Ok(reply) => reply,
            Err(PostError::Network) => {
                ui.sync.set(SyncState::Offline);
                return Err(SyncFailure::Offline);
            }
            Err(PostError::Unauthorized) => {
                signed_out(actions);
                return Err(SyncFailure::SignedOut);
            }
            Err(PostError::Refused(refusal)) => {
                ui.sync.set(SyncState::Refused(refusal.to_string()));
                // Told in the person's words; the work stays stored, waiting.
                actions.show_error(refusal);
                return Err(SyncFailure::Refused);
            }
        };
        let response = match wire::decode_response(&reply, MAX_INFLATED) {
            Ok(response) => response,
            Err(e) => {
                ui.sync.set(SyncState::Refused(e.to_string()));
                actions.show_error(AppError::BadReply(e.to_string()));
                return Err(SyncFailure::Refused);
            }
        };
        if !actions.receive(response) {
            break;
        }
    }
    // What became of the signals handed to other partners (their documents never come
    // back to this phone): asked after every sync, kept for offline. Before the sync is
    // shown done, so that a wake-up that came meanwhile starts the next sync at once.
    actions.ask_handed_on().await;
    ui.sync.set(SyncState::Synced {
        at_ms: browser::now_ms() as f64,
    });
    if ui
        .problem
        .with_untracked(|p| matches!(p, Some(AppError::SyncRefused { .. })))
    {
        ui.problem.set(None);
    }
    Ok(())
}

fn navigator_online() -> bool {
    web_sys::window().is_some_and(|w| w.navigator().on_line())
}

enum PostError {
    /// No answer: offline, or the server is down.
    Network,
    /// The session has ended.
    Unauthorized,
    /// The server refused the request (a 4xx).
    Refused(AppError),
}

async fn post(url: &str, token: &str, body: &[u8]) -> Result<Vec<u8>, PostError> {
    let network = |_: JsValue| PostError::Network;
    let window = web_sys::window().ok_or(PostError::Network)?;
    let init = RequestInit::new();
    init.set_method("POST");
    let bytes = Uint8Array::from(body);
    init.set_body(&bytes);
    let request = Request::new_with_str_and_init(url, &init).map_err(network)?;
    request
        .headers()
        .set("content-type", wire::CONTENT_TYPE)
        .map_err(network)?;
    request
        .headers()
        .set("authorization", &format!("Bearer {token}"))
        .map_err(network)?;
    let response: Response = JsFuture::from(window.fetch_with_request(&request))
        .await
        .map_err(network)?
        .dyn_into()
        .map_err(network)?;
    let buffer = JsFuture::from(response.array_buffer().map_err(network)?)
        .await
        .map_err(network)?;
    let bytes = Uint8Array::new(&buffer).to_vec();
    if response.ok() {
        return Ok(bytes);
    }
    if response.status() == 401 {
        return Err(PostError::Unauthorized);
    }
    let status = response.status();
    // 5xx: the server is there but unwell; 408 and 429: busy. Like being offline: try
    // again soon. Every other 4xx refuses this request, which would be refused again.
    if status >= 500 || status == 408 || status == 429 {
        return Err(PostError::Network);
    }
    // Errors are JSON (`voordeur_shared::api::ErrorBody`). A proxy's page is not.
    let json = std::str::from_utf8(&bytes)
        .ok()
        .and_then(|text| js_sys::JSON::parse(text).ok())
        .unwrap_or(JsValue::NULL);
    let body = session::error_body(json);
    Err(PostError::Refused(AppError::SyncRefused {
        status,
        code: body.as_ref().map_or_else(String::new, |b| b.error.clone()),
        detail: body.map_or_else(|| format!("HTTP {status}"), |b| b.message),
    }))
}
