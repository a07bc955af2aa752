//! The screens: the status bar (always in view, here), signing in and out (`account`),
//! the walk list (`walk`, with where to go today), the door (`door`), a partner's
//! follow-ups (`follow_ups`), the street's activities (`activities`) and, for
//! administrators, `admin`.
//!
//! The screen follows the address bar's hash (`#/`, `#/deur/<address id>`,
//! `#/opvolging`, `#/activiteiten`, `#/activiteit/<id>`), so the phone's back button works
//! and a reload stays where it was.

mod account;
mod activities;
mod admin;
mod caret;
mod door;
mod erased;
mod follow_ups;
mod picture;
mod refusals;
mod request;
mod walk;

use leptos::{ev, prelude::*};
use voordeur_shared::{access::Role, api::StreetSummary, ids::AddressId, walk::WalkList};

use crate::{
    actions::use_actions,
    error::AppError,
    i18n::{Lang, Texts},
    state::{Person, store::Usage, waiting::Waiting},
    sync::Wake,
};

/// Which screen is showing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Screen {
    Walk,
    Door(AddressId),
    FollowUps,
    /// The coordinators' picture of their streets.
    Picture,
    Activities,
    /// An activity by id; `None` plans a new one.
    Activity(Option<String>),
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
    /// The server refused the request, or its reply did not read; the detail (for the
    /// log: the person reads why in the problem bar).
    Refused(String),
}

/// The signals the screens read; only `crate::actions` writes those that reflect the
/// phone's state.
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
    /// Documents with changes the server has not acknowledged.
    pub unsynced: RwSignal<usize>,
    /// What waits, as a person counts it.
    pub waiting: RwSignal<Waiting>,
    pub usage: RwSignal<Usage>,
    /// Whether the browser promised to keep the app's storage; `None` until asked.
    pub kept: RwSignal<Option<bool>>,
    pub problem: RwSignal<Option<AppError>>,
    /// Changes the server refused, set aside on the phone (`state::aside`).
    pub refusals: RwSignal<Vec<crate::state::aside::Refusal>>,
    /// Households erased at a resident's request, as this phone learnt at a sync.
    pub erased: RwSignal<Vec<crate::state::erased::Erased>>,
    pub screen: RwSignal<Screen>,
    /// The server's streets, when a first start must ask which to follow.
    pub choices: RwSignal<Vec<StreetSummary>>,
}

impl Ui {
    /// The signals of a fresh start, in language `lang`.
    pub fn new(lang: Lang) -> Ui {
        Ui {
            lang: RwSignal::new(lang),
            started: RwSignal::new(false),
            person: RwSignal::new(None),
            walk: RwSignal::new(None),
            ready: RwSignal::new(false),
            revision: RwSignal::new(0),
            sync: RwSignal::new(SyncState::Idle),
            unsynced: RwSignal::new(0),
            waiting: RwSignal::new(Waiting::default()),
            usage: RwSignal::new(Usage::default()),
            kept: RwSignal::new(None),
            problem: RwSignal::new(None),
            refusals: RwSignal::new(Vec::new()),
            erased: RwSignal::new(Vec::new()),
            choices: RwSignal::new(Vec::new()),
            screen: RwSignal::new(screen_from_hash()),
        }
    }
}

const DOOR_HASH: &str = "#/deur/";
const FOLLOW_UPS_HASH: &str = "#/opvolging";
const PICTURE_HASH: &str = "#/beeld";
const ACTIVITIES_HASH: &str = "#/activiteiten";
const ACTIVITY_HASH: &str = "#/activiteit/";
const NEW_ACTIVITY: &str = "nieuw";

pub fn screen_from_hash() -> Screen {
    let hash = web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default();
    if let Some(id) = hash.strip_prefix(DOOR_HASH) {
        return id.parse().map_or(Screen::Walk, Screen::Door);
    }
    if let Some(id) = hash.strip_prefix(ACTIVITY_HASH) {
        return Screen::Activity((id != NEW_ACTIVITY).then(|| id.to_string()));
    }
    match hash.as_str() {
        FOLLOW_UPS_HASH => Screen::FollowUps,
        PICTURE_HASH => Screen::Picture,
        ACTIVITIES_HASH => Screen::Activities,
        _ => Screen::Walk,
    }
}

fn activity_href(id: Option<&str>) -> String {
    format!("{ACTIVITY_HASH}{}", id.unwrap_or(NEW_ACTIVITY))
}

