//! The coordinators' picture (scenario 3), on a laptop's width: every street the person
//! works in side by side, each with its buildings drawn floor by floor and every door
//! coloured (and marked, for those who do not see colour) by its state, counts per state,
//! the wishes by theme, the follow-ups per organisation and progress per week (a chart
//! and a table); a period filter; and the steering group's report in one click (a
//! workbook, a CSV per table, or a printed page). The figures come from the server
//! (`/api/picture`), which alone holds every partner's documents.

use leptos::prelude::*;
use voordeur_shared::{
    model::{FollowUpStatus, IsoDate},
    report::{Picture, PictureDoor, State, TABLES, Week},
};

use super::{Ui, door_href, floor_name, texts};
use crate::{actions::use_actions, i18n::Texts, session};

/// The period the picture covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Span {
    FromTheStart,
    LastFourWeeks,
    Chosen,
}

fn mark(state: State) -> &'static str {
    match state {
        State::NotYet => "·",
        State::NotHome => "○",
        State::Talked => "✓",
        State::Refused => "✕",
        State::ComeBack => "↻",
    }
}

fn state_class(state: State) -> &'static str {
    match state {
        State::NotYet => "cell not-visited",
        State::NotHome => "cell not-home",
        State::Talked => "cell talked",
        State::Refused => "cell refused",
        State::ComeBack => "cell come-back",
    }
}

fn state_label(t: &Texts, state: State) -> &'static str {
    match state {
        State::NotYet => t.not_visited,
        State::NotHome => t.not_home,
        State::Talked => t.talked,
        State::Refused => t.refused,
        State::ComeBack => t.come_back,
    }
}

fn days_ago(days: i64) -> Option<IsoDate> {
    let ms = js_sys::Date::now() - (days as f64) * 86_400_000.0;
    let date = js_sys::Date::new(&ms.into());
    format!(
        "{:04}-{:02}-{:02}",
        date.get_full_year(),
        date.get_month() + 1,
        date.get_date()
    )
    .parse()
    .ok()
}

