//! The screens: the status bar (always in view), the walk list and the door.
//!
//! The screen follows the address bar's hash (`#/` or `#/deur/<address id>`), so the
//! phone's back button works and a reload stays on the door.

use leptos::{ev, prelude::*};
use voordeur_shared::{
    model::{Consent, IsoDate, Outcome, Resident, SignalKind, Theme},
    uuid::Uuid,
    walk::{Door, DoorState, WalkList},
};

use crate::{
    field::{self, ActionError, DoorView, Edit, Screen, SyncState, Ui, VisitView},
    i18n::Texts,
    refresh_counts,
    store::StoreError,
    sync::{self, Wake},
};

const DOOR_HASH: &str = "#/deur/";

pub fn screen_from_hash() -> Screen {
    let hash = web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default();
    hash.strip_prefix(DOOR_HASH)
        .and_then(|id| id.parse().ok())
        .map_or(Screen::Walk, Screen::Door)
}

fn door_href(id: &str) -> String {
    format!("{DOOR_HASH}{id}")
}

/// The words in the current language. Screens read them once: the app renders anew when
/// the language changes, so no text needs a reactive closure of its own (each would add
/// to the download).
fn texts(ui: Ui) -> &'static Texts {
    ui.lang.get_untracked().texts()
}

fn show_error(ui: Ui, error: ActionError) {
    let message = match error {
        ActionError::Store(StoreError::Full) => ui.lang.get_untracked().texts().storage_full.into(),
        other => other.to_string(),
    };
    ui.problem.set(Some(message));
}

/// Follows street `id` from now on and syncs it.
pub fn follow(ui: Ui, id: &str) {
    let Ok(id) = id.parse() else {
        return;
    };
    if let Some(Err(e)) = field::with(|f| f.follow(id)) {
        show_error(ui, e.into());
    }
    ui.choices.set(Vec::new());
    sync::wake(Wake::Now);
}

/// Applies an edit at a door and lets everyone know.
fn act(ui: Ui, address: Uuid, edit: Edit) {
    // Typing in notes or contribution changes nothing else on screen.
    let structural = !matches!(edit, Edit::Notes { .. } | Edit::Contribution { .. });
    if let Some(Err(e)) = field::with(|f| f.edit(address, edit)) {
        show_error(ui, e);
    }
    if structural {
        ui.revision.update(|r| *r += 1);
    }
    refresh_counts(ui);
    sync::wake(Wake::Changed);
}

#[component]
pub fn App(ui: Ui) -> impl IntoView {
    let listener =
        window_event_listener(ev::hashchange, move |_| ui.screen.set(screen_from_hash()));
    on_cleanup(move || drop(listener));
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
            {move || ui.problem.get().map(|message| view! {
                <p class="problem" role="alert">
                    {message}
                    <button class="link" on:click=move |_| ui.problem.set(None)>"×"</button>
                </p>
            })}
            {move || {
                ui.lang.track();
                match ui.screen.get() {
                Screen::Walk => view! { <WalkScreen ui=ui /> }.into_any(),
                Screen::Door(address) => view! { <DoorScreen ui=ui address=address /> }.into_any(),
            }}}
        </main>
    }
}

fn clock(ms: f64) -> String {
    let date = js_sys::Date::new(&ms.into());
    format!("{:02}:{:02}", date.get_hours(), date.get_minutes())
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
    let state = move || {
        let t = texts(ui);
        let waiting = ui.unsynced.get();
        match ui.sync.get() {
            SyncState::Syncing => ("syncing", t.syncing.to_string()),
            SyncState::Offline if waiting > 0 => (
                "offline",
                format!("{} · {}", t.offline, t.changes_waiting(waiting)),
            ),
            SyncState::Offline => ("offline", t.offline.to_string()),
            SyncState::Refused(message) => {
                ("refused", format!("{} {message}", t.refused_by_server))
            }
            _ if waiting > 0 => ("waiting", t.changes_waiting(waiting)),
            SyncState::Synced { at_ms } => ("synced", format!("{} {}", t.synced_at, clock(at_ms))),
            SyncState::Idle => ("idle", String::new()),
        }
    };
    let switch_language = move |_| {
        let lang = ui.lang.get_untracked().other();
        ui.lang.set(lang);
        let name = ui.name.get_untracked();
        if let Some(Err(e)) = field::with(|f| f.save_settings(&name, lang)) {
            show_error(ui, e.into());
        }
    };
    view! {
        <header class="status">
            <span class="sync" data-sync=move || state().0 data-unsynced=move || ui.unsynced.get()>
                <span class="dot"></span>
                {move || state().1}
            </span>
            <button class="small sync-now" title=t.sync_now aria-label=t.sync_now
                on:click=move |_| sync::wake(Wake::Now)>"↻"</button>
            <button class="small" title=t.switch_language lang=t.switch_language_code
                on:click=switch_language>{t.switch_language_code.to_uppercase()}</button>
        </header>
        {move || {
            let usage = ui.usage.get();
            usage.almost_full().then(|| view! {
                <p class="problem" role="alert">{texts(ui).storage_almost_full}</p>
            })
        }}
    }
}

