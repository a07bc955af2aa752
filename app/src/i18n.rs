//! The app's words, in Dutch (the default) and English. Every text is a field of
//! [`Texts`], so a language that misses one does not compile.

use serde::{Deserialize, Serialize};
use voordeur_shared::model::{Outcome, SignalKind, Theme};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Lang {
    #[default]
    Nl,
    En,
}

impl Lang {
    pub fn texts(self) -> &'static Texts {
        match self {
            Lang::Nl => &NL,
            Lang::En => &EN,
        }
    }

    pub fn other(self) -> Lang {
        match self {
            Lang::Nl => Lang::En,
            Lang::En => Lang::Nl,
        }
    }
}

#[derive(Debug)]
pub struct Texts {
    pub lang_code: &'static str,
    pub switch_language: &'static str,
    /// The other language's code, shown on the language button.
    pub switch_language_code: &'static str,
    pub loading_street: &'static str,
    pub choose_street: &'static str,
    pub no_streets_offline: &'static str,
    pub your_name: &'static str,
    pub your_name_hint: &'static str,
    pub save: &'static str,
    pub find_door: &'static str,
    pub next_unvisited: &'static str,
    pub all_visited: &'static str,
    pub doors_visited: &'static str,
    pub ground_floor: &'static str,
    pub floor: &'static str,
    pub business: &'static str,
    pub not_visited: &'static str,
    pub not_home: &'static str,
    pub talked: &'static str,
    pub refused: &'static str,
    pub come_back: &'static str,
    pub come_back_on: &'static str,
    pub new_visit: &'static str,
    pub record_return: &'static str,
    pub earlier_visits: &'static str,
    pub no_visits_yet: &'static str,
    pub notes: &'static str,
    pub notes_hint: &'static str,
    pub contribution: &'static str,
    pub contribution_hint: &'static str,
    pub wishes: &'static str,
    pub wish_hint: &'static str,
    pub add: &'static str,
    pub signals: &'static str,
    pub signal_hint: &'static str,
    pub consent: &'static str,
    pub consent_question: &'static str,
    pub consent_yes: &'static str,
    pub consent_no: &'static str,
    pub resident_name: &'static str,
    pub resident_contact: &'static str,
    pub back: &'static str,
    pub by: &'static str,
    pub offline: &'static str,
    pub syncing: &'static str,
    pub synced_at: &'static str,
    pub waiting: &'static str,
    pub sync_now: &'static str,
    pub refused_by_server: &'static str,
    pub storage_used: &'static str,
    pub storage_almost_full: &'static str,
    pub storage_full: &'static str,
    pub door_not_found: &'static str,
    /// In the order of `Theme::ALL`.
    pub themes: [&'static str; 7],
    pub care_need: &'static str,
    pub moving_wish: &'static str,
}

impl Texts {
    pub fn outcome(&self, outcome: Outcome) -> &'static str {
        match outcome {
            Outcome::NotHome => self.not_home,
            Outcome::Talked => self.talked,
            Outcome::Refused => self.refused,
            Outcome::ComeBackLater => self.come_back,
        }
    }

    pub fn theme(&self, theme: Theme) -> &'static str {
        let index = Theme::ALL.iter().position(|t| *t == theme).unwrap_or(0);
        self.themes[index]
    }

    pub fn signal(&self, kind: SignalKind) -> &'static str {
        match kind {
            SignalKind::CareNeed => self.care_need,
            SignalKind::MovingWish => self.moving_wish,
        }
    }

    /// "3 changes waiting" / "3 wijzigingen wachten".
    pub fn changes_waiting(&self, n: usize) -> String {
        match (self.lang_code, n) {
            ("nl", 1) => "1 wijziging wacht".into(),
            ("nl", n) => format!("{n} wijzigingen wachten"),
            (_, 1) => "1 change waiting".into(),
            (_, n) => format!("{n} changes waiting"),
        }
    }
}