/// The sections of the app a person works in: the street; a partner's follow-ups (for
/// coaches and coordinators, who act on what was heard); the street's activities.
#[component]
fn Sections(ui: Ui) -> impl IntoView {
    let t = texts(ui);
    let follows_up = ui.person.with_untracked(|p| {
        p.as_ref().is_some_and(|p| {
            matches!(p.role, Role::Coach | Role::Coordinator) && p.partner.is_some()
        })
    });
    let pictures = ui.person.with_untracked(|p| {
        p.as_ref()
            .is_some_and(|p| p.role == Role::Coordinator && p.partner.is_some())
    });
    let current = move |screen: &Screen| match screen {
        Screen::Walk | Screen::Door(_) => 0,
        Screen::FollowUps => 1,
        Screen::Activities | Screen::Activity(_) => 2,
        Screen::Picture => 3,
    };
    let link = move |index: usize, href: &'static str, label: &'static str| {
        view! {
            <a href=href class:current=move || current(&ui.screen.get()) == index
                aria-current=move || (current(&ui.screen.get()) == index).then_some("page")>
                {label}
            </a>
        }
    };
    view! {
        <nav class="sections" aria-label=t.nav_sections>
            {link(0, "#/", t.nav_street)}
            {follows_up.then(|| link(1, FOLLOW_UPS_HASH, t.nav_follow_ups))}
            {link(2, ACTIVITIES_HASH, t.nav_activities)}
            {pictures.then(|| link(3, PICTURE_HASH, t.nav_picture))}
        </nav>
    }
}

fn door_href(id: AddressId) -> String {
    format!("{DOOR_HASH}{id}")
}

/// The words in the current language. Screens read them once: the app renders anew when
/// the language changes, so no text needs a reactive closure of its own (each would add
/// to the download).
fn texts(ui: Ui) -> &'static Texts {
    ui.lang.get_untracked().texts()
}

#[component]
pub fn App(ui: Ui) -> impl IntoView {
    let listener =
        window_event_listener(ev::hashchange, move |_| ui.screen.set(screen_from_hash()));
    on_cleanup(move || drop(listener));
    ask_to_keep_storage(ui);
    Effect::new(move |_| {
        if let Some(html) = document().document_element() {
            let _ = html.set_attribute("lang", ui.lang.get().texts().lang_code);
        }
    });
    view! {
        {move || {
            ui.lang.track();
            view! { <StatusBar ui=ui /> }
        }}
        <main>
            {move || ui.usage.get().almost_full().then(|| view! {
                <p class="problem" role="alert">{texts(ui).storage_almost_full}</p>
            })}
            {move || ui.problem.get().map(|problem| view! {
                <p class="problem" role="alert">
                    {problem.message(ui.lang.get())}
                    <button class="link" on:click=move |_| ui.problem.set(None)>"×"</button>
                </p>
            })}
            <refusals::Refusals ui=ui />
            <erased::ErasedNotices ui=ui />
            {move || {
                ui.lang.track();
                if !ui.started.get() {
                    return ().into_any();
                }
                if ui.person.with(Option::is_none) {
                    return view! { <account::SignInScreen ui=ui /> }.into_any();
                }
                let role = ui.person.with(|p| p.as_ref().map(|p| p.role));
                if role == Some(Role::Administrator) {
                    return view! {
                        <admin::AdminScreen ui=ui />
                        <account::SignOut ui=ui />
                    }.into_any();
                }
                match ui.screen.get() {
                Screen::Walk => view! {
                    <Sections ui=ui />
                    <walk::WalkScreen ui=ui />
                    <account::SignOut ui=ui />
                }.into_any(),
                Screen::Door(address) => view! { <door::DoorScreen ui=ui address=address /> }.into_any(),
                Screen::FollowUps => view! {
                    <Sections ui=ui />
                    <follow_ups::FollowUpsScreen ui=ui />
                }.into_any(),
                Screen::Picture => view! {
                    <Sections ui=ui />
                    <picture::PictureScreen ui=ui />
                }.into_any(),
                Screen::Activities => view! {
                    <Sections ui=ui />
                    <activities::ActivitiesScreen ui=ui />
                }.into_any(),
                Screen::Activity(id) => view! {
                    <Sections ui=ui />
                    <activities::ActivityScreen ui=ui id=id />
                }.into_any(),
            }}}
        </main>
    }
}

fn clock(ms: f64) -> String {
    let date = js_sys::Date::new(&ms.into());
    format!("{:02}:{:02}", date.get_hours(), date.get_minutes())
}

/// Today's date, as the phone's clock says.
fn today() -> Option<voordeur_shared::model::IsoDate> {
    let date = js_sys::Date::new_0();
    format!(
        "{:04}-{:02}-{:02}",
        date.get_full_year(),
        date.get_month() + 1,
        date.get_date()
    )
    .parse()
    .ok()
}

fn day(ms: i64) -> String {
    let date = js_sys::Date::new(&(ms as f64).into());
    format!(
        "{}-{}-{} {:02}:{:02}",
        date.get_date(),
        date.get_month() + 1,
        date.get_full_year(),
        date.get_hours(),
        date.get_minutes()
    )
}

