//! The browser under the state layer: local storage as a [`Kv`], the clock, marks in the
//! performance timeline (read by the benchmarks), and a Web Lock shared by the app's tabs.

use std::future::Future;

use futures::channel::oneshot;
use gloo_storage::{LocalStorage, Storage};
use wasm_bindgen::{JsCast, JsValue, closure::Closure};
use wasm_bindgen_futures::JsFuture;

use crate::state::{Kv, KvError};

/// The browser's local storage.
#[derive(Debug)]
pub struct LocalKv(web_sys::Storage);

impl LocalKv {
    pub fn open() -> LocalKv {
        LocalKv(LocalStorage::raw())
    }
}

fn unavailable(e: JsValue) -> KvError {
    KvError::Unavailable(format!("{e:?}"))
}

impl Kv for LocalKv {
    fn keys(&self) -> Result<Vec<String>, KvError> {
        let len = self.0.length().map_err(unavailable)?;
        let mut keys = Vec::with_capacity(len as usize);
        for i in 0..len {
            if let Some(key) = self.0.key(i).map_err(unavailable)? {
                keys.push(key);
            }
        }
        Ok(keys)
    }

    fn get(&self, key: &str) -> Result<Option<String>, KvError> {
        self.0.get_item(key).map_err(unavailable)
    }

    fn set(&mut self, key: &str, value: &str) -> Result<(), KvError> {
        self.0.set_item(key, value).map_err(|e| {
            let name = js_sys::Reflect::get(&e, &JsValue::from_str("name"))
                .ok()
                .and_then(|n| n.as_string())
                .unwrap_or_default();
            if name == "QuotaExceededError" {
                KvError::Full
            } else {
                KvError::Unavailable(name)
            }
        })
    }

    fn remove(&mut self, key: &str) {
        let _ = self.0.remove_item(key);
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    js_sys::Date::now() as i64
}

/// Marks a moment in the browser's performance timeline (read by the benchmarks).
pub fn mark(name: &str) {
    if let Some(performance) = web_sys::window().and_then(|w| w.performance()) {
        let _ = performance.mark(name);
    }
}

/// Runs `work` holding the Web Lock `name`, which every tab of the origin shares: tabs
/// take turns. Without Web Locks (an old browser), runs it at once.
pub async fn locked<T>(name: &str, work: impl Future<Output = T>) -> T {
    let locks = web_sys::window()
        .and_then(|w| js_sys::Reflect::get(&w.navigator(), &"locks".into()).ok())
        .filter(|locks| !locks.is_undefined() && !locks.is_null());
    let request = locks.as_ref().and_then(|locks| {
        js_sys::Reflect::get(locks, &"request".into())
            .ok()?
            .dyn_into::<js_sys::Function>()
            .ok()
    });
    let (Some(locks), Some(request)) = (locks, request) else {
        return work.await;
    };
    // The lock is held until the promise the callback returns settles: `release`.
    let (granted_tx, granted) = oneshot::channel::<()>();
    let mut release: Option<js_sys::Function> = None;
    let held = js_sys::Promise::new(&mut |resolve, _| release = Some(resolve));
    let callback = Closure::once(move |_lock: JsValue| -> JsValue {
        let _ = granted_tx.send(());
        held.into()
    });
    let requested = request.call2(&locks, &name.into(), callback.as_ref().unchecked_ref());
    if requested.is_err() {
        return work.await;
    }
    if granted.await.is_err() {
        return work.await;
    }
    let result = work.await;
    if let Some(release) = release {
        let _ = release.call0(&JsValue::NULL);
    }
    // The callback has run; the lock's promise settles with `held`.
    drop(callback);
    if let Ok(promise) = requested.and_then(|p| p.dyn_into::<js_sys::Promise>()) {
        let _ = JsFuture::from(promise).await;
    }
    result
}
