//! The coordinators' picture of a street and the steering group's report (scenario 3):
//! figures read from the street's documents.
//!
//! They are computed where every partner's documents are, on the server: a municipality
//! coordinator's picture counts the care organisation's signals without holding them.
//! What a person may not read reaches them only as a count, and a count of households or
//! people leaves a partner's own view protected as CBS protects neighbourhood figures
//! ([`protect`]): 1 to 4 shows as "< 5" ([`Count::Small`]), every other count rounded to a
//! multiple of 5 ([`Count::Rounded`]), and in a group whose total is shown, as many other
//! cells hidden as it takes that the total minus the others never gives a hidden one away
//! ([`suppress`]). Rounding is what keeps sums across tables (a street's count against
//! its buildings', a week's against the partners') from working a hidden cell out: a
//! difference of rounded counts is only a range. The steering group's report protects
//! every count of households or people; counts of things (doors, wishes, activities) are
//! exact.

use std::collections::{BTreeMap, BTreeSet};

use automerge::{AutoCommit, ROOT};
use serde::{Deserialize, Serialize};

use crate::{
    docs::{self, EditError},
    follow_up::WishFollowUps,
    ids::AddressId,
    model::{FollowUpStatus, IsoDate, Partner, Signal, Street, Theme},
    walk::{Corrections, DoorState, WalkList, for_each_knock},
};

/// A count as it may be shown: exact (within the viewer's own view, or none at all),
/// rounded to a multiple of 5, or hidden because it is 1 to 4 households or people (or
/// because it would give a hidden one away).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Count {
    Exact(u32),
    Rounded(u32),
    /// Shown as "< 5".
    Small,
}

impl Count {
    /// The number shown, if one is.
    pub fn shown(self) -> Option<u32> {
        match self {
            Count::Exact(n) | Count::Rounded(n) => Some(n),
            Count::Small => None,
        }
    }
}

impl std::fmt::Display for Count {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Count::Exact(n) | Count::Rounded(n) => write!(f, "{n}"),
            Count::Small => f.write_str("< 5"),
        }
    }
}

/// One count of households or people as it may leave a partner's own view: none is none,
/// 1 to 4 is "< 5", and the rest is rounded to the nearest multiple of 5.
pub fn protect(n: u32) -> Count {
    match n {
        0 => Count::Exact(0),
        n if n < SMALLEST_SHOWN => Count::Small,
        n => Count::Rounded((n + 2) / 5 * 5),
    }
}

/// The smallest count shown exactly (CBS's practice for neighbourhood figures).
pub const SMALLEST_SHOWN: u32 = 5;

/// Protects the cells of one group whose total may be shown ([`protect`] each), and then,
/// while exactly one cell is hidden (so the total minus the others would come close to
/// it), hides the smallest other non-zero cell too. Zeros stay: "none" identifies no one.
/// If hiding a second cell is not possible (all others are zero), the total is hidden as
/// well. Returns the cells and the total as they may be shown.
pub fn suppress(cells: &[u32]) -> (Vec<Count>, Count) {
    let total: u32 = cells.iter().sum();
    let mut shown: Vec<Count> = cells.iter().map(|&n| protect(n)).collect();
    let hidden = |shown: &[Count]| shown.iter().filter(|c| **c == Count::Small).count();
    let mut total_shown = protect(total);
    if hidden(&shown) == 1 && total_shown != Count::Small {
        let next = cells
            .iter()
            .zip(&shown)
            .enumerate()
            .filter(|(_, (n, c))| **n > 0 && **c != Count::Small)
            .map(|(i, (n, _))| (*n, i))
            .min();
        match next {
            Some((_, i)) => shown[i] = Count::Small,
            None => total_shown = Count::Small,
        }
    }
    (shown, total_shown)
}

/// Which visits count: those from `from` to `to` (inclusive, ms since the Unix epoch).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
}

impl Period {
    pub fn contains(&self, at_ms: i64) -> bool {
        self.from_ms.is_none_or(|from| at_ms >= from) && self.to_ms.is_none_or(|to| at_ms <= to)
    }
}

/// A door's state as the picture colours it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum State {
    NotYet,
    NotHome,
    Talked,
    Refused,
    ComeBack,
}

impl State {
    pub const ALL: [State; 5] = [
        State::NotYet,
        State::NotHome,
        State::Talked,
        State::Refused,
        State::ComeBack,
    ];

    fn of(state: &DoorState) -> State {
        match state {
            DoorState::NotVisited => State::NotYet,
            DoorState::NotHome { .. } => State::NotHome,
            DoorState::Talked => State::Talked,
            DoorState::Refused => State::Refused,
            DoorState::ComeBackLater { .. } => State::ComeBack,
        }
    }
}

