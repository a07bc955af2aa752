//! The key-value storage the phone's state is kept in, as a trait: the browser's local
//! storage in the app (`crate::browser::LocalKv`), [`MemoryKv`] in native tests.
//!
//! The contract is local storage's: a write either fits whole or fails and changes
//! nothing; values are text.

#[cfg(test)]
use std::collections::BTreeMap;

/// Why storage refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KvError {
    /// The origin's quota is used up: the write changed nothing.
    #[error("storage is full")]
    Full,
    /// Storage can't be used at all (blocked, private mode, …): the browser's reason.
    #[error("storage is not available: {0}")]
    Unavailable(String),
}

/// Synchronous text storage under string keys, as local storage is.
pub trait Kv {
    /// Every key, in no particular order.
    fn keys(&self) -> Result<Vec<String>, KvError>;
    fn get(&self, key: &str) -> Result<Option<String>, KvError>;
    /// Stores `value` whole, or fails and leaves what was there.
    fn set(&mut self, key: &str, value: &str) -> Result<(), KvError>;
    fn remove(&mut self, key: &str);
}

/// Storage in memory, for tests: local storage's behaviour, including a quota counted in
/// characters of keys and values, as browsers count it.
#[cfg(test)]
#[derive(Debug, Clone, Default)]
pub struct MemoryKv {
    entries: BTreeMap<String, String>,
    quota: Option<usize>,
}

#[cfg(test)]
impl MemoryKv {
    pub fn new() -> MemoryKv {
        MemoryKv::default()
    }

    pub fn set_quota(&mut self, chars: Option<usize>) {
        self.quota = chars;
    }

    /// Every key with its value, in key order.
    pub fn keys_and_values(&self) -> Vec<(String, String)> {
        self.entries
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Characters used, counted as the browser does: keys and values.
    pub fn chars(&self) -> usize {
        self.entries.iter().map(|(k, v)| k.len() + v.len()).sum()
    }
}

#[cfg(test)]
impl Kv for MemoryKv {
    fn keys(&self) -> Result<Vec<String>, KvError> {
        Ok(self.entries.keys().cloned().collect())
    }

    fn get(&self, key: &str) -> Result<Option<String>, KvError> {
        Ok(self.entries.get(key).cloned())
    }

    fn set(&mut self, key: &str, value: &str) -> Result<(), KvError> {
        if let Some(quota) = self.quota {
            let before = self.entries.get(key).map_or(0, |v| key.len() + v.len());
            if self.chars() - before + key.len() + value.len() > quota {
                return Err(KvError::Full);
            }
        }
        self.entries.insert(key.to_string(), value.to_string());
        Ok(())
    }

    fn remove(&mut self, key: &str) {
        self.entries.remove(key);
    }
}

/// One [`MemoryKv`] shared by several handles, as local storage is by the tabs of an
/// origin, for tests: every write is logged with the handle that made it, so a test can
/// tell each other tab, as the browser's `storage` event does.
#[cfg(test)]
#[derive(Debug, Clone)]
pub struct SharedKv {
    kv: std::rc::Rc<std::cell::RefCell<MemoryKv>>,
    log: std::rc::Rc<std::cell::RefCell<Vec<Write>>>,
    tab: usize,
}

/// A write to a [`SharedKv`]: by which handle, the key, its new and its old value.
#[cfg(test)]
#[derive(Debug, Clone)]
pub struct Write {
    pub tab: usize,
    pub key: String,
    pub value: Option<String>,
    pub old: Option<String>,
}

#[cfg(test)]
impl SharedKv {
    pub fn new() -> SharedKv {
        SharedKv {
            kv: Default::default(),
            log: Default::default(),
            tab: 0,
        }
    }

    /// Another handle on the same storage: tab number `tab`.
    pub fn tab(&self, tab: usize) -> SharedKv {
        SharedKv {
            tab,
            ..self.clone()
        }
    }

    /// The writes made since the log held `since`, by handles other than this one.
    pub fn writes_by_others(&self, since: usize) -> Vec<Write> {
        self.log.borrow()[since..]
            .iter()
            .filter(|w| w.tab != self.tab)
            .cloned()
            .collect()
    }

    pub fn logged(&self) -> usize {
        self.log.borrow().len()
    }

    /// The storage as it is.
    pub fn contents(&self) -> MemoryKv {
        self.kv.borrow().clone()
    }

    fn record(&self, key: &str, value: Option<&str>, old: Option<String>) {
        self.log.borrow_mut().push(Write {
            tab: self.tab,
            key: key.to_string(),
            value: value.map(str::to_string),
            old,
        });
    }
}

#[cfg(test)]
impl Kv for SharedKv {
    fn keys(&self) -> Result<Vec<String>, KvError> {
        self.kv.borrow().keys()
    }

    fn get(&self, key: &str) -> Result<Option<String>, KvError> {
        self.kv.borrow().get(key)
    }

    fn set(&mut self, key: &str, value: &str) -> Result<(), KvError> {
        let old = self.kv.borrow().get(key)?;
        self.kv.borrow_mut().set(key, value)?;
        self.record(key, Some(value), old);
        Ok(())
    }

    fn remove(&mut self, key: &str) {
        let old = self.kv.borrow().get(key).ok().flatten();
        self.kv.borrow_mut().remove(key);
        if old.is_some() {
            self.record(key, None, old);
        }
    }
}
