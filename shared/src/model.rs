//! The domain types that live inside Voordeur's Automerge documents, and their rules.
//!
//! Every type here maps to and from Automerge with autosurgeon's `Reconcile`/`Hydrate`.
//! Collections are maps keyed by a UUID string, never lists: two people adding a visit
//! offline each add their own key, so a merge keeps both (a list would interleave or
//! clobber them). `validate` methods hold the rules a document must keep after every
//! change; the server runs them on every change it receives (see `crate::docs`).

use std::collections::BTreeMap;

use autosurgeon::{Hydrate, HydrateError, Reconcile, Text};
use uuid::Uuid;

/// Longest conversation notes, in characters.
pub const MAX_NOTES_CHARS: usize = 20_000;
/// Longest short text (a wish, a contribution, a name), in characters.
pub const MAX_SHORT_CHARS: usize = 2_000;

/// A rule a document breaks; the message names the offending entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SchemaViolation(pub String);

fn violation(message: impl Into<String>) -> SchemaViolation {
    SchemaViolation(message.into())
}

fn check_uuid_key(what: &str, key: &str) -> Result<Uuid, SchemaViolation> {
    key.parse::<Uuid>()
        .map_err(|_| violation(format!("{what} key {key:?} is not a UUID")))
}

fn check_len(what: &str, text: &str, max: usize) -> Result<(), SchemaViolation> {
    let chars = text.chars().count();
    if chars > max {
        return Err(violation(format!(
            "{what} has {chars} characters, more than the {max} allowed"
        )));
    }
    Ok(())
}

/// A calendar date (`YYYY-MM-DD` in the document).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct IsoDate(pub time::Date);

/// Why text is not a `YYYY-MM-DD` date.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a date as YYYY-MM-DD")]
pub struct NotADate(String);

impl std::str::FromStr for IsoDate {
    type Err = NotADate;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let not_a_date = || NotADate(s.to_string());
        let mut parts = s.split('-');
        let mut number = |digits: usize| {
            parts
                .next()
                .filter(|p| p.len() == digits && p.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|p| p.parse::<u16>().ok())
                .ok_or_else(not_a_date)
        };
        let (year, month, day) = (number(4)?, number(2)?, number(2)?);
        if parts.next().is_some() {
            return Err(not_a_date());
        }
        let month = u8::try_from(month)
            .ok()
            .and_then(|m| time::Month::try_from(m).ok())
            .ok_or_else(not_a_date)?;
        let day = u8::try_from(day).map_err(|_| not_a_date())?;
        time::Date::from_calendar_date(i32::from(year), month, day)
            .map(IsoDate)
            .map_err(|_| not_a_date())
    }
}

impl std::fmt::Display for IsoDate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (year, month, day) = self.0.to_calendar_date();
        write!(f, "{year:04}-{:02}-{day:02}", u8::from(month))
    }
}