/// One door of the building picture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PictureDoor {
    pub id: AddressId,
    pub number: String,
    pub business: bool,
    pub state: State,
    /// Times nobody was home, in the period.
    pub not_home: u32,
    pub return_on: Option<IsoDate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PictureFloor {
    pub floor: u32,
    pub doors: Vec<PictureDoor>,
}

/// A complex drawn as a building: floors from the top down to the ground floor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PictureBuilding {
    pub name: String,
    pub floors: Vec<PictureFloor>,
}

/// One wish, as the picture lists it under its theme.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WishLine {
    pub text: String,
    /// The most advanced status any partner gave it (new while no one took it on).
    pub status: FollowUpStatus,
    /// The partners that took it on.
    pub owners: Vec<Partner>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThemeWishes {
    pub theme: Theme,
    pub count: u32,
    pub resolved: u32,
    pub wishes: Vec<WishLine>,
}

/// One partner's follow-ups: of the wishes it took on, and of the signals handed to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartnerFollowUps {
    pub partner: Partner,
    /// Wishes it took on, by status (in the order of `FollowUpStatus::ALL`).
    pub wishes: Vec<Count>,
    /// Signals handed to it, by status; hidden when small for anyone outside it.
    pub signals: Vec<Count>,
    /// Open signals and wishes by age: under 2 weeks, 2 to 4 weeks, over 4 weeks.
    pub open_by_age: Vec<Count>,
}

/// One week's progress (weeks start on Monday, UTC).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Week {
    /// The week's Monday.
    pub monday: IsoDate,
    /// Doors knocked on that week.
    pub knocked: Count,
    /// Households spoken to at least once, up to that week's end.
    pub reached: Count,
    /// `reached` as a share of all doors, in per mille (rounded).
    pub reached_permille: u32,
    pub wishes_raised: u32,
    pub wishes_resolved: u32,
    pub activities: u32,
    pub participants: Count,
    /// Signals handed on to any partner that week, and picked up (counts only).
    pub signals_handed_on: Count,
    pub signals_picked_up: Count,
}

/// The coordinators' picture of one street, for one person (see [`Picture::read`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Picture {
    pub name: String,
    pub period: Period,
    pub buildings: Vec<PictureBuilding>,
    /// Doors by state, in the order of [`State::ALL`], and all doors.
    pub states: Vec<u32>,
    pub doors: u32,
    pub wishes: Vec<ThemeWishes>,
    pub follow_ups: Vec<PartnerFollowUps>,
    pub weeks: Vec<Week>,
    /// The activities in the period, soonest first.
    pub activities: Vec<ActivityLine>,
}

/// One activity, as the picture and the report list it (who took part stays in the
/// households' documents).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityLine {
    pub title: String,
    pub date: IsoDate,
    pub time: String,
    pub place: String,
    pub theme: Theme,
    pub invited: Count,
    pub participants: Option<Count>,
}

const DAY_MS: i64 = 24 * 60 * 60 * 1000;
const WEEK_MS: i64 = 7 * DAY_MS;

/// The Monday (00:00 UTC) of the week of `at_ms`, in ms.
pub(crate) fn week_start(at_ms: i64) -> i64 {
    // 1970-01-01 was a Thursday: Mondays fall 4 days after multiples of a week.
    let shifted = at_ms - 4 * DAY_MS;
    shifted - shifted.rem_euclid(WEEK_MS) + 4 * DAY_MS
}

fn date_of(at_ms: i64) -> IsoDate {
    let date = time::OffsetDateTime::from_unix_timestamp(at_ms.div_euclid(1000))
        .map(|t| t.date())
        .unwrap_or(time::Date::MIN);
    IsoDate(date)
}

fn count(n: u32, exact: bool) -> Count {
    if exact { Count::Exact(n) } else { protect(n) }
}

fn cells(values: &[u32], exact: bool) -> Vec<Count> {
    if exact {
        values.iter().map(|&n| Count::Exact(n)).collect()
    } else {
        suppress(values).0
    }
}

/// What the picture is read from: a street document and every partner's confidential
/// documents of it (the server's; their content never enters the picture, only counts).
#[derive(Debug)]
pub struct Documents<'a> {
    pub street: &'a AutoCommit,
    pub confidential: Vec<(Partner, &'a AutoCommit)>,
}

/// Whose picture it is: counts of what this partner may not read are hidden when small;
/// `None` (the steering group's report) hides every small count of households or people.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    Partner(Partner),
    SteeringGroup,
}

