//! The phone's state, owned in one place: [`Field`] holds the replica of the street's
//! documents, their storage, the settings and the session, and makes every change to
//! them. It knows nothing of the browser or of the screens: storage is a [`Kv`], time is
//! passed in, and each action returns what changed for the caller (`crate::actions`) to
//! show. So the whole of it runs in native tests (`tests.rs`).

pub mod aside;
pub mod cipher;
pub mod kv;
pub mod retry;
pub mod store;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use voordeur_shared::{
    access::{Grant, Role},
    api,
    docs::{self, DocKind, DocumentId},
    door::DoorView,
    ids::{AccountId, AddressId, StreetId, VisitId},
    model::{Consent, IsoDate, Outcome, Partner, Resident, SignalKind, Theme},
    record::{Door, RecordError},
    sync::{
        SyncRequest, SyncResponse,
        client::{Received, Replica, ReplicaDoc},
    },
    uuid::Uuid,
    walk::WalkList,
};

#[cfg(test)]
pub use self::kv::MemoryKv;
pub use self::kv::{Kv, KvError};
use self::{
    aside::{Aside, Refusal, Refused, Why},
    cipher::Cipher,
    store::{Settings, Store, StoreError, Usage},
};
use crate::{error::AppError, i18n::Lang};

/// The signed-in person, as the server described them at sign-in (kept with the session:
/// the fields and their order are the stored format).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub id: AccountId,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub partner: Option<Partner>,
    pub streets: Vec<Uuid>,
}

impl Person {
    pub fn grant(&self) -> Grant {
        Grant {
            role: self.role,
            partner: self.partner,
            streets: self.streets.iter().copied().collect(),
        }
    }

    /// Whether the person may change what is said at the doors of `street`.
    pub fn writes(&self, street: StreetId) -> bool {
        self.grant()
            .access(&DocKind::Street { street: street.0 })
            .writes_everything()
    }
}

impl From<api::Account> for Person {
    fn from(account: api::Account) -> Person {
        Person {
            partner: account.organisation.as_ref().map(|o| o.partner),
            id: account.id,
            username: account.username,
            display_name: account.display_name,
            role: account.role,
            streets: account.streets.iter().map(|s| s.0).collect(),
        }
    }
}

/// A session: the bearer token and when it ends (see the server's `auth`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub token: String,
    pub expires_ms: i64,
    pub person: Person,
}

impl Session {
    pub fn expired(&self, now_ms: i64) -> bool {
        self.expires_ms <= now_ms
    }
}

/// One edit at a door.
#[derive(Debug, Clone)]
pub enum Edit {
    Notes {
        visit: VisitId,
        text: String,
    },
    Contribution {
        visit: VisitId,
        text: String,
    },
    Wish {
        visit: VisitId,
        theme: Theme,
        text: String,
    },
    Signal {
        visit: VisitId,
        kind: SignalKind,
        text: String,
    },
    Consent {
        consent: Consent,
        resident: Resident,
    },
}

impl Edit {
    /// Whether the door screen shows more than the field typed in (a new wish, signal or
    /// answer); typing in notes or contribution changes nothing else on screen.
    pub fn structural(&self) -> bool {
        !matches!(self, Edit::Notes { .. } | Edit::Contribution { .. })
    }
}

/// What a sync response changed on the phone.
#[derive(Debug)]
pub struct Synced {
    pub received: Received,
    /// The walk list, if the street document moved on.
    pub walk: Option<WalkList>,
}

/// The phone's state: documents, their storage, settings and session.
#[derive(Debug)]
pub struct Field<K> {
    replica: Replica,
    store: Store<K>,
    settings: Settings,
    /// The session, also once expired (its person still owns the data on the phone).
    session: Option<Session>,
    /// The walk list as last shown, kept so a visit recorded here updates it in place.
    walk: Option<WalkList>,
    /// Changes the server refused, set aside, per document (as stored).
    asides: BTreeMap<DocumentId, Aside>,
    /// Marks a moment of an action (the app marks the browser's performance timeline,
    /// which the benchmarks read).
    mark: fn(&str),
}

