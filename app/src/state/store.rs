//! The phone's copy of its documents, in key-value storage ([`Kv`]: the browser's local
//! storage in the app, memory in tests).
//!
//! Keys, all under `vd.`:
//! - `vd.settings`: language, streets. (`vd.actor`, a device's Automerge actor id, is no
//!   longer written: every opening writes as an actor of its own, so two tabs never make
//!   two different changes with one actor and sequence number, which no peer would accept.)
//! - `vd.salt`, `vd.key`: the salt and the wrapped data key of the [`vault`](crate::vault).
//! - `vd.session`: the signed-in person and their session (see `session`).
//! - `vd.heads.<doc>`: a document's kind, its heads and the heads the server acknowledged
//!   (`vd.meta.<doc>` held the same with the heads as hex text; it is still read, strictly,
//!   and replaced at the document's next write).
//! - `vd.snap.<doc>.<tab>.<n>`: a saved document; `vd.inc.<doc>.<tab>.<n>`: the changes
//!   made after it, one key per edit, so a keystroke writes a few hundred bytes, not the
//!   whole document. Loading concatenates a document's snapshots and increments (snapshots
//!   first); after [`COMPACT_AFTER`] increments they are folded into a new snapshot.
//!   (`vd.snap.<doc>` and `vd.inc.<doc>.<n>`, as stored before, are still read and folded.)
//! - `vd.wait.<doc>`: when the oldest edit of a document that the server has not
//!   acknowledged was made (see `Field::waiting`).
//!
//! **Several tabs.** Every tab of the app on a device opens its own `Store` on the same
//! storage. `<tab>` is a random name each store picks when it opens and `<n>` its own
//! counter, so two tabs never write the same snapshot or increment key: those keys are
//! written once and never rewritten. A store knows which of them it has folded into its
//! documents in memory (read at load, written by itself, or taken in from another tab's
//! write with [`Store::take_in`], which the app calls on the browser's `storage` event), and
//! compaction writes a new snapshot under a new key before it removes exactly those keys:
//! an increment another tab wrote meanwhile is never removed unread, and two tabs
//! compacting at once each keep a snapshot holding everything they removed.
//! - `vd.walk.<street>`: the walk list as last computed, so the app shows the street at
//!   once, before it loads any document.
//! - `vd.aside.<doc>`: a document's changes the server refused, set aside with the
//!   refusal (see `aside`), until the person tries them again.
//!
//! `<doc>` and `<street>` are pseudonyms, and every value but the settings and
//! the vault's own is sealed by the [`Cipher`]: the storage shows neither what a document
//! holds nor which door it is about.
//!
//! Every write goes to its own key or replaces a key whole, and local storage writes either
//! fit or fail, so a write that does not fit leaves what was stored as it was. The store
//! remembers the heads it last stored per document, so changes that did not fit go out
//! with the next write of that document.

use std::collections::BTreeMap;

use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use serde::{Deserialize, Serialize};
use voordeur_shared::{
    automerge::{AutoCommit, ChangeHash},
    docs::{self, DocKind, DocumentId},
    ids::StreetId,
    sync::Hash,
    walk::WalkList,
};

use super::{
    Session,
    aside::Aside,
    cipher::{Cipher, random},
    kv::{Kv, KvError},
};
use crate::i18n::Lang;

/// Increments a document may gather before they are folded into its snapshot.
const COMPACT_AFTER: usize = 32;
/// What local storage holds per origin in Chromium and Firefox: 10 MiB... of UTF-16, so
/// about five million characters. The app warns at [`WARN_AT`] of it.
pub const QUOTA_CHARS: usize = 5 * 1024 * 1024;
pub const WARN_AT: f64 = 0.8;

const SNAP: &str = "vd.snap.";
const INC: &str = "vd.inc.";
const META: &str = "vd.heads.";
const WAIT: &str = "vd.wait.";
/// Metas as stored before heads had one type (hex text); read, never written.
const LEGACY_META: &str = "vd.meta.";
const SETTINGS: &str = "vd.settings";
const HANDED_ON: &str = "vd.handed_on";

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StoreError {
    #[error("storage is full")]
    Full,
    #[error("storage is not available: {0}")]
    Unavailable(String),
    #[error("stored document {0} is damaged: {1}")]
    Damaged(DocumentId, String),
}