impl Viewer {
    /// Whether counts of `partner`'s confidential data may be shown exactly.
    fn reads(self, partner: Partner) -> bool {
        self == Viewer::Partner(partner)
    }

    /// Whether counts of the street's own data (doors, visits) may be shown exactly.
    fn own(self) -> bool {
        matches!(self, Viewer::Partner(_))
    }
}

impl Picture {
    /// The picture of a street over `period`, as `viewer` may see it, at `now_ms`.
    pub fn read(
        documents: &Documents<'_>,
        period: Period,
        viewer: Viewer,
        now_ms: i64,
    ) -> Result<Picture, EditError> {
        let mut in_period = lean_street(documents.street)?;
        let amended = docs::amendments(documents.street)?;
        let corrections = Corrections::new(amended.corrections.clone());
        let clearances = &amended.clearances;
        in_period.visits.retain(|_, v| period.contains(v.at_ms));
        let walk = WalkList::amended(&in_period, &corrections, clearances);

        // Buildings: floors from the top down.
        let mut states = vec![0u32; State::ALL.len()];
        let buildings: Vec<PictureBuilding> = walk
            .buildings
            .iter()
            .map(|b| PictureBuilding {
                name: b.name.clone(),
                floors: b
                    .floors
                    .iter()
                    .rev()
                    .map(|f| PictureFloor {
                        floor: f.floor,
                        doors: f
                            .doors
                            .iter()
                            .map(|d| {
                                let state = State::of(&d.state);
                                states[State::ALL.iter().position(|s| *s == state).unwrap_or(0)] +=
                                    1;
                                PictureDoor {
                                    id: d.id,
                                    number: d.number.clone(),
                                    business: d.business,
                                    state,
                                    not_home: d.not_home,
                                    return_on: match d.state {
                                        DoorState::ComeBackLater { on } => on,
                                        _ => None,
                                    },
                                }
                            })
                            .collect(),
                    })
                    .collect(),
            })
            .collect();
        let doors = states.iter().sum();

        // Wishes by theme, with what became of them.
        let follow_ups = WishFollowUps::new(amended.follow_ups.clone());
        let mut by_theme: BTreeMap<Theme, ThemeWishes> = BTreeMap::new();
        let mut raised: Vec<i64> = Vec::new();
        let mut resolved_at: Vec<i64> = Vec::new();
        // Every partner's follow-up of a wish in the period: (partner, status, raised).
        let mut taken_on: Vec<(Partner, FollowUpStatus, i64)> = Vec::new();
        for (id, wish) in &in_period.wishes {
            let Some(visit) = in_period.visits.get(&wish.visit) else {
                continue;
            };
            raised.push(visit.at_ms);
            let all = follow_ups.of(id, wish, visit.at_ms);
            taken_on.extend(all.iter().map(|(p, f)| (*p, f.status, visit.at_ms)));
            let status = all
                .iter()
                .map(|(_, f)| f.status)
                .max_by_key(|s| progress(*s))
                .unwrap_or(FollowUpStatus::New);
            if status == FollowUpStatus::Closed {
                resolved_at.extend(
                    all.iter()
                        .filter(|(_, f)| f.status == FollowUpStatus::Closed)
                        .map(|(_, f)| f.moved_ms)
                        .min(),
                );
            }
            let entry = by_theme.entry(wish.theme).or_insert_with(|| ThemeWishes {
                theme: wish.theme,
                count: 0,
                resolved: 0,
                wishes: Vec::new(),
            });
            entry.count += 1;
            entry.resolved += u32::from(status == FollowUpStatus::Closed);
            entry.wishes.push(WishLine {
                text: wish.text.clone(),
                status,
                owners: all.iter().map(|(p, _)| *p).collect(),
            });
        }

        // Signals, counted per partner (their content stays where it is).
        let mut signals: Vec<(Partner, Signal, i64)> = Vec::new();
        for (partner, doc) in &documents.confidential {
            let held: BTreeMap<String, Signal> =
                autosurgeon::hydrate_prop(*doc, ROOT, docs::SIGNALS.name)?;
            for signal in held.into_values() {
                if let Some(visit) = in_period.visits.get(&signal.visit) {
                    let at = visit.at_ms;
                    signals.push((*partner, signal, at));
                }
            }
        }
        let age_bucket = |raised_ms: i64| match now_ms - raised_ms {
            age if age < 2 * WEEK_MS => 0,
            age if age < 4 * WEEK_MS => 1,
            _ => 2,
        };
        let status_index = |s: FollowUpStatus| {
            FollowUpStatus::ALL
                .iter()
                .position(|x| *x == s)
                .unwrap_or(0)
        };
        let follow_ups_by_partner = Partner::ALL
            .into_iter()
            .map(|partner| {
                let mut wishes = vec![0u32; FollowUpStatus::ALL.len()];
                let mut by_signal = vec![0u32; FollowUpStatus::ALL.len()];
                let mut open_by_age = vec![0u32; 3];
                for (_, status, raised) in taken_on.iter().filter(|(p, ..)| *p == partner) {
                    wishes[status_index(*status)] += 1;
                    if status.is_open() {
                        open_by_age[age_bucket(*raised)] += 1;
                    }
                }
                for (_, signal, at) in signals.iter().filter(|(p, _, _)| *p == partner) {
                    by_signal[status_index(signal.status)] += 1;
                    if signal.status.is_open() {
                        open_by_age[age_bucket(*at)] += 1;
                    }
                }
                let exact = viewer.reads(partner);
                PartnerFollowUps {
                    partner,
                    wishes: wishes.iter().map(|&n| Count::Exact(n)).collect(),
                    signals: cells(&by_signal, exact),
                    open_by_age: cells(&open_by_age, exact),
                }
            })
            .collect();

        // Progress per week, from the first visit to the period's end (or now).
        let activities: Vec<_> = amended
            .activities
            .values()
            .filter(|a| {
                let at = a.date.0.midnight().assume_utc().unix_timestamp() * 1000;
                period.contains(at)
            })
            .collect();
        let first = in_period.visits.values().map(|v| v.at_ms).min();
        let last = period.to_ms.unwrap_or(now_ms);
        let mut weeks = Vec::new();
        if let Some(first) = first {
            let mut reached: BTreeSet<&str> = BTreeSet::new();
            let mut start = week_start(first);
            // At most ten years of weeks, whatever a clock says.
            while start <= last && weeks.len() < 520 {
                let end = start + WEEK_MS;
                let within = |at: i64| at >= start && at < end;
                let mut knocked: BTreeSet<&str> = BTreeSet::new();
                for (id, visit) in &in_period.visits {
                    if within(visit.at_ms) {
                        knocked.insert(visit.address.as_str());
                        let outcome = corrections.latest(id).map_or(visit.outcome, |c| c.outcome);
                        if outcome == crate::model::Outcome::Talked {
                            reached.insert(visit.address.as_str());
                        }
                    }
                }
                let reached_now = reached.len() as u32;
                let week_activities: Vec<_> = activities
                    .iter()
                    .filter(|a| within(a.date.0.midnight().assume_utc().unix_timestamp() * 1000))
                    .collect();
                let own = viewer.own();
                weeks.push(Week {
                    monday: date_of(start),
                    knocked: count(knocked.len() as u32, own),
                    reached: count(reached_now, own),
                    reached_permille: (u64::from(reached_now) * 1000)
                        .checked_div(u64::from(doors))
                        .map_or(0, |p| p as u32),
                    wishes_raised: raised.iter().filter(|at| within(**at)).count() as u32,
                    wishes_resolved: resolved_at.iter().filter(|at| within(**at)).count() as u32,
                    activities: week_activities.len() as u32,
                    participants: count(
                        week_activities.iter().filter_map(|a| a.participants).sum(),
                        own,
                    ),
                    signals_handed_on: protect(
                        signals.iter().filter(|(_, _, at)| within(*at)).count() as u32,
                    ),
                    signals_picked_up: protect(
                        signals
                            .iter()
                            .filter(|(_, s, _)| s.picked_at_ms.is_some_and(within))
                            .count() as u32,
                    ),
                });
                start = end;
            }
        }
        Ok(Picture {
            name: in_period.name,
            period,
            buildings,
            states,
            doors,
            wishes: by_theme.into_values().collect(),
            follow_ups: follow_ups_by_partner,
            weeks,
            activities: {
                let own = viewer.own();
                let mut lines: Vec<ActivityLine> = activities
                    .iter()
                    .map(|a| ActivityLine {
                        title: a.title.clone(),
                        date: a.date,
                        time: a.time.clone(),
                        place: a.place.clone(),
                        theme: a.theme,
                        invited: count(a.invited.len() as u32, own),
                        participants: a.participants.map(|n| count(n, own)),
                    })
                    .collect();
                lines.sort_by(|a, b| (a.date, &a.time, &a.title).cmp(&(b.date, &b.time, &b.title)));
                lines
            },
        })
    }
}