impl<K: Kv> Field<K> {
    /// Opens storage with the phone's data key; documents are not loaded yet.
    pub fn open(kv: K, cipher: Cipher) -> Result<Field<K>, AppError> {
        let mut store = Store::open(kv, cipher)?;
        let actor = store.actor()?;
        let settings = store.settings();
        let session = store.session();
        let asides = store.asides().into_iter().collect();
        let mut replica = Replica::new(actor);
        for street in &settings.streets {
            replica.follow(street.0);
        }
        Ok(Field {
            replica,
            store,
            settings,
            session,
            walk: None,
            asides,
            mark: |_| {},
        })
    }

    /// Marks the steps of loading and recording with `mark`.
    pub fn with_marks(mut self, mark: fn(&str)) -> Field<K> {
        self.mark = mark;
        self
    }

    /// Closes the state, handing back its storage.
    #[cfg(test)]
    pub fn close(self) -> K {
        self.store.into_kv()
    }

    /// The street on screen: the one followed last (the first in the settings).
    pub fn street_id(&self) -> Option<StreetId> {
        self.settings.streets.first().copied()
    }

    /// The streets followed, with their names as far as their documents are on the phone.
    pub fn followed(&self) -> Vec<api::StreetSummary> {
        self.settings
            .streets
            .iter()
            .map(|street| api::StreetSummary {
                id: *street,
                name: self
                    .replica
                    .get(&street_kind(*street).id())
                    .and_then(|s| street_name(&s.doc))
                    .unwrap_or_default(),
                addresses: 0,
                visits: 0,
            })
            .collect()
    }

    /// The walk list of the street on screen: as stored if the street has not moved on
    /// since, else made anew.
    pub fn current_walk(&mut self) -> Option<WalkList> {
        let street = self.street_id()?;
        let current = self
            .replica
            .get_mut(&street_kind(street).id())
            .map(|d| d.doc.get_heads())?;
        match self.store.walk(street) {
            Some((heads, walk)) if heads == current => {
                self.walk = Some(walk.clone());
                Some(walk)
            }
            _ => self.read_street(),
        }
    }

    pub fn session(&self) -> Option<&Session> {
        self.session.as_ref()
    }

    /// The session's token while it lasts.
    pub fn token(&self, now_ms: i64) -> Option<String> {
        self.session
            .as_ref()
            .filter(|s| !s.expired(now_ms))
            .map(|s| s.token.clone())
    }

    /// Changes made here that the server has not acknowledged.
    pub fn unsynced(&mut self) -> usize {
        self.replica.unsynced()
    }

    pub fn usage(&self) -> Usage {
        self.store.usage()
    }

    /// The storage underneath (tests reach past the state with it).
    #[cfg(test)]
    pub fn kv_mut(&mut self) -> &mut K {
        self.store.kv_mut()
    }

    /// The walk list stored with the documents, shown before they are loaded.
    pub fn stored_walk(&mut self) -> Option<WalkList> {
        let (_, walk) = self.store.walk(self.street_id()?)?;
        self.walk = Some(walk.clone());
        Some(walk)
    }

    /// Loads what the walk list and sync need: the street documents and every document
    /// with unsynced changes. Synced household and confidential documents stay parked
    /// in storage until their door is opened. Returns the walk list if it had to be made
    /// anew (the street moved on since it was stored).
    pub fn load(&mut self) -> Result<Option<WalkList>, AppError> {
        for (id, meta) in self.store.metas() {
            if meta.kind.id() != id {
                continue;
            }
            if matches!(meta.kind, DocKind::Street { .. }) || !meta.synced() {
                let doc = self.store.load(&id)?;
                self.replica
                    .insert(ReplicaDoc::restore(meta.kind, doc, meta.server_heads()));
            } else {
                self.replica.park(meta.kind, meta.heads());
            }
        }
        (self.mark)("voordeur-loaded");
        let Some(street) = self.street_id() else {
            return Ok(None);
        };
        let current = self
            .replica
            .get_mut(&street_kind(street).id())
            .map(|d| d.doc.get_heads());
        let stored = self.store.walk(street).map(|(heads, _)| heads);
        if current.is_some() && current == stored {
            return Ok(None);
        }
        Ok(self.read_street())
    }