#[component]
fn NameCard(ui: Ui) -> impl IntoView {
    let t = texts(ui);
    let draft = RwSignal::new(String::new());
    let save = move |ev: ev::SubmitEvent| {
        ev.prevent_default();
        let name = draft.get_untracked().trim().to_string();
        if name.is_empty() {
            return;
        }
        let lang = ui.lang.get_untracked();
        match field::with(|f| f.save_settings(&name, lang)) {
            Some(Err(e)) => show_error(ui, e.into()),
            _ => ui.name.set(name),
        }
    };
    view! {
        <form class="card" on:submit=save>
            <label>
                {t.your_name}
                <input name="author" autocomplete="name" prop:value=move || draft.get()
                    on:input=move |ev| draft.set(event_target_value(&ev)) />
            </label>
            <small>{t.your_name_hint}</small>
            <button type="submit">{t.save}</button>
        </form>
    }
}

fn state_label(t: &Texts, state: &DoorState) -> String {
    match state {
        DoorState::NotVisited => t.not_visited.into(),
        DoorState::NotHome { times } if *times > 1 => format!("{} ×{times}", t.not_home),
        DoorState::NotHome { .. } => t.not_home.into(),
        DoorState::Talked => t.talked.into(),
        DoorState::Refused => t.refused.into(),
        DoorState::ComeBackLater { on: Some(on) } => format!("{} {on}", t.come_back_on),
        DoorState::ComeBackLater { on: None } => t.come_back.into(),
    }
}

fn state_class(state: &DoorState) -> &'static str {
    match state {
        DoorState::NotVisited => "door not-visited",
        DoorState::NotHome { .. } => "door not-home",
        DoorState::Talked => "door talked",
        DoorState::Refused => "door refused",
        DoorState::ComeBackLater { .. } => "door come-back",
    }
}

#[component]
fn DoorButton(ui: Ui, door: Door) -> impl IntoView {
    let class = state_class(&door.state);
    let t = texts(ui);
    let label = state_label(t, &door.state);
    view! {
        <a class=class href=door_href(&door.id) data-number=door.number.clone()>
            <strong>{door.number.clone()}</strong>
            <span>{label}</span>
            {door.business.then(|| view! { <span class="kind">{t.business}</span> })}
        </a>
    }
}

fn floor_name(t: &Texts, floor: u32) -> String {
    if floor == 0 {
        t.ground_floor.into()
    } else {
        format!("{} {floor}", t.floor)
    }
}