/// One value of a table of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Cell {
    Text(String),
    Number(i64),
    /// A count of households or people, perhaps hidden.
    Count(Count),
}

impl std::fmt::Display for Cell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cell::Text(text) => f.write_str(text),
            Cell::Number(n) => write!(f, "{n}"),
            Cell::Count(c) => write!(f, "{c}"),
        }
    }
}

/// One table of the steering group's report: a sheet of the workbook, a CSV file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// The file and sheet name (no spaces).
    pub name: &'static str,
    /// The sheet's title, in Dutch.
    pub title: &'static str,
    pub header: Vec<&'static str>,
    pub rows: Vec<Vec<Cell>>,
}

/// The names of the report's tables, in order.
pub const TABLES: [&str; 6] = [
    "samenvatting",
    "deuren",
    "wensen",
    "opvolging",
    "activiteiten",
    "voortgang",
];

fn theme_name(theme: Theme) -> &'static str {
    match theme {
        Theme::Greenery => "groen",
        Theme::Safety => "veiligheid",
        Theme::Cleanliness => "schoon",
        Theme::MeetingEachOther => "ontmoeten",
        Theme::Play => "spelen",
        Theme::Parking => "parkeren",
        Theme::Other => "anders",
    }
}

fn partner_name(partner: Partner) -> &'static str {
    match partner {
        Partner::Corporation => "corporatie",
        Partner::CareOrganisation => "zorgorganisatie",
        Partner::Municipality => "gemeente",
    }
}

