//! Syncing by itself: one loop that syncs soon after every change, at once when the
//! browser comes back online, every twenty seconds while all is synced (to bring in what
//! others synced), and with growing pauses while the server can't be reached.

use std::{cell::RefCell, time::Duration};

use futures::{
    FutureExt, StreamExt,
    channel::mpsc::{UnboundedReceiver, UnboundedSender, unbounded},
};
use gloo_timers::future::sleep;
use js_sys::Uint8Array;
use leptos::prelude::*;
use voordeur_shared::sync::wire;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Request, RequestInit, Response};

use crate::field::{self, SyncState, Ui, now_ms};

/// How long after a change the app waits for more changes before it syncs.
const SETTLE: Duration = Duration::from_millis(800);
/// How often an idle, synced app asks the server for others' changes.
const POLL: Duration = Duration::from_secs(20);
/// The first and the longest pause after a failed sync.
const BACKOFF_FIRST: Duration = Duration::from_secs(2);
const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// Round trips one sync may take (the server may ask for whole documents once).
const MAX_ROUNDS: usize = 4;
/// The largest response the app inflates (a whole street with its households).
const MAX_INFLATED: usize = 64 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// Something changed on the phone.
    Changed,
    /// The builder asked, or the browser came back online.
    Now,
}

thread_local! {
    static WAKER: RefCell<Option<UnboundedSender<Wake>>> = const { RefCell::new(None) };
}

/// Tells the sync loop that something happened.
pub fn wake(why: Wake) {
    WAKER.with(|w| {
        if let Some(tx) = w.borrow().as_ref() {
            let _ = tx.unbounded_send(why);
        }
    });
}

/// Starts the loop; it runs as long as the page.
pub fn start(ui: Ui) {
    let (tx, rx) = unbounded();
    WAKER.with(|w| *w.borrow_mut() = Some(tx));
    let online = window_event_listener(leptos::ev::online, |_| wake(Wake::Now));
    let offline = window_event_listener(leptos::ev::offline, move |_| {
        ui.sync.set(SyncState::Offline);
    });
    // The listeners live as long as the page.
    std::mem::forget((online, offline));
    leptos::task::spawn_local(run(ui, rx));
}

async fn run(ui: Ui, mut wakes: UnboundedReceiver<Wake>) {
    let mut backoff = BACKOFF_FIRST;
    loop {
        let outcome = sync_once(ui).await;
        let pause = match outcome {
            Ok(()) => {
                backoff = BACKOFF_FIRST;
                POLL
            }
            Err(_) => {
                let pause = backoff;
                backoff = (backoff * 2).min(BACKOFF_MAX);
                pause
            }
        };
        // Wait for the pause or a wake-up; after a change, let typing settle first.
        let woke = futures::select! {
            why = wakes.next() => why,
            () = sleep(pause).fuse() => None,
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
fn signed_out(ui: Ui) {
    if ui.person.get_untracked().is_some() {
        leptos::task::spawn_local(crate::sign_in_again(ui));
    }
}

async fn sync_once(ui: Ui) -> Result<(), SyncFailure> {
    if field::with(|f| f.street_id().is_none()).unwrap_or(true) {
        return Ok(());
    }
    let Some(token) = field::with(|f| f.token()).flatten() else {
        signed_out(ui);
        return Err(SyncFailure::SignedOut);
    };
    if !navigator_online() {
        ui.sync.set(SyncState::Offline);
        return Err(SyncFailure::Offline);
    }
    ui.sync.set(SyncState::Syncing);
    for _ in 0..MAX_ROUNDS {
        let Some(body) = field::with(|f| wire::encode_request(&f.replica.request())) else {
            return Ok(());
        };
        let reply = match post("/api/sync", &token, &body).await {
            Ok(reply) => reply,
            Err(PostError::Network) => {
                ui.sync.set(SyncState::Offline);
                return Err(SyncFailure::Offline);
            }
            Err(PostError::Unauthorized) => {
                signed_out(ui);
                return Err(SyncFailure::SignedOut);
            }
            Err(PostError::Status(message)) => {
                ui.sync.set(SyncState::Refused(message));
                return Err(SyncFailure::Refused);
            }
        };
        let response = match wire::decode_response(&reply, MAX_INFLATED) {
            Ok(response) => response,
            Err(e) => {
                ui.sync.set(SyncState::Refused(e.to_string()));
                return Err(SyncFailure::Refused);
            }
        };
        let result = field::with(|f| f.receive(response));
        let again = match result {
            Some(Ok((received, walk))) => {
                if let Some(walk) = walk {
                    ui.walk.set(Some(walk));
                }
                if !received.changed.is_empty() {
                    ui.revision.update(|r| *r += 1);
                }
                if let Some((_, reason)) = received.rejected.first() {
                    ui.problem.set(Some(reason.clone()));
                }
                received.again
            }
            Some(Err(e)) => {
                ui.problem.set(Some(e.to_string()));
                false
            }
            None => false,
        };
        crate::refresh_counts(ui);
        if !again {
            break;
        }
    }
    ui.sync.set(SyncState::Synced { at_ms: now_ms() });
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
    /// The server answered with an error; its message.
    Status(String),
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
    // Errors are JSON: {"error": code, "message": text}. A proxy's page is not.
    let message = std::str::from_utf8(&bytes)
        .ok()
        .and_then(|text| js_sys::JSON::parse(text).ok())
        .and_then(|json| field_str(&json, "message"))
        .unwrap_or_else(|| format!("HTTP {}", response.status()));
    if response.status() >= 500 {
        // The server is there but unwell: like being offline, try again later.
        return Err(PostError::Network);
    }
    Err(PostError::Status(message))
}

fn field_str(object: &JsValue, name: &str) -> Option<String> {
    js_sys::Reflect::get(object, &JsValue::from_str(name))
        .ok()?
        .as_string()
}