#[component]
fn WalkScreen(ui: Ui) -> impl IntoView {
    let t = texts(ui);
    let query = RwSignal::new(String::new());
    let walk = move || ui.walk.get();
    let next = move || walk().and_then(|w: WalkList| w.next_unvisited(None).map(|d| d.id.clone()));
    let listing = move || {
        let t = texts(ui);
        let Some(walk) = walk() else {
            let choices = ui.choices.get();
            if !choices.is_empty() {
                return view! {
                    <h1>{t.choose_street}</h1>
                    <div class="streets">
                        {choices.into_iter().map(|(id, name)| view! {
                            <button on:click=move |_| follow(ui, &id)>{name}</button>
                        }).collect_view()}
                    </div>
                }
                .into_any();
            }
            let message = if ui.ready.get() {
                t.no_streets_offline
            } else {
                t.loading_street
            };
            return view! { <p class="empty">{message}</p> }.into_any();
        };
        let q = query.get();
        if !q.trim().is_empty() {
            let found: Vec<Door> = walk.find(&q).cloned().collect();
            return view! {
                <div class="doors">
                    {found.into_iter().map(|door| view! { <DoorButton ui=ui door=door /> }).collect_view()}
                </div>
            }
            .into_any();
        }
        let visited = walk.visited();
        let total = walk.doors().count();
        view! {
            <h1>{walk.street.clone()}</h1>
            <p class="count">{format!("{visited} / {total} {}", t.doors_visited)}</p>
            {walk.buildings.into_iter().map(|building| view! {
                <section class="building">
                    <h2>{building.name}</h2>
                    {building.floors.into_iter().map(|floor| view! {
                        <h3>{floor_name(t, floor.floor)}</h3>
                        <div class="doors">
                            {floor.doors.into_iter().map(|door| view! { <DoorButton ui=ui door=door /> }).collect_view()}
                        </div>
                    }).collect_view()}
                </section>
            }).collect_view()}
        }
        .into_any()
    };
    let usage = move || {
        format!(
            "{}: {:.0} %",
            t.storage_used,
            ui.usage.get().fraction() * 100.0
        )
    };
    view! {
        {move || ui.name.get().is_empty().then(|| view! { <NameCard ui=ui /> })}
        <div class="tools">
            <input type="search" class="find" inputmode="text"
                placeholder=t.find_door
                prop:value=move || query.get()
                on:input=move |ev| query.set(event_target_value(&ev)) />
            {move || match next() {
                Some(id) => view! {
                    <a class="button next" href=door_href(&id)>{texts(ui).next_unvisited}" →"</a>
                }.into_any(),
                None => view! { <span class="next done">{texts(ui).all_visited}</span> }.into_any(),
            }}
        </div>
        {listing}
        <p class="count storage">{usage}</p>
    }
}

#[component]
fn DoorScreen(ui: Ui, address: Uuid) -> impl IntoView {
    let t = texts(ui);
    let door: RwSignal<Option<Result<DoorView, String>>> = RwSignal::new(None);
    Effect::new(move |_| {
        ui.revision.track();
        if !ui.ready.get() {
            return;
        }
        let view = field::with(|f| f.door_view(address)).map(|r| r.map_err(|e| e.to_string()));
        door.set(view);
        refresh_counts(ui);
    });
    if let Some(window) = web_sys::window() {
        window.scroll_to_with_x_and_y(0.0, 0.0);
    }
    let body = move || {
        let t = texts(ui);
        match door.get() {
            None => view! { <p class="empty">{t.loading_street}</p> }.into_any(),
            Some(Err(message)) => {
                view! { <p class="problem">{t.door_not_found}" "{message}</p> }.into_any()
            }
            Some(Ok(view)) => {
                let floor = floor_name(t, view.floor);
                view! {
                    <h1>{view.number.clone()}</h1>
                    <p class="where">{view.building.clone()}" · "{floor}</p>
                }
                .into_any()
            }
        }
    };
    let visit_ids = move || {
        door.get()
            .and_then(Result::ok)
            .map(|d| d.visits.into_iter().map(|v| v.id).collect::<Vec<_>>())
            .unwrap_or_default()
    };
    let visit = move |id: String| {
        Memo::new(move |_| {
            door.get()
                .and_then(Result::ok)
                .and_then(|d| d.visits.into_iter().find(|v| v.id == id))
        })
    };
    let consent = Memo::new(move |_| {
        door.get()
            .and_then(Result::ok)
            .map(|d| (d.consent, d.resident))
    });
    view! {
        <nav><a class="back" href="#/">{t.back}</a></nav>
        {body}
        <Show when=move || matches!(door.get(), Some(Ok(_)))>
            <NewVisit ui=ui address=address />
            <section class="visits">
                <h2>{t.earlier_visits}</h2>
                <Show when=move || visit_ids().is_empty()>
                    <p class="empty">{t.no_visits_yet}</p>
                </Show>
                <For each=visit_ids key=|id| id.clone() let:id>
                    <VisitCard ui=ui address=address visit=visit(id.clone()) id=id />
                </For>
            </section>
            <ConsentCard ui=ui address=address current=consent />
        </Show>
    }
}