    /// Follows `street` from now on (also), and shows it.
    pub fn follow(&mut self, street: StreetId) -> Result<(), AppError> {
        self.replica.follow(street.0);
        self.settings.streets.retain(|s| *s != street);
        self.settings.streets.insert(0, street);
        self.walk = None;
        Ok(self.store.set_settings(&self.settings)?)
    }

    pub fn save_language(&mut self, lang: Lang) -> Result<(), AppError> {
        self.settings.lang = lang;
        Ok(self.store.set_settings(&self.settings)?)
    }

    /// Keeps a new session.
    pub fn sign_in(&mut self, session: Session) -> Result<(), AppError> {
        self.store.set_session(&session)?;
        self.session = Some(session);
        Ok(())
    }

    /// Forgets everything on the phone but the language, down to the device's actor id.
    pub fn wipe(&mut self) {
        let lang = self.settings.lang;
        self.store.wipe();
        self.replica = Replica::new(docs::new_actor());
        self.settings = Settings {
            lang,
            ..Settings::default()
        };
        self.session = None;
        self.walk = None;
        self.asides.clear();
        let _ = self.store.set_settings(&self.settings);
    }

    /// Everything the door screen shows, read from the documents of that one door.
    pub fn door_view(&mut self, address: AddressId) -> Result<DoorView, AppError> {
        let door = self.door(address)?;
        let doc = |kind: DocKind| self.replica.get(&kind.id()).map(|d| &d.doc);
        let street = doc(door.street_kind()).ok_or(AppError::NoStreet)?;
        Ok(DoorView::read(
            street,
            address,
            doc(door.household()),
            Partner::ALL
                .iter()
                .filter_map(|p| doc(door.confidential(*p))),
        )?)
    }

    /// Records a knock on a door at `at_ms`; returns the new walk list.
    pub fn record_visit(
        &mut self,
        address: AddressId,
        outcome: Outcome,
        return_on: Option<IsoDate>,
        at_ms: i64,
    ) -> Result<Option<WalkList>, AppError> {
        let door = self.door(address)?;
        let author = self
            .session
            .as_ref()
            .map(|s| s.person.display_name.clone())
            .unwrap_or_default();
        (self.mark)("record-start");
        door.record_visit(&mut self.replica, &author, at_ms, outcome, return_on)?;
        (self.mark)("record-made");
        self.persist(&door.street_kind().id())?;
        (self.mark)("record-street-stored");
        self.persist(&door.household().id())?;
        (self.mark)("record-household-stored");
        // The one door changed: no need to read ten thousand visits again.
        Ok(match self.walk.take() {
            Some(mut walk) => {
                walk.knock(address, at_ms, outcome, return_on);
                self.keep_walk(walk)
            }
            None => self.read_street(),
        })
    }

    /// Applies one edit to a door's documents and stores it.
    pub fn edit(&mut self, address: AddressId, edit: Edit) -> Result<(), AppError> {
        let door = self.door(address)?;
        let replica = &mut self.replica;
        let touched = match edit {
            Edit::Notes { visit, text } => {
                door.set_notes(replica, visit, &text)?;
                door.household()
            }
            Edit::Contribution { visit, text } => {
                door.set_contribution(replica, visit, &text)?;
                door.household()
            }
            Edit::Wish { visit, theme, text } => {
                door.add_wish(replica, visit, theme, &text)?;
                door.street_kind()
            }
            Edit::Signal { visit, kind, text } => {
                door.add_signal(replica, visit, kind, &text)?;
                door.confidential(kind.partner())
            }
            Edit::Consent { consent, resident } => {
                door.set_consent(replica, consent, &resident)?;
                door.household()
            }
        };
        self.persist(&touched.id())?;
        if touched == door.street_kind() {
            // A wish leaves every door's state as it was: the walk list stays, at the new
            // heads.
            match self.walk.take() {
                Some(walk) => self.keep_walk(walk),
                None => self.read_street(),
            };
        }
        Ok(())
    }