impl serde::Serialize for IsoDate {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for IsoDate {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl Reconcile for IsoDate {
    type Key<'a> = autosurgeon::reconcile::NoKey;
    fn reconcile<R: autosurgeon::Reconciler>(&self, reconciler: R) -> Result<(), R::Error> {
        self.to_string().reconcile(reconciler)
    }
}

impl Hydrate for IsoDate {
    fn hydrate_string(s: &'_ str) -> Result<Self, HydrateError> {
        s.parse()
            .map_err(|_| HydrateError::unexpected("a date as YYYY-MM-DD", s.to_string()))
    }
}

/// One of the three partners that fund the work in a street.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Reconcile,
    Hydrate,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Partner {
    /// The housing corporation (woningcorporatie).
    Corporation,
    /// The care organisation (zorgorganisatie).
    CareOrganisation,
    /// The municipality (gemeente).
    Municipality,
}

impl Partner {
    pub const ALL: [Partner; 3] = [
        Partner::Corporation,
        Partner::CareOrganisation,
        Partner::Municipality,
    ];
}

// ---------------------------------------------------------------------------------------
// The street document: shared by all partners of a street.

/// A street (werkgebied): its buildings, its doors, and the non-sensitive record of every
/// visit. Everything here may be seen by all partners working in the street.
#[derive(Debug, Clone, PartialEq, Default, Reconcile, Hydrate)]
pub struct Street {
    pub name: String,
    /// Complexes by id.
    pub complexes: BTreeMap<String, Complex>,
    /// Addresses (apartments and businesses) by id.
    pub addresses: BTreeMap<String, Address>,
    /// Visits by id (a UUID v7, so ids sort by time).
    pub visits: BTreeMap<String, Visit>,
    /// Wishes for the neighbourhood by id.
    pub wishes: BTreeMap<String, Wish>,
}

#[derive(Debug, Clone, PartialEq, Reconcile, Hydrate)]
pub struct Complex {
    pub name: String,
    /// Floors above the ground floor (0 is the ground floor, de plint).
    pub floors: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Reconcile, Hydrate)]
pub enum AddressKind {
    Apartment,
    Business,
}

#[derive(Debug, Clone, PartialEq, Reconcile, Hydrate)]
pub struct Address {
    pub complex: String,
    pub floor: u32,
    /// House number with any addition, as on the door: "12", "12-A".
    pub number: String,
    pub kind: AddressKind,
    /// Bumped when a household's data is erased, so that its documents get new ids and
    /// an old copy on some phone can never bring the erased history back.
    pub household_epoch: u32,
}

/// How a knock on a door went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Reconcile, Hydrate)]
pub enum Outcome {
    /// Niet thuis.
    NotHome,
    /// Gesproken.
    Talked,
    /// Wil niet.
    Refused,
    /// Later terugkomen; the visit's `return_on` holds the planned date.
    ComeBackLater,
}

/// The shared part of a visit: who knocked where and when, and how it went. The
/// conversation itself lives in the household document.
#[derive(Debug, Clone, PartialEq, Reconcile, Hydrate)]
pub struct Visit {
    pub address: String,
    /// Display name of the person who made the visit.
    pub author: String,
    /// When the visit happened, in milliseconds since the Unix epoch.
    pub at_ms: i64,
    pub outcome: Outcome,
    /// The planned return visit, for [`Outcome::ComeBackLater`].
    pub return_on: Option<IsoDate>,
}

impl Visit {
    /// The planned return, which only a visit to come back later has (a merge of two
    /// corrections may pair a date with another outcome: the date then means nothing).
    pub fn planned_return(outcome: Outcome, return_on: Option<IsoDate>) -> Option<IsoDate> {
        return_on.filter(|_| outcome == Outcome::ComeBackLater)
    }
}

/// A visit's outcome set right afterwards ("I tapped the wrong one"). A correction is an
/// entry of its own, never an overwrite: two people who correct the same visit offline
/// both keep theirs, the latest counts, and the visit's history shows every one.
#[derive(Debug, Clone, PartialEq, Reconcile, Hydrate)]
pub struct Correction {
    /// The visit corrected.
    pub visit: String,
    pub outcome: Outcome,
    pub return_on: Option<IsoDate>,
    /// Display name of who corrected it.
    pub by: String,
    /// When, in milliseconds since the Unix epoch.
    pub at_ms: i64,
}

/// A refusal at a door set aside on purpose: from then on, the door no longer shows as
/// refused (a later refusal shows again). Until someone clears it, a refusal stays on the
/// walk list whatever visits come after it.
#[derive(Debug, Clone, PartialEq, Reconcile, Hydrate)]
pub struct Clearance {
    pub address: String,
    pub by: String,
    pub at_ms: i64,
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Reconcile,
    Hydrate,
    serde::Serialize,
    serde::Deserialize,
)]
pub enum Theme {
    Greenery,
    Safety,
    Cleanliness,
    MeetingEachOther,
    Play,
    Parking,
    Other,
}

