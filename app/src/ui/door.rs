//! The door: record a knock with one tap, then everything said at the door, saved as it
//! is typed; every earlier visit, by anyone, editable.

use leptos::{ev, prelude::*};
use voordeur_shared::{
    door::{DoorView, VisitView},
    ids::{AddressId, VisitId},
    model::{Consent, IsoDate, Outcome, Resident, SignalKind, Theme},
};

use super::{Ui, day, floor_name, texts};
use crate::{actions::use_actions, error::AppError, state::Edit};

#[component]
pub fn DoorScreen(ui: Ui, address: AddressId) -> impl IntoView {
    let t = texts(ui);
    let actions = use_actions();
    // Coordinators read; builders and coaches also write (see `voordeur_shared::access`).
    let writes = ui
        .person
        .get_untracked()
        .is_some_and(|p| actions.street_id().is_some_and(|street| p.writes(street)));
    let door: RwSignal<Option<Result<DoorView, AppError>>> = RwSignal::new(None);
    Effect::new(move |_| {
        ui.revision.track();
        if !ui.ready.get() {
            return;
        }
        door.set(actions.door_view(address));
    });
    if let Some(window) = web_sys::window() {
        window.scroll_to_with_x_and_y(0.0, 0.0);
    }
    let body = move || {
        let t = texts(ui);
        match door.get() {
            None => view! { <p class="empty">{t.loading_street}</p> }.into_any(),
            Some(Err(error)) => {
                view! { <p class="problem">{error.message(ui.lang.get_untracked())}</p> }.into_any()
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
    let visit = move |id: VisitId| {
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
        <super::refusals::DoorRefusals ui=ui address=address />
        <Show when=move || matches!(door.get(), Some(Ok(_)))>
            {if writes {
                view! { <NewVisit ui=ui address=address /> }.into_any()
            } else {
                view! { <p class="empty read-only">{t.read_only}</p> }.into_any()
            }}
            <section class="visits">
                <h2>{t.earlier_visits}</h2>
                <Show when=move || visit_ids().is_empty()>
                    <p class="empty">{t.no_visits_yet}</p>
                </Show>
                <For each=visit_ids key=|id| *id let:id>
                    <VisitCard ui=ui address=address visit=visit(id) id=id writes=writes />
                </For>
            </section>
            <ConsentCard ui=ui address=address current=consent writes=writes />
        </Show>
    }
}

#[component]
fn NewVisit(ui: Ui, address: AddressId) -> impl IntoView {
    let t = texts(ui);
    let actions = use_actions();
    let later = RwSignal::new(false);
    let date = RwSignal::new(String::new());
    let record = move |outcome: Outcome, return_on: Option<IsoDate>| {
        later.set(false);
        actions.record_visit(address, outcome, return_on);
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
fn VisitCard(
    ui: Ui,
    address: AddressId,
    id: VisitId,
    visit: Memo<Option<VisitView>>,
    writes: bool,
) -> impl IntoView {
    let t = texts(ui);
    let actions = use_actions();
    let act = move |edit: Edit| actions.edit(address, edit);
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
    let notes_input = move |ev: ev::Event| {
        let text = event_target_value(&ev);
        act(Edit::Notes { visit: id, text });
    };
    let contribution_input = move |ev: ev::Event| {
        let text = event_target_value(&ev);
        act(Edit::Contribution { visit: id, text });
    };
    let wish_theme = RwSignal::new(Theme::Greenery);
    let wish_text = RwSignal::new(String::new());
    let add_wish = move |ev: ev::SubmitEvent| {
        ev.prevent_default();
        let text = wish_text.get_untracked();
        if text.trim().is_empty() {
            return;
        }
        act(Edit::Wish {
            visit: id,
            theme: wish_theme.get_untracked(),
            text,
        });
        wish_text.set(String::new());
    };
    let signal_kind = RwSignal::new(SignalKind::CareNeed);
    let signal_text = RwSignal::new(String::new());
    let add_signal = move |ev: ev::SubmitEvent| {
        ev.prevent_default();
        let text = signal_text.get_untracked();
        if text.trim().is_empty() {
            return;
        }
        act(Edit::Signal {
            visit: id,
            kind: signal_kind.get_untracked(),
            text,
        });
        signal_text.set(String::new());
    };
    view! {
        <article class="visit" data-visit=id.to_string()>
            <h3>{header}</h3>
            <label>
                {t.notes}
                <textarea class="notes" rows="4" placeholder=t.notes_hint readonly=!writes
                    prop:value=move || visit.get().map(|v| v.notes).unwrap_or_default()
                    on:input=notes_input></textarea>
            </label>
            <label>
                {t.contribution}
                <input class="contribution" placeholder=t.contribution_hint readonly=!writes
                    prop:value=move || visit.get().map(|v| v.contribution).unwrap_or_default()
                    on:input=contribution_input />
            </label>
            <h4>{t.wishes}</h4>
            <ul class="wishes">
                {move || visit.get().map(|v| v.wishes.into_iter().map(|(theme, text)| view! {
                    <li><span class="tag">{texts(ui).theme(theme)}</span>" "{text}</li>
                }).collect_view())}
            </ul>
            <form class="row" on:submit=add_wish hidden=!writes>
                <select aria-label=t.wishes on:change=move |ev| {
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
            <form class="row" on:submit=add_signal hidden=!writes>
                <select aria-label=t.signals on:change=move |ev| signal_kind.set(if event_target_value(&ev) == "moving" { SignalKind::MovingWish } else { SignalKind::CareNeed })>
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
fn ConsentCard(
    ui: Ui,
    address: AddressId,
    current: Memo<Option<(Consent, Resident)>>,
    writes: bool,
) -> impl IntoView {
    let t = texts(ui);
    let actions = use_actions();
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
        actions.edit(address, Edit::Consent { consent, resident });
    };
    view! {
        <section class="card consent">
            <h2>{t.consent}</h2>
            <p>{t.consent_question}</p>
            <div class="row" hidden=!writes>
                <button class:chosen=given on:click=move |_| answer(Consent::Given)>{t.consent_yes}</button>
                <button class:chosen=move || current.get().is_some_and(|(c, _)| c == Consent::Refused)
                    on:click=move |_| answer(Consent::Refused)>{t.consent_no}</button>
            </div>
            <Show when=given>
                <label>{t.resident_name}
                    <input autocomplete="off" readonly=!writes prop:value=move || name.get()
                        on:input=move |ev| name.set(event_target_value(&ev))
                        on:change=move |_| answer(Consent::Given) />
                </label>
                <label>{t.resident_contact}
                    <input autocomplete="off" readonly=!writes prop:value=move || contact.get()
                        on:input=move |ev| contact.set(event_target_value(&ev))
                        on:change=move |_| answer(Consent::Given) />
                </label>
            </Show>
        </section>
    }
}