#[component]
fn StatusBar(ui: Ui) -> impl IntoView {
    let t = texts(ui);
    // The age of what waits grows while nothing else changes.
    let now = RwSignal::new(js_sys::Date::now() as i64);
    let tick = set_interval_with_handle(
        move || now.set(js_sys::Date::now() as i64),
        std::time::Duration::from_secs(30),
    );
    on_cleanup(move || {
        if let Ok(tick) = tick {
            tick.clear();
        }
    });
    let state = move || {
        let t = texts(ui);
        let waiting = ui.waiting.get();
        let said = || t.waiting(&waiting, now.get().max(js_sys::Date::now() as i64));
        match ui.sync.get() {
            SyncState::Syncing => ("syncing", t.syncing.to_string()),
            SyncState::Offline if waiting.any() => {
                ("offline", format!("{} · {}", t.offline, said()))
            }
            SyncState::Offline => ("offline", t.offline.to_string()),
            // Why, in the person's words, is in the problem bar (`AppError::SyncRefused`).
            SyncState::Refused(_) => ("refused", t.refused_by_server.to_string()),
            SyncState::SignedOut => ("signed-out", t.sign_in.to_string()),
            _ if waiting.any() => ("waiting", said()),
            SyncState::Synced { at_ms } => ("synced", format!("{} {}", t.synced_at, clock(at_ms))),
            SyncState::Idle => ("idle", String::new()),
        }
    };
    let actions = use_actions();
    let switch_language = move |_| actions.set_language(ui.lang.get_untracked().other());
    // Before anyone signs in there is nothing to sync, unless an ended session left work
    // to send.
    let syncs = move || ui.person.with(Option::is_some) || ui.waiting.with(Waiting::any);
    view! {
        <header class="status">
            {move || syncs().then(|| view! {
                <span class="sync" data-sync=move || state().0 data-unsynced=move || ui.unsynced.get()
                    data-visits=move || ui.waiting.get().visits
                    data-notes=move || ui.waiting.get().notes
                    data-doors=move || ui.waiting.get().doors>
                    <span class="dot"></span>
                    {move || state().1}
                </span>
                <button class="small sync-now" title=t.sync_now aria-label=t.sync_now
                    on:click=move |_| actions.wake(Wake::Now)>"↻"</button>
            })}
            <button class="small" title=t.switch_language lang=t.switch_language_code
                on:click=switch_language>{t.switch_language_code.to_uppercase()}</button>
        </header>
    }
}

fn floor_name(t: &Texts, floor: u32) -> String {
    if floor == 0 {
        t.ground_floor.into()
    } else {
        format!("{} {floor}", t.floor)
    }
}

/// Registers the service worker that keeps the app shell for offline starts, and looks
/// for a new version of the app at every start (the browser itself looks once a day). A
/// new version waits until no tab runs this one (see `static/sw.js`).
pub fn register_service_worker() {
    let Some(window) = web_sys::window() else {
        return;
    };
    // Absent on plain http origins other than localhost; the app still works online.
    let registered = window.navigator().service_worker().register("/sw.js");
    leptos::task::spawn_local(async move {
        if let Ok(registration) = wasm_bindgen_futures::JsFuture::from(registered).await
            && let Ok(registration) =
                wasm_bindgen::JsCast::dyn_into::<web_sys::ServiceWorkerRegistration>(registration)
            && let Ok(checked) = registration.update()
        {
            // Offline, the check fails; the next start tries again.
            let _ = wasm_bindgen_futures::JsFuture::from(checked).await;
        }
    });
}

/// Whether the browser keeps the app's storage under pressure (`persisted()`), asking
/// for it (`persist()`) if not. Browsers grant it to a site a person uses (installed,
/// signed in to, visited often), so the app asks once someone is signed in, at every
/// start (after an install, the app starts anew), and not on a first look.
async fn keeps_storage() -> bool {
    let Some(storage) = web_sys::window().map(|w| w.navigator().storage()) else {
        return false;
    };
    let answer = async |promise: Result<js_sys::Promise, _>| match promise {
        Ok(promise) => wasm_bindgen_futures::JsFuture::from(promise)
            .await
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(false),
        Err(_) => false,
    };
    answer(storage.persisted()).await || answer(storage.persist()).await
}

/// Asks for storage that is kept (`keeps_storage`) as soon as someone is signed in, and
/// keeps the browser's answer in `ui.kept`.
fn ask_to_keep_storage(ui: Ui) {
    Effect::new(move |_| {
        if ui.person.with(Option::is_some) && ui.kept.get_untracked().is_none() {
            leptos::task::spawn_local(async move { ui.kept.set(Some(keeps_storage().await)) });
        }
    });
}
