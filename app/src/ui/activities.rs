//! The street's activities: a list for everyone, and one activity's page where a builder
//! or coach plans it (title, date and time, place, theme, the wishes it answers), invites
//! residents who offered to contribute, and afterwards records how many took part, which
//! households did (in their own documents) and a short evaluation. Coordinators read.

use std::collections::BTreeSet;

use leptos::prelude::*;
use voordeur_shared::{
    activity::{Afterwards, Plan},
    model::{Activity, IsoDate, Theme},
};

use super::{ACTIVITIES_HASH, Ui, activity_href, door_href, texts};
use crate::{actions::use_actions, state::work::Work};

/// Whether the person plans and records activities (builders and coaches).
fn plans(ui: Ui) -> bool {
    let actions = use_actions();
    ui.person
        .get_untracked()
        .is_some_and(|p| actions.street_id().is_some_and(|street| p.writes(street)))
}

/// The text, or a dash where nothing was written yet.
fn or_dash(text: String) -> String {
    if text.trim().is_empty() {
        "—".to_string()
    } else {
        text
    }
}

fn when(activity: &Activity) -> String {
    if activity.time.is_empty() {
        activity.date.to_string()
    } else {
        format!("{} {}", activity.date, activity.time)
    }
}

#[component]
pub fn ActivitiesScreen(ui: Ui) -> impl IntoView {
    let t = texts(ui);
    let actions = use_actions();
    let activities = Memo::new(move |_| {
        ui.revision.track();
        if ui.ready.get() {
            actions.activities()
        } else {
            Vec::new()
        }
    });
    view! {
        <h1>{t.activities_title}</h1>
        {plans(ui).then(|| view! {
            <a class="button new-activity" href=activity_href(None)>{t.new_activity}</a>
        })}
        {move || {
            let t = texts(ui);
            let all = activities.get();
            if all.is_empty() {
                return view! { <p class="empty">{t.no_activities}</p> }.into_any();
            }
            view! {
                <ul class="activities">
                    {all.into_iter().map(|(id, a)| {
                        let invited = a.invited.len();
                        let took_part = a.participants.map(|n| format!(" · {} {n}", t.participants));
                        view! {
                            <li class="activity" data-title=a.title.clone()>
                                <a href=activity_href(Some(&id))><strong>{a.title.clone()}</strong></a>
                                <p class="meta">{format!("{} · {} · {}", when(&a), a.place, t.theme(a.theme))}</p>
                                <p class="meta">{format!("{}: {invited}", t.invited)}{took_part}</p>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            }
            .into_any()
        }}
    }
}

#[component]
pub fn ActivityScreen(ui: Ui, id: Option<String>) -> impl IntoView {
    let t = texts(ui);
    let actions = use_actions();
    let writes = plans(ui);
    let id = RwSignal::new(id);
    let activity = Memo::new(move |_| {
        ui.revision.track();
        if !ui.ready.get() {
            return None;
        }
        let id = id.get()?;
        actions
            .activities()
            .into_iter()
            .find(|(i, _)| *i == id)
            .map(|(_, a)| a)
    });
    // The plan's fields, filled from the activity once it reads.
    let title = RwSignal::new(String::new());
    let date = RwSignal::new(String::new());
    let time = RwSignal::new(String::new());
    let place = RwSignal::new(String::new());
    let theme = RwSignal::new(Theme::MeetingEachOther);
    let wishes = RwSignal::new(BTreeSet::<String>::new());
    let participants = RwSignal::new(String::new());
    let evaluation = RwSignal::new(String::new());
    Effect::new(move |_| {
        if let Some(a) = activity.get() {
            title.set(a.title);
            date.set(a.date.to_string());
            time.set(a.time);
            place.set(a.place);
            theme.set(a.theme);
            wishes.set(a.wishes.into_keys().collect());
            participants.set(a.participants.map(|n| n.to_string()).unwrap_or_default());
            evaluation.set(a.evaluation);
        }
    });
    let all_wishes = Memo::new(move |_| {
        ui.revision.track();
        if ui.ready.get() {
            actions.wishes()
        } else {
            Vec::new()
        }
    });
    let problem = RwSignal::new(None::<&'static str>);
    let save_plan = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Ok(on) = date.get_untracked().parse::<IsoDate>() else {
            problem.set(Some(texts(ui).activity_date));
            return;
        };
        problem.set(None);
        let plan = Plan {
            title: title.get_untracked(),
            date: on,
            time: time.get_untracked(),
            place: place.get_untracked(),
            theme: theme.get_untracked(),
            wishes: wishes.get_untracked().into_iter().collect(),
        };
        match id.get_untracked() {
            Some(existing) => {
                actions.work(Work::Replan { id: existing, plan });
            }
            None => {
                if let Some(planned) = actions.work(Work::Plan(plan)) {
                    id.set(Some(planned.clone()));
                    if let Some(window) = web_sys::window() {
                        let _ = window.location().set_hash(&activity_href(Some(&planned)));
                    }
                }
            }
        }
    };
    // Those who only read see the plan as text, not as fields they cannot change.
    let summary = move || {
        let t = texts(ui);
        activity.get().map(|a| {
            let answered: Vec<String> = all_wishes
                .get()
                .into_iter()
                .filter(|(id, _)| a.wishes.contains_key(id))
                .map(|(_, w)| format!("{}: {}", t.theme(w.theme), w.text))
                .collect();
            view! {
                <dl class="card summary">
                    <dt>{t.activity_date}</dt><dd>{when(&a)}</dd>
                    <dt>{t.activity_place}</dt><dd>{a.place.clone()}</dd>
                    <dt>{t.activity_theme}</dt><dd>{t.theme(a.theme)}</dd>
                    <dt>{t.activity_wishes}</dt><dd>{or_dash(answered.join(" · "))}</dd>
                    <dt>{t.participants}</dt><dd>{a.participants.map(|n| n.to_string()).unwrap_or_else(|| "—".into())}</dd>
                    <dt>{t.evaluation}</dt><dd>{or_dash(a.evaluation.clone())}</dd>
                </dl>
            }
        })
    };
    let plan_form = move || {
        let t = texts(ui);
        view! {
            <form class="card plan" on:submit=save_plan>
                <label>{t.activity_title}
                    <input class="title" required readonly=!writes prop:value=move || title.get()
                        on:input=move |ev| title.set(event_target_value(&ev)) />
                </label>
                <div class="row">
                    <label>{t.activity_date}
                        <input type="date" class="date" required readonly=!writes prop:value=move || date.get()
                            on:input=move |ev| date.set(event_target_value(&ev)) />
                    </label>
                    <label>{t.activity_time}
                        <input type="time" class="time" readonly=!writes prop:value=move || time.get()
                            on:input=move |ev| time.set(event_target_value(&ev)) />
                    </label>
                </div>
                <label>{t.activity_place}
                    <input class="place" readonly=!writes prop:value=move || place.get()
                        on:input=move |ev| place.set(event_target_value(&ev)) />
                </label>
                <label>{t.activity_theme}
                    <select class="theme" disabled=!writes on:change=move |ev| {
                        let index = event_target_value(&ev).parse::<usize>().ok();
                        if let Some(th) = index.and_then(|i| Theme::ALL.get(i).copied()) {
                            theme.set(th);
                        }
                    }>
                        {Theme::ALL.iter().enumerate().map(|(i, th)| {
                            let th = *th;
                            view! {
                                <option value=i.to_string() selected=move || theme.get() == th>{texts(ui).theme(th)}</option>
                            }
                        }).collect_view()}
                    </select>
                </label>
                <fieldset class="answers">
                    <legend>{t.activity_wishes}</legend>
                    {move || all_wishes.get().into_iter().map(|(wish_id, wish)| {
                        let checked_id = wish_id.clone();
                        let toggle_id = wish_id.clone();
                        view! {
                            <label class="check">
                                <input type="checkbox" disabled=!writes
                                    prop:checked=move || wishes.with(|w| w.contains(&checked_id))
                                    on:change=move |ev| {
                                        let on = event_target_checked(&ev);
                                        wishes.update(|w| {
                                            if on { w.insert(toggle_id.clone()); } else { w.remove(&toggle_id); }
                                        });
                                    } />
                                <span class="tag">{texts(ui).theme(wish.theme)}</span>" "{wish.text}
                            </label>
                        }
                    }).collect_view()}
                </fieldset>
                {move || problem.get().map(|what| view! { <p class="problem" role="alert">{what}"?"</p> })}
                {writes.then(|| view! {
                    <button type="submit" class="save-plan">
                        {move || if id.get().is_some() { texts(ui).save_changes } else { texts(ui).plan_activity }}
                    </button>
                })}
            </form>
        }
    };
    view! {
        <nav><a class="back" href=ACTIVITIES_HASH>{"← "}{t.activities_title}</a></nav>
        <h1>{move || activity.get().map(|a| a.title).unwrap_or_else(|| texts(ui).new_activity.to_string())}</h1>
        {move || activity.get().map(|a| view! {
            <p class="where">{format!("{} {}", texts(ui).planned_by, a.by)}</p>
        })}
        {if writes { plan_form.into_any() } else { summary.into_any() }}
        {move || id.get().map(|id| view! {
            <Invitations ui=ui id=id.clone() activity=activity writes=writes />
            {writes.then(|| view! {
                <AfterwardsCard ui=ui id=id activity=activity writes=writes
                    participants=participants evaluation=evaluation />
            })}
        })}
    }
}

/// Residents who offered to contribute, those on the activity's theme first: invite them,
/// and afterwards tick who took part (kept in each household's own document).
#[component]
fn Invitations(
    ui: Ui,
    id: String,
    activity: Memo<Option<Activity>>,
    writes: bool,
) -> impl IntoView {
    let t = texts(ui);
    let actions = use_actions();
    let theme = move || activity.get().map(|a| a.theme);
    let contributors = Memo::new(move |_| {
        ui.revision.track();
        actions.contributors(theme())
    });
    let took_part_id = id.clone();
    let took_part = Memo::new(move |_| {
        ui.revision.track();
        actions.took_part(&took_part_id)
    });
    let id = StoredValue::new(id);
    view! {
        <section class="card invitations">
            <h2>{t.invite_title}</h2>
            {move || {
                let t = texts(ui);
                let all = contributors.get();
                if all.is_empty() {
                    return view! { <p class="empty">{t.no_contributors}</p> }.into_any();
                }
                let invited = activity.get().map(|a| a.invited).unwrap_or_default();
                view! {
                    <ul class="contributors">
                        {all.into_iter().map(|c| {
                            let address = c.address;
                            let is_invited = invited.contains_key(&address.to_string());
                            let took = took_part.get().contains(&address);
                            let name = if c.name.is_empty() { format!("({})", t.name_not_kept) } else { c.name.clone() };
                            let theme = c.theme.map(|th| texts(ui).theme(th)).unwrap_or("");
                            view! {
                                <li class="contributor" data-number=c.number.clone()>
                                    <p>
                                        <a href=door_href(address)>{format!("{} {}", t.door, c.number)}</a>
                                        {format!(" · {name}")}
                                        {(!c.contact.is_empty()).then(|| format!(" · {}", c.contact))}
                                    </p>
                                    <p class="meta"><span class="tag">{theme}</span>" "{c.contribution.clone()}</p>
                                    {(!writes).then(|| {
                                        let marks: Vec<&str> = [(is_invited, texts(ui).invited), (took, texts(ui).took_part)]
                                            .into_iter()
                                            .filter_map(|(on, label)| on.then_some(label))
                                            .collect();
                                        view! { <p class="marks">{marks.join(" · ")}</p> }
                                    })}
                                    <div class="row" hidden=!writes>
                                        <label class="check">
                                            <input type="checkbox" class="invite" disabled=!writes prop:checked=is_invited
                                                on:change=move |ev| {
                                                    let invited = event_target_checked(&ev);
                                                    actions.work(Work::Invite { id: id.get_value(), address, invited });
                                                } />
                                            {texts(ui).invited}
                                        </label>
                                        <label class="check">
                                            <input type="checkbox" class="took-part" disabled=!writes prop:checked=took
                                                on:change=move |ev| {
                                                    let took_part = event_target_checked(&ev);
                                                    actions.work(Work::TookPart { id: id.get_value(), address, took_part });
                                                } />
                                            {texts(ui).took_part}
                                        </label>
                                    </div>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }
                .into_any()
            }}
        </section>
    }
}

#[component]
fn AfterwardsCard(
    ui: Ui,
    id: String,
    activity: Memo<Option<Activity>>,
    writes: bool,
    participants: RwSignal<String>,
    evaluation: RwSignal<String>,
) -> impl IntoView {
    let t = texts(ui);
    let actions = use_actions();
    let _ = activity;
    let id = StoredValue::new(id);
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let afterwards = Afterwards {
            participants: participants.get_untracked().trim().parse().ok(),
            evaluation: evaluation.get_untracked(),
        };
        actions.work(Work::Afterwards {
            id: id.get_value(),
            afterwards,
        });
    };
    view! {
        <form class="card afterwards" on:submit=save>
            <h2>{t.afterwards_title}</h2>
            <label>{t.participants}
                <input type="number" min="0" inputmode="numeric" class="participants" readonly=!writes
                    prop:value=move || participants.get()
                    on:input=move |ev| participants.set(event_target_value(&ev)) />
            </label>
            <label>{t.evaluation}
                <textarea class="evaluation" rows="3" readonly=!writes
                    prop:value=move || evaluation.get()
                    on:input=move |ev| evaluation.set(event_target_value(&ev))></textarea>
            </label>
            {writes.then(|| view! { <button type="submit" class="save-afterwards">{texts(ui).save}</button> })}
        </form>
    }
}
