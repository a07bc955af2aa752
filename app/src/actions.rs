//! Every action, the one way from the screens to the phone's state and back.
//!
//! [`Actions`] owns the [`Field`] (in the reactive owner's arena, not a global) and the
//! signals the screens read ([`Ui`]); the screens get it from the Leptos context
//! ([`use_actions`]). Each action changes the state and then runs the same tail,
//! [`Actions::settle`]: show the new walk list, tell the screens that documents changed,
//! recount what waits to be synced and the storage used, and wake the sync loop.

use futures::channel::mpsc::UnboundedSender;
use leptos::prelude::*;
use std::collections::BTreeSet;

use voordeur_shared::{
    access::Role,
    activity::Contributor,
    door::DoorView,
    follow_up::FollowUpList,
    ids::{AddressId, StreetId},
    model::{Activity, IsoDate, Outcome, Theme, Wish},
    sync::SyncResponse,
    walk::WalkList,
};

use crate::{
    browser::{self, LocalKv},
    error::AppError,
    i18n::Lang,
    session,
    state::{Edit, Field, Session, cipher::Cipher, work::Work},
    sync::{self, Wake},
    ui::{Screen, SyncState, Ui},
    vault,
};

/// The handle to the phone's state and the screens' signals; `Copy`, so every closure can
/// hold one.
#[derive(Debug, Clone, Copy)]
pub struct Actions {
    pub ui: Ui,
    field: StoredValue<Option<Field<LocalKv>>, LocalStorage>,
    waker: StoredValue<Option<UnboundedSender<Wake>>, LocalStorage>,
}

/// The actions, as provided at the root.
pub fn use_actions() -> Actions {
    expect_context::<Actions>()
}

/// What an action changed, for [`Actions::settle`].
#[derive(Debug, Default)]
struct After {
    /// A new walk list to show.
    walk: Option<WalkList>,
    /// Documents changed other than by typing in a field: screens read them again.
    revision: bool,
    /// What to tell the sync loop.
    wake: Option<Wake>,
    /// Mark the steps in the performance timeline (a recorded visit, for the benchmark).
    marked: bool,
}

impl Actions {
    /// Makes the actions for `ui` and provides them to every screen below.
    pub fn provide(ui: Ui) -> Actions {
        let actions = Actions {
            ui,
            field: StoredValue::new_local(None),
            waker: StoredValue::new_local(None),
        };
        provide_context(actions);
        actions
    }

    /// Runs `f` on the state, if it is open.
    fn with<R>(&self, f: impl FnOnce(&mut Field<LocalKv>) -> R) -> Option<R> {
        self.field
            .try_update_value(|field| field.as_mut().map(f))
            .flatten()
    }

    /// The tail of every action.
    fn settle(&self, after: After) {
        let ui = self.ui;
        if let Some(walk) = after.walk {
            ui.walk.set(Some(walk));
        }
        if after.revision {
            ui.revision.update(|r| *r += 1);
        }
        if after.marked {
            browser::mark("record-shown");
        }
        if let Some((waiting, usage)) = self.with(|f| (f.waiting(), f.usage())) {
            ui.unsynced.set(waiting.docs);
            ui.waiting.set(waiting);
            ui.usage.set(usage);
        }
        if after.marked {
            browser::mark("record-counted");
        }
        if let Some(why) = after.wake {
            self.wake(why);
        }
    }

    /// Shows `error` to the person, in their language.
    pub fn show_error(&self, error: AppError) {
        self.ui.problem.set(Some(error));
    }

    fn report<T>(&self, result: Option<Result<T, AppError>>) -> Option<T> {
        match result? {
            Ok(value) => Some(value),
            Err(e) => {
                self.show_error(e);
                None
            }
        }
    }

    // ---- start, sign in, sign out ----------------------------------------------------

