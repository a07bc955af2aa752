//! The phone's state: its replica of the street's documents and their storage, and every
//! action the builder takes. Each action changes a document, stores the change at once and
//! tells the screens (through [`Ui`]) and the sync loop.
//!
//! The browser runs the app on one thread, so the state lives in a thread-local and the
//! screens hold only signals.

use std::{cell::RefCell, collections::BTreeSet};

use leptos::prelude::*;
use voordeur_shared::{
    docs::{self, DocKind, DocumentId},
    model::{
        Address, Complex, Confidential, Consent, Household, IsoDate, Outcome, Partner, Resident,
        SignalKind, Theme, Visit, Wish,
    },
    record::{Door, RecordError},
    sync::{
        SyncResponse,
        client::{Received, Replica, ReplicaDoc},
    },
    uuid::Uuid,
    walk::WalkList,
};

use crate::{
    i18n::Lang,
    session::{Person, Session},
    store::{Settings, Store, StoreError, Usage},
    vault::Cipher,
};

/// Which screen is showing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Screen {
    Walk,
    Door(Uuid),
}

#[derive(Debug, Clone, PartialEq)]
pub enum SyncState {
    /// Not tried yet.
    Idle,
    Offline,
    Syncing,
    Synced {
        at_ms: f64,
    },
    /// The session has ended (expired, or ended on the server): sign in again.
    SignedOut,
    /// The server refused the request; the message says why.
    Refused(String),
}

/// The signals the screens read.
#[derive(Debug, Clone, Copy)]
pub struct Ui {
    pub lang: RwSignal<Lang>,
    /// The phone's data has been opened, or found sealed: the first screen can show.
    pub started: RwSignal<bool>,
    /// The signed-in person; `None` shows the sign-in screen.
    pub person: RwSignal<Option<Person>>,
    pub walk: RwSignal<Option<WalkList>>,
    /// The street's documents are loaded (the walk list shows before they are).
    pub ready: RwSignal<bool>,
    /// Bumped whenever documents change other than by typing in a field.
    pub revision: RwSignal<u64>,
    pub sync: RwSignal<SyncState>,
    pub unsynced: RwSignal<usize>,
    pub usage: RwSignal<Usage>,
    pub problem: RwSignal<Option<String>>,
    pub screen: RwSignal<Screen>,
    /// The server's streets (id, name), when a first start must ask which to follow.
    pub choices: RwSignal<Vec<(String, String)>>,
}