pub static NL: Texts = Texts {
    lang_code: "nl",
    switch_language: "English",
    switch_language_code: "en",
    loading_street: "Straat ophalen…",
    choose_street: "Kies je straat",
    no_streets_offline: "Nog geen straat op deze telefoon. Open de app één keer met verbinding.",
    your_name: "Jouw naam",
    your_name_hint: "Zo zien collega's wie er aanbelde.",
    save: "Bewaar",
    find_door: "Huisnummer",
    next_unvisited: "Volgende deur",
    all_visited: "Alle deuren bezocht",
    doors_visited: "deuren bezocht",
    ground_floor: "Begane grond",
    floor: "Verdieping",
    business: "bedrijf",
    not_visited: "Nog niet",
    not_home: "Niet thuis",
    talked: "Gesproken",
    refused: "Wil niet",
    come_back: "Later terug",
    come_back_on: "Terug op",
    new_visit: "Nieuw bezoek",
    record_return: "Later terug op deze datum",
    earlier_visits: "Bezoeken",
    no_visits_yet: "Nog niet aangebeld.",
    notes: "Gespreksnotities",
    notes_hint: "Wat vertelde de bewoner?",
    contribution: "Wil bijdragen",
    contribution_hint: "Wat wil de bewoner doen voor de buurt?",
    wishes: "Wensen voor de buurt",
    wish_hint: "Wens in eigen woorden",
    add: "Voeg toe",
    signals: "Signalen",
    signal_hint: "Kort en feitelijk",
    consent: "Toestemming",
    consent_question: "Mogen we naam en contactgegevens bewaren?",
    consent_yes: "Ja",
    consent_no: "Nee",
    resident_name: "Naam bewoner",
    resident_contact: "Telefoon of e-mail",
    back: "← Looplijst",
    by: "door",
    offline: "Offline",
    syncing: "Synchroniseren…",
    synced_at: "Alles gesynchroniseerd ·",
    waiting: "wacht op verbinding",
    sync_now: "Nu synchroniseren",
    refused_by_server: "De server weigerde een wijziging:",
    storage_used: "Opslag gebruikt",
    storage_almost_full: "De opslag op deze telefoon raakt vol. Synchroniseer en ruim op.",
    storage_full: "Opslag vol: de laatste wijziging staat nog niet veilig op de telefoon.",
    door_not_found: "Deze deur staat niet in de straat.",
    themes: [
        "Groen",
        "Veiligheid",
        "Schoon",
        "Ontmoeten",
        "Spelen",
        "Parkeren",
        "Anders",
    ],
    care_need: "Zorgsignaal (alleen zorgorganisatie)",
    moving_wish: "Verhuiswens (alleen corporatie)",
};

pub static EN: Texts = Texts {
    lang_code: "en",
    switch_language: "Nederlands",
    switch_language_code: "nl",
    loading_street: "Fetching the street…",
    choose_street: "Choose your street",
    no_streets_offline: "No street on this phone yet. Open the app once with a connection.",
    your_name: "Your name",
    your_name_hint: "So colleagues see who knocked.",
    save: "Save",
    find_door: "House number",
    next_unvisited: "Next door",
    all_visited: "Every door visited",
    doors_visited: "doors visited",
    ground_floor: "Ground floor",
    floor: "Floor",
    business: "business",
    not_visited: "Not yet",
    not_home: "Not home",
    talked: "Talked",
    refused: "Refused",
    come_back: "Come back later",
    come_back_on: "Back on",
    new_visit: "New visit",
    record_return: "Come back on this date",
    earlier_visits: "Visits",
    no_visits_yet: "Nobody has knocked yet.",
    notes: "Conversation notes",
    notes_hint: "What did the resident say?",
    contribution: "Would like to contribute",
    contribution_hint: "What would the resident do for the neighbourhood?",
    wishes: "Wishes for the neighbourhood",
    wish_hint: "The wish in their words",
    add: "Add",
    signals: "Signals",
    signal_hint: "Short and factual",
    consent: "Consent",
    consent_question: "May we keep name and contact details?",
    consent_yes: "Yes",
    consent_no: "No",
    resident_name: "Resident's name",
    resident_contact: "Phone or e-mail",
    back: "← Walk list",
    by: "by",
    offline: "Offline",
    syncing: "Syncing…",
    synced_at: "All synced ·",
    waiting: "waiting for a connection",
    sync_now: "Sync now",
    refused_by_server: "The server refused a change:",
    storage_used: "Storage used",
    storage_almost_full: "Storage on this phone is filling up. Sync and clean up.",
    storage_full: "Storage full: the latest change is not yet safe on the phone.",
    door_not_found: "This door is not in the street.",
    themes: [
        "Greenery",
        "Safety",
        "Cleanliness",
        "Meeting each other",
        "Play",
        "Parking",
        "Other",
    ],
    care_need: "Care need (care organisation only)",
    moving_wish: "Moving wish (housing corporation only)",
};
