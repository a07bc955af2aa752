//! The phone's copy of its documents, in the browser's local storage (gloo-storage).
//!
//! Keys, all under `vd.`:
//! - `vd.actor`: this device's Automerge actor id; `vd.settings`: language, streets.
//! - `vd.salt`, `vd.key`: the salt and the wrapped data key of the [`vault`](crate::vault).
//! - `vd.session`: the signed-in person and their session (see `session`).
//! - `vd.meta.<doc>`: a document's kind, its heads and the heads the server acknowledged.
//! - `vd.snap.<doc>`: a saved document; `vd.inc.<doc>.<n>`: the changes made after it, one
//!   key per edit, so a keystroke writes a few hundred bytes, not the whole document. Loading
//!   concatenates them; after [`COMPACT_AFTER`] increments they are folded into the snapshot.
//! - `vd.walk.<street>`: the walk list as last computed, so the app shows the street at
//!   once, before it loads any document.
//!
//! `<doc>` and `<street>` are pseudonyms, and every value but the actor, the settings and
//! the vault's own is sealed by the [`Cipher`]: the storage shows neither what a document
//! holds nor which door it is about.
//!
//! Every write goes to its own key or replaces a key whole, and local storage writes either
//! fit or fail, so a write that does not fit leaves what was stored as it was. The store
//! remembers the heads it last stored per document, so changes that did not fit go out
//! with the next write of that document.

use std::collections::BTreeMap;

use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use gloo_storage::{LocalStorage, Storage};
use serde::{Deserialize, Serialize};
use voordeur_shared::{
    automerge::{ActorId, AutoCommit, ChangeHash},
    docs::{DocKind, DocumentId, new_actor},
    walk::WalkList,
};
use wasm_bindgen::JsValue;

use crate::{i18n::Lang, session::Session, vault::Cipher};

/// Increments a document may gather before they are folded into its snapshot.
const COMPACT_AFTER: usize = 32;
/// What local storage holds per origin in Chromium and Firefox: 10 MiB... of UTF-16, so
/// about five million characters. The app warns at [`WARN_AT`] of it.
pub const QUOTA_CHARS: usize = 5 * 1024 * 1024;
pub const WARN_AT: f64 = 0.8;

const SNAP: &str = "vd.snap.";
const INC: &str = "vd.inc.";
const META: &str = "vd.meta.";

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StoreError {
    #[error("storage is full")]
    Full,
    #[error("local storage is not available: {0}")]
    Unavailable(String),
    #[error("stored document {0} is damaged: {1}")]
    Damaged(DocumentId, String),
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Settings {
    pub lang: Lang,
    pub streets: Vec<String>,
}

/// What the device knows of a document without loading it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    pub kind: DocKind,
    pub heads: Vec<String>,
    pub server: Vec<String>,
}

impl Meta {
    pub fn synced(&self) -> bool {
        !self.server.is_empty() && self.heads == self.server
    }

    pub fn heads(&self) -> Vec<ChangeHash> {
        parse_hashes(&self.heads)
    }

    pub fn server_heads(&self) -> Vec<ChangeHash> {
        parse_hashes(&self.server)
    }
}

fn hashes(heads: &[ChangeHash]) -> Vec<String> {
    heads.iter().map(ToString::to_string).collect()
}

fn parse_hashes(hex: &[String]) -> Vec<ChangeHash> {
    hex.iter().filter_map(|h| h.parse().ok()).collect()
}

/// How much of local storage the app uses.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Usage {
    pub chars: usize,
}

impl Usage {
    pub fn fraction(self) -> f64 {
        self.chars as f64 / QUOTA_CHARS as f64
    }

    pub fn almost_full(self) -> bool {
        self.fraction() >= WARN_AT
    }
}

#[derive(Debug)]
pub struct Store {
    raw: web_sys::Storage,
    cipher: Cipher,
    /// Per document: the increment numbers stored.
    incs: BTreeMap<DocumentId, Vec<u32>>,
    /// Per document: the heads as last stored (or loaded). Documents not in here have
    /// never been stored on this device.
    saved: BTreeMap<DocumentId, Vec<ChangeHash>>,
    /// The documents' metas, read in the one pass over the keys at open.
    metas: Vec<(DocumentId, Meta)>,
    /// Characters in the origin's keys and values, counted at start and kept up to date on
    /// every write of ours.
    chars: usize,
}

fn unavailable(e: impl std::fmt::Debug) -> StoreError {
    StoreError::Unavailable(format!("{e:?}"))
}