    /// The next sync request: every document's offer, and the streets followed.
    pub fn sync_request(&mut self) -> SyncRequest {
        self.replica.request()
    }

    /// Takes in a sync response at `now_ms`: loads the parked documents it brings news for,
    /// merges, sets aside (and stores) the changes of documents the server refused, and
    /// stores every document whose content or server knowledge moved.
    pub fn receive(&mut self, response: SyncResponse, now_ms: i64) -> Result<Synced, AppError> {
        for id in self.replica.to_load(&response) {
            let doc = self.store.load(&id)?;
            self.replica.unpark(&id, doc);
        }
        let received = self.replica.receive(response);
        for set_aside in &received.refused {
            if !set_aside.changes.is_empty() {
                self.keep_aside(Aside::new(set_aside.clone(), now_ms))?;
            }
        }
        let ids: Vec<DocumentId> = self.replica.docs().map(|(id, _)| *id).collect();
        for id in &ids {
            self.persist(id)?;
        }
        let street_changed = self
            .street_id()
            .is_some_and(|s| received.changed.contains(&street_kind(s).id()));
        let walk = if street_changed {
            self.read_street()
        } else {
            None
        };
        Ok(Synced { received, walk })
    }

    /// Stores changes the server refused, then the document without them. If the changes
    /// cannot be stored, they go back into the document (as it is still stored), to be
    /// refused and set aside again at the next sync: nothing is lost either way.
    fn keep_aside(&mut self, aside: Aside) -> Result<(), AppError> {
        let kind = aside.kind;
        let id = kind.id();
        let kept = match self.asides.get(&id) {
            Some(earlier) => {
                let mut kept = earlier.clone();
                kept.add(aside.clone());
                kept
            }
            None => aside.clone(),
        };
        if let Err(e) = self.store.set_aside(&id, &kept) {
            let _ = self.replica.restore_aside(kind, &aside.changes);
            return Err(e.into());
        }
        self.asides.insert(id, kept);
        match self.replica.get_mut(&id) {
            Some(entry) => {
                let server = entry.server_heads().to_vec();
                self.store.replace(kind, &mut entry.doc, &server)?;
            }
            None => self.store.forget(&id),
        }
        Ok(())
    }

    /// The changes set aside, as the person is told of them, newest first.
    pub fn refusals(&mut self) -> Vec<Refusal> {
        let mut refusals: Vec<Refusal> = self
            .asides
            .iter()
            .map(|(id, aside)| {
                let street = self
                    .replica
                    .get(&street_kind(StreetId(aside.kind.street())).id())
                    .map(|s| &s.doc);
                let doors = aside
                    .doors
                    .iter()
                    .map(|door| {
                        let name = street
                            .and_then(|s| door_name(s, *door))
                            .unwrap_or_else(|| "?".into());
                        (AddressId(*door), name)
                    })
                    .collect::<Vec<_>>();
                let what = match aside.kind {
                    DocKind::Street { .. } if doors.is_empty() => Refused::StreetChanges,
                    DocKind::Street { .. } => Refused::Visits,
                    DocKind::Household { .. } => Refused::Notes,
                    DocKind::Confidential { .. } => Refused::Signal,
                };
                Refusal {
                    doc: *id,
                    what,
                    street: street.and_then(street_name).unwrap_or_default(),
                    doors,
                    why: Why::of(&aside.code),
                    at_ms: aside.at_ms,
                }
            })
            .collect();
        refusals.sort_by_key(|r| std::cmp::Reverse(r.at_ms));
        refusals
    }

