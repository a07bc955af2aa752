//! The walk list: the street's doors by building and floor, a house-number finder and the
//! next unvisited door; on a first start, the street to follow.

use leptos::prelude::*;
use voordeur_shared::walk::{Building, DoorState, WalkDoor, WalkList};

use super::{Ui, door_href, floor_name, texts};
use crate::{actions::use_actions, i18n::Texts};

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

/// The columns the walk list gives a building: as many as its widest floor has doors,
/// at most [`MAX_COLUMNS`] (a wider floor wraps).
fn columns(building: &Building) -> usize {
    let widest = building.floors.iter().map(|f| f.doors.len()).max();
    widest.unwrap_or(1).clamp(1, MAX_COLUMNS)
}

/// As many doors as fit side by side on a 360-pixel phone with their state still legible.
const MAX_COLUMNS: usize = 6;

#[component]
fn DoorButton(ui: Ui, door: WalkDoor) -> impl IntoView {
    let class = state_class(&door.state);
    let t = texts(ui);
    let label = state_label(t, &door.state);
    view! {
        <a class=class href=door_href(door.id) data-number=door.number.clone()>
            <strong>{door.number.clone()}</strong>
            <span>{label}</span>
            {door.business.then(|| view! { <span class="kind">{t.business}</span> })}
        </a>
    }
}

#[component]
pub fn WalkScreen(ui: Ui) -> impl IntoView {
    let actions = use_actions();
    let t = texts(ui);
    let query = RwSignal::new(String::new());
    let walk = move || ui.walk.get();
    let next = move || walk().and_then(|w: WalkList| w.next_unvisited(None).map(|d| d.id));
    // Whoever walks the street; coordinators read it. (The street is known, and may
    // change, with the walk list.)
    let records = move || {
        ui.walk.track();
        ui.person.with(|p| {
            p.as_ref()
                .is_some_and(|p| actions.street_id().is_some_and(|s| p.writes(s)))
        })
    };
    let listing = move || {
        let t = texts(ui);
        // A first start with several streets, or the person asked to switch.
        let choices = ui.choices.get();
        if !choices.is_empty() {
            return view! {
                <h1>{t.choose_street}</h1>
                <div class="streets">
                    {choices.into_iter().map(|street| view! {
                        <button on:click=move |_| actions.follow(street.id)>{street.name}</button>
                    }).collect_view()}
                </div>
            }
            .into_any();
        }
        let Some(walk) = walk() else {
            let message = if ui.ready.get() {
                t.no_streets_offline
            } else {
                t.loading_street
            };
            return view! { <p class="empty">{message}</p> }.into_any();
        };
        let q = query.get();
        if !q.trim().is_empty() {
            let found: Vec<WalkDoor> = walk.find(&q).cloned().collect();
            return view! {
                <div class="doors">
                    {found.into_iter().map(|door| view! { <DoorButton ui=ui door=door /> }).collect_view()}
                </div>
            }
            .into_any();
        }
        let visited = walk.visited();
        let total = walk.doors().count();
        let records = records();
        let several = ui
            .person
            .with(|p| p.as_ref().is_some_and(|p| p.streets.len() > 1));
        view! {
            <h1>{walk.street.clone()}</h1>
            {several.then(|| view! {
                <button class="small switch-street"
                    on:click=move |_| leptos::task::spawn_local(actions.choose_street())>
                    {t.switch_street}
                </button>
            })}
            <p class="count">{format!("{visited} / {total} {}", t.doors_visited)}</p>
            {records.then(|| view! { <Today ui=ui walk=walk.clone() /> })}
            {walk.buildings.into_iter().map(|building| {
                // A column per door of the building's widest floor (up to six): each floor
                // is one row, its doors under those of the floor above, as in the street.
                let cols = columns(&building);
                view! {
                <section class="building" data-cols=cols>
                    <h2>{building.name}</h2>
                    {building.floors.into_iter().map(|floor| view! {
                        <h3>{floor_name(t, floor.floor)}</h3>
                        <div class="doors">
                            {floor.doors.into_iter().map(|door| view! { <DoorButton ui=ui door=door /> }).collect_view()}
                        </div>
                    }).collect_view()}
                </section>
            }}).collect_view()}
        }
        .into_any()
    };
    // The phone's storage matters to whoever records on it: how full, and whether the
    // browser promised to keep it.
    let storage = move || {
        records().then(|| {
            let used = format!(
                "{}: {:.0} %",
                t.storage_used,
                ui.usage.get().fraction() * 100.0
            );
            let kept = ui.kept.get();
            let line = match kept {
                Some(true) => format!("{used} · {}", t.storage_kept),
                _ => used,
            };
            view! {
                <p class="count storage" data-kept=kept.map(|k| k.to_string())>{line}</p>
                {(kept == Some(false)).then(|| view! {
                    <p class="notice storage-not-kept">{t.storage_not_kept}</p>
                })}
            }
        })
    };
    view! {
        <div class="tools">
            <input type="search" class="find" inputmode="text"
                placeholder=t.find_door aria-label=t.find_door
                prop:value=move || query.get()
                on:input=move |ev| query.set(event_target_value(&ev)) />
            {move || records().then(|| match next() {
                Some(id) => view! {
                    <a class="button next" href=door_href(id)>{texts(ui).next_unvisited}" →"</a>
                }.into_any(),
                None => view! { <span class="next done">{texts(ui).all_visited}</span> }.into_any(),
            })}
        </div>
        {listing}
        {storage}
    }
}

/// Where to knock first today: planned returns due today or before, and the doors where
/// no one was ever spoken to.
#[component]
fn Today(ui: Ui, walk: WalkList) -> impl IntoView {
    let t = texts(ui);
    let Some(today) = super::today() else {
        return ().into_any();
    };
    let plan = walk.today(today);
    let returns = plan
        .returns
        .iter()
        .map(|(on, door)| {
            let late = *on < today;
            let label = if late {
                format!("{on} · {}", t.overdue)
            } else {
                on.to_string()
            };
            view! {
                <a class="return" class:late=late href=door_href(door.id) data-number=door.number.clone()>
                    <strong>{door.number.clone()}</strong>
                    <span>{label}</span>
                </a>
            }
        })
        .collect_view();
    let none_due = plan.returns.is_empty();
    let never = plan.never_reached.len();
    let never_reached = plan
        .never_reached
        .iter()
        .map(|door| view! {
            <a class="chip" href=door_href(door.id) data-number=door.number.clone()>{door.number.clone()}</a>
        })
        .collect_view();
    view! {
        <section class="today card">
            <h2>{t.today_title}</h2>
            <h3>{t.today_returns}</h3>
            {if none_due {
                view! { <p class="empty">{t.today_no_returns}</p> }.into_any()
            } else {
                view! { <div class="doors returns">{returns}</div> }.into_any()
            }}
            <details class="never-reached">
                <summary>{format!("{} ({never})", t.today_never_reached)}</summary>
                <div class="chips">{never_reached}</div>
            </details>
        </section>
    }
    .into_any()
}