impl Store {
    pub fn open(cipher: Cipher) -> Result<Store, StoreError> {
        let raw = LocalStorage::raw();
        let mut store = Store {
            raw,
            cipher,
            incs: BTreeMap::new(),
            saved: BTreeMap::new(),
            metas: Vec::new(),
            chars: 0,
        };
        let len = store.raw.length().map_err(unavailable)?;
        for i in 0..len {
            let Some(key) = store.raw.key(i).map_err(unavailable)? else {
                continue;
            };
            // The quota is the origin's, so every key counts, ours or not.
            let value = store.raw.get_item(&key).map_err(unavailable)?;
            store.chars += key.len() + value.as_ref().map_or(0, |v| v.len());
            if let Some(id) = key.strip_prefix(META).and_then(|n| store.cipher.id_of(n))
                && let Some(meta) = value.as_deref().and_then(|v| store.open_record(v))
            {
                store.metas.push((id, meta));
            }
            if let Some(rest) = key.strip_prefix(INC)
                && let Some((doc, n)) = rest.split_once('.')
                && let (Some(doc), Ok(n)) = (store.cipher.id_of(doc), n.parse())
            {
                store.incs.entry(doc).or_default().push(n);
            }
        }
        for numbers in store.incs.values_mut() {
            numbers.sort_unstable();
        }
        Ok(store)
    }

    pub fn usage(&self) -> Usage {
        Usage { chars: self.chars }
    }

    fn set(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        let before = self.raw.get_item(key).ok().flatten().map_or(0, |v| v.len());
        self.raw.set_item(key, value).map_err(|e| classify(&e))?;
        if before == 0 {
            self.chars += key.len();
        }
        self.chars = self.chars + value.len() - before.min(self.chars);
        Ok(())
    }

    fn remove(&mut self, key: &str) {
        if let Ok(Some(value)) = self.raw.get_item(key) {
            self.chars = self.chars.saturating_sub(key.len() + value.len());
        }
        let _ = self.raw.remove_item(key);
    }

    /// Small records (metas, the walk list, the session) are postcard, sealed: serde_json
    /// would add more to the app's download than it would save in reading the storage.
    fn get_record<T: for<'de> Deserialize<'de>>(&self, key: &str) -> Option<T> {
        self.open_record(&self.raw.get_item(key).ok()??)
    }

    fn open_record<T: for<'de> Deserialize<'de>>(&self, text: &str) -> Option<T> {
        postcard::from_bytes(&self.cipher.open(text)?).ok()
    }

    fn set_record<T: Serialize>(&mut self, key: &str, value: &T) -> Result<(), StoreError> {
        let bytes =
            postcard::to_allocvec(value).map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let sealed = self.cipher.seal(&bytes);
        self.set(key, &sealed)
    }

    /// The pseudonym of a document in key names.
    fn name(&self, id: &DocumentId) -> String {
        self.cipher.name(id)
    }

    /// This device's actor id, made on first use.
    pub fn actor(&mut self) -> Result<ActorId, StoreError> {
        if let Ok(Some(hex)) = self.raw.get_item("vd.actor")
            && let Ok(actor) = hex.parse::<ActorId>()
        {
            return Ok(actor);
        }
        let actor = new_actor();
        self.set("vd.actor", &actor.to_hex_string())?;
        Ok(actor)
    }

    pub fn settings(&self) -> Settings {
        settings()
    }

    /// Settings are not sealed: the language shows before anyone signs in.
    pub fn set_settings(&mut self, settings: &Settings) -> Result<(), StoreError> {
        let bytes =
            postcard::to_allocvec(settings).map_err(|e| StoreError::Unavailable(e.to_string()))?;
        self.set("vd.settings", &BASE64.encode(bytes))
    }

    pub fn session(&self) -> Option<Session> {
        self.get_record("vd.session")
    }

    pub fn set_session(&mut self, session: &Session) -> Result<(), StoreError> {
        self.set_record("vd.session", session)
    }

    /// Removes everything the app keeps in local storage: documents, walk lists, the
    /// session, the settings and the device's actor.
    pub fn wipe(&mut self) {
        let keys: Vec<String> = (0..self.raw.length().unwrap_or(0))
            .filter_map(|i| self.raw.key(i).ok().flatten())
            .filter(|key| key.starts_with("vd."))
            .collect();
        for key in keys {
            self.remove(&key);
        }
        self.incs.clear();
        self.saved.clear();
        self.metas.clear();
    }

    /// The stored walk list of `street`, and the street document's heads it was made at.
    pub fn walk(&self, street: &str) -> Option<(Vec<ChangeHash>, WalkList)> {
        let key = format!("vd.walk.{}", self.name(&street_doc(street)?));
        let (heads, walk): (Vec<String>, WalkList) = self.get_record(&key)?;
        Some((parse_hashes(&heads), walk))
    }