impl From<KvError> for StoreError {
    fn from(e: KvError) -> Self {
        match e {
            KvError::Full => StoreError::Full,
            KvError::Unavailable(why) => StoreError::Unavailable(why),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Settings {
    pub lang: Lang,
    pub streets: Vec<StreetId>,
}

/// What the device knows of a document without loading it. Heads are the wire's
/// [`Hash`]: the same type from the server's reply to this record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    pub kind: DocKind,
    pub heads: Vec<Hash>,
    pub server: Vec<Hash>,
}

impl Meta {
    pub fn synced(&self) -> bool {
        !self.server.is_empty() && self.heads == self.server
    }

    pub fn heads(&self) -> Vec<ChangeHash> {
        self.heads.iter().copied().map(ChangeHash::from).collect()
    }

    pub fn server_heads(&self) -> Vec<ChangeHash> {
        self.server.iter().copied().map(ChangeHash::from).collect()
    }
}

/// A meta as stored before heads had one type: heads as hex text.
#[derive(Deserialize)]
struct LegacyMeta {
    kind: DocKind,
    heads: Vec<String>,
    server: Vec<String>,
}

impl LegacyMeta {
    /// The meta, if every head is a hash: one that is not makes the record damaged.
    fn upgrade(self) -> Option<Meta> {
        let parse = |hex: &[String]| -> Option<Vec<Hash>> {
            hex.iter()
                .map(|h| h.parse::<ChangeHash>().ok().map(Hash::from))
                .collect()
        };
        Some(Meta {
            kind: self.kind,
            heads: parse(&self.heads)?,
            server: parse(&self.server)?,
        })
    }
}

fn hashes(heads: &[ChangeHash]) -> Vec<Hash> {
    heads.iter().copied().map(Hash::from).collect()
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

/// Where a snapshot or increment key sorts among a document's chunks: snapshots first (a
/// document chunk must come first when Automerge loads them), then increments by the tab
/// that wrote them and their number. `tab` is empty for keys stored before tabs had names.
type ChunkOrder = (bool, String, u32);

/// A snapshot or increment key: the document's pseudonym and where the chunk sorts.
fn parse_chunk(key: &str) -> Option<(&str, ChunkOrder)> {
    let (increment, rest) = if let Some(rest) = key.strip_prefix(SNAP) {
        (false, rest)
    } else {
        (true, key.strip_prefix(INC)?)
    };
    let mut parts = rest.split('.');
    let name = parts.next()?;
    let order = match (parts.next(), parts.next(), parts.next()) {
        // `vd.snap.<doc>`, as stored before tabs had names.
        (None, None, None) if !increment => (increment, String::new(), 0),
        // `vd.inc.<doc>.<n>`, likewise.
        (Some(n), None, None) if increment => (increment, String::new(), n.parse().ok()?),
        (Some(tab), Some(n), None) if !tab.is_empty() => {
            (increment, tab.to_string(), n.parse().ok()?)
        }
        _ => return None,
    };
    Some((name, order))
}

/// What another tab's write was, as [`Store::take_in`] reads it.
#[derive(Debug)]
pub enum Foreign {
    /// A snapshot or increment of a document: its content (`None`: it was removed).
    Chunk(DocumentId, Option<Vec<u8>>),
    /// A document's meta.
    Meta(DocumentId, Meta),
    /// Anything else (settings, the session, the walk list, another app's key).
    Other,
}

#[derive(Debug)]
pub struct Store<K> {
    raw: K,
    cipher: Cipher,
    /// This store's name in its keys, random per opening (see "Several tabs" above).
    tab: String,
    /// The number of the next snapshot or increment this store writes.
    next: u32,
    /// Per document: its snapshot and increment keys in storage, by where they sort. For a
    /// document in memory, exactly the keys whose content it holds.
    chunks: BTreeMap<DocumentId, BTreeMap<ChunkOrder, String>>,
    /// Per document with edits the server has not acknowledged: when the oldest was made.
    waits: BTreeMap<DocumentId, i64>,
    /// Per document: the heads as last stored (or loaded). Documents not in here have
    /// never been stored on this device.
    saved: BTreeMap<DocumentId, Vec<ChangeHash>>,
    /// The documents' metas, read in the one pass over the keys at open.
    metas: Vec<(DocumentId, Meta)>,
    /// Characters in the origin's keys and values, counted at start and kept up to date on
    /// every write of ours.
    chars: usize,
}

impl<K: Kv> Store<K> {
    pub fn open(raw: K, cipher: Cipher) -> Result<Store<K>, StoreError> {
        let tab: String = random::<4>().iter().map(|b| format!("{b:02x}")).collect();
        let mut store = Store {
            raw,
            cipher,
            tab,
            next: 0,
            chunks: BTreeMap::new(),
            waits: BTreeMap::new(),
            saved: BTreeMap::new(),
            metas: Vec::new(),
            chars: 0,
        };
        let mut legacy = Vec::new();
        for key in store.raw.keys()? {
            // The quota is the origin's, so every key counts, ours or not.
            let value = store.raw.get(&key)?;
            store.chars += key.len() + value.as_ref().map_or(0, |v| v.len());
            if let Some(id) = key.strip_prefix(META).and_then(|n| store.cipher.id_of(n))
                && let Some(meta) = value.as_deref().and_then(|v| store.open_record(v))
            {
                store.metas.push((id, meta));
            }
            if let Some(id) = key
                .strip_prefix(LEGACY_META)
                .and_then(|n| store.cipher.id_of(n))
                && let Some(value) = value.as_deref()
            {
                let meta = store
                    .open_record::<LegacyMeta>(value)
                    .and_then(LegacyMeta::upgrade)
                    .ok_or_else(|| StoreError::Damaged(id, "its heads do not read".into()))?;
                legacy.push((id, meta));
            }
            if let Some((name, order)) = parse_chunk(&key)
                && let Some(doc) = store.cipher.id_of(name)
            {
                store
                    .chunks
                    .entry(doc)
                    .or_default()
                    .insert(order, key.clone());
            }
            if let Some(id) = key.strip_prefix(WAIT).and_then(|n| store.cipher.id_of(n))
                && let Some(since) = value.as_deref().and_then(|v| store.open_record(v))
            {
                store.waits.insert(id, since);
            }
        }
        // A document's current meta wins over a legacy one left by a failed removal.
        for (id, meta) in legacy {
            if !store.metas.iter().any(|(known, _)| *known == id) {
                store.metas.push((id, meta));
            }
        }
        Ok(store)
    }

    /// The storage underneath (tests reach past the store with it).
    #[cfg(test)]
    pub fn kv_mut(&mut self) -> &mut K {
        &mut self.raw
    }

    /// Closes the store, handing back its storage (a test's "reload" opens it again).
    #[cfg(test)]
    pub fn into_kv(self) -> K {
        self.raw
    }

    pub fn usage(&self) -> Usage {
        Usage { chars: self.chars }
    }

    fn set(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        let before = self.raw.get(key).ok().flatten().map_or(0, |v| v.len());
        self.raw.set(key, value)?;
        if before == 0 {
            self.chars += key.len();
        }
        self.chars = self.chars + value.len() - before.min(self.chars);
        Ok(())
    }

    fn remove(&mut self, key: &str) {
        if let Ok(Some(value)) = self.raw.get(key) {
            self.chars = self.chars.saturating_sub(key.len() + value.len());
        }
        self.raw.remove(key);
    }

    /// Small records (metas, the walk list, the session) are postcard, sealed: serde_json
    /// would add more to the app's download than it would save in reading the storage.
    fn get_record<T: for<'de> Deserialize<'de>>(&self, key: &str) -> Option<T> {
        self.open_record(&self.raw.get(key).ok()??)
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

    pub fn settings(&self) -> Settings {
        settings(&self.raw)
    }

    /// Settings are not sealed: the language shows before anyone signs in.
    pub fn set_settings(&mut self, settings: &Settings) -> Result<(), StoreError> {
        let bytes =
            postcard::to_allocvec(settings).map_err(|e| StoreError::Unavailable(e.to_string()))?;
        self.set(SETTINGS, &BASE64.encode(bytes))
    }

    pub fn session(&self) -> Option<Session> {
        self.get_record("vd.session")
    }

    pub fn set_session(&mut self, session: &Session) -> Result<(), StoreError> {
        self.set_record("vd.session", session)
    }

    /// Where the signals this person handed to other partners stand, as the server last
    /// said (`/api/handed-on`).
    pub fn handed_on(&self) -> voordeur_shared::api::HandedOn {
        self.get_record(HANDED_ON).unwrap_or_default()
    }

    pub fn set_handed_on(
        &mut self,
        handed_on: &voordeur_shared::api::HandedOn,
    ) -> Result<(), StoreError> {
        self.set_record(HANDED_ON, handed_on)
    }

    /// Removes everything the app keeps in local storage: documents, walk lists, the
    /// session, the settings and the device's actor.
    pub fn wipe(&mut self) {
        let keys: Vec<String> = self
            .raw
            .keys()
            .unwrap_or_default()
            .into_iter()
            .filter(|key| key.starts_with("vd."))
            .collect();
        for key in keys {
            self.remove(&key);
        }
        self.chunks.clear();
        self.waits.clear();
        self.saved.clear();
        self.metas.clear();
    }

    /// The stored walk list of `street`, and the street document's heads it was made at.
    /// (A walk list stored in an earlier format does not read: it is made anew.)
    pub fn walk(&self, street: StreetId) -> Option<(Vec<ChangeHash>, WalkList)> {
        let key = format!("vd.walk.{}", self.name(&street_doc(street)));
        let (heads, walk): (Vec<Hash>, WalkList) = self.get_record(&key)?;
        Some((heads.into_iter().map(ChangeHash::from).collect(), walk))
    }

    pub fn set_walk(
        &mut self,
        street: StreetId,
        heads: &[ChangeHash],
        walk: &WalkList,
    ) -> Result<(), StoreError> {
        let key = format!("vd.walk.{}", self.name(&street_doc(street)));
        self.set_record(&key, &(hashes(heads), walk))
    }

    /// Every stored document's meta, as read when the store was opened.
    pub fn metas(&mut self) -> Vec<(DocumentId, Meta)> {
        std::mem::take(&mut self.metas)
    }

    /// Loads a stored document: its snapshots and every increment after them.
    pub fn load(&mut self, id: &DocumentId) -> Result<AutoCommit, StoreError> {
        let damaged = |e: String| StoreError::Damaged(*id, e);
        let mut bytes = Vec::new();
        let keys: Vec<String> = self
            .chunks
            .get(id)
            .into_iter()
            .flat_map(|chunks| chunks.values().cloned())
            .collect();
        for key in keys {
            match self.raw.get(&key)? {
                Some(text) => {
                    let plain = self.cipher.open(&text);
                    bytes.extend(plain.ok_or_else(|| damaged("does not open".into()))?);
                }
                // Removed by another tab's compaction: its snapshot holds it, and arrives.
                None => self.forget_chunk(id, &key),
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
            // New in this tab (made here, or received whole from the server). Another tab
            // may have stored it meanwhile: what it stored goes into the new snapshot
            // before that tab's keys go.
            if self.chunks.get(&id).is_some_and(|c| !c.is_empty()) {
                let mut stored = self.load(&id)?;
                doc.merge(&mut stored)
                    .map_err(|e| StoreError::Damaged(id, e.to_string()))?;
                docs::forget_patches(doc);
            }
            self.compact(&id, doc)?;
            return self.set_meta(kind, doc, server_heads);
        };
        if doc.get_heads() != *saved {
            let sealed = self.cipher.seal(&doc.save_after(saved));
            let (order, key) = self.new_key(INC, &id);
            let written = self.set(&key, &sealed);
            if let Err(e) = written {
                // Perhaps folding the increments frees enough room.
                if self.compact(&id, doc).is_err() {
                    return Err(e);
                }
            } else {
                self.chunks.entry(id).or_default().insert(order, key);
                self.saved.insert(id, doc.get_heads());
            }
        }
        self.set_meta(kind, doc, server_heads)?;
        let increments = self
            .chunks
            .get(&id)
            .map_or(0, |c| c.keys().filter(|(inc, _, _)| *inc).count());
        if increments > COMPACT_AFTER {
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
        let name = self.name(&kind.id());
        self.set_record(&format!("{META}{name}"), &meta)?;
        self.remove(&format!("{LEGACY_META}{name}"));
        Ok(())
    }

    /// Replaces the snapshots and increments `doc` holds by one new snapshot. The new
    /// snapshot is written, under a key of its own, before the others go, so a failure at
    /// any point loses nothing; keys `doc` does not hold (another tab's increment written
    /// meanwhile) stay.
    fn compact(&mut self, id: &DocumentId, doc: &mut AutoCommit) -> Result<(), StoreError> {
        let snapshot = self.cipher.seal(&doc.save());
        let (order, key) = self.new_key(SNAP, id);
        self.set(&key, &snapshot)?;
        let folded = self.chunks.remove(id).unwrap_or_default();
        for old in folded.values() {
            self.remove(old);
        }
        self.chunks.entry(*id).or_default().insert(order, key);
        self.saved.insert(*id, doc.get_heads());
        Ok(())
    }

    /// A key for a new snapshot (`prefix` [`SNAP`]) or increment ([`INC`]) of `id` that no
    /// other tab writes.
    fn new_key(&mut self, prefix: &str, id: &DocumentId) -> (ChunkOrder, String) {
        let n = self.next;
        self.next += 1;
        let key = format!("{prefix}{}.{}.{n}", self.name(id), self.tab);
        ((prefix == INC, self.tab.clone(), n), key)
    }

    fn forget_chunk(&mut self, id: &DocumentId, key: &str) {
        if let Some(chunks) = self.chunks.get_mut(id) {
            chunks.retain(|_, k| k != key);
        }
    }

    /// Takes in another tab's write of `key` (`value` `None`: removed; `old` what was
    /// there), as the browser's `storage` event reports it: keeps the storage's count and the
    /// store's knowledge of its keys up to date, and returns what was written, opened. A
    /// chunk's key is recorded as held: the caller merges its content into the document
    /// if it has the document in memory (then [`Store::merged`]), and a document loaded
    /// later reads it.
    pub fn take_in(&mut self, key: &str, value: Option<&str>, old: Option<&str>) -> Foreign {
        let before = old.map_or(0, |v| key.len() + v.len());
        let after = value.map_or(0, |v| key.len() + v.len());
        self.chars = (self.chars + after).saturating_sub(before);
        if let Some((name, order)) = parse_chunk(key)
            && let Some(id) = self.cipher.id_of(name)
        {
            let Some(value) = value else {
                self.forget_chunk(&id, key);
                return Foreign::Chunk(id, None);
            };
            let Some(plain) = self.cipher.open(value) else {
                return Foreign::Other;
            };
            self.chunks
                .entry(id)
                .or_default()
                .insert(order, key.to_string());
            return Foreign::Chunk(id, Some(plain));
        }
        if let Some(id) = key.strip_prefix(META).and_then(|n| self.cipher.id_of(n))
            && let Some(meta) = value.and_then(|v| self.open_record::<Meta>(v))
        {
            return Foreign::Meta(id, meta);
        }
        if let Some(id) = key.strip_prefix(WAIT).and_then(|n| self.cipher.id_of(n)) {
            match value.and_then(|v| self.open_record::<i64>(v)) {
                Some(since) => self.waits.insert(id, since),
                None => self.waits.remove(&id),
            };
        }
        Foreign::Other
    }

    /// Another tab's changes were merged into `doc` (at `before` until then): if everything
    /// of `doc` was stored, it still is.
    pub fn merged(&mut self, id: &DocumentId, before: &[ChangeHash], doc: &mut AutoCommit) {
        if self.saved.get(id).is_some_and(|saved| saved == before) {
            self.saved.insert(*id, doc.get_heads());
        }
    }

    /// When the oldest edit of `id` the server has not acknowledged was made, if known.
    pub fn waiting_since(&self, id: &DocumentId) -> Option<i64> {
        self.waits.get(id).copied()
    }

    /// Notes that `id` has an edit made at `at_ms` that the server lacks; an older one
    /// stays the oldest. (Failing to store this only loses the age shown.)
    pub fn set_waiting(&mut self, id: &DocumentId, at_ms: i64, keep_older: bool) {
        if keep_older && self.waits.contains_key(id) {
            return;
        }
        let key = format!("{WAIT}{}", self.name(id));
        if self.set_record(&key, &at_ms).is_ok() {
            self.waits.insert(*id, at_ms);
        }
    }

    /// Nothing of `id` waits any more.
    pub fn clear_waiting(&mut self, id: &DocumentId) {
        if self.waits.remove(id).is_some() {
            let key = format!("{WAIT}{}", self.name(id));
            self.remove(&key);
        }
    }
}

/// The settings, readable before the data is unlocked.
pub fn settings(raw: &impl Kv) -> Settings {
    raw.get(SETTINGS)
        .ok()
        .flatten()
        .and_then(|text| BASE64.decode(text).ok())
        .and_then(|bytes| postcard::from_bytes(&bytes).ok())
        .unwrap_or_default()
}

/// The households erased that the person has not closed the notice of (`erased`).
const ERASED: &str = "vd.erased";

impl<K: Kv> Store<K> {
    pub fn erased(&self) -> Vec<super::erased::Erased> {
        self.get_record(ERASED).unwrap_or_default()
    }

    pub fn set_erased(&mut self, erased: &[super::erased::Erased]) -> Result<(), StoreError> {
        if erased.is_empty() {
            self.remove(ERASED);
            return Ok(());
        }
        self.set_record(ERASED, &erased)
    }
}

/// Changes the server refused, per document: `vd.aside.<doc>`, sealed like the documents.
const ASIDE: &str = "vd.aside.";

impl<K: Kv> Store<K> {
    /// Every document's changes set aside (see [`Aside`]).
    pub fn asides(&self) -> Vec<(DocumentId, Aside)> {
        self.raw
            .keys()
            .unwrap_or_default()
            .into_iter()
            .filter_map(|key| {
                let id = self.cipher.id_of(key.strip_prefix(ASIDE)?)?;
                Some((id, self.get_record(&key)?))
            })
            .collect()
    }

    pub fn set_aside(&mut self, id: &DocumentId, aside: &Aside) -> Result<(), StoreError> {
        let key = format!("{ASIDE}{}", self.name(id));
        self.set_record(&key, aside)
    }

    pub fn remove_aside(&mut self, id: &DocumentId) {
        let key = format!("{ASIDE}{}", self.name(id));
        self.remove(&key);
    }

    /// Stores `doc` anew, whole (it went back to the server's version: its stored
    /// increments may hold changes it no longer has), with its meta.
    pub fn replace(
        &mut self,
        kind: DocKind,
        doc: &mut AutoCommit,
        server_heads: &[ChangeHash],
    ) -> Result<(), StoreError> {
        self.compact(&kind.id(), doc)?;
        self.set_meta(kind, doc, server_heads)
    }

    /// Removes a document from storage (all of its changes are set aside).
    pub fn forget(&mut self, id: &DocumentId) {
        let name = self.name(id);
        for key in [
            format!("{META}{name}"),
            format!("{LEGACY_META}{name}"),
            format!("{SNAP}{name}"),
        ] {
            self.remove(&key);
        }
        for key in self.chunks.remove(id).unwrap_or_default().into_values() {
            self.remove(&key);
        }
        self.saved.remove(id);
    }
}

fn street_doc(street: StreetId) -> DocumentId {
    DocKind::Street {
        street: street.0,
        epoch: 0,
    }
    .id()
}

#[cfg(test)]
mod tests {
    use voordeur_shared::{demo, docs::DocKind};

    use super::*;
    use crate::state::kv::MemoryKv;

    fn cipher() -> Cipher {
        Cipher::new(&[3; 64])
    }

    /// A meta as the app stored it before heads had one type.
    fn legacy_kv(heads: &[&str]) -> (MemoryKv, DocKind) {
        let kind = DocKind::Street {
            street: demo::street_id(),
            epoch: 0,
        };
        let heads: Vec<String> = heads.iter().map(|h| h.to_string()).collect();
        let record = postcard::to_allocvec(&(kind, &heads, &heads)).unwrap();
        let mut kv = MemoryKv::new();
        let key = format!("{LEGACY_META}{}", cipher().name(&kind.id()));
        kv.set(&key, &cipher().seal(&record)).unwrap();
        (kv, kind)
    }

    #[test]
    fn a_meta_stored_with_hex_heads_still_reads() {
        let hash = ChangeHash([0xab; 32]);
        let (kv, kind) = legacy_kv(&[&hash.to_string()]);
        let mut store = Store::open(kv, cipher()).unwrap();
        let metas = store.metas();
        assert_eq!(metas.len(), 1);
        assert_eq!(metas[0].1.kind, kind);
        assert_eq!(metas[0].1.heads(), [hash]);
        assert!(metas[0].1.synced());
    }

    /// The page's own sign-in form (`static/start.js`) reads the language before the app
    /// has arrived, as the first byte of the stored settings: 0 Dutch, 1 English.
    #[test]
    fn the_stored_settings_begin_with_the_language() {
        for (lang, byte) in [(Lang::Nl, 0), (Lang::En, 1)] {
            let mut store = Store::open(MemoryKv::new(), cipher()).unwrap();
            let streets = vec![StreetId(demo::street_id())];
            store.set_settings(&Settings { lang, streets }).unwrap();
            let stored = store.raw.get(SETTINGS).unwrap().unwrap();
            assert_eq!(BASE64.decode(stored).unwrap()[0], byte, "{lang:?}");
        }
    }

    #[test]
    fn a_head_that_does_not_parse_is_an_error_not_skipped() {
        let (kv, kind) = legacy_kv(&["not a hash"]);
        let opened = Store::open(kv, cipher());
        assert!(
            matches!(opened, Err(StoreError::Damaged(id, _)) if id == kind.id()),
            "{opened:?}"
        );
    }
}
