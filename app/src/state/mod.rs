//! The phone's state, owned in one place: [`Field`] holds the replica of the street's
//! documents, their storage, the settings and the session, and makes every change to
//! them. It knows nothing of the browser or of the screens: storage is a [`Kv`], time is
//! passed in, and each action returns what changed for the caller (`crate::actions`) to
//! show. So the whole of it runs in native tests (`tests.rs`).

pub mod aside;
pub mod cipher;
pub mod erased;
pub mod kv;
pub mod retry;
pub mod store;
#[cfg(test)]
mod tests;
pub mod waiting;
pub mod work;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use voordeur_shared::{
    access::{Grant, Role},
    api,
    automerge::ChangeHash,
    docs::{self, DocKind, DocumentId, Signature},
    door::{ConflictField, DoorView},
    ids::{AccountId, AddressId, StreetId, VisitId},
    model::{ClientStatus, Consent, IsoDate, Outcome, Partner, Resident, SignalKind, Theme},
    record::{Door, RecordError},
    sync::{
        SyncRequest, SyncResponse,
        client::{Departed, Received, Replica, ReplicaDoc},
    },
    uuid::Uuid,
    walk::WalkList,
};

pub use self::kv::{Kv, KvError};
#[cfg(test)]
pub use self::kv::{MemoryKv, SharedKv};
use self::{
    aside::{Aside, Refusal, Refused, Why},
    cipher::Cipher,
    erased::Erased,
    store::{Foreign, Settings, Store, StoreError, Usage},
    waiting::{DocWaiting, Waiting},
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
            .access(&DocKind::Street {
                street: street.0,
                epoch: 0,
            })
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
    /// What a visit's contribution is about.
    ContributionTheme {
        visit: VisitId,
        theme: Option<Theme>,
    },
    /// The household's client status with the care organisation.
    ClientStatus(ClientStatus),
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

/// What another tab's write changed here.
#[derive(Debug, Default)]
pub struct Taken {
    /// Documents in memory changed: screens read them again.
    pub changed: bool,
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
    /// Households erased at a resident's request, not yet closed by the person.
    erased: Vec<Erased>,
    /// Marks a moment of an action (the app marks the browser's performance timeline,
    /// which the benchmarks read).
    mark: fn(&str),
    /// The time now, in milliseconds since the Unix epoch (the app's is the browser's).
    clock: fn() -> i64,
    /// What waits per document, with the heads and server heads it was read at.
    waiting: BTreeMap<DocumentId, (Vec<ChangeHash>, Vec<ChangeHash>, DocWaiting)>,
}

impl<K: Kv> Field<K> {
    /// Opens storage with the phone's data key; documents are not loaded yet.
    pub fn open(kv: K, cipher: Cipher) -> Result<Field<K>, AppError> {
        let store = Store::open(kv, cipher)?;
        // An actor per opening: two tabs writing as one actor would both make change 1, 2,
        // … of it, different changes with one number, which no peer accepts.
        let actor = docs::new_actor();
        let settings = store.settings();
        let session = store.session();
        let asides = store.asides().into_iter().collect();
        let erased = store.erased();
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
            erased,
            mark: |_| {},
            clock: || 0,
            waiting: BTreeMap::new(),
        })
    }

    /// Reads the time from `clock`.
    pub fn with_clock(mut self, clock: fn() -> i64) -> Field<K> {
        self.clock = clock;
        self
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
                    .get(&self.replica.street_kind(street.0).id())
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
            .get_mut(&self.replica.street_kind(street.0).id())
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

    /// Automerge changes made here that the server has not acknowledged (the tests compare
    /// them with what a person counts: [`Field::waiting`]).
    #[cfg(test)]
    pub fn unsynced(&mut self) -> usize {
        self.replica.unsynced()
    }

    /// What waits to be sent, as a person counts it (see `waiting`). Each document is
    /// read again only when its heads or the server's moved.
    pub fn waiting(&mut self) -> Waiting {
        let ids: Vec<DocumentId> = self.replica.docs().map(|(id, _)| *id).collect();
        let mut visits = BTreeSet::new();
        let mut notes = BTreeSet::new();
        let mut doors = BTreeSet::new();
        let mut total = Waiting::default();
        self.waiting.retain(|id, _| ids.contains(id));
        for id in ids {
            let Some(entry) = self.replica.get_mut(&id) else {
                continue;
            };
            let heads = entry.doc.get_heads();
            let server = entry.server_heads().to_vec();
            if heads == server {
                self.waiting.remove(&id);
                continue;
            }
            total.docs += 1;
            let cached = self
                .waiting
                .get(&id)
                .filter(|(h, s, _)| *h == heads && *s == server);
            let doc_waiting = match cached {
                Some((_, _, w)) => w.clone(),
                None => {
                    let w = waiting::in_doc(entry.kind, &mut entry.doc, &server);
                    self.waiting.insert(id, (heads, server, w.clone()));
                    w
                }
            };
            visits.extend(doc_waiting.visits);
            notes.extend(doc_waiting.notes);
            doors.extend(doc_waiting.doors);
            if let Some(since) = self.store.waiting_since(&id) {
                total.since_ms = Some(total.since_ms.map_or(since, |s: i64| s.min(since)));
            }
        }
        total.visits = visits.len();
        total.notes = notes.len();
        total.doors = doors.len();
        total
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
            .get_mut(&self.replica.street_kind(street.0).id())
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
        let mut view = DoorView::read(
            street,
            address,
            doc(door.household()),
            Partner::ALL
                .iter()
                .filter_map(|p| Some((*p, doc(door.confidential(*p))?))),
        )?;
        // A signal handed to a partner this person may not read: its status as the
        // server last said (the document here holds only what they wrote).
        if let Some(session) = &self.session {
            let grant = session.person.grant();
            let handed_on = self.handed_on_statuses();
            let signals = view.visits.iter_mut().flat_map(|v| v.signals.iter_mut());
            for signal in signals {
                let unread = !grant.access(&door.confidential(signal.kind.partner())).read;
                if let (true, Some(status)) = (unread, handed_on.get(&signal.id)) {
                    signal.status = *status;
                }
            }
        }
        Ok(view)
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
        self.store
            .set_waiting(&door.street_kind().id(), at_ms, true);
        self.store.set_waiting(&door.household().id(), at_ms, true);
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
            Edit::ContributionTheme { visit, theme } => {
                door.set_contribution_theme(replica, visit, theme)?;
                door.household()
            }
            Edit::ClientStatus(status) => {
                door.set_client_status(replica, signature, status)?;
                door.confidential(Partner::CareOrganisation)
            }
        };
        self.persist(&touched.id())?;
        self.store.set_waiting(&touched.id(), (self.clock)(), true);
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

    /// Whether this device holds document `id` with every change up to `heads`.
    pub fn holds(&self, id: &DocumentId, heads: &[ChangeHash]) -> bool {
        self.replica.holds(id, heads)
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
        let acknowledged = |replica: &Replica| -> BTreeMap<DocumentId, Vec<ChangeHash>> {
            replica
                .docs()
                .map(|(id, d)| (*id, d.server_heads().to_vec()))
                .collect()
        };
        let before = acknowledged(&self.replica);
        let received = self.replica.receive(response);
        for set_aside in &received.refused {
            if !set_aside.changes.is_empty() {
                self.keep_aside(Aside::new(set_aside.clone(), now_ms))?;
            }
        }
        self.forget_erased(&received.gone)?;
        let ids: Vec<DocumentId> = self.replica.docs().map(|(id, _)| *id).collect();
        for id in &ids {
            self.persist(id)?;
            self.note_acknowledged(id, before.get(id));
        }
        let street_changed = self.street_id().is_some_and(|s| {
            received
                .changed
                .contains(&self.replica.street_kind(s.0).id())
        });
        let walk = if street_changed {
            self.read_street()
        } else {
            None
        };
        Ok(Synced { received, walk })
    }

    /// Keeps the age of what waits in `id` true after the server acknowledged heads (it
    /// had acknowledged `before`): all sent, nothing waits; partly sent (edits made while
    /// the request was under way), the oldest waiting edit is from the sync's time.
    fn note_acknowledged(&mut self, id: &DocumentId, before: Option<&Vec<ChangeHash>>) {
        let Some(entry) = self.replica.get_mut(id) else {
            return;
        };
        let server = entry.server_heads().to_vec();
        if entry.doc.get_heads() == server {
            self.store.clear_waiting(id);
        } else if before.is_some_and(|b| *b != server) {
            self.store.set_waiting(id, (self.clock)(), false);
        }
    }

    /// Takes in another tab's write to storage (`key`, now `value`, before `old`), as the
    /// browser's `storage` event reports it: another tab's edits are merged into the
    /// documents here, a document it made is loaded, what it learnt from the server is
    /// learnt here.
    pub fn take_in(
        &mut self,
        key: &str,
        value: Option<&str>,
        old: Option<&str>,
    ) -> Result<Taken, AppError> {
        let mut taken = Taken::default();
        let changed = match self.store.take_in(key, value, old) {
            Foreign::Chunk(id, Some(bytes)) => {
                let Some(entry) = self.replica.get_mut(&id) else {
                    // Parked or unknown here: loading it reads this chunk too.
                    return Ok(taken);
                };
                let before = entry.doc.get_heads();
                let loaded = entry.doc.load_incremental(&bytes);
                docs::forget_patches(&mut entry.doc);
                if loaded.is_err() {
                    return Ok(taken);
                }
                if entry.doc.get_heads() == before {
                    return Ok(taken);
                }
                self.store.merged(&id, &before, &mut entry.doc);
                let (kind, server) = (entry.kind, entry.server_heads().to_vec());
                // The meta here knows of both tabs' edits.
                self.store.set_meta(kind, &mut entry.doc, &server)?;
                Some(id)
            }
            Foreign::Meta(id, meta) if meta.kind.id() == id => self.learn(id, meta)?,
            _ => None,
        };
        let Some(id) = changed else {
            return Ok(taken);
        };
        taken.changed = true;
        if self
            .street_id()
            .is_some_and(|street| self.replica.street_kind(street.0).id() == id)
        {
            // Read anew: the other tab's visits may be at any door.
            taken.walk = self.read_street();
        }
        Ok(taken)
    }

    /// What another tab stored of a document's meta: a document it made, or edited while
    /// it is parked here, is loaded; heads the server acknowledged to it are taken on, if
    /// this tab holds them and knew of no later ones. Returns the document if its content
    /// here changed.
    fn learn(&mut self, id: DocumentId, meta: store::Meta) -> Result<Option<DocumentId>, AppError> {
        let server = meta.server_heads();
        let Some(entry) = self.replica.get_mut(&id) else {
            let parked = self.replica.is_parked(&id);
            if parked && meta.synced() {
                // Synced here and there: it stays parked, at the heads the server holds.
                self.replica.park(meta.kind, server);
                return Ok(None);
            }
            // Its chunks came first (a document is stored before its meta); if they did
            // not all arrive, loading it later reads them.
            let Ok(doc) = self.store.load(&id) else {
                return Ok(None);
            };
            self.replica.park(meta.kind, server);
            self.replica.unpark(&id, doc);
            return Ok(Some(id));
        };
        let ours = entry.server_heads().to_vec();
        if server.is_empty() || server == ours {
            return Ok(None);
        }
        if !server
            .iter()
            .all(|h| entry.doc.get_change_by_hash(h).is_some())
        {
            // Changes this tab has not taken in yet; their chunks arrive, then the meta again.
            return Ok(None);
        }
        // Only forward: heads the server acknowledged here must be behind the new ones.
        let later: BTreeSet<ChangeHash> = entry
            .doc
            .get_changes(&server)
            .iter()
            .map(|c| c.hash())
            .collect();
        if ours.iter().any(|h| later.contains(h)) {
            return Ok(None);
        }
        let doc = std::mem::take(&mut entry.doc);
        self.replica.park(meta.kind, server);
        self.replica.unpark(&id, doc);
        Ok(None)
    }

    /// Drops what was erased from storage (the document, its changes set aside, what
    /// waits in it) and keeps a notice per door and request for the person.
    fn forget_erased(&mut self, gone: &[Departed]) -> Result<(), AppError> {
        if gone.is_empty() {
            return Ok(());
        }
        for departed in gone {
            self.store.forget(&departed.id);
            self.store.remove_aside(&departed.id);
            self.store.clear_waiting(&departed.id);
            self.asides.remove(&departed.id);
            self.waiting.remove(&departed.id);
            let street = self.replica.street(departed.kind.street()).map(|s| &s.doc);
            let notice = Erased {
                address: AddressId(departed.gone.address),
                door: street
                    .and_then(|s| door_name(s, departed.gone.address))
                    .unwrap_or_default(),
                request: departed.gone.request,
                at_ms: departed.gone.at_ms,
                lost_unsent: departed.lost_unsent(),
            };
            match self.erased.iter_mut().find(|e| e.same(&notice)) {
                Some(known) => known.add(&notice),
                None => self.erased.push(notice),
            }
        }
        self.walk = None;
        self.store.set_erased(&self.erased)?;
        Ok(())
    }

    /// The households erased that the person has not closed the notice of yet.
    pub fn erased(&self) -> &[Erased] {
        &self.erased
    }

    /// Closes the notices of erased households.
    pub fn close_erased(&mut self) -> Result<(), AppError> {
        self.erased.clear();
        self.store.set_erased(&self.erased)?;
        Ok(())
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
                    .get(&self.replica.street_kind(aside.kind.street()).id())
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
        let doc = &mut self
            .replica
            .get_mut(&self.replica.street_kind(street.0).id())?
            .doc;
        let walk = WalkList::read(doc).ok()?;
        (self.mark)("voordeur-walk");
        self.keep_walk(walk)
    }

    /// Stores the walk list with the street document's heads it belongs to.
    fn keep_walk(&mut self, walk: WalkList) -> Option<WalkList> {
        let street = self.street_id()?;
        let heads = self
            .replica
            .get_mut(&self.replica.street_kind(street.0).id())?
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

impl From<docs::EditError> for AppError {
    fn from(e: docs::EditError) -> Self {
        AppError::NotSaved(e.to_string())
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