    /// Opens the phone's data with the key kept since sign-in, if the session still lasts;
    /// otherwise the data stays sealed and the sign-in screen shows. Then starts syncing.
    pub async fn start(self) {
        let ui = self.ui;
        if let Some(cipher) = vault::unlock().await {
            if let Err(e) = self.open(cipher) {
                self.show_error(e);
            }
            match self.session() {
                Some(session) if !session.expired(browser::now_ms()) => {
                    ui.person.set(Some(session.person));
                    ui.walk.set(self.with(Field::stored_walk).flatten());
                    ui.started.set(true);
                    browser::mark("voordeur-shell");
                    // Load the documents after the first paint: the stored walk list shows.
                    gloo_timers::future::sleep(std::time::Duration::from_millis(0)).await;
                    self.load().await;
                }
                _ => self.sign_in_again().await,
            }
        }
        if !ui.started.get_untracked() {
            // Not signed in: the sign-in screen is the first screen, usable at once.
            ui.started.set(true);
            browser::mark("voordeur-shell");
            browser::mark("voordeur-ready");
        }
        sync::start(self);
        crate::push::start(self);
    }

    fn open(&self, cipher: Cipher) -> Result<(), AppError> {
        let field = Field::open(LocalKv::open(), cipher)?
            .with_marks(browser::mark)
            .with_clock(browser::now_ms);
        self.field.set_value(Some(field));
        Ok(())
    }

    /// Loads the documents of the open state and follows the person's street.
    async fn load(self) {
        let ui = self.ui;
        let walk = self.report(self.with(Field::load)).flatten();
        self.show_refusals();
        self.show_erased();
        self.settle(After {
            walk,
            ..After::default()
        });
        ui.ready.set(true);
        browser::mark("voordeur-ready");
        // Administrators follow no street: they set streets up.
        let follows = ui
            .person
            .with_untracked(|p| p.as_ref().is_some_and(|p| p.role != Role::Administrator));
        if follows
            && self.street_id().is_none()
            && let Some(token) = self.token()
            && let Some(streets) = session::streets(&token).await
        {
            // One street: follow it. Several: the walk list asks which.
            match streets.as_slice() {
                [street] => self.follow(street.id),
                _ => ui.choices.set(streets),
            }
        }
        if ui.screen.get_untracked() != Screen::Walk {
            ui.revision.update(|r| *r += 1);
        }
    }

    /// The session has ended: the data is sealed again (key dropped, state closed) until
    /// the person signs in; the sign-in screen shows.
    pub async fn sign_in_again(self) {
        self.field.set_value(None);
        vault::forget().await;
        self.ui.sync.set(SyncState::SignedOut);
        self.ui.ready.set(false);
        self.ui.person.set(None);
    }

    /// Opens the phone's data with the password (see `vault`), keeps the new session, loads
    /// the person's street and syncs.
    ///
    /// The data on a phone belongs to one person: signing in as someone else wipes what the
    /// previous person left, as does data sealed under a key no password opens any more (the
    /// password was changed after the session ended).
    pub async fn signed_in(self, session: Session, password: &str) -> Result<(), AppError> {
        let (cipher, opened) = vault::unlock_with(password).await?;
        self.open(cipher)?;
        let owner = self.session().map(|s| s.person.id);
        if !opened || owner.is_some_and(|id| id != session.person.id) {
            self.with(Field::wipe);
            vault::forget().await;
            let (cipher, _) = vault::unlock_with(password).await?;
            self.open(cipher)?;
        }
        // The language chosen before signing in (no settings could be kept then).
        let lang = self.ui.lang.get_untracked();
        self.report(self.with(|f| f.save_language(lang)));
        let person = session.person.clone();
        if let Some(Err(e)) = self.with(|f| f.sign_in(session)) {
            return Err(e);
        }
        self.ui.sync.set(SyncState::Idle);
        self.ui.walk.set(self.with(Field::stored_walk).flatten());
        self.ui.person.set(Some(person));
        self.load().await;
        self.wake(Wake::Now);
        Ok(())
    }

    /// Ends the session on the server if it can be reached, wipes the phone and starts
    /// afresh: nothing of the previous person stays in memory either.
    pub async fn sign_out(self) {
        if let Some(token) = self.session().map(|s| s.token) {
            session::sign_out(&token).await;
        }
        self.with(Field::wipe);
        vault::forget().await;
        if let Some(window) = web_sys::window() {
            let _ = window.location().set_hash("#/");
            let _ = window.location().reload();
        }
    }

    // ---- reading -----------------------------------------------------------------------

    /// The session kept on the phone, also once expired.
    pub fn session(&self) -> Option<Session> {
        self.with(|f| f.session().cloned()).flatten()
    }

    /// The session's token while it lasts.
    pub fn token(&self) -> Option<String> {
        self.with(|f| f.token(browser::now_ms())).flatten()
    }