#[component]
pub fn PictureScreen(ui: Ui) -> impl IntoView {
    let t = texts(ui);
    let actions = use_actions();
    let streets = ui
        .person
        .get_untracked()
        .map(|p| p.streets.clone())
        .unwrap_or_default();
    let span = RwSignal::new(Span::FromTheStart);
    let from = RwSignal::new(String::new());
    let to = RwSignal::new(String::new());
    let texts_included = RwSignal::new(false);
    // As the steering group gets it: every count of households or people protected (the
    // printed page leaves the partner's own view), wishes' texts only if chosen.
    let report_view = RwSignal::new(false);
    let printing = RwSignal::new(false);
    let range = move || -> (Option<IsoDate>, Option<IsoDate>) {
        match span.get() {
            Span::FromTheStart => (None, None),
            Span::LastFourWeeks => (days_ago(28), None),
            Span::Chosen => (from.get().parse().ok(), to.get().parse().ok()),
        }
    };
    let query = move || {
        let (from, to) = range();
        let mut q = String::new();
        if let Some(from) = from {
            q.push_str(&format!("&from={from}"));
        }
        if let Some(to) = to {
            q.push_str(&format!("&to={to}"));
        }
        if report_view.get() {
            q.push_str("&view=report");
        }
        q
    };
    // One picture per street, fetched again when the period or the documents change.
    let pictures: RwSignal<Vec<Result<Picture, String>>> = RwSignal::new(Vec::new());
    let street_ids = streets.clone();
    Effect::new(move |_| {
        ui.revision.track();
        let q = query();
        let streets = street_ids.clone();
        leptos::task::spawn_local(async move {
            let Some(token) = actions.token() else {
                return;
            };
            let mut all = Vec::new();
            for street in streets {
                all.push(session::picture(&token, street, &q).await);
            }
            pictures.set(all);
            // Printing waits for the report's figures.
            if printing.get_untracked() {
                printing.set(false);
                if let Some(window) = web_sys::window() {
                    let _ = window.print();
                }
            }
        });
    });
    let list = StoredValue::new(
        streets
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(","),
    );
    let download = move |path: String, name: String| {
        leptos::task::spawn_local(async move {
            if let Some(token) = actions.token()
                && let Err(e) = session::download(&token, &path, &name).await
            {
                actions.show_error(crate::error::AppError::NotSaved(e));
            }
        });
    };
    let report_query = move || {
        let texts = if texts_included.get() {
            "&texts=true"
        } else {
            ""
        };
        format!("streets={}{}{texts}", list.get_value(), query())
    };
    view! {
        <div class="picture-page">
            <h1>{t.picture_title}</h1>
            <div class="toolbar no-print">
                <label>{t.period}
                    <select class="span" on:change=move |ev| span.set(match event_target_value(&ev).as_str() {
                        "4w" => Span::LastFourWeeks,
                        "chosen" => Span::Chosen,
                        _ => Span::FromTheStart,
                    })>
                        <option value="all">{t.from_the_start}</option>
                        <option value="4w">{t.last_four_weeks}</option>
                        <option value="chosen">{t.chosen_period}</option>
                    </select>
                </label>
                <Show when=move || span.get() == Span::Chosen>
                    <label>{texts(ui).activity_date}" ("{texts(ui).from}")"
                        <input type="date" class="from" prop:value=move || from.get()
                            on:change=move |ev| from.set(event_target_value(&ev)) />
                    </label>
                    <label>{texts(ui).activity_date}" ("{texts(ui).to}")"
                        <input type="date" class="to" prop:value=move || to.get()
                            on:change=move |ev| to.set(event_target_value(&ev)) />
                    </label>
                </Show>
                <div class="export">
                    <button class="export-xlsx" on:click=move |_| {
                        download(format!("/api/report.xlsx?{}", report_query()), "voordeur-regiegroep.xlsx".into())
                    }>{t.export_xlsx}</button>
                    <button class="small print" on:click=move |_| {
                        printing.set(true);
                        if report_view.get_untracked() {
                            // Already the report's figures: ask for them again, then print.
                            ui.revision.update(|r| *r += 1);
                        } else {
                            report_view.set(true);
                        }
                    }>{t.print}</button>
                </div>
            </div>
            <details class="export-more no-print">
                <summary>{t.report_title}</summary>
                <p>{t.report_explain}</p>
                <label class="check">
                    <input type="checkbox" class="with-texts" on:change=move |ev| texts_included.set(event_target_checked(&ev)) />
                    {t.report_with_texts}
                </label>
                <label class="check">
                    <input type="checkbox" class="report-view" prop:checked=move || report_view.get()
                        on:change=move |ev| report_view.set(event_target_checked(&ev)) />
                    {t.report_view}
                </label>
                <p class="csv">{t.export_csv}": "
                    {TABLES.iter().map(|table| {
                        let table = *table;
                        view! {
                            <button class="link csv" data-table=table on:click=move |_| {
                                download(format!("/api/report.csv?table={table}&{}", report_query()), format!("voordeur-{table}.csv"))
                            }>{table}</button>
                        }
                    }).collect_view()}
                </p>
            </details>
            <div class="streets-side-by-side">
                {move || pictures.get().into_iter().map(|picture| match picture {
                    Ok(picture) => {
                        // The report hides the wishes' texts unless they were chosen.
                        let with_texts = !report_view.get_untracked() || texts_included.get_untracked();
                        view! { <StreetPicture ui=ui picture=picture with_texts=with_texts /> }.into_any()
                    }
                    Err(e) => view! { <p class="problem">{e}</p> }.into_any(),
                }).collect_view()}
            </div>
        </div>
    }
}

