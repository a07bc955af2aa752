//! The app's words, in Dutch (the default) and English. Every text is a field of
//! [`Texts`], so a language that misses one does not compile.

use serde::{Deserialize, Serialize};
use voordeur_shared::model::{Consent, Outcome, SignalKind, Theme};

use crate::state::waiting::Waiting;

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
    pub sign_in_title: &'static str,
    pub username: &'static str,
    pub password: &'static str,
    pub sign_in: &'static str,
    pub sign_in_offline: &'static str,
    pub wrong_credentials: &'static str,
    pub too_many_attempts: &'static str,
    pub session_ended: &'static str,
    pub signed_in_as: &'static str,
    pub sign_out: &'static str,
    pub sign_out_unsynced: &'static str,
    pub sign_out_anyway: &'static str,
    pub cancel: &'static str,
    pub read_only: &'static str,
    pub admin_title: &'static str,
    pub organisations: &'static str,
    pub streets: &'static str,
    pub accounts: &'static str,
    pub audit_log: &'static str,
    pub name: &'static str,
    pub complexes: &'static str,
    pub complexes_hint: &'static str,
    pub role: &'static str,
    pub organisation: &'static str,
    pub assign: &'static str,
    pub saved: &'static str,
    /// In the order of `Partner::ALL`.
    pub partners: [&'static str; 3],
    /// In the order of `Role::ALL`.
    pub roles: [&'static str; 4],
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
    pub sync_now: &'static str,
    pub refused_by_server: &'static str,
    pub storage_used: &'static str,
    pub storage_almost_full: &'static str,
    pub storage_full: &'static str,
    pub door_not_found: &'static str,
    pub no_street_yet: &'static str,
    pub storage_unavailable: &'static str,
    pub stored_damaged: &'static str,
    pub not_saved: &'static str,
    pub key_store_failed: &'static str,
    pub bad_reply: &'static str,
    pub refused_too_large: &'static str,
    pub refused_forbidden: &'static str,
    pub refused_damaged: &'static str,
    pub refused_invalid: &'static str,
    pub refused_other: &'static str,
    pub refused_kept: &'static str,
    /// In the order of `Theme::ALL`.
    pub themes: [&'static str; 7],
    pub care_need: &'static str,
    pub moving_wish: &'static str,
    // Merges: conflicts, corrections, refusals, who wrote what.
    pub conflict_title: &'static str,
    pub conflict_explain: &'static str,
    pub conflict_consent: &'static str,
    pub conflict_contribution: &'static str,
    pub choose_this: &'static str,
    pub someone: &'static str,
    pub empty_value: &'static str,
    pub consent_not_asked: &'static str,
    pub consent_withdrawn: &'static str,
    pub corrected: &'static str,
    pub recorded_as: &'static str,
    pub correct_outcome: &'static str,
    pub correct_to: &'static str,
    pub refusal_title: &'static str,
    pub refusal_explain: &'static str,
    pub clear_refusal: &'static str,
    pub who_wrote_what: &'static str,
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

    pub fn consent_answer(&self, consent: Consent) -> &'static str {
        match consent {
            Consent::NotAsked => self.consent_not_asked,
            Consent::Given => self.consent_yes,
            Consent::Refused => self.consent_no,
            Consent::Withdrawn => self.consent_withdrawn,
        }
    }

    pub fn signal(&self, kind: SignalKind) -> &'static str {
        match kind {
            SignalKind::CareNeed => self.care_need,
            SignalKind::MovingWish => self.moving_wish,
        }
    }

    /// What waits, as a person counts it, and how old the oldest is: "3 bezoeken en 2
    /// notities bij 4 deuren wachten · oudste 25 min" / "3 visits and 2 notes at 4 doors
    /// waiting · oldest 25 min".
    pub fn waiting(&self, waiting: &Waiting, now_ms: i64) -> String {
        let nl = self.lang_code == "nl";
        let count = |n: usize, one: &str, many: &str| {
            if n == 1 {
                format!("1 {one}")
            } else {
                format!("{n} {many}")
            }
        };
        let mut things = Vec::new();
        if waiting.visits > 0 {
            things.push(match nl {
                true => count(waiting.visits, "bezoek", "bezoeken"),
                false => count(waiting.visits, "visit", "visits"),
            });
        }
        if waiting.notes > 0 {
            things.push(match nl {
                true => count(waiting.notes, "notitie", "notities"),
                false => count(waiting.notes, "note", "notes"),
            });
        }
        let one = things.len() == 1 && (waiting.visits + waiting.notes) == 1;
        let things = match (things.is_empty(), nl) {
            (true, true) => "wijzigingen".to_string(),
            (true, false) => "changes".to_string(),
            (false, true) => things.join(" en "),
            (false, false) => things.join(" and "),
        };
        let doors = match (waiting.doors, nl) {
            (0, _) => String::new(),
            (n, true) => format!(" bij {}", count(n, "deur", "deuren")),
            (n, false) => format!(" at {}", count(n, "door", "doors")),
        };
        let verb = match (one, nl) {
            (true, true) => "wacht",
            (false, true) => "wachten",
            (_, false) => "waiting",
        };
        let mut text = format!("{things}{doors} {verb}");
        if let Some(since) = waiting.since_ms {
            let minutes = (now_ms - since).max(0) / 60_000;
            let age = match (minutes, nl) {
                (0, _) => "< 1 min".to_string(),
                (m @ 1..60, _) => format!("{m} min"),
                (m @ 60..1440, true) => format!("{} uur", m / 60),
                (m @ 60..1440, false) => format!("{} h", m / 60),
                (m, true) => count((m / 1440) as usize, "dag", "dagen"),
                (m, false) => count((m / 1440) as usize, "day", "days"),
            };
            let oldest = if nl { "oudste" } else { "oldest" };
            text = format!("{text} · {oldest} {age}");
        }
        text
    }
}

