//! Pushes from the server (`GET /api/events`, server-sent events read from a streamed
//! `fetch`, which, unlike `EventSource`, sends the session's token): a document this
//! person reads changed on the server. If this device does not hold it at those heads,
//! the sync loop syncs at once; an open picture then reads the street again. The
//! 20-second poll stays as the fallback; a broken stream is opened again after a pause
//! that grows to a minute (while no one is signed in it looks every second: a pause grown
//! before signing in would leave a fresh session without pushes).

use std::time::Duration;

use gloo_timers::future::sleep;
use js_sys::{Reflect, Uint8Array};
use serde::Deserialize;
use voordeur_shared::{docs::DocumentId, sync::Hash};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::ReadableStreamDefaultReader;

use crate::{actions::Actions, session, sync::Wake};

/// One changed document, as pushed.
#[derive(Debug, Deserialize)]
pub struct Pushed {
    pub document: DocumentId,
    pub heads: Vec<Hash>,
}

/// Starts listening; it runs as long as the page.
pub fn start(actions: Actions) {
    leptos::task::spawn_local(listen(actions));
}

async fn listen(actions: Actions) {
    let mut pause = Duration::from_secs(1);
    loop {
        let Some(token) = actions.token() else {
            // Not signed in (yet): look again soon, without backing off, so that the
            // stream opens within a second of signing in.
            sleep(Duration::from_secs(1)).await;
            continue;
        };
        if stream(actions, &token).await.is_ok() {
            pause = Duration::from_secs(1);
        }
        sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(60));
    }
}

/// Reads one stream of events until it ends.
async fn stream(actions: Actions, token: &str) -> Result<(), JsValue> {
    let response = session::call("GET", "/api/events", Some(token), None).await?;
    if !response.ok() {
        return Err(JsValue::from_str("events refused"));
    }
    let body = response
        .body()
        .ok_or_else(|| JsValue::from_str("no body"))?;
    let reader: ReadableStreamDefaultReader = body.get_reader().dyn_into()?;
    let mut buffer = String::new();
    loop {
        let chunk = JsFuture::from(reader.read()).await?;
        if Reflect::get(&chunk, &"done".into())?
            .as_bool()
            .unwrap_or(true)
        {
            return Ok(());
        }
        let bytes: Uint8Array = Reflect::get(&chunk, &"value".into())?.dyn_into()?;
        buffer.push_str(&String::from_utf8_lossy(&bytes.to_vec()));
        while let Some(end) = buffer.find("\n\n") {
            let event: String = buffer.drain(..end + 2).collect();
            take(actions, &event);
        }
    }
}

/// One server-sent event: `changed` with the documents as JSON, or `lagged` (this
/// connection missed some: sync).
fn take(actions: Actions, event: &str) {
    let name = event
        .lines()
        .find_map(|l| l.strip_prefix("event:"))
        .map(str::trim);
    let data: String = event
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(str::trim)
        .collect();
    match name {
        Some("changed") => {
            let pushed: Vec<Pushed> = js_sys::JSON::parse(&data)
                .ok()
                .and_then(|json| serde_wasm_bindgen::from_value(json).ok())
                .unwrap_or_default();
            if actions.news(&pushed) {
                actions.wake(Wake::Now);
            }
        }
        Some("lagged") => actions.wake(Wake::Now),
        _ => {}
    }
}