    pub fn street_id(&self) -> Option<StreetId> {
        self.with(|f| f.street_id()).flatten()
    }

    /// Everything the door screen shows of door `address`.
    pub fn door_view(&self, address: AddressId) -> Option<Result<DoorView, AppError>> {
        let view = self.with(|f| f.door_view(address));
        self.settle(After::default());
        view
    }

    /// The person's organisation's follow-ups, now.
    pub fn follow_ups(&self) -> Option<Result<FollowUpList, AppError>> {
        self.with(|f| f.follow_ups(browser::now_ms()))
    }

    /// The street's activities, soonest first.
    pub fn activities(&self) -> Vec<(String, Activity)> {
        self.with(Field::activities)
            .and_then(Result::ok)
            .unwrap_or_default()
    }

    /// The street's wishes, for an activity to answer.
    pub fn wishes(&self) -> Vec<(String, Wish)> {
        self.with(Field::wishes)
            .and_then(Result::ok)
            .unwrap_or_default()
    }

    /// Residents who offered to contribute, those on `theme` first.
    pub fn contributors(&self, theme: Option<Theme>) -> Vec<Contributor> {
        self.report(self.with(|f| f.contributors(theme)))
            .unwrap_or_default()
    }

    /// The doors whose households took part in activity `id`.
    pub fn took_part(&self, id: &str) -> BTreeSet<AddressId> {
        self.with(|f| f.took_part(id))
            .and_then(Result::ok)
            .unwrap_or_default()
    }

    // ---- changing ----------------------------------------------------------------------

    /// Applies an edit of the work after the knock (a follow-up, an activity); returns the
    /// id of an activity just planned.
    pub fn work(&self, work: Work) -> Option<String> {
        let now = browser::now_ms();
        let planned = self.report(self.with(|f| f.work(work, now))).flatten();
        let walk = self.with(Field::current_walk).flatten();
        self.settle(After {
            walk,
            revision: true,
            wake: Some(Wake::Changed),
            ..After::default()
        });
        planned
    }

    /// Asks the server where the signals this person handed to other partners stand, and
    /// keeps the answer (shown at their doors, also offline).
    pub async fn ask_handed_on(self) {
        let Some(query) = self.with(Field::handed_on_query).flatten() else {
            return;
        };
        let Some(token) = self.token() else {
            return;
        };
        if let Some(answer) = session::handed_on(&token, &query).await
            && self.with(|f| f.take_handed_on(answer)) == Some(Ok(true))
        {
            self.settle(After {
                revision: true,
                ..After::default()
            });
        }
    }

    /// Follows `street` from now on (also), shows it, and syncs.
    pub fn follow(&self, street: StreetId) {
        self.report(self.with(|f| f.follow(street)));
        self.ui.choices.set(Vec::new());
        let walk = self.with(Field::current_walk).flatten();
        self.ui.walk.set(walk);
        self.ui.revision.update(|r| *r += 1);
        self.wake(Wake::Now);
    }

    /// Offers the person's streets to choose from: the server's list when it answers, else
    /// the streets this phone follows (so switching works without signal too).
    pub async fn choose_street(self) {
        let online = match self.token() {
            Some(token) => session::streets(&token).await,
            None => None,
        };
        let streets = online.unwrap_or_else(|| self.with(|f| f.followed()).unwrap_or_default());
        self.ui.choices.set(streets);
    }

    pub fn set_language(&self, lang: Lang) {
        self.ui.lang.set(lang);
        self.report(self.with(|f| f.save_language(lang)));
    }

    /// Records a knock on door `address`, now.
    pub fn record_visit(&self, address: AddressId, outcome: Outcome, return_on: Option<IsoDate>) {
        let now = browser::now_ms();
        let walk = self
            .report(self.with(|f| f.record_visit(address, outcome, return_on, now)))
            .flatten();
        self.settle(After {
            walk,
            revision: true,
            wake: Some(Wake::Changed),
            marked: true,
        });
    }

    /// Applies an edit at door `address`.
    pub fn edit(&self, address: AddressId, edit: Edit) {
        let revision = edit.structural();
        let now = browser::now_ms();
        let walk = self
            .report(self.with(|f| f.edit(address, edit, now)))
            .flatten();
        self.settle(After {
            walk,
            revision,
            wake: Some(Wake::Changed),
            ..After::default()
        });
    }