fn status_name(status: FollowUpStatus) -> &'static str {
    match status {
        FollowUpStatus::New => "nieuw",
        FollowUpStatus::PickedUp => "opgepakt",
        FollowUpStatus::Closed => "afgerond",
        FollowUpStatus::NotFeasible => "niet haalbaar",
    }
}

/// The steering group's report of `pictures` (read for [`Viewer::SteeringGroup`]) as
/// tables. Wishes' texts only if `texts`; never notes or signals.
pub fn tables(pictures: &[Picture], texts: bool) -> Vec<Table> {
    let text = |s: &str| Cell::Text(s.to_string());
    let number = |n: u32| Cell::Number(i64::from(n));
    let mut summary = Vec::new();
    let mut doors = Vec::new();
    let mut wishes = Vec::new();
    let mut follow_ups = Vec::new();
    let mut activities = Vec::new();
    let mut weeks = Vec::new();
    for p in pictures {
        let street = || text(&p.name);
        let (states, _) = suppress(&p.states);
        let reached = p.weeks.last().map_or(Count::Exact(0), |w| w.reached);
        let wishes_count: u32 = p.wishes.iter().map(|t| t.count).sum();
        let resolved: u32 = p.wishes.iter().map(|t| t.resolved).sum();
        let participants: u32 = p
            .activities
            .iter()
            .filter_map(|a| a.participants.and_then(Count::shown))
            .sum();
        summary.push(vec![
            street(),
            number(p.doors),
            Cell::Count(
                states[State::ALL
                    .iter()
                    .position(|s| *s == State::Talked)
                    .unwrap_or(0)],
            ),
            Cell::Count(reached),
            Cell::Number(i64::from(p.weeks.last().map_or(0, |w| w.reached_permille))),
            number(wishes_count),
            number(resolved),
            number(p.activities.len() as u32),
            Cell::Count(protect(participants)),
        ]);
        for building in &p.buildings {
            let mut by_state = vec![0u32; State::ALL.len()];
            for door in building.floors.iter().flat_map(|f| &f.doors) {
                by_state[State::ALL
                    .iter()
                    .position(|s| *s == door.state)
                    .unwrap_or(0)] += 1;
            }
            let (cells, _) = suppress(&by_state);
            let mut row = vec![street(), text(&building.name)];
            row.extend(cells.into_iter().map(Cell::Count));
            // A building's doors are no one's: its size is exact, and the cells were
            // protected as if their total is shown.
            row.push(number(by_state.iter().sum()));
            doors.push(row);
        }
        for theme in &p.wishes {
            let mut row = vec![
                street(),
                text(theme_name(theme.theme)),
                number(theme.count),
                number(theme.resolved),
            ];
            if texts {
                let listed: Vec<String> = theme
                    .wishes
                    .iter()
                    .map(|w| format!("{} ({})", w.text, status_name(w.status)))
                    .collect();
                row.push(Cell::Text(listed.join("; ")));
            }
            wishes.push(row);
        }
        for f in &p.follow_ups {
            let mut row = vec![street(), text(partner_name(f.partner))];
            row.extend(f.wishes.iter().copied().map(Cell::Count));
            row.extend(f.signals.iter().copied().map(Cell::Count));
            row.extend(f.open_by_age.iter().copied().map(Cell::Count));
            follow_ups.push(row);
        }
        for a in &p.activities {
            activities.push(vec![
                street(),
                text(&a.title),
                text(&a.date.to_string()),
                text(&a.time),
                text(&a.place),
                text(theme_name(a.theme)),
                Cell::Count(a.invited),
                a.participants.map_or(text(""), Cell::Count),
            ]);
        }
        for w in &p.weeks {
            weeks.push(vec![
                street(),
                text(&w.monday.to_string()),
                Cell::Count(w.knocked),
                Cell::Count(w.reached),
                Cell::Number(i64::from(w.reached_permille)),
                number(w.wishes_raised),
                number(w.wishes_resolved),
                number(w.activities),
                Cell::Count(w.participants),
                Cell::Count(w.signals_handed_on),
                Cell::Count(w.signals_picked_up),
            ]);
        }
    }
    let mut wish_header = vec!["straat", "thema", "wensen", "opgelost"];
    if texts {
        wish_header.push("teksten");
    }
    vec![
        Table {
            name: TABLES[0],
            title: "Samenvatting",
            header: vec![
                "straat",
                "deuren",
                "gesproken",
                "huishoudens bereikt",
                "bereikt (promille)",
                "wensen",
                "wensen opgelost",
                "activiteiten",
                "deelnemers",
            ],
            rows: summary,
        },
        Table {
            name: TABLES[1],
            title: "Deuren",
            header: vec![
                "straat",
                "gebouw",
                "nog niet",
                "niet thuis",
                "gesproken",
                "wil niet",
                "later terug",
                "totaal",
            ],
            rows: doors,
        },
        Table {
            name: TABLES[2],
            title: "Wensen per thema",
            header: wish_header,
            rows: wishes,
        },
        Table {
            name: TABLES[3],
            title: "Opvolging",
            header: vec![
                "straat",
                "partner",
                "wensen nieuw",
                "wensen opgepakt",
                "wensen afgerond",
                "wensen niet haalbaar",
                "signalen nieuw",
                "signalen opgepakt",
                "signalen afgerond",
                "signalen niet haalbaar",
                "open < 2 weken",
                "open 2-4 weken",
                "open > 4 weken",
            ],
            rows: follow_ups,
        },
        Table {
            name: TABLES[4],
            title: "Activiteiten",
            header: vec![
                "straat",
                "titel",
                "datum",
                "tijd",
                "plaats",
                "thema",
                "uitgenodigd",
                "deelnemers",
            ],
            rows: activities,
        },
        Table {
            name: TABLES[5],
            title: "Voortgang per week",
            header: vec![
                "straat",
                "week van",
                "deuren aangeklopt",
                "huishoudens bereikt",
                "bereikt (promille)",
                "wensen",
                "wensen opgelost",
                "activiteiten",
                "deelnemers",
                "signalen doorgegeven",
                "signalen opgepakt",
            ],
            rows: weeks,
        },
    ]
}