    /// The person tries the changes set aside of document `id` again: they go back into
    /// the document, and out with the next sync.
    pub fn retry_aside(&mut self, id: DocumentId) -> Result<(), AppError> {
        let Some(aside) = self.asides.get(&id).cloned() else {
            return Ok(());
        };
        self.ensure_loaded(aside.kind)?;
        self.replica
            .restore_aside(aside.kind, &aside.changes)
            .map_err(AppError::Damaged)?;
        self.persist(&id)?;
        self.store.remove_aside(&id);
        self.asides.remove(&id);
        if matches!(aside.kind, DocKind::Street { .. }) {
            self.read_street();
        }
        Ok(())
    }

    /// Makes the walk list anew after the street document changed, and stores it.
    fn read_street(&mut self) -> Option<WalkList> {
        let street = self.street_id()?;
        let doc = &mut self.replica.get_mut(&street_kind(street).id())?.doc;
        let walk = WalkList::read(doc).ok()?;
        (self.mark)("voordeur-walk");
        self.keep_walk(walk)
    }

    /// Stores the walk list with the street document's heads it belongs to.
    fn keep_walk(&mut self, walk: WalkList) -> Option<WalkList> {
        let street = self.street_id()?;
        let heads = self
            .replica
            .get_mut(&street_kind(street).id())?
            .doc
            .get_heads();
        // The stored walk list only speeds up the next start; failing to store it is fine.
        let _ = self.store.set_walk(street, &heads, &walk);
        self.walk = Some(walk.clone());
        Some(walk)
    }

    /// Makes sure a document is in memory (it may be parked in storage).
    fn ensure_loaded(&mut self, kind: DocKind) -> Result<(), StoreError> {
        let id = kind.id();
        if self.replica.is_parked(&id) {
            let doc = self.store.load(&id)?;
            self.replica.unpark(&id, doc);
        }
        Ok(())
    }

    /// Stores what changed in a document.
    fn persist(&mut self, id: &DocumentId) -> Result<(), StoreError> {
        let Some(entry) = self.replica.get_mut(id) else {
            return Ok(());
        };
        let kind = entry.kind;
        let server = entry.server_heads().to_vec();
        self.store.save(kind, &mut entry.doc, &server)
    }

    fn door(&mut self, address: AddressId) -> Result<Door, AppError> {
        let street = self.street_id().ok_or(AppError::NoStreet)?;
        let door = Door::find(&self.replica, street.0, address.0)?;
        self.ensure_loaded(door.household())?;
        for partner in Partner::ALL {
            self.ensure_loaded(door.confidential(partner))?;
        }
        Ok(door)
    }
}

fn street_kind(street: StreetId) -> DocKind {
    DocKind::Street { street: street.0 }
}

/// A door as the person knows it: its building and number ("Lindenhof 1A").
fn door_name(street: &voordeur_shared::automerge::AutoCommit, door: Uuid) -> Option<String> {
    let address = docs::get_entry(street, docs::ADDRESSES, &door.to_string()).ok()??;
    let building = docs::get_entry(street, docs::COMPLEXES, &address.complex)
        .ok()
        .flatten()
        .map(|c| c.name)
        .unwrap_or_default();
    Some(format!("{building} {}", address.number).trim().to_string())
}

fn street_name(street: &voordeur_shared::automerge::AutoCommit) -> Option<String> {
    use voordeur_shared::automerge::ReadDoc;
    match street
        .get(voordeur_shared::automerge::ROOT, "name")
        .ok()??
    {
        (voordeur_shared::automerge::Value::Scalar(value), _) => value.as_str().map(str::to_string),
        _ => None,
    }
}

impl From<RecordError> for AppError {
    fn from(e: RecordError) -> Self {
        match e {
            RecordError::UnknownStreet(_) => AppError::NoStreet,
            RecordError::UnknownAddress(_) => AppError::UnknownDoor,
            other => AppError::NotSaved(other.to_string()),
        }
    }
}