    pub fn set_walk(
        &mut self,
        street: &str,
        heads: &[ChangeHash],
        walk: &WalkList,
    ) -> Result<(), StoreError> {
        let id = street_doc(street).ok_or_else(|| StoreError::Unavailable(street.into()))?;
        let key = format!("vd.walk.{}", self.name(&id));
        self.set_record(&key, &(hashes(heads), walk))
    }

    /// Every stored document's meta.
    /// Every stored document's meta, as read when the store was opened.
    pub fn metas(&mut self) -> Vec<(DocumentId, Meta)> {
        std::mem::take(&mut self.metas)
    }

    /// Loads a stored document: its snapshot and every increment after it.
    pub fn load(&mut self, id: &DocumentId) -> Result<AutoCommit, StoreError> {
        let damaged = |e: String| StoreError::Damaged(*id, e);
        let name = self.name(id);
        let mut bytes = Vec::new();
        let keys = std::iter::once(format!("{SNAP}{name}")).chain(
            self.incs
                .get(id)
                .into_iter()
                .flatten()
                .map(|n| format!("{INC}{name}.{n}")),
        );
        for key in keys {
            if let Some(text) = self.raw.get_item(&key).map_err(unavailable)? {
                let plain = self.cipher.open(&text);
                bytes.extend(plain.ok_or_else(|| damaged("does not open".into()))?);
            }
        }
        let mut doc = AutoCommit::load(&bytes).map_err(|e| damaged(e.to_string()))?;
        self.saved.insert(*id, doc.get_heads());
        Ok(doc)
    }

    /// Stores what changed in `doc` since it was last saved, and its meta.
    pub fn save(
        &mut self,
        kind: DocKind,
        doc: &mut AutoCommit,
        server_heads: &[ChangeHash],
    ) -> Result<(), StoreError> {
        let id = kind.id();
        let Some(saved) = self.saved.get(&id) else {
            // New on this device (made here, or received whole from the server).
            self.compact(&id, doc)?;
            return self.set_meta(kind, doc, server_heads);
        };
        if doc.get_heads() != *saved {
            let sealed = self.cipher.seal(&doc.save_after(saved));
            let numbers = self.incs.entry(id).or_default();
            let n = numbers.last().map_or(0, |n| n + 1);
            let written = self.set(&format!("{INC}{}.{n}", self.name(&id)), &sealed);
            if let Err(e) = written {
                // Perhaps folding the increments frees enough room.
                if self.compact(&id, doc).is_err() {
                    return Err(e);
                }
            } else {
                self.incs.entry(id).or_default().push(n);
                self.saved.insert(id, doc.get_heads());
            }
        }
        self.set_meta(kind, doc, server_heads)?;
        if self.incs.get(&id).is_some_and(|n| n.len() > COMPACT_AFTER) {
            // A failed compaction leaves the increments in place: nothing is lost.
            let _ = self.compact(&id, doc);
        }
        Ok(())
    }

    /// Records what the server acknowledged of a document.
    pub fn set_meta(
        &mut self,
        kind: DocKind,
        doc: &mut AutoCommit,
        server_heads: &[ChangeHash],
    ) -> Result<(), StoreError> {
        let meta = Meta {
            kind,
            heads: hashes(&doc.get_heads()),
            server: hashes(server_heads),
        };
        self.set_record(&format!("{META}{}", self.name(&kind.id())), &meta)
    }

    /// Replaces a document's snapshot and increments by one snapshot. The new snapshot is
    /// written before the increments go, so a failure at any point loses nothing.
    fn compact(&mut self, id: &DocumentId, doc: &mut AutoCommit) -> Result<(), StoreError> {
        let name = self.name(id);
        let snapshot = self.cipher.seal(&doc.save());
        self.set(&format!("{SNAP}{name}"), &snapshot)?;
        for n in self.incs.remove(id).unwrap_or_default() {
            self.remove(&format!("{INC}{name}.{n}"));
        }
        self.saved.insert(*id, doc.get_heads());
        Ok(())
    }
}

/// The settings, readable before the data is unlocked.
pub fn settings() -> Settings {
    LocalStorage::raw()
        .get_item("vd.settings")
        .ok()
        .flatten()
        .and_then(|text| BASE64.decode(text).ok())
        .and_then(|bytes| postcard::from_bytes(&bytes).ok())
        .unwrap_or_default()
}

fn street_doc(street: &str) -> Option<DocumentId> {
    Some(
        DocKind::Street {
            street: street.parse().ok()?,
        }
        .id(),
    )
}

fn classify(error: &JsValue) -> StoreError {
    let name = js_sys::Reflect::get(error, &JsValue::from_str("name"))
        .ok()
        .and_then(|n| n.as_string())
        .unwrap_or_default();
    if name == "QuotaExceededError" {
        StoreError::Full
    } else {
        StoreError::Unavailable(name)
    }
}