impl Theme {
    pub const ALL: [Theme; 7] = [
        Theme::Greenery,
        Theme::Safety,
        Theme::Cleanliness,
        Theme::MeetingEachOther,
        Theme::Play,
        Theme::Parking,
        Theme::Other,
    ];
}

/// A wish's status as the street document first held it, before follow-ups (see
/// [`Wish::status`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Reconcile, Hydrate)]
pub enum WishStatus {
    Open,
    InProgress,
    Done,
    NotFeasible,
}

impl WishStatus {
    /// The same as a follow-up's status.
    pub fn follow_up(self) -> FollowUpStatus {
        match self {
            WishStatus::Open => FollowUpStatus::New,
            WishStatus::InProgress => FollowUpStatus::PickedUp,
            WishStatus::Done => FollowUpStatus::Closed,
            WishStatus::NotFeasible => FollowUpStatus::NotFeasible,
        }
    }
}

/// A resident's wish for the neighbourhood, raised during a visit.
#[derive(Debug, Clone, PartialEq, Reconcile, Hydrate)]
pub struct Wish {
    pub visit: String,
    pub theme: Theme,
    pub text: String,
    /// Written `Open` when the wish is raised. Street documents from before follow-ups
    /// may hold a coordinator's status and owner here; since then a partner takes a wish
    /// on with a [`FollowUp`] of its own (`crate::follow_up`), which a status here never
    /// overrides.
    pub status: WishStatus,
    pub owner: Option<Partner>,
}

/// Where a follow-up stands: a wish a partner took on, or a signal handed to a partner.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Reconcile,
    Hydrate,
    serde::Serialize,
    serde::Deserialize,
)]
pub enum FollowUpStatus {
    /// Nobody has picked it up yet.
    New,
    PickedUp,
    /// Done (its name in the document predates "not feasible").
    Closed,
    NotFeasible,
}

impl FollowUpStatus {
    pub const ALL: [FollowUpStatus; 4] = [
        FollowUpStatus::New,
        FollowUpStatus::PickedUp,
        FollowUpStatus::Closed,
        FollowUpStatus::NotFeasible,
    ];

    /// Whether someone still has to act on it.
    pub fn is_open(self) -> bool {
        matches!(self, FollowUpStatus::New | FollowUpStatus::PickedUp)
    }
}

/// A partner's follow-up of a wish (`follow_ups/<partner>/<wish id>` in the street
/// document): made when a coordinator or coach takes the wish on for their organisation.
/// Each partner writes only its own, so two partners taking one wish on offline both keep
/// theirs, and no partner's rights reach another's follow-up.
#[derive(Debug, Clone, PartialEq, Reconcile, Hydrate)]
pub struct FollowUp {
    pub status: FollowUpStatus,
    /// A short note on what is being done.
    pub note: String,
    /// Who took it on, and when (ms since the Unix epoch).
    pub by: String,
    pub at_ms: i64,
    /// When its status or note last moved.
    pub moved_ms: i64,
}

/// An activity where residents get to know each other (`activities` in the street
/// document): planned by a builder or coach, seen by every partner. Who took part is
/// counted here; which households took part is kept only in each household's document
/// ([`Participation`]), named only with consent.
#[derive(Debug, Clone, PartialEq, Reconcile, Hydrate)]
pub struct Activity {
    pub title: String,
    pub date: IsoDate,
    /// Starting time as `HH:MM`, or empty.
    pub time: String,
    pub place: String,
    pub theme: Theme,
    /// The wishes it answers, by wish id.
    pub wishes: BTreeMap<String, bool>,
    /// Residents invited, by address id.
    pub invited: BTreeMap<String, Invitation>,
    /// How many people took part, once counted.
    pub participants: Option<u32>,
    /// A short evaluation afterwards.
    pub evaluation: String,
    /// Who planned it, and when.
    pub by: String,
    pub at_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Reconcile, Hydrate)]
pub struct Invitation {
    pub by: String,
    pub at_ms: i64,
}