/// A table as CSV (RFC 4180: every field quoted where it must be, CRLF line ends).
pub fn csv(table: &Table) -> String {
    fn field(text: &str) -> String {
        if text.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", text.replace('"', "\"\""))
        } else {
            text.to_string()
        }
    }
    let mut out = String::new();
    let header: Vec<String> = table.header.iter().map(|h| field(h)).collect();
    out.push_str(&header.join(","));
    out.push_str("\r\n");
    for row in &table.rows {
        let cells: Vec<String> = row.iter().map(|c| field(&c.to_string())).collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    out
}

/// The street as the picture needs it: of each visit only where, when and how it went
/// (not who knocked), read straight from the document, several times faster than the
/// whole street (as `WalkList::read` does).
fn lean_street(doc: &AutoCommit) -> Result<Street, EditError> {
    let mut visits = BTreeMap::new();
    for_each_knock(doc, |id, visit| {
        visits.insert(id.to_string(), visit);
    })?;
    Ok(Street {
        name: autosurgeon::hydrate_prop(doc, ROOT, "name")?,
        complexes: autosurgeon::hydrate_prop(doc, ROOT, docs::COMPLEXES.name)?,
        addresses: autosurgeon::hydrate_prop(doc, ROOT, docs::ADDRESSES.name)?,
        visits,
        wishes: autosurgeon::hydrate_prop(doc, ROOT, docs::WISHES.name)?,
    })
}

