//! A partner's follow-ups, for its coaches and coordinators: the wishes the organisation
//! took on, its own signals, and the open wishes no partner has taken on yet (offered to
//! every partner). Overdue first; filters by status and theme; each line's status and
//! note move here, nothing else.

use leptos::prelude::*;
use voordeur_shared::{
    follow_up::{FollowUpList, Item, Subject},
    model::{FollowUpStatus, Theme},
};

use super::{Ui, day, door_href, texts};
use crate::{actions::use_actions, error::AppError, state::work::Work};

/// Which lines show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StatusFilter {
    Open,
    All,
    Only(FollowUpStatus),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ThemeFilter {
    All,
    Signals,
    Only(Theme),
}

fn shown(item: &Item, status: StatusFilter, theme: ThemeFilter) -> bool {
    let by_status = match status {
        StatusFilter::Open => item.status.is_open(),
        StatusFilter::All => true,
        StatusFilter::Only(s) => item.status == s,
    };
    let by_theme = match theme {
        ThemeFilter::All => true,
        ThemeFilter::Signals => matches!(item.subject, Subject::Signal { .. }),
        ThemeFilter::Only(t) => item.theme() == Some(t),
    };
    by_status && by_theme
}

#[component]
pub fn FollowUpsScreen(ui: Ui) -> impl IntoView {
    let t = texts(ui);
    let actions = use_actions();
    let list: RwSignal<Option<Result<FollowUpList, AppError>>> = RwSignal::new(None);
    Effect::new(move |_| {
        ui.revision.track();
        if ui.ready.get() {
            list.set(actions.follow_ups());
        }
    });
    let status = RwSignal::new(StatusFilter::Open);
    let theme = RwSignal::new(ThemeFilter::All);
    let partner = ui
        .person
        .with_untracked(|p| p.as_ref().and_then(|p| p.partner));
    let now = js_sys::Date::now() as i64;
    let lines = move || {
        let t = texts(ui);
        match list.get() {
            None => view! { <p class="empty">{t.loading_street}</p> }.into_any(),
            Some(Err(e)) => {
                view! { <p class="problem">{e.message(ui.lang.get_untracked())}</p> }.into_any()
            }
            Some(Ok(list)) => {
                let overdue = list.overdue(now);
                let items: Vec<Item> = list
                    .items
                    .into_iter()
                    .filter(|i| shown(i, status.get(), theme.get()))
                    .collect();
                view! {
                    {(overdue > 0).then(|| view! {
                        <p class="overdue-count">{format!("{}: {overdue}", t.overdue)}</p>
                    })}
                    {if items.is_empty() {
                        view! { <p class="empty">{t.nothing_to_follow}</p> }.into_any()
                    } else {
                        view! {
                            <ul class="follow-ups">
                                {items.into_iter().map(|item| view! { <Line ui=ui item=item now=now /> }).collect_view()}
                            </ul>
                        }.into_any()
                    }}
                }
                .into_any()
            }
        }
    };
    view! {
        <h1>{t.follow_ups_title}{partner.map(|p| format!(" · {}", t.partner(p)))}</h1>
        <div class="filters row">
            <label>{t.filter_status}
                <select on:change=move |ev| status.set(match event_target_value(&ev).as_str() {
                    "all" => StatusFilter::All,
                    "open" => StatusFilter::Open,
                    other => other.parse::<usize>().ok()
                        .and_then(|i| FollowUpStatus::ALL.get(i).copied())
                        .map_or(StatusFilter::Open, StatusFilter::Only),
                })>
                    <option value="open">{t.filter_open}</option>
                    {FollowUpStatus::ALL.iter().enumerate().map(|(i, s)| view! {
                        <option value=i.to_string()>{texts(ui).follow_up_status(*s)}</option>
                    }).collect_view()}
                    <option value="all">{t.filter_all}</option>
                </select>
            </label>
            <label>{t.filter_theme}
                <select on:change=move |ev| theme.set(match event_target_value(&ev).as_str() {
                    "signals" => ThemeFilter::Signals,
                    other => other.parse::<usize>().ok()
                        .and_then(|i| Theme::ALL.get(i).copied())
                        .map_or(ThemeFilter::All, ThemeFilter::Only),
                })>
                    <option value="all">{t.filter_all}</option>
                    <option value="signals">{t.filter_signals}</option>
                    {Theme::ALL.iter().enumerate().map(|(i, th)| view! {
                        <option value=i.to_string()>{texts(ui).theme(*th)}</option>
                    }).collect_view()}
                </select>
            </label>
        </div>
        {lines}
    }
}