/// Whether `time` is a time of day as `HH:MM` (or empty: no time set).
pub fn is_time_of_day(time: &str) -> bool {
    let bytes = time.as_bytes();
    if bytes.is_empty() {
        return true;
    }
    let digits = |a: u8, b: u8| -> Option<u8> {
        (a.is_ascii_digit() && b.is_ascii_digit()).then(|| (a - b'0') * 10 + (b - b'0'))
    };
    bytes.len() == 5
        && bytes[2] == b':'
        && digits(bytes[0], bytes[1]).is_some_and(|h| h < 24)
        && digits(bytes[3], bytes[4]).is_some_and(|m| m < 60)
}

/// What the street document holds beside the street itself, in maps its upgrades added
/// (see `DocKind::upgrades`): none in a street from before them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Amendments {
    pub corrections: BTreeMap<String, Correction>,
    pub clearances: BTreeMap<String, Clearance>,
    /// Each partner's follow-ups of wishes, by wish id.
    pub follow_ups: BTreeMap<Partner, BTreeMap<String, FollowUp>>,
    pub activities: BTreeMap<String, Activity>,
}

impl Visit {
    /// The rules a visit keeps, under its key `id`, in a street that holds the addresses
    /// `has_address` says it holds.
    pub fn check(
        &self,
        id: &str,
        has_address: impl Fn(&str) -> bool,
    ) -> Result<(), SchemaViolation> {
        check_uuid_key("visit", id)?;
        // An erased household's visits keep their outcome and week, at no door
        // (`crate::erase`).
        if !self.address.is_empty() && !has_address(&self.address) {
            return Err(violation(format!(
                "visit {id} is at unknown address {}",
                self.address
            )));
        }
        check_len("visit author", &self.author, MAX_SHORT_CHARS)
    }
}

impl Wish {
    /// The rules a wish keeps, under its key `id`, in a street that holds the visits
    /// `has_visit` says it holds.
    pub fn check(&self, id: &str, has_visit: impl Fn(&str) -> bool) -> Result<(), SchemaViolation> {
        check_uuid_key("wish", id)?;
        if !has_visit(&self.visit) {
            return Err(violation(format!(
                "wish {id} belongs to unknown visit {}",
                self.visit
            )));
        }
        check_len("wish", &self.text, MAX_SHORT_CHARS)
    }
}

impl Street {
    /// The rules every street document keeps.
    pub fn validate(&self) -> Result<(), SchemaViolation> {
        check_len("street name", &self.name, MAX_SHORT_CHARS)?;
        for (id, complex) in &self.complexes {
            check_uuid_key("complex", id)?;
            check_len("complex name", &complex.name, MAX_SHORT_CHARS)?;
        }
        for (id, address) in &self.addresses {
            check_uuid_key("address", id)?;
            let Some(complex) = self.complexes.get(&address.complex) else {
                return Err(violation(format!(
                    "address {id} is in unknown complex {}",
                    address.complex
                )));
            };
            if address.floor > complex.floors {
                return Err(violation(format!(
                    "address {id} is on floor {} of a complex with {} floors",
                    address.floor, complex.floors
                )));
            }
            check_len("house number", &address.number, 32)?;
        }
        for (id, visit) in &self.visits {
            visit.check(id, |address| self.addresses.contains_key(address))?;
        }
        for (id, wish) in &self.wishes {
            wish.check(id, |visit| self.visits.contains_key(visit))?;
        }
        Ok(())
    }

