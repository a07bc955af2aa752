//! The browser under the state layer: local storage as a [`Kv`], the clock, and marks in
//! the performance timeline (read by the benchmarks).

use gloo_storage::{LocalStorage, Storage};
use wasm_bindgen::JsValue;

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
