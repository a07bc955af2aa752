//! The door: record a knock with one tap, then everything said at the door, saved as it
//! is typed; every earlier visit, by anyone, editable.

use leptos::{ev, prelude::*};
use voordeur_shared::{
    access::Role,
    docs::Signed,
    door::{ConflictField, DoorView, FieldConflict, VisitView},
    ids::{AddressId, VisitId},
    model::{ClientStatus, Consent, IsoDate, Outcome, Partner, Resident, SignalKind, Theme},
};

use super::{Ui, caret, day, floor_name, texts};
use crate::i18n::Texts;
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
    // A coordinator records a resident's request at the door (`super::request`).
    let coordinator = ui
        .person
        .get_untracked()
        .is_some_and(|p| p.role == Role::Coordinator);
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
                    <div class="door-head">
                        <h1>{view.number.clone()}</h1>
                        <p class="where">{view.building.clone()}" · "{floor}</p>
                    </div>
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
    let conflicts = Memo::new(move |_| {
        door.get()
            .and_then(Result::ok)
            .map(|d| d.conflicts)
            .unwrap_or_default()
    });
    // The refusal the door shows, with whose it is.
    let refusal = Memo::new(move |_| {
        let d = door.get().and_then(Result::ok)?;
        let id = d.refusal?;
        d.visits.into_iter().find(|v| v.id == id)
    });
    view! {
        // The way back and the door's number share a line: the visit gets the screen.
        <div class="door-top">
            <nav><a class="back arrow" href="#/" aria-label=t.back title=t.back>"←"</a></nav>
            {body}
        </div>
        <super::refusals::DoorRefusals ui=ui address=address />
        <Show when=move || matches!(door.get(), Some(Ok(_)))>
            <RefusalCard ui=ui address=address refusal=refusal writes=writes />
            <ConflictsCard ui=ui address=address conflicts=conflicts door=door writes=writes />
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
            <ClientStatusCard ui=ui address=address door=door />
            <TookPart ui=ui door=door />
            {coordinator.then(|| view! { <super::request::ResidentRequestCard ui=ui address=address /> })}
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
            if !v.corrections.is_empty() {
                outcome = format!("{outcome} ({})", t.corrected);
            }
            let author = if v.author.is_empty() {
                "—".to_string()
            } else {
                v.author
            };
            format!("{} · {outcome} · {} {author}", day(v.at_ms), t.by)
        })
    };
    // The outcome's history: as recorded, then every correction with whose it is.
    let history = move || {
        let v = visit.get()?;
        if v.corrections.is_empty() {
            return None;
        }
        let t = texts(ui);
        let mut steps = vec![format!(
            "{} {} ({}, {})",
            t.recorded_as,
            t.outcome(v.recorded),
            v.author,
            day(v.at_ms)
        )];
        steps.extend(v.corrections.iter().map(|c| {
            format!(
                "{} {} ({}, {})",
                t.corrected,
                t.outcome(c.outcome),
                c.by,
                day(c.at_ms)
            )
        }));
        Some(view! { <p class="history">{steps.join(" → ")}</p> })
    };
    let correct_date = RwSignal::new(String::new());
    let correct = move |outcome: Outcome| {
        let return_on = (outcome == Outcome::ComeBackLater)
            .then(|| correct_date.get_untracked().parse().ok())
            .flatten();
        act(Edit::Correct {
            visit: id,
            outcome,
            return_on,
        });
    };
    let notes_input = move |ev: ev::Event| {
        let text = event_target_value(&ev);
        act(Edit::Notes { visit: id, text });
    };
    // The notes follow the documents without moving the caret of someone typing in them.
    let notes_area = NodeRef::<leptos::html::Textarea>::new();
    Effect::new(move |_| {
        let text = visit.get().map(|v| v.notes).unwrap_or_default();
        if let Some(area) = notes_area.get() {
            caret::replace_value(&area, &text);
        }
    });
    // Who wrote which part, once more than one person did.
    let authorship = move || {
        let parts = visit.get()?.notes_by;
        let mut authors: Vec<Option<&str>> = parts
            .iter()
            .map(|(by, _)| by.as_ref().map(|s| s.by.as_str()))
            .collect();
        authors.dedup();
        authors.sort();
        authors.dedup();
        if authors.len() < 2 {
            return None;
        }
        let t = texts(ui);
        let rows = parts
            .into_iter()
            .filter(|(_, text)| !text.trim().is_empty())
            .map(|(by, text)| {
                view! { <li><span class="who">{who(t, by.as_ref())}</span>" "{text.trim().to_string()}</li> }
            })
            .collect_view();
        Some(view! {
            <div class="authorship">
                <h4>{t.who_wrote_what}</h4>
                <ul>{rows}</ul>
            </div>
        })
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
    let unfolded = visit.with_untracked(|v| {
        v.as_ref()
            .is_some_and(|v| !v.contribution.is_empty() || !v.signals.is_empty())
    });
    view! {
        <article class="visit" data-visit=id.to_string()>
            <h3>{header}</h3>
            {history}
            <details class="correct" hidden=!writes>
                <summary>{t.correct_outcome}</summary>
                <p>{t.correct_to}</p>
                <div class="outcomes">
                    {[
                        (Outcome::NotHome, "outcome not-home"),
                        (Outcome::Talked, "outcome talked"),
                        (Outcome::Refused, "outcome refused"),
                        (Outcome::ComeBackLater, "outcome come-back"),
                    ]
                    .into_iter()
                    .map(|(outcome, class)| view! {
                        <button class=class data-correct=format!("{outcome:?}")
                            on:click=move |_| correct(outcome)>
                            {texts(ui).outcome(outcome)}
                        </button>
                    })
                    .collect_view()}
                </div>
                <label>{t.come_back_on}
                    <input type="date" prop:value=move || correct_date.get()
                        on:input=move |ev| correct_date.set(event_target_value(&ev)) />
                </label>
            </details>
            <label>
                {t.notes}
                <textarea class="notes" rows="3" placeholder=writes.then_some(t.notes_hint) readonly=!writes
                    node_ref=notes_area on:input=notes_input></textarea>
            </label>
            {authorship}
            <h4>{t.wishes}</h4>
            <ul class="wishes">
                {move || visit.get().map(|v| v.wishes.into_iter().map(|wish| {
                    let t = texts(ui);
                    // What became of it: each partner that took it on, or no one yet.
                    let became = if wish.follow_ups.is_empty() {
                        t.not_taken_on.to_string()
                    } else {
                        wish.follow_ups
                            .iter()
                            .map(|(partner, f)| format!("{}: {}", t.partner(*partner), t.follow_up_status(f.status)))
                            .collect::<Vec<_>>()
                            .join(" · ")
                    };
                    view! {
                        <li>
                            <span class="tag">{t.theme(wish.theme)}</span>" "{wish.text}
                            <span class="became" data-wish-status=wish.follow_ups.first().map(|(_, f)| format!("{:?}", f.status)).unwrap_or_else(|| "New".into())>{became}</span>
                        </li>
                    }
                }).collect_view())}
            </ul>
            <form class="row add-wish" on:submit=add_wish hidden=!writes>
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
            // The rest of a visit, folded: the most common visit (an outcome, a few words,
            // maybe a wish) fits one phone screen. Open when there is something in it.
            <details class="more" open=unfolded>
            <summary>{t.contribution_and_signals}</summary>
            <label>
                {t.contribution}
                <input class="contribution" placeholder=writes.then_some(t.contribution_hint) readonly=!writes
                    prop:value=move || visit.get().map(|v| v.contribution).unwrap_or_default()
                    on:input=contribution_input />
            </label>
            <label class="contribution-theme">
                {t.contribution_theme}
                <select disabled=!writes on:change=move |ev| {
                    let theme = event_target_value(&ev).parse::<usize>().ok().and_then(|i| Theme::ALL.get(i).copied());
                    act(Edit::ContributionTheme { visit: id, theme });
                }>
                    <option value="" selected=move || visit.get().is_some_and(|v| v.contribution_theme.is_none())>{t.no_theme}</option>
                    {Theme::ALL.iter().enumerate().map(|(i, theme)| {
                        let theme = *theme;
                        view! {
                            <option value=i.to_string()
                                selected=move || visit.get().is_some_and(|v| v.contribution_theme == Some(theme))>
                                {texts(ui).theme(theme)}
                            </option>
                        }
                    }).collect_view()}
                </select>
            </label>
            <h4>{t.signals}</h4>
            <ul class="signals">
                {move || visit.get().map(|v| v.signals.into_iter().map(|signal| {
                    let t = texts(ui);
                    view! {
                        <li>
                            <span class="tag private">{t.signal(signal.kind)}</span>" "{signal.text}
                            <span class="became" data-signal-status=format!("{:?}", signal.status)>
                                {format!("{}: {}", t.handed_on_status, t.follow_up_status(signal.status))}
                            </span>
                        </li>
                    }
                }).collect_view())}
            </ul>
            <form class="row add-signal" on:submit=add_signal hidden=!writes>
                <select aria-label=t.signals on:change=move |ev| signal_kind.set(if event_target_value(&ev) == "moving" { SignalKind::MovingWish } else { SignalKind::CareNeed })>
                    <option value="care">{texts(ui).signal(SignalKind::CareNeed)}</option>
                    <option value="moving">{texts(ui).signal(SignalKind::MovingWish)}</option>
                </select>
                <input class="signal" placeholder=t.signal_hint prop:value=move || signal_text.get()
                    on:input=move |ev| signal_text.set(event_target_value(&ev)) />
                <button type="submit">{t.add}</button>
            </form>
            </details>
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
    let consent = move || current.get().map_or(Consent::NotAsked, |(c, _)| c);
    let given = move || consent() == Consent::Given;
    let refused = move || consent() == Consent::Refused;
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
            // The answer in words, a "no" as plainly as a "yes", for whoever only reads.
            <p class="consent-answer" data-consent-answer=move || format!("{:?}", consent())>
                <strong>{move || texts(ui).consent_answer(consent())}</strong>
            </p>
            <div class="row" hidden=!writes>
                <button data-consent="Given" class:chosen=given aria-pressed=move || given().to_string()
                    on:click=move |_| answer(Consent::Given)>{t.consent_yes}</button>
                <button data-consent="Refused" class:chosen=refused aria-pressed=move || refused().to_string()
                    on:click=move |_| answer(Consent::Refused)>{t.consent_no}</button>
            </div>
            <Show when=given>
                <label>{t.resident_name}
                    <input class="resident-name" autocomplete="off" readonly=!writes prop:value=move || name.get()
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

/// "Sanne · 30-11-2026 14:02", or "someone" for an unsigned change.
fn who(t: &Texts, by: Option<&Signed>) -> String {
    match by {
        Some(signed) => format!("{} · {}", signed.by, day(signed.at_ms)),
        None => t.someone.to_string(),
    }
}

/// The refusal a door shows until someone clears it on purpose.
#[component]
fn RefusalCard(
    ui: Ui,
    address: AddressId,
    refusal: Memo<Option<VisitView>>,
    writes: bool,
) -> impl IntoView {
    let actions = use_actions();
    move || {
        let visit = refusal.get()?;
        let t = texts(ui);
        Some(view! {
            <section class="card refusal" role="status">
                <h2>{t.refusal_title}</h2>
                <p class="who">{format!("{} · {}", visit.author, day(visit.at_ms))}</p>
                <p>{t.refusal_explain}</p>
                <button class="clear-refusal" hidden=!writes
                    on:click=move |_| actions.edit(address, Edit::ClearRefusal)>
                    {t.clear_refusal}
                </button>
            </section>
        })
    }
}

/// Fields two people filled in differently while offline: every value, whose it is and
/// when, and one tap to settle it for everyone.
#[component]
fn ConflictsCard(
    ui: Ui,
    address: AddressId,
    conflicts: Memo<Vec<FieldConflict>>,
    door: RwSignal<Option<Result<DoorView, AppError>>>,
    writes: bool,
) -> impl IntoView {
    let actions = use_actions();
    let label = move |t: &'static Texts, field: ConflictField| match field {
        ConflictField::Consent => t.conflict_consent.to_string(),
        ConflictField::ResidentName => t.resident_name.to_string(),
        ConflictField::ResidentContact => t.resident_contact.to_string(),
        ConflictField::Contribution(visit) => {
            let at = door
                .get_untracked()
                .and_then(Result::ok)
                .and_then(|d| d.visits.into_iter().find(|v| v.id == visit))
                .map(|v| day(v.at_ms))
                .unwrap_or_default();
            format!("{} ({at})", t.conflict_contribution)
        }
    };
    move || {
        let conflicts = conflicts.get();
        if conflicts.is_empty() {
            return None;
        }
        let t = texts(ui);
        let fields = conflicts
            .into_iter()
            .map(|conflict| {
                let field = conflict.field;
                let values = conflict
                    .values
                    .into_iter()
                    .map(|candidate| {
                        let shown = match field {
                            ConflictField::Consent => Consent::parse(&candidate.value)
                                .map_or(candidate.value.clone(), |c| {
                                    t.consent_answer(c).to_string()
                                }),
                            _ if candidate.value.is_empty() => t.empty_value.to_string(),
                            _ => candidate.value.clone(),
                        };
                        let value = candidate.value.clone();
                        view! {
                            <li>
                                <span class="value">{shown}</span>
                                <span class="who">{who(t, candidate.by.as_ref())}</span>
                                <button class="choose" hidden=!writes on:click=move |_| {
                                    actions.edit(address, Edit::Settle { field, value: value.clone() })
                                }>{t.choose_this}</button>
                            </li>
                        }
                    })
                    .collect_view();
                view! {
                    <h3>{label(t, field)}</h3>
                    <ul class="candidates">{values}</ul>
                }
            })
            .collect_view();
        Some(view! {
            <section class="card conflicts" role="alert">
                <h2>{t.conflict_title}</h2>
                <p>{t.conflict_explain}</p>
                {fields}
            </section>
        })
    }
}

/// The household's client status with the care organisation: shown only to people of
/// the care organisation (whose phones hold its document), set by its builders and coaches.
#[component]
fn ClientStatusCard(
    ui: Ui,
    address: AddressId,
    door: RwSignal<Option<Result<DoorView, AppError>>>,
) -> impl IntoView {
    let actions = use_actions();
    let person = ui.person.get_untracked();
    let care = person
        .as_ref()
        .is_some_and(|p| p.partner == Some(Partner::CareOrganisation));
    let sets = care && person.as_ref().is_some_and(|p| p.role != Role::Coordinator);
    let history = Memo::new(move |_| {
        door.get()
            .and_then(Result::ok)
            .map(|d| d.client_status)
            .unwrap_or_default()
    });
    let chosen = RwSignal::new(None::<ClientStatus>);
    care.then(|| {
        let t = texts(ui);
        view! {
            <section class="card client-status">
                <h2>{t.client_status_title}</h2>
                <p class="current" data-client-status=move || history.get().first().map(|c| format!("{:?}", c.status)).unwrap_or_default()>
                    {move || {
                        let t = texts(ui);
                        match history.get().first() {
                            Some(c) => format!("{} ({} {}, {})", t.client_status(c.status), t.by, c.by, day(c.at_ms)),
                            None => t.client_status_none.to_string(),
                        }
                    }}
                </p>
                <div class="row" hidden=!sets>
                    <select aria-label=t.client_status_title on:change=move |ev| {
                        let index = event_target_value(&ev).parse::<usize>().ok();
                        chosen.set(index.and_then(|i| ClientStatus::ALL.get(i).copied()));
                    }>
                        <option value="">"—"</option>
                        {ClientStatus::ALL.iter().enumerate().map(|(i, status)| view! {
                            <option value=i.to_string()>{texts(ui).client_status(*status)}</option>
                        }).collect_view()}
                    </select>
                    <button on:click=move |_| {
                        if let Some(status) = chosen.get_untracked() {
                            actions.edit(address, Edit::ClientStatus(status));
                        }
                    }>{t.client_status_set}</button>
                </div>
                <Show when=move || { history.get().len() > 1 }>
                    <ul class="history">
                        {move || history.get().into_iter().skip(1).map(|c| {
                            let t = texts(ui);
                            view! { <li>{format!("{} ({} {}, {})", t.client_status(c.status), t.by, c.by, day(c.at_ms))}</li> }
                        }).collect_view()}
                    </ul>
                </Show>
            </section>
        }
    })
}

/// The activities the household took part in (its own document says so).
#[component]
fn TookPart(ui: Ui, door: RwSignal<Option<Result<DoorView, AppError>>>) -> impl IntoView {
    let actions = use_actions();
    let titles = move || {
        let ids = door.get().and_then(Result::ok)?.took_part;
        if ids.is_empty() {
            return None;
        }
        let activities = actions.activities();
        let titles: Vec<String> = activities
            .into_iter()
            .filter(|(id, _)| ids.contains(id))
            .map(|(_, a)| format!("{} ({})", a.title, a.date))
            .collect();
        (!titles.is_empty()).then(|| titles.join(", "))
    };
    move || {
        titles().map(|titles| {
            view! { <p class="took-part">{texts(ui).took_part_in}": "{titles}</p> }
        })
    }
}