    /// The rules of what the street document holds beside the street (see
    /// [`Amendments`]). A follow-up or an activity naming a wish the street does not hold
    /// breaks none: wishes are read by id, and such a name is read as nothing.
    pub fn validate_amendments(&self, amended: &Amendments) -> Result<(), SchemaViolation> {
        let Amendments {
            corrections,
            clearances,
            follow_ups,
            activities,
        } = amended;
        for (id, correction) in corrections {
            check_uuid_key("correction", id)?;
            if !self.visits.contains_key(&correction.visit) {
                return Err(violation(format!(
                    "correction {id} is of unknown visit {}",
                    correction.visit
                )));
            }
            check_len("correction author", &correction.by, MAX_SHORT_CHARS)?;
        }
        for (id, clearance) in clearances {
            check_uuid_key("clearance", id)?;
            if !self.addresses.contains_key(&clearance.address) {
                return Err(violation(format!(
                    "clearance {id} is at unknown address {}",
                    clearance.address
                )));
            }
            check_len("clearance author", &clearance.by, MAX_SHORT_CHARS)?;
        }
        for follow_up in follow_ups.values().flat_map(BTreeMap::iter) {
            let (wish, follow_up) = follow_up;
            check_uuid_key("follow-up", wish)?;
            check_len("follow-up note", &follow_up.note, MAX_SHORT_CHARS)?;
            check_len("follow-up author", &follow_up.by, MAX_SHORT_CHARS)?;
        }
        for (id, activity) in activities {
            check_uuid_key("activity", id)?;
            check_len("activity title", &activity.title, MAX_SHORT_CHARS)?;
            check_len("activity place", &activity.place, MAX_SHORT_CHARS)?;
            check_len("activity evaluation", &activity.evaluation, MAX_SHORT_CHARS)?;
            check_len("activity author", &activity.by, MAX_SHORT_CHARS)?;
            if !is_time_of_day(&activity.time) {
                return Err(violation(format!(
                    "activity {id} starts at {:?}, not a time as HH:MM",
                    activity.time
                )));
            }
            for wish in activity.wishes.keys() {
                check_uuid_key("activity's wish", wish)?;
            }
            for (address, invitation) in &activity.invited {
                if !self.addresses.contains_key(address) {
                    return Err(violation(format!(
                        "activity {id} invites unknown address {address}"
                    )));
                }
                check_len("invitation author", &invitation.by, MAX_SHORT_CHARS)?;
            }
        }
        Ok(())
    }

    /// Visits to one address, oldest first.
    pub fn visits_at<'a>(
        &'a self,
        address: &'a str,
    ) -> impl Iterator<Item = (&'a String, &'a Visit)> {
        self.visits
            .iter()
            .filter(move |(_, v)| v.address == address)
    }
}

// ---------------------------------------------------------------------------------------
// The household document: one per address and household, seen by all partners, erased
// as a whole when the resident asks.

/// Whether the resident agrees that their name and contact details are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Reconcile, Hydrate)]
pub enum Consent {
    #[default]
    NotAsked,
    Given,
    Refused,
    Withdrawn,
}

#[derive(Debug, Clone, PartialEq, Default, Reconcile, Hydrate)]
pub struct Resident {
    pub name: String,
    pub contact: String,
}

/// The conversation of one visit.
#[derive(Debug, Clone, Default, Reconcile, Hydrate)]
pub struct Conversation {
    /// Notes that several people may edit, also at the same time offline.
    pub notes: Text,
    /// What the resident would like to contribute (meedoen), in their own words.
    pub contribution: String,
    /// What their contribution is about, so that an activity on that theme can call on
    /// them (absent in conversations from before themes).
    pub contribution_theme: Option<Theme>,
}

/// That a household took part in an activity (`participation/<activity id>` in the
/// household's document: the only place that says who took part).
#[derive(Debug, Clone, PartialEq, Reconcile, Hydrate)]
pub struct Participation {
    pub by: String,
    pub at_ms: i64,
}

/// Resident data for one household at one address.
#[derive(Debug, Clone, Default, Reconcile, Hydrate)]
pub struct Household {
    pub consent: Consent,
    pub resident: Resident,
    /// Conversations by visit id (the same id as in the street document).
    pub conversations: BTreeMap<String, Conversation>,
}

impl Consent {
    pub const ALL: [Consent; 4] = [
        Consent::NotAsked,
        Consent::Given,
        Consent::Refused,
        Consent::Withdrawn,
    ];