#[component]
fn StreetPicture(ui: Ui, picture: Picture, with_texts: bool) -> impl IntoView {
    let t = texts(ui);
    let reached = picture.weeks.last().map_or(0, |w| w.reached_permille);
    view! {
        <section class="street-picture" data-street=picture.name.clone()>
            <h2>{picture.name.clone()}</h2>
            <p class="count">{format!("{} {} · {} {:.1} %", picture.doors, t.doors, t.reached, f64::from(reached) / 10.0)}</p>
            <ul class="legend" aria-label=t.legend>
                {State::ALL.iter().zip(&picture.states).map(|(state, n)| view! {
                    <li data-state=format!("{state:?}") data-count=n.to_string()>
                        <span class=state_class(*state) aria-hidden="true">{mark(*state)}</span>
                        {format!(" {} ({n})", state_label(t, *state))}
                    </li>
                }).collect_view()}
            </ul>
            <div class="buildings">
                {picture.buildings.into_iter().map(|building| view! {
                    <figure class="building-picture">
                        <figcaption>{building.name.clone()}</figcaption>
                        {building.floors.into_iter().map(|floor| view! {
                            <div class="storey">
                                <span class="storey-name">{floor_name(t, floor.floor)}</span>
                                <div class="storey-doors">
                                    {floor.doors.into_iter().map(|door| view! { <DoorCell ui=ui door=door /> }).collect_view()}
                                </div>
                            </div>
                        }).collect_view()}
                    </figure>
                }).collect_view()}
            </div>
            <h3>{t.wishes_by_theme}</h3>
            <table class="wishes-by-theme" tabindex="0">
                <thead><tr><th scope="col">{t.filter_theme}</th><th scope="col">{t.wishes}</th><th scope="col">{t.resolved}</th>
                    {with_texts.then(|| view! { <th scope="col">{t.wish_texts}</th> })}</tr></thead>
                <tbody>
                    {picture.wishes.into_iter().map(|theme| view! {
                        <tr data-theme=format!("{:?}", theme.theme)>
                            <th scope="row">{t.theme(theme.theme)}</th>
                            <td class="n">{theme.count}</td>
                            <td class="n">{theme.resolved}</td>
                            <td hidden=!with_texts>
                                <ul class="wish-texts">
                                    {theme.wishes.into_iter().map(|w| {
                                        let owners: Vec<&str> = w.owners.iter().map(|p| t.partner(*p)).collect();
                                        view! {
                                            <li>{w.text}" — "{t.follow_up_status(w.status)}
                                                {(!owners.is_empty()).then(|| format!(" ({})", owners.join(", ")))}
                                            </li>
                                        }
                                    }).collect_view()}
                                </ul>
                            </td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
            <h3>{t.follow_ups_per_partner}</h3>
            <table class="follow-ups-per-partner" tabindex="0">
                <thead>
                    <tr>
                        <th scope="col">{t.organisation}</th>
                        {FollowUpStatus::ALL.iter().map(|s| view! { <th scope="col">{format!("{} ({})", t.wishes_short, t.follow_up_status(*s))}</th> }).collect_view()}
                        {FollowUpStatus::ALL.iter().map(|s| view! { <th scope="col">{format!("{} ({})", t.filter_signals, t.follow_up_status(*s))}</th> }).collect_view()}
                        {t.age_buckets.iter().map(|b| view! { <th scope="col">{*b}</th> }).collect_view()}
                    </tr>
                </thead>
                <tbody>
                    {picture.follow_ups.into_iter().map(|f| view! {
                        <tr data-partner=format!("{:?}", f.partner)>
                            <th scope="row">{t.partner(f.partner)}</th>
                            {f.wishes.iter().chain(&f.signals).chain(&f.open_by_age).map(|c| view! {
                                <td class="n">{c.to_string()}</td>
                            }).collect_view()}
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
            <h3>{t.progress}</h3>
            <Chart ui=ui weeks=picture.weeks.clone() />
            <table class="progress" tabindex="0">
                <thead><tr>
                    {t.progress_columns.iter().map(|c| view! { <th scope="col">{*c}</th> }).collect_view()}
                </tr></thead>
                <tbody>
                    {picture.weeks.into_iter().map(|w| view! {
                        <tr>
                            <th scope="row">{w.monday.to_string()}</th>
                            <td class="n">{w.knocked.to_string()}</td>
                            <td class="n">{w.reached.to_string()}</td>
                            <td class="n">{format!("{:.1} %", f64::from(w.reached_permille) / 10.0)}</td>
                            <td class="n">{w.wishes_raised}</td>
                            <td class="n">{w.wishes_resolved}</td>
                            <td class="n">{w.activities}</td>
                            <td class="n">{w.participants.to_string()}</td>
                            <td class="n">{w.signals_handed_on.to_string()}</td>
                            <td class="n">{w.signals_picked_up.to_string()}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
            <h3>{t.activities_title}</h3>
            <ul class="activity-lines">
                {picture.activities.into_iter().map(|a| view! {
                    <li>{format!("{} {} · {} · {} · {}: {}", a.date, a.time, a.title, a.place, t.participants,
                        a.participants.map_or_else(|| "—".to_string(), |c| c.to_string()))}</li>
                }).collect_view()}
            </ul>
        </section>
    }
}

#[component]
fn DoorCell(ui: Ui, door: PictureDoor) -> impl IntoView {
    let t = texts(ui);
    let mut label = state_label(t, door.state).to_string();
    if door.state == State::NotHome && door.not_home > 1 {
        label = format!("{label} ×{}", door.not_home);
    }
    if let Some(on) = door.return_on {
        label = format!("{label} {on}");
    }
    view! {
        <a class=state_class(door.state) href=door_href(door.id) data-number=door.number.clone()
            data-state=format!("{:?}", door.state) title=label.clone()
            aria-label=format!("{} {}: {label}", t.door, door.number)>
            <span class="num">{door.number.clone()}</span>
            <span class="mark" aria-hidden="true">{mark(door.state)}</span>
        </a>
    }
}

/// Progress per week as a chart: households reached (a line, as a share of all doors) and
/// doors knocked (bars), with the table below as its text alternative.
#[component]
fn Chart(ui: Ui, weeks: Vec<Week>) -> impl IntoView {
    let t = texts(ui);
    const W: f64 = 560.0;
    const H: f64 = 180.0;
    const PAD: f64 = 28.0;
    let n = weeks.len().max(1) as f64;
    let step = (W - 2.0 * PAD) / n;
    let knocked_max = weeks
        .iter()
        .filter_map(|w| w.knocked.shown())
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let y = |fraction: f64| H - PAD - fraction * (H - 2.0 * PAD);
    let bars = weeks
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let value = w.knocked.shown().map_or(2.0, f64::from);
            let top = y(value / knocked_max);
            let width = (step * 0.7).min(36.0);
            view! {
                <rect class="bar" x=format!("{:.1}", PAD + i as f64 * step + (step - width) / 2.0) y=format!("{top:.1}")
                    width=format!("{width:.1}") height=format!("{:.1}", (H - PAD - top).max(0.0))></rect>
            }
        })
        .collect_view();
    let line: Vec<String> = weeks
        .iter()
        .enumerate()
        .map(|(i, w)| {
            format!(
                "{:.1},{:.1}",
                PAD + i as f64 * step + step / 2.0,
                y(f64::from(w.reached_permille) / 1000.0)
            )
        })
        .collect();
    view! {
        <svg class="chart" viewBox=format!("0 0 {W} {H}") role="img" aria-label=t.progress_chart>
            <line class="axis" x1=PAD y1=H - PAD x2=W - PAD y2=H - PAD></line>
            <line class="axis" x1=PAD y1=PAD x2=PAD y2=H - PAD></line>
            {bars}
            <polyline class="reached" points=line.join(" ")></polyline>
            {line.iter().map(|point| {
                let (x, y) = point.split_once(',').unwrap_or(("0", "0"));
                view! { <circle class="reached" cx=x.to_string() cy=y.to_string() r="4"></circle> }
            }).collect_view()}
            <text x=PAD - 4.0 y=PAD + 4.0 class="chart-label" text-anchor="end">"100%"</text>
            <text x=PAD - 4.0 y=H - PAD class="chart-label" text-anchor="end">"0"</text>
            <text x=PAD y=PAD - 8.0 class="chart-label">{t.chart_legend}</text>
        </svg>
    }
}