pub static NL: Texts = Texts {
    lang_code: "nl",
    switch_language: "English",
    switch_language_code: "en",
    loading_street: "Straat ophalen…",
    choose_street: "Kies je straat",
    no_streets_offline: "Nog geen straat op deze telefoon. Open de app één keer met verbinding.",
    sign_in_title: "Aanmelden bij Voordeur",
    username: "Gebruikersnaam",
    password: "Wachtwoord",
    sign_in: "Aanmelden",
    sign_in_offline: "Aanmelden kan alleen met verbinding.",
    wrong_credentials: "Gebruikersnaam of wachtwoord klopt niet.",
    too_many_attempts: "Te vaak een verkeerd wachtwoord. Wacht even en probeer het opnieuw.",
    session_ended: "Je sessie is afgelopen: meld je opnieuw aan. Je werk staat nog op deze telefoon.",
    signed_in_as: "Aangemeld als",
    sign_out: "Afmelden",
    sign_out_unsynced: "Nog niet alles is verstuurd. Afmelden wist deze telefoon, ook wat nog niet verstuurd is.",
    sign_out_anyway: "Toch afmelden en wissen",
    cancel: "Annuleren",
    read_only: "Je kunt hier lezen, niet wijzigen.",
    admin_title: "Beheer",
    organisations: "Organisaties",
    streets: "Straten",
    accounts: "Accounts",
    audit_log: "Logboek: wie las en wijzigde wat",
    name: "Naam",
    complexes: "Complexen",
    complexes_hint: "Eén complex per regel: naam:verdiepingenxdeuren:eerste huisnummer[:winkels], bijvoorbeeld Lindenhof:4x5:1:1A,1B.",
    role: "Rol",
    organisation: "Organisatie",
    assign: "Aan een straat koppelen",
    saved: "Opgeslagen.",
    partners: ["Woningcorporatie", "Zorgorganisatie", "Gemeente"],
    roles: ["Buurtcoach", "Coach", "Coördinator", "Beheerder"],
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
    sync_now: "Nu synchroniseren",
    refused_by_server: "Geweigerd door de server",
    storage_used: "Opslag gebruikt",
    storage_almost_full: "De opslag op deze telefoon raakt vol. Synchroniseer en ruim op.",
    storage_full: "Opslag vol: de laatste wijziging staat nog niet veilig op de telefoon.",
    door_not_found: "Deze deur staat niet in de straat.",
    no_street_yet: "Er staat nog geen straat op deze telefoon. Maak verbinding om de straat op te halen.",
    storage_unavailable: "De browser laat de app niets opslaan. Open de app buiten de privémodus.",
    stored_damaged: "Wat over deze deur op de telefoon staat is beschadigd en kan niet worden gelezen. Synchroniseer om het van de server terug te halen.",
    not_saved: "Niet opgeslagen:",
    key_store_failed: "De sleutel van de gegevens op deze telefoon werkt niet. Meld je opnieuw aan.",
    bad_reply: "Een antwoord van de server kon niet worden verwerkt. De app probeert het later opnieuw.",
    refused_too_large: "De server weigert je wijzigingen: ze zijn te groot.",
    refused_forbidden: "De server weigert je wijzigingen: je mag dit niet wijzigen.",
    refused_damaged: "De server weigert je wijzigingen: ze kwamen beschadigd aan.",
    refused_invalid: "De server weigert je wijzigingen: ze passen niet bij wat de server heeft.",
    refused_other: "De server weigert je wijzigingen.",
    refused_kept: "Ze blijven op deze telefoon bewaard. Neem contact op met de beheerder; de app probeert het af en toe opnieuw.",
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
    conflict_title: "Twee antwoorden tegelijk",
    conflict_explain: "Twee mensen vulden hier iets anders in terwijl ze offline waren. Beide staan er nog. Kies wat klopt: dat geldt dan voor iedereen.",
    conflict_consent: "Toestemming",
    conflict_contribution: "Wil meedoen met",
    choose_this: "Dit klopt",
    someone: "iemand",
    empty_value: "(leeg)",
    consent_not_asked: "Nog niet gevraagd",
    consent_withdrawn: "Ingetrokken",
    corrected: "gecorrigeerd",
    recorded_as: "Vastgelegd als",
    correct_outcome: "Uitkomst corrigeren",
    correct_to: "Verkeerd getikt? Kies wat het wel was:",
    refusal_title: "Deze bewoner wil niet",
    refusal_explain: "Klop hier niet opnieuw aan. Heeft de bewoner zelf laten weten dat het toch mag? Hef de weigering dan op.",
    clear_refusal: "Weigering opheffen",
    who_wrote_what: "Wie schreef wat",
};