    /// Its name in the document (as autosurgeon writes it).
    pub fn name(self) -> &'static str {
        match self {
            Consent::NotAsked => "NotAsked",
            Consent::Given => "Given",
            Consent::Refused => "Refused",
            Consent::Withdrawn => "Withdrawn",
        }
    }

    pub fn parse(name: &str) -> Option<Consent> {
        Consent::ALL.into_iter().find(|c| c.name() == name)
    }

    /// Whether a resident's name and contact details may be kept, given every answer to
    /// the consent question the document holds: its value and, after two people answered
    /// differently offline, the values beside it. While one of them is "yes" the name is
    /// kept (and the conflict shown); once every answer is something else it must go.
    ///
    /// This rule holds for any merge of edits that each keep it: an edit that clears the
    /// name also answers "no", so a "yes" beside a "no" keeps its own name, and a name
    /// typed beside a later "no" is what [`Household::needs_repair`] finds.
    pub fn allows_resident(answers: &[Consent]) -> bool {
        answers.contains(&Consent::Given)
    }
}

impl Resident {
    pub fn is_empty(&self) -> bool {
        self.name.is_empty() && self.contact.is_empty()
    }
}

impl Household {
    /// The rules every household document keeps, given every answer to the consent
    /// question it holds (see [`Consent::allows_resident`]).
    ///
    /// Notes have no length rule here: two people each writing the longest notes the app
    /// allows offline merge into longer ones, and a rule a merge of valid edits can break
    /// would leave the second phone refused for good. The app keeps each person's edits
    /// within [`MAX_NOTES_CHARS`]; a request's size bounds the rest.
    pub fn validate(&self, answers: &[Consent]) -> Result<(), SchemaViolation> {
        if self.needs_repair(answers) {
            return Err(violation(format!(
                "resident name or contact kept without consent ({:?})",
                self.consent
            )));
        }
        check_len("resident name", &self.resident.name, MAX_SHORT_CHARS)?;
        check_len("resident contact", &self.resident.contact, MAX_SHORT_CHARS)?;
        for (id, conversation) in &self.conversations {
            check_uuid_key("conversation", id)?;
            check_len("contribution", &conversation.contribution, MAX_SHORT_CHARS)?;
        }
        Ok(())
    }

    /// The rules of the household's participation in activities (a map its upgrade added).
    pub fn validate_participation(
        participation: &BTreeMap<String, Participation>,
    ) -> Result<(), SchemaViolation> {
        for (activity, took_part) in participation {
            check_uuid_key("participation", activity)?;
            check_len("participation author", &took_part.by, MAX_SHORT_CHARS)?;
        }
        Ok(())
    }

    /// Whether a name or contact is kept although no answer allows it: a merge of a name
    /// typed on one phone with a "no" recorded later on another. Every replica reads such a
    /// name as absent ([`Household::resident_shown`]), and the server clears it with a
    /// change of its own (`DocKind::repair`), the same way whoever merges first.
    pub fn needs_repair(&self, answers: &[Consent]) -> bool {
        !Consent::allows_resident(answers) && !self.resident.is_empty()
    }

    /// The resident as anyone may see them: nobody without consent.
    pub fn resident_shown(&self, answers: &[Consent]) -> Resident {
        if Consent::allows_resident(answers) {
            self.resident.clone()
        } else {
            Resident::default()
        }
    }
}

// ---------------------------------------------------------------------------------------
// The confidential document: one per household and partner, seen only inside that partner.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Reconcile, Hydrate)]
pub enum SignalKind {
    /// Zorgsignaal: for the care organisation only.
    CareNeed,
    /// Verhuiswens: for the housing corporation only.
    MovingWish,
}

