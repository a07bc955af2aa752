//! The phone's state, owned in one place: [`Field`] holds the replica of the street's
//! documents, their storage, the settings and the session, and makes every change to
//! them. It knows nothing of the browser or of the screens: storage is a [`Kv`], time is
//! passed in, and each action returns what changed for the caller (`crate::actions`) to
//! show. So the whole of it runs in native tests (`tests.rs`).

pub mod cipher;
pub mod kv;
pub mod retry;
pub mod store;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};
use voordeur_shared::{
    access::{Grant, Role},
    api,
    docs::{self, DocKind, DocumentId, Signature},
    door::{ConflictField, DoorView},
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
    /// One of a conflict's values chosen, for everyone.
    Settle {
        field: ConflictField,
        value: String,
    },
    /// A visit's outcome set right.
    Correct {
        visit: VisitId,
        outcome: Outcome,
        return_on: Option<IsoDate>,
    },
    /// The door's refusal set aside on purpose.
    ClearRefusal,
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

    pub fn street_id(&self) -> Option<StreetId> {
        self.replica.streets().next().map(StreetId)
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

    /// Follows `street` from now on.
    pub fn follow(&mut self, street: StreetId) -> Result<(), AppError> {
        self.replica.follow(street.0);
        self.settings.streets = self.replica.streets().map(StreetId).collect();
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

    /// Applies one edit to a door's documents at `at_ms`, signed with the person's name,
    /// and stores it. Returns the walk list when the door's state changed.
    pub fn edit(
        &mut self,
        address: AddressId,
        edit: Edit,
        at_ms: i64,
    ) -> Result<Option<WalkList>, AppError> {
        let door = self.door(address)?;
        let by = self
            .session
            .as_ref()
            .map(|s| s.person.display_name.clone())
            .unwrap_or_default();
        let signature = Signature { by: &by, at_ms };
        let replica = &mut self.replica;
        replica.sign_as(&by, at_ms);
        let mut door_changed = false;
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
                door.set_consent(replica, signature, consent, &resident)?;
                door.household()
            }
            Edit::Settle { field, value } => {
                door.settle(replica, signature, field, &value)?;
                door.household()
            }
            Edit::Correct {
                visit,
                outcome,
                return_on,
            } => {
                door.correct_outcome(replica, signature, visit, outcome, return_on)?;
                door_changed = true;
                door.street_kind()
            }
            Edit::ClearRefusal => {
                door.clear_refusal(replica, signature)?;
                door_changed = true;
                door.street_kind()
            }
        };
        self.persist(&touched.id())?;
        if touched != door.street_kind() {
            return Ok(None);
        }
        if door_changed {
            return Ok(self.read_street());
        }
        // A wish leaves every door's state as it was: the walk list stays, at the new
        // heads.
        Ok(match self.walk.take() {
            Some(walk) => self.keep_walk(walk),
            None => self.read_street(),
        })
    }

    /// The next sync request: every document's offer, and the streets followed.
    pub fn sync_request(&mut self) -> SyncRequest {
        self.replica.request()
    }

    /// Takes in a sync response: loads the parked documents it brings news for, merges, and
    /// stores every document whose content or server knowledge moved.
    pub fn receive(&mut self, response: SyncResponse) -> Result<Synced, AppError> {
        for id in self.replica.to_load(&response) {
            let doc = self.store.load(&id)?;
            self.replica.unpark(&id, doc);
        }
        let received = self.replica.receive(response);
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

impl From<RecordError> for AppError {
    fn from(e: RecordError) -> Self {
        match e {
            RecordError::UnknownStreet(_) => AppError::NoStreet,
            RecordError::UnknownAddress(_) => AppError::UnknownDoor,
            other => AppError::NotSaved(other.to_string()),
        }
    }
}