#[component]
fn NewVisit(ui: Ui, address: Uuid) -> impl IntoView {
    let t = texts(ui);
    let later = RwSignal::new(false);
    let date = RwSignal::new(String::new());
    let record = move |outcome: Outcome, return_on: Option<IsoDate>| {
        match field::with(|f| f.record_visit(address, outcome, return_on)) {
            Some(Ok(Some(walk))) => ui.walk.set(Some(walk)),
            Some(Err(e)) => show_error(ui, e),
            Some(Ok(None)) | None => {}
        }
        later.set(false);
        ui.revision.update(|r| *r += 1);
        crate::mark("record-shown");
        refresh_counts(ui);
        crate::mark("record-counted");
        sync::wake(Wake::Changed);
    };
    let outcome_button = move |outcome: Outcome, class: &'static str| {
        view! {
            <button class=class data-outcome=format!("{outcome:?}") on:click=move |_| {
                if outcome == Outcome::ComeBackLater {
                    later.update(|l| *l = !*l);
                } else {
                    record(outcome, None);
                }
            }>
                {texts(ui).outcome(outcome)}
            </button>
        }
    };
    view! {
        <section class="new-visit">
            <h2>{t.new_visit}</h2>
            <div class="outcomes">
                {outcome_button(Outcome::NotHome, "outcome not-home")}
                {outcome_button(Outcome::Talked, "outcome talked")}
                {outcome_button(Outcome::Refused, "outcome refused")}
                {outcome_button(Outcome::ComeBackLater, "outcome come-back")}
            </div>
            <Show when=move || later.get()>
                <div class="row">
                    <input type="date" prop:value=move || date.get()
                        on:input=move |ev| date.set(event_target_value(&ev)) />
                    <button on:click=move |_| record(Outcome::ComeBackLater, date.get_untracked().parse().ok())>
                        {t.record_return}
                    </button>
                </div>
            </Show>
        </section>
    }
}

#[component]
fn VisitCard(ui: Ui, address: Uuid, id: String, visit: Memo<Option<VisitView>>) -> impl IntoView {
    let t = texts(ui);
    let header = move || {
        visit.get().map(|v| {
            let t = texts(ui);
            let mut outcome = t.outcome(v.outcome).to_string();
            if let Some(on) = v.return_on {
                outcome = format!("{outcome} ({} {on})", t.come_back_on);
            }
            let author = if v.author.is_empty() {
                "—".to_string()
            } else {
                v.author
            };
            format!("{} · {outcome} · {} {author}", day(v.at_ms), t.by)
        })
    };
    let edit_id = id.clone();
    let notes_input = move |ev: ev::Event| {
        let text = event_target_value(&ev);
        act(
            ui,
            address,
            Edit::Notes {
                visit: edit_id.clone(),
                text,
            },
        );
    };
    let edit_id = id.clone();
    let contribution_input = move |ev: ev::Event| {
        let text = event_target_value(&ev);
        act(
            ui,
            address,
            Edit::Contribution {
                visit: edit_id.clone(),
                text,
            },
        );
    };
    let wish_theme = RwSignal::new(Theme::Greenery);
    let wish_text = RwSignal::new(String::new());
    let edit_id = id.clone();
    let add_wish = move |ev: ev::SubmitEvent| {
        ev.prevent_default();
        let text = wish_text.get_untracked();
        if text.trim().is_empty() {
            return;
        }
        act(
            ui,
            address,
            Edit::Wish {
                visit: edit_id.clone(),
                theme: wish_theme.get_untracked(),
                text,
            },
        );
        wish_text.set(String::new());
    };
    let signal_kind = RwSignal::new(SignalKind::CareNeed);
    let signal_text = RwSignal::new(String::new());
    let edit_id = id.clone();
    let add_signal = move |ev: ev::SubmitEvent| {
        ev.prevent_default();
        let text = signal_text.get_untracked();
        if text.trim().is_empty() {
            return;
        }
        act(
            ui,
            address,
            Edit::Signal {
                visit: edit_id.clone(),
                kind: signal_kind.get_untracked(),
                text,
            },
        );
        signal_text.set(String::new());
    };
    view! {
        <article class="visit" data-visit=id.clone()>
            <h3>{header}</h3>
            <label>
                {t.notes}
                <textarea class="notes" rows="4" placeholder=t.notes_hint
                    prop:value=move || visit.get().map(|v| v.notes).unwrap_or_default()
                    on:input=notes_input></textarea>
            </label>
            <label>
                {t.contribution}
                <input class="contribution" placeholder=t.contribution_hint
                    prop:value=move || visit.get().map(|v| v.contribution).unwrap_or_default()
                    on:input=contribution_input />
            </label>
            <h4>{t.wishes}</h4>
            <ul class="wishes">
                {move || visit.get().map(|v| v.wishes.into_iter().map(|(theme, text)| view! {
                    <li><span class="tag">{texts(ui).theme(theme)}</span>" "{text}</li>
                }).collect_view())}
            </ul>
            <form class="row" on:submit=add_wish>
                <select on:change=move |ev| {
                    let index: usize = event_target_value(&ev).parse().unwrap_or(0);
                    wish_theme.set(Theme::ALL.get(index).copied().unwrap_or(Theme::Other));
                }>
                    {Theme::ALL.iter().enumerate().map(|(i, theme)| view! {
                        <option value=i.to_string()>{texts(ui).theme(*theme)}</option>
                    }).collect_view()}
                </select>
                <input class="wish" placeholder=t.wish_hint prop:value=move || wish_text.get()
                    on:input=move |ev| wish_text.set(event_target_value(&ev)) />
                <button type="submit">{t.add}</button>
            </form>
            <h4>{t.signals}</h4>
            <ul class="signals">
                {move || visit.get().map(|v| v.signals.into_iter().map(|(kind, text)| view! {
                    <li><span class="tag private">{texts(ui).signal(kind)}</span>" "{text}</li>
                }).collect_view())}
            </ul>
            <form class="row" on:submit=add_signal>
                <select on:change=move |ev| signal_kind.set(if event_target_value(&ev) == "moving" { SignalKind::MovingWish } else { SignalKind::CareNeed })>
                    <option value="care">{texts(ui).signal(SignalKind::CareNeed)}</option>
                    <option value="moving">{texts(ui).signal(SignalKind::MovingWish)}</option>
                </select>
                <input class="signal" placeholder=t.signal_hint prop:value=move || signal_text.get()
                    on:input=move |ev| signal_text.set(event_target_value(&ev)) />
                <button type="submit">{t.add}</button>
            </form>
        </article>
    }
}