    /// Takes in another tab's write to storage (the browser's `storage` event): its edits
    /// show here too.
    pub fn take_in(&self, key: &str, value: Option<String>, old: Option<String>) {
        let Some(taken) =
            self.report(self.with(|f| f.take_in(key, value.as_deref(), old.as_deref())))
        else {
            return;
        };
        self.settle(After {
            walk: taken.walk,
            revision: taken.changed,
            ..After::default()
        });
    }

    // ---- syncing -----------------------------------------------------------------------

    /// Shows the changes set aside (what the server refused), newest first.
    fn show_refusals(&self) {
        let refusals = self.with(Field::refusals).unwrap_or_default();
        // Every sync of a street no longer the person's is refused again: no new notice.
        if self.ui.refusals.with_untracked(|shown| *shown != refusals) {
            self.ui.refusals.set(refusals);
        }
    }

    /// Shows the households erased that the person has not closed the notice of.
    fn show_erased(&self) {
        let erased = self.with(|f| f.erased().to_vec()).unwrap_or_default();
        if self.ui.erased.with_untracked(|shown| *shown != erased) {
            self.ui.erased.set(erased);
        }
    }

    /// The person closes the notices of erased households.
    pub fn close_erased(&self) {
        self.report(self.with(Field::close_erased));
        self.show_erased();
    }

    /// A coordinator records a resident's request for door `address`; the server carries
    /// it out at once, and a sync brings what is left.
    pub async fn ask_request(
        self,
        address: AddressId,
        request: voordeur_shared::erase::Request,
    ) -> Result<(), String> {
        let (Some(token), Some(street)) = (self.token(), self.street_id()) else {
            return Err("not signed in".into());
        };
        session::ask_request(&token, street.0, address.0, request).await?;
        self.wake(Wake::Now);
        Ok(())
    }

    /// The person tries changes the server refused again: back into their document, and
    /// out with a sync now.
    pub fn retry_aside(&self, doc: voordeur_shared::docs::DocumentId) {
        self.report(self.with(|f| f.retry_aside(doc)));
        self.show_refusals();
        let walk = self.with(Field::stored_walk).flatten();
        self.settle(After {
            walk,
            revision: true,
            wake: Some(Wake::Now),
            ..After::default()
        });
    }

    /// Whether the server pushed news of a document this device does not hold at those
    /// heads (see `push`).
    pub fn news(&self, pushed: &[crate::push::Pushed]) -> bool {
        self.with(|f| {
            pushed.iter().any(|p| {
                let heads: Vec<_> = p.heads.iter().map(|h| (*h).into()).collect();
                !f.holds(&p.document, &heads)
            })
        })
        .unwrap_or(false)
    }

    /// Tells the sync loop that something happened.
    pub fn wake(&self, why: Wake) {
        self.waker.with_value(|waker| {
            if let Some(tx) = waker {
                let _ = tx.unbounded_send(why);
            }
        });
    }

    /// Hands the sync loop's wake-up channel to the actions.
    pub fn set_waker(&self, waker: UnboundedSender<Wake>) {
        self.waker.set_value(Some(waker));
    }

    /// The next sync request's bytes, if the state is open and follows a street.
    pub fn sync_request(&self) -> Option<Vec<u8>> {
        self.with(|f| {
            f.street_id()?;
            Some(voordeur_shared::sync::wire::encode_request(
                &f.sync_request(),
            ))
        })
        .flatten()
    }

    /// Takes in a sync response; returns whether the server asked to sync again at once.
    pub fn receive(&self, response: SyncResponse) -> bool {
        let now = browser::now_ms();
        let Some(synced) = self.report(self.with(|f| f.receive(response, now))) else {
            self.show_refusals();
            self.settle(After::default());
            return false;
        };
        if !synced.received.refused.is_empty() {
            self.show_refusals();
        }
        if !synced.received.gone.is_empty() {
            self.show_erased();
        }
        if let Some((_, reason)) = synced.received.rejected.first() {
            self.show_error(AppError::BadReply(reason.clone()));
        }
        self.settle(After {
            walk: synced.walk,
            revision: !synced.received.changed.is_empty(),
            ..After::default()
        });
        synced.received.again
    }
}