/// Everything the door screen shows of one visit.
#[derive(Debug, Clone, PartialEq)]
pub struct VisitView {
    pub id: String,
    pub author: String,
    pub at_ms: i64,
    pub outcome: Outcome,
    pub return_on: Option<IsoDate>,
    pub notes: String,
    pub contribution: String,
    pub wishes: Vec<(Theme, String)>,
    pub signals: Vec<(SignalKind, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DoorView {
    pub number: String,
    pub building: String,
    pub floor: u32,
    pub consent: Consent,
    pub resident: Resident,
    /// Newest first.
    pub visits: Vec<VisitView>,
}

#[derive(Debug)]
pub struct Field {
    pub replica: Replica,
    pub store: Store,
    pub settings: Settings,
    /// The session, also once expired (its person still owns the data on the phone).
    pub session: Option<Session>,
    /// The walk list as last shown, kept so a visit recorded here updates it in place.
    walk: Option<WalkList>,
}

thread_local! {
    static FIELD: RefCell<Option<Field>> = const { RefCell::new(None) };
}

/// Runs `f` on the phone's state, if it has been opened.
pub fn with<R>(f: impl FnOnce(&mut Field) -> R) -> Option<R> {
    FIELD.with(|field| field.borrow_mut().as_mut().map(f))
}

/// Opens local storage with the phone's data key and makes the state; documents are not
/// loaded yet.
pub fn open(cipher: Cipher) -> Result<(), StoreError> {
    let mut store = Store::open(cipher)?;
    let actor = store.actor()?;
    let settings = store.settings();
    let session = store.session();
    let mut replica = Replica::new(actor);
    for street in &settings.streets {
        if let Ok(street) = street.parse() {
            replica.follow(street);
        }
    }
    FIELD.with(|field| {
        *field.borrow_mut() = Some(Field {
            replica,
            store,
            settings,
            session,
            walk: None,
        })
    });
    Ok(())
}

/// Drops the state, keys and all: the session ended, the data stays sealed in storage.
pub fn close() {
    FIELD.with(|field| *field.borrow_mut() = None);
}

impl Field {
    pub fn street_id(&self) -> Option<Uuid> {
        self.replica.streets().next()
    }

    /// The walk list stored with the documents, shown before they are loaded.
    pub fn stored_walk(&mut self) -> Option<WalkList> {
        let (_, walk) = self.store.walk(&self.street_id()?.to_string())?;
        self.walk = Some(walk.clone());
        Some(walk)
    }

    /// Loads what the walk list and sync need: the street documents and every document
    /// with unsynced changes. Synced household and confidential documents stay parked
    /// in storage until their door is opened.
    pub fn load(&mut self) -> Result<Option<WalkList>, StoreError> {
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
        crate::mark("voordeur-loaded");
        // The stored walk list is showing; it needs making anew only if the street moved on.
        let street = self.street_id();
        let current = street
            .and_then(|s| self.replica.get_mut(&DocKind::Street { street: s }.id()))
            .map(|d| d.doc.get_heads());
        let stored = street
            .and_then(|s| self.store.walk(&s.to_string()))
            .map(|(heads, _)| heads);
        if current.is_some() && current == stored {
            return Ok(None);
        }
        Ok(self.read_street())
    }

    /// Follows `street` from now on.
    pub fn follow(&mut self, street: Uuid) -> Result<(), StoreError> {
        self.replica.follow(street);
        self.settings.streets = self.replica.streets().map(|s| s.to_string()).collect();
        self.store.set_settings(&self.settings)
    }

    pub fn save_settings(&mut self, lang: Lang) -> Result<(), StoreError> {
        self.settings.lang = lang;
        self.store.set_settings(&self.settings)
    }

    /// The session's token while it lasts.
    pub fn token(&self) -> Option<String> {
        self.session
            .as_ref()
            .filter(|s| !s.expired())
            .map(|s| s.token.clone())
    }

    /// Keeps a new session.
    pub fn sign_in(&mut self, session: Session) -> Result<(), StoreError> {
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

    /// Makes the walk list anew after the street document changed, and stores it.
    fn read_street(&mut self) -> Option<WalkList> {
        let id = self.street_id()?;
        let doc = &mut self
            .replica
            .get_mut(&DocKind::Street { street: id }.id())?
            .doc;
        let walk = WalkList::read(doc).ok()?;
        crate::mark("voordeur-walk");
        self.keep_walk(walk)
    }

    /// Stores the walk list with the street document's heads it belongs to.
    fn keep_walk(&mut self, walk: WalkList) -> Option<WalkList> {
        let id = self.street_id()?;
        let heads = self
            .replica
            .get_mut(&DocKind::Street { street: id }.id())?
            .doc
            .get_heads();
        // The stored walk list only speeds up the next start; failing to store it is fine.
        let _ = self.store.set_walk(&id.to_string(), &heads, &walk);
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

    fn door(&mut self, address: Uuid) -> Result<Door, ActionError> {
        let street = self.street_id().ok_or(ActionError::NoStreet)?;
        let door = Door::find(&self.replica, street, address)?;
        self.ensure_loaded(door.household())?;
        for partner in Partner::ALL {
            self.ensure_loaded(door.confidential(partner))?;
        }
        Ok(door)
    }

    /// Everything the door screen shows, read from the documents of that one door.
    pub fn door_view(&mut self, address: Uuid) -> Result<DoorView, ActionError> {
        let door = self.door(address)?;
        let street_doc = &self
            .replica
            .get(&door.street_kind().id())
            .ok_or(ActionError::NoStreet)?
            .doc;
        let key = address.to_string();
        let entry: Address = docs::get_entry(street_doc, "addresses", &key)
            .map_err(RecordError::from)?
            .ok_or(RecordError::UnknownAddress(address))?;
        let building: Option<Complex> =
            docs::get_entry(street_doc, "complexes", &entry.complex).map_err(RecordError::from)?;
        let visits: Vec<(String, Visit)> =
            docs::entries_where(street_doc, "visits", "address", |a| a == key)
                .map_err(RecordError::from)?;
        let ids: BTreeSet<&str> = visits.iter().map(|(id, _)| id.as_str()).collect();
        let wishes: Vec<(String, Wish)> =
            docs::entries_where(street_doc, "wishes", "visit", |v| ids.contains(v))
                .map_err(RecordError::from)?;
        let household: Household = self
            .replica
            .get(&door.household().id())
            .and_then(|d| docs::read(&d.doc).ok())
            .unwrap_or_default();
        let confidential: Vec<Confidential> = Partner::ALL
            .iter()
            .filter_map(|p| self.replica.get(&door.confidential(*p).id()))
            .filter_map(|d| docs::read(&d.doc).ok())
            .collect();
        let mut visits: Vec<VisitView> = visits
            .into_iter()
            .map(|(id, visit)| {
                let conversation = household.conversations.get(&id);
                VisitView {
                    author: visit.author,
                    at_ms: visit.at_ms,
                    outcome: visit.outcome,
                    return_on: visit.return_on,
                    notes: conversation
                        .map(|c| c.notes.as_str().to_string())
                        .unwrap_or_default(),
                    contribution: conversation
                        .map(|c| c.contribution.clone())
                        .unwrap_or_default(),
                    wishes: wishes
                        .iter()
                        .filter(|(_, w)| w.visit == id)
                        .map(|(_, w)| (w.theme, w.text.clone()))
                        .collect(),
                    signals: confidential
                        .iter()
                        .flat_map(|c| c.signals.values())
                        .filter(|s| s.visit == id)
                        .map(|s| (s.kind, s.text.clone()))
                        .collect(),
                    id,
                }
            })
            .collect();
        visits.sort_by(|a, b| b.at_ms.cmp(&a.at_ms).then(b.id.cmp(&a.id)));
        Ok(DoorView {
            number: entry.number,
            building: building.map(|c| c.name).unwrap_or_default(),
            floor: entry.floor,
            consent: household.consent,
            resident: household.resident,
            visits,
        })
    }

    /// Records a knock on a door; returns the new walk list.
    pub fn record_visit(
        &mut self,
        address: Uuid,
        outcome: Outcome,
        return_on: Option<IsoDate>,
    ) -> Result<Option<WalkList>, ActionError> {
        let door = self.door(address)?;
        let author = self
            .session
            .as_ref()
            .map(|s| s.person.display_name.clone())
            .unwrap_or_default();
        let at_ms = now_ms() as i64;
        crate::mark("record-start");
        door.record_visit(&mut self.replica, &author, at_ms, outcome, return_on)?;
        crate::mark("record-made");
        self.persist(&door.street_kind().id())?;
        crate::mark("record-street-stored");
        self.persist(&door.household().id())?;
        crate::mark("record-household-stored");
        // The one door changed: no need to read ten thousand visits again.
        Ok(match self.walk.take() {
            Some(mut walk) => {
                walk.knock(&address.to_string(), at_ms, outcome, return_on);
                self.keep_walk(walk)
            }
            None => self.read_street(),
        })
    }

    /// Applies one edit to a door's documents and stores it.
    pub fn edit(&mut self, address: Uuid, edit: Edit) -> Result<(), ActionError> {
        let door = self.door(address)?;
        let touched = match &edit {
            Edit::Notes { visit, text } => {
                door.set_notes(&mut self.replica, visit, text)?;
                door.household()
            }
            Edit::Contribution { visit, text } => {
                door.set_contribution(&mut self.replica, visit, text)?;
                door.household()
            }
            Edit::Wish { visit, theme, text } => {
                door.add_wish(&mut self.replica, visit, *theme, text)?;
                door.street_kind()
            }
            Edit::Signal { visit, kind, text } => {
                door.add_signal(&mut self.replica, visit, *kind, text)?;
                door.confidential(kind.partner())
            }
            Edit::Consent { consent, resident } => {
                door.set_consent(&mut self.replica, *consent, resident)?;
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

    /// Takes in a sync response: loads the parked documents it brings news for, merges, and
    /// stores every document whose content or server knowledge moved.
    pub fn receive(
        &mut self,
        response: SyncResponse,
    ) -> Result<(Received, Option<WalkList>), StoreError> {
        for id in self.replica.to_load(&response) {
            let doc = self.store.load(&id)?;
            self.replica.unpark(&id, doc);
        }
        let received = self.replica.receive(response);
        let ids: Vec<DocumentId> = self.replica.docs().map(|(id, _)| *id).collect();
        for id in &ids {
            self.persist(id)?;
        }
        let street_changed = self.street_id().is_some_and(|s| {
            received
                .changed
                .contains(&DocKind::Street { street: s }.id())
        });
        let walk = if street_changed {
            self.read_street()
        } else {
            None
        };
        Ok((received, walk))
    }
}

/// One edit at a door.
#[derive(Debug, Clone)]
pub enum Edit {
    Notes {
        visit: String,
        text: String,
    },
    Contribution {
        visit: String,
        text: String,
    },
    Wish {
        visit: String,
        theme: Theme,
        text: String,
    },
    Signal {
        visit: String,
        kind: SignalKind,
        text: String,
    },
    Consent {
        consent: Consent,
        resident: Resident,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error("no street on this device yet")]
    NoStreet,
    #[error(transparent)]
    Record(#[from] RecordError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub fn now_ms() -> f64 {
    js_sys::Date::now()
}