impl SignalKind {
    /// The only partner allowed to hold this kind of signal.
    pub fn partner(self) -> Partner {
        match self {
            SignalKind::CareNeed => Partner::CareOrganisation,
            SignalKind::MovingWish => Partner::Corporation,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Reconcile, Hydrate)]
pub struct Signal {
    pub visit: String,
    pub kind: SignalKind,
    pub text: String,
    /// Its follow-up inside the partner: the status a coordinator or coach moves, with
    /// who picked it up and when, and a short note (absent in signals from before).
    pub status: FollowUpStatus,
    pub note: Option<String>,
    pub picked_by: Option<String>,
    pub picked_at_ms: Option<i64>,
    pub moved_ms: Option<i64>,
}

/// Where a household stands with the care organisation (kept only inside it).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Reconcile,
    Hydrate,
    serde::Serialize,
    serde::Deserialize,
)]
pub enum ClientStatus {
    /// Client of the care organisation.
    Client,
    /// A temporary care contract.
    TemporaryCareContract,
    /// A regular tenant, not in care.
    RegularTenant,
}

impl ClientStatus {
    pub const ALL: [ClientStatus; 3] = [
        ClientStatus::Client,
        ClientStatus::TemporaryCareContract,
        ClientStatus::RegularTenant,
    ];
}

/// One setting of a household's client status: a history entry of its own, never an
/// overwrite, so two coaches setting it offline both stay in the history; the latest counts.
#[derive(Debug, Clone, PartialEq, Reconcile, Hydrate)]
pub struct ClientStatusChange {
    pub status: ClientStatus,
    pub by: String,
    pub at_ms: i64,
}

/// One partner's confidential record of one household.
#[derive(Debug, Clone, PartialEq, Default, Reconcile, Hydrate)]
pub struct Confidential {
    /// Signals by id.
    pub signals: BTreeMap<String, Signal>,
}

impl Confidential {
    pub fn validate(&self, partner: Partner) -> Result<(), SchemaViolation> {
        for (id, signal) in &self.signals {
            check_uuid_key("signal", id)?;
            if signal.kind.partner() != partner {
                return Err(violation(format!(
                    "signal {id} is a {:?}, which only the {:?} may hold, not the {partner:?}",
                    signal.kind,
                    signal.kind.partner()
                )));
            }
            check_len("signal", &signal.text, MAX_SHORT_CHARS)?;
            check_len(
                "signal note",
                signal.note.as_deref().unwrap_or(""),
                MAX_SHORT_CHARS,
            )?;
            check_len(
                "signal picked up by",
                signal.picked_by.as_deref().unwrap_or(""),
                MAX_SHORT_CHARS,
            )?;
        }
        Ok(())
    }

    /// The rules of a household's client status history (a map the confidential
    /// documents' upgrade added): only the care organisation's document holds one.
    pub fn validate_client_status(
        partner: Partner,
        history: &BTreeMap<String, ClientStatusChange>,
    ) -> Result<(), SchemaViolation> {
        if partner != Partner::CareOrganisation && !history.is_empty() {
            return Err(violation(format!(
                "a client status is kept only by the care organisation, not the {partner:?}"
            )));
        }
        for (id, change) in history {
            check_uuid_key("client status", id)?;
            check_len("client status author", &change.by, MAX_SHORT_CHARS)?;
        }
        Ok(())
    }

    /// The client status that counts: the latest setting, ties broken by id, the same on
    /// every replica.
    pub fn client_status(
        history: &BTreeMap<String, ClientStatusChange>,
    ) -> Option<&ClientStatusChange> {
        history
            .iter()
            .max_by(|(a_id, a), (b_id, b)| a.at_ms.cmp(&b.at_ms).then(a_id.cmp(b_id)))
            .map(|(_, change)| change)
    }
}

#[cfg(test)]
mod tests {
    use super::IsoDate;

    #[test]
    fn dates_are_read_strictly_and_written_back_the_same() {
        let date: IsoDate = "2026-02-28".parse().unwrap();
        assert_eq!(date.to_string(), "2026-02-28");
        for bad in [
            "2026-02-30",
            "2026-2-28",
            "26-02-28",
            "2026-02-28x",
            "2026-13-01",
            "",
        ] {
            assert!(bad.parse::<IsoDate>().is_err(), "{bad:?} parsed");
        }
    }
}