#[component]
fn ConsentCard(ui: Ui, address: Uuid, current: Memo<Option<(Consent, Resident)>>) -> impl IntoView {
    let t = texts(ui);
    let name = RwSignal::new(String::new());
    let contact = RwSignal::new(String::new());
    Effect::new(move |_| {
        if let Some((_, resident)) = current.get() {
            name.set(resident.name);
            contact.set(resident.contact);
        }
    });
    let given = move || current.get().is_some_and(|(c, _)| c == Consent::Given);
    let answer = move |consent: Consent| {
        let resident = Resident {
            name: name.get_untracked(),
            contact: contact.get_untracked(),
        };
        act(ui, address, Edit::Consent { consent, resident });
    };
    view! {
        <section class="card consent">
            <h2>{t.consent}</h2>
            <p>{t.consent_question}</p>
            <div class="row">
                <button class:chosen=given on:click=move |_| answer(Consent::Given)>{t.consent_yes}</button>
                <button class:chosen=move || current.get().is_some_and(|(c, _)| c == Consent::Refused)
                    on:click=move |_| answer(Consent::Refused)>{t.consent_no}</button>
            </div>
            <Show when=given>
                <label>{t.resident_name}
                    <input autocomplete="off" prop:value=move || name.get()
                        on:input=move |ev| name.set(event_target_value(&ev))
                        on:change=move |_| answer(Consent::Given) />
                </label>
                <label>{t.resident_contact}
                    <input autocomplete="off" prop:value=move || contact.get()
                        on:input=move |ev| contact.set(event_target_value(&ev))
                        on:change=move |_| answer(Consent::Given) />
                </label>
            </Show>
        </section>
    }
}

/// Registers the service worker that keeps the app shell for offline starts.
pub fn register_service_worker() {
    if let Some(window) = web_sys::window() {
        let container = window.navigator().service_worker();
        // Absent on plain http origins other than localhost; the app still works online.
        let _ = container.register("/sw.js");
    }
}

/// Asks the browser not to evict the app's storage under pressure.
pub fn ask_persistent_storage() {
    if let Some(window) = web_sys::window()
        && let Ok(storage) = window.navigator().storage().persist()
    {
        drop(storage);
    }
}