pub static EN: Texts = Texts {
    lang_code: "en",
    switch_language: "Nederlands",
    switch_language_code: "nl",
    loading_street: "Fetching the street…",
    choose_street: "Choose your street",
    no_streets_offline: "No street on this phone yet. Open the app once with a connection.",
    sign_in_title: "Sign in to Voordeur",
    username: "Username",
    password: "Password",
    sign_in: "Sign in",
    sign_in_offline: "Signing in needs a connection.",
    wrong_credentials: "Wrong username or password.",
    too_many_attempts: "Too many wrong passwords. Wait a moment and try again.",
    session_ended: "Your session has ended: sign in again. Your work is still on this phone.",
    signed_in_as: "Signed in as",
    sign_out: "Sign out",
    sign_out_unsynced: "Not everything has been sent. Signing out wipes this phone, including what has not been sent.",
    sign_out_anyway: "Sign out and wipe anyway",
    cancel: "Cancel",
    read_only: "You can read here, not change.",
    admin_title: "Administration",
    organisations: "Organisations",
    streets: "Streets",
    accounts: "Accounts",
    audit_log: "Audit log: who read and changed what",
    name: "Name",
    complexes: "Complexes",
    complexes_hint: "One complex per line: name:floorsxdoors:first house number[:businesses], for example Lindenhof:4x5:1:1A,1B.",
    role: "Role",
    organisation: "Organisation",
    assign: "Assign to a street",
    saved: "Saved.",
    partners: ["Housing corporation", "Care organisation", "Municipality"],
    roles: ["Community builder", "Coach", "Coordinator", "Administrator"],
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
    sync_now: "Sync now",
    refused_by_server: "Refused by the server",
    storage_used: "Storage used",
    storage_almost_full: "Storage on this phone is filling up. Sync and clean up.",
    storage_full: "Storage full: the latest change is not yet safe on the phone.",
    door_not_found: "This door is not in the street.",
    no_street_yet: "There is no street on this phone yet. Connect to fetch the street.",
    storage_unavailable: "The browser lets the app store nothing. Open the app outside private mode.",
    stored_damaged: "What this phone holds about this door is damaged and can't be read. Sync to fetch it from the server again.",
    not_saved: "Not saved:",
    key_store_failed: "The key of the data on this phone does not work. Please sign in again.",
    bad_reply: "A reply of the server could not be taken in. The app tries again later.",
    refused_too_large: "The server refuses your changes: they are too large.",
    refused_forbidden: "The server refuses your changes: you may not change this.",
    refused_damaged: "The server refuses your changes: they arrived damaged.",
    refused_invalid: "The server refuses your changes: they do not fit what the server holds.",
    refused_other: "The server refuses your changes.",
    refused_kept: "They stay stored on this phone. Contact the administrator; the app tries again now and then.",
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
    conflict_title: "Two answers at once",
    conflict_explain: "Two people filled in something different here while offline. Both are still there. Choose what is right: it then holds for everyone.",
    conflict_consent: "Consent",
    conflict_contribution: "Would like to contribute",
    choose_this: "This is right",
    someone: "someone",
    empty_value: "(empty)",
    consent_not_asked: "Not asked yet",
    consent_withdrawn: "Withdrawn",
    corrected: "corrected",
    recorded_as: "Recorded as",
    correct_outcome: "Correct the outcome",
    correct_to: "Tapped the wrong one? Choose what it was:",
    refusal_title: "This resident does not want visits",
    refusal_explain: "Do not knock here again. Did the resident say themselves that it is fine after all? Then clear the refusal.",
    clear_refusal: "Clear the refusal",
    who_wrote_what: "Who wrote what",
};