/// One wish or signal: what it is, where and when it was heard, where it stands; its
/// status and note change here.
#[component]
fn Line(ui: Ui, item: Item, now: i64) -> impl IntoView {
    let t = texts(ui);
    let actions = use_actions();
    let note = RwSignal::new(item.note.clone());
    let status = RwSignal::new(item.status);
    let (tag, text, kind) = match &item.subject {
        Subject::Wish { theme, text, .. } => (t.theme(*theme), text.clone(), "wish"),
        Subject::Signal { kind, text, .. } => (t.signal(*kind), text.clone(), "signal"),
    };
    let offered = matches!(item.subject, Subject::Wish { .. }) && item.owner.is_none();
    let subject = item.subject.clone();
    let save = move |new_status: FollowUpStatus| {
        let note = note.get_untracked();
        let work = match &subject {
            Subject::Wish { id, .. } => Work::FollowUpWish {
                wish: id.clone(),
                status: new_status,
                note,
            },
            Subject::Signal { document, id, .. } => Work::FollowUpSignal {
                document: *document,
                signal: id.clone(),
                status: new_status,
                note,
            },
        };
        actions.work(work);
    };
    let save_take = save.clone();
    let overdue = item.overdue(now);
    let picked = item.picked_by.clone().map(|by| {
        let when = item.picked_at_ms.map(day).unwrap_or_default();
        format!("{} {by} {when}", t.picked_up_by)
    });
    view! {
        <li class="follow-up" class:overdue=overdue data-kind=kind data-status=format!("{:?}", item.status)
            data-number=item.number.clone()>
            <p class="what">
                <span class="tag" class:private=kind == "signal">{tag}</span>" "{text}
            </p>
            <p class="meta">
                <a href=door_href(item.address)>{format!("{} {}", t.door, item.number)}</a>
                {format!(
                    " · {} · {} {} · {} {}",
                    day(item.raised_ms),
                    t.heard_by,
                    item.raised_by,
                    item.age_days(now),
                    t.days_old
                )}
                {overdue.then(|| view! { <strong class="late">{format!(" · {}", t.overdue)}</strong> })}
            </p>
            <p class="stands">
                <span class="follow-status">{t.follow_up_status(item.status)}</span>
                {picked.map(|p| format!(" · {p}"))}
            </p>
            {if offered {
                view! {
                    <p class="offered">{t.not_taken_on}</p>
                    <button class="take-on" on:click=move |_| save_take(FollowUpStatus::PickedUp)>{t.take_on}</button>
                }.into_any()
            } else {
                view! {
                    <div class="move row">
                        <select aria-label=t.filter_status on:change=move |ev| {
                            let index = event_target_value(&ev).parse::<usize>().ok();
                            if let Some(s) = index.and_then(|i| FollowUpStatus::ALL.get(i).copied()) {
                                status.set(s);
                            }
                        }>
                            {FollowUpStatus::ALL.iter().enumerate().map(|(i, s)| {
                                let s = *s;
                                view! {
                                    <option value=i.to_string() selected=move || status.get() == s>
                                        {texts(ui).follow_up_status(s)}
                                    </option>
                                }
                            }).collect_view()}
                        </select>
                        <input class="note" aria-label=t.follow_up_note placeholder=t.follow_up_note
                            prop:value=move || note.get()
                            on:input=move |ev| note.set(event_target_value(&ev)) />
                        <button class="save" on:click=move |_| save(status.get_untracked())>{t.save}</button>
                    </div>
                }.into_any()
            }}
        </li>
    }
}