/// How far a status has come, to pick the most advanced of several partners'.
fn progress(status: FollowUpStatus) -> u8 {
    match status {
        FollowUpStatus::New => 0,
        FollowUpStatus::PickedUp => 1,
        FollowUpStatus::NotFeasible => 2,
        FollowUpStatus::Closed => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        demo,
        docs::{DocKind, new_actor},
        follow_up,
        model::{Outcome, SignalKind},
        record::{Door, VisitRecord},
        sync::client::{Replica, ReplicaDoc},
    };

    /// Every way of working a hidden cell out of what is shown: the total minus the shown
    /// cells, when exactly one cell is hidden.
    fn gives_away(cells: &[u32]) -> bool {
        let (shown, total) = suppress(cells);
        let hidden = shown.iter().filter(|c| **c == Count::Small).count();
        hidden == 1 && total != Count::Small
    }

    #[test]
    fn small_counts_are_hidden_and_no_total_gives_one_away() {
        assert_eq!(
            suppress(&[0, 3, 12, 7]),
            (
                vec![
                    Count::Exact(0),
                    Count::Small,
                    Count::Rounded(10),
                    Count::Small
                ],
                Count::Rounded(20)
            ),
            "the 3 is hidden, and so is the next smallest, the 7; the rest rounded"
        );
        assert_eq!(
            suppress(&[0, 3, 0]).1,
            Count::Small,
            "no second cell: the total goes"
        );
        assert_eq!(
            suppress(&[2, 1, 9]).0[2],
            Count::Rounded(10),
            "two hidden already"
        );
        assert_eq!(protect(4), Count::Small);
        assert_eq!(protect(0), Count::Exact(0));
        assert_eq!(protect(7), Count::Rounded(5));
        assert_eq!(protect(8), Count::Rounded(10));
        // Every group of up to four cells of 0..8: never exactly one hidden cell beside a
        // shown total, and every shown cell exact.
        for a in 0..8 {
            for b in 0..8 {
                for c in 0..8 {
                    for d in 0..8 {
                        let cells = [a, b, c, d];
                        assert!(!gives_away(&cells), "{cells:?}");
                        let (shown, _) = suppress(&cells);
                        for (cell, n) in shown.iter().zip(cells) {
                            match cell {
                                Count::Exact(m) => assert_eq!((*m, n), (0, 0)),
                                Count::Rounded(m) => {
                                    assert!(m % 5 == 0 && m.abs_diff(n) <= 2, "{n} as {m}");
                                    assert!(n >= SMALLEST_SHOWN);
                                }
                                Count::Small => {}
                            }
                        }
                    }
                }
            }
        }
    }

    /// A hidden count can't be worked out from a rounded total and the rounded counts
    /// beside it in another table (a street's talks against one building's): every
    /// difference leaves at least two values from 1 to 4 possible.
    #[test]
    fn differences_of_rounded_counts_leave_a_hidden_one_open() {
        for a in 1..SMALLEST_SHOWN {
            for b in SMALLEST_SHOWN..60 {
                let (street, other) = (protect(a + b), protect(b));
                let possible: BTreeSet<u32> = (1..SMALLEST_SHOWN)
                    .flat_map(|x| (SMALLEST_SHOWN..70).map(move |y| (x, y)))
                    .filter(|(x, y)| protect(x + y) == street && protect(*y) == other)
                    .map(|(x, _)| x)
                    .collect();
                assert!(possible.len() >= 2, "{a} + {b}: only {possible:?}");
            }
        }
    }

    #[test]
    fn weeks_start_on_monday() {
        // 2026-11-30 is a Monday; 2026-12-06 a Sunday.
        let monday = "2026-11-30".parse::<IsoDate>().unwrap();
        let at = |date: &str, hour: i64| {
            let d: IsoDate = date.parse().unwrap();
            d.0.midnight().assume_utc().unix_timestamp() * 1000 + hour * 3_600_000
        };
        assert_eq!(date_of(week_start(at("2026-12-06", 23))), monday);
        assert_eq!(date_of(week_start(at("2026-11-30", 0))), monday);
        assert_eq!(
            date_of(week_start(at("2026-11-29", 12))),
            "2026-11-23".parse().unwrap()
        );
    }

    const DAY: i64 = 24 * 3_600_000;

    /// The demo street with visits: `talks` talks (each with a wish on play and a care
    /// need), and a refusal.
    fn street(talks: usize) -> (Replica, Vec<Door>) {
        let (kind, doc) = demo::street(new_actor()).unwrap();
        let value: Street = docs::read(&doc).unwrap();
        let mut replica = Replica::new(new_actor());
        replica.insert(ReplicaDoc::restore(kind, doc, Vec::new()));
        let mut doors = Vec::new();
        let start = "2026-11-02"
            .parse::<IsoDate>()
            .unwrap()
            .0
            .midnight()
            .assume_utc()
            .unix_timestamp()
            * 1000;
        for (i, address) in value.addresses.keys().take(talks + 1).enumerate() {
            let address = address.parse().unwrap();
            let talked = i < talks;
            VisitRecord {
                street: demo::street_id(),
                address,
                author: "Sanne".into(),
                at_ms: start + i as i64 * DAY,
                outcome: if talked {
                    Outcome::Talked
                } else {
                    Outcome::Refused
                },
                return_on: None,
                notes: "geheim".into(),
                contribution: String::new(),
                wishes: if talked {
                    vec![(Theme::Play, format!("Speeltuin {i}"))]
                } else {
                    Vec::new()
                },
                signals: if talked {
                    vec![(SignalKind::CareNeed, "zorg".into())]
                } else {
                    Vec::new()
                },
            }
            .record(&mut replica)
            .unwrap();
            doors.push(Door::find(&replica, demo::street_id(), address).unwrap());
        }
        (replica, doors)
    }

    fn picture(replica: &Replica, doors: &[Door], viewer: Viewer, now_ms: i64) -> Picture {
        let street = &replica
            .get(
                &DocKind::Street {
                    street: demo::street_id(),
                    epoch: 0,
                }
                .id(),
            )
            .unwrap()
            .doc;
        let confidential = doors
            .iter()
            .flat_map(|d| Partner::ALL.map(|p| (p, d.confidential(p))))
            .filter_map(|(p, kind)| Some((p, &replica.get(&kind.id())?.doc)))
            .collect();
        Picture::read(
            &Documents {
                street,
                confidential,
            },
            Period::default(),
            viewer,
            now_ms,
        )
        .unwrap()
    }

    #[test]
    fn the_picture_counts_doors_wishes_and_follow_ups_and_hides_what_is_not_the_viewers() {
        let (mut replica, doors) = street(3);
        let now = "2026-11-20"
            .parse::<IsoDate>()
            .unwrap()
            .0
            .midnight()
            .assume_utc()
            .unix_timestamp()
            * 1000;
        let care = picture(
            &replica,
            &doors,
            Viewer::Partner(Partner::CareOrganisation),
            now,
        );
        assert_eq!(care.doors, 43);
        assert_eq!(care.states, [39, 0, 3, 1, 0]);
        // Floors from the top down, the ground floor last.
        let floors: Vec<u32> = care.buildings[0].floors.iter().map(|f| f.floor).collect();
        assert_eq!(floors, [4, 3, 2, 1, 0]);
        assert_eq!(care.wishes.len(), 1);
        assert_eq!((care.wishes[0].count, care.wishes[0].resolved), (3, 0));
        let care_row = |p: &Picture| {
            p.follow_ups
                .iter()
                .find(|f| f.partner == Partner::CareOrganisation)
                .unwrap()
                .clone()
        };
        assert_eq!(
            care_row(&care).signals[0],
            Count::Exact(3),
            "its own: exact"
        );
        let municipality = picture(
            &replica,
            &doors,
            Viewer::Partner(Partner::Municipality),
            now,
        );
        assert_eq!(
            care_row(&municipality).signals[0],
            Count::Small,
            "another's: < 5"
        );
        // Progress: three weeks from the first visit's week.
        assert_eq!(care.weeks.len(), 3);
        assert_eq!(care.weeks[0].monday, "2026-11-02".parse().unwrap());
        assert_eq!(care.weeks[0].reached, Count::Exact(3));
        assert_eq!(care.weeks[0].reached_permille, 3 * 1000 / 43);
        let steering = picture(&replica, &doors, Viewer::SteeringGroup, now);
        assert_eq!(steering.weeks[0].reached, Count::Small);
        // A wish closed by the corporation counts as resolved in its week.
        let wish = docs::amended(
            &replica.get(&doors[0].street_kind().id()).unwrap().doc,
            docs::WISHES,
        )
        .unwrap()
        .into_keys()
        .next()
        .unwrap();
        follow_up::follow_up_wish(
            &mut replica,
            docs::Signature {
                by: "Mirjam",
                at_ms: now - DAY,
            },
            demo::street_id(),
            Partner::Corporation,
            &wish,
            FollowUpStatus::Closed,
            "",
        )
        .unwrap();
        let after = picture(&replica, &doors, Viewer::Partner(Partner::Corporation), now);
        assert_eq!(after.wishes[0].resolved, 1);
        assert_eq!(after.weeks[2].wishes_resolved, 1);
        // Nothing of the notes or the signals' texts is in the picture.
        let json = serde_json::to_string(&after).unwrap();
        assert!(
            !json.contains("geheim") && !json.contains("zorg\""),
            "{json}"
        );
    }
}
