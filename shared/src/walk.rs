//! The walk list: a street's doors in walking order, each with where it stands.
//!
//! The field app shows it as its first screen and keeps a copy beside the documents, so
//! that it can show the street before it has loaded a single document (a street with ten
//! thousand visits takes far longer to load than a phone may take to open the app).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use automerge::{AutoCommit, ROOT};

use crate::{
    docs::{self, EditError},
    ids::AddressId,
    model::{
        Address, AddressKind, Clearance, Complex, Correction, IsoDate, Outcome, Street, Visit,
    },
};

/// Where a door stands, by its latest visit; but a refusal stays until someone clears it
/// ([`Clearance`]), whatever visits come after it: a "no" is never overwritten by a
/// colleague's later knock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DoorState {
    NotVisited,
    /// Nobody opened, `times` times in all.
    NotHome {
        times: u32,
    },
    Talked,
    Refused,
    ComeBackLater {
        on: Option<IsoDate>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalkDoor {
    pub id: AddressId,
    pub number: String,
    pub business: bool,
    pub state: DoorState,
    /// When the latest visit was, in ms since the Unix epoch (0: never).
    pub latest_ms: i64,
    /// Visits that found nobody home, in all.
    pub not_home: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Floor {
    /// 0 is the ground floor.
    pub floor: u32,
    pub doors: Vec<WalkDoor>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Building {
    pub name: String,
    pub floors: Vec<Floor>,
}

/// Where to go today (see [`WalkList::today`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Today<'a> {
    /// Planned returns due today or earlier, each with its date, the most overdue first.
    pub returns: Vec<(IsoDate, &'a WalkDoor)>,
    /// Doors no one was ever spoken to at (never visited, or never home).
    pub never_reached: Vec<&'a WalkDoor>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct WalkList {
    pub street: String,
    pub buildings: Vec<Building>,
}

/// Orders house numbers as on a street: "2" < "10" < "10-A" < "11".
pub(crate) fn house_number_key(number: &str) -> (u64, String) {
    let digits: String = number.chars().take_while(char::is_ascii_digit).collect();
    let rest = number[digits.len()..].to_string();
    (digits.parse().unwrap_or(u64::MAX), rest)
}

/// What the walk list needs of one visit, as corrected.
struct Knock {
    address: String,
    at_ms: i64,
    outcome: Outcome,
    return_on: Option<IsoDate>,
    /// When its outcome was last set: the visit, or its latest correction.
    decided_ms: i64,
}

impl Knock {
    fn new(id: &str, visit: &Visit, corrections: &Corrections) -> Knock {
        let mut knock = Knock {
            address: visit.address.clone(),
            at_ms: visit.at_ms,
            outcome: visit.outcome,
            return_on: visit.return_on,
            decided_ms: visit.at_ms,
        };
        if let Some(latest) = corrections.latest(id) {
            knock.outcome = latest.outcome;
            knock.return_on = latest.return_on;
            knock.decided_ms = knock.decided_ms.max(latest.at_ms);
        }
        knock.return_on = Visit::planned_return(knock.outcome, knock.return_on);
        knock
    }
}

/// A street's corrections, by the visit they correct.
#[derive(Debug, Default)]
pub struct Corrections(BTreeMap<String, Vec<(String, Correction)>>);

impl Corrections {
    pub fn new(all: BTreeMap<String, Correction>) -> Corrections {
        let mut by_visit: BTreeMap<String, Vec<(String, Correction)>> = BTreeMap::new();
        for (id, correction) in all {
            by_visit
                .entry(correction.visit.clone())
                .or_default()
                .push((id, correction));
        }
        for list in by_visit.values_mut() {
            list.sort_by(|(a_id, a), (b_id, b)| a.at_ms.cmp(&b.at_ms).then(a_id.cmp(b_id)));
        }
        Corrections(by_visit)
    }

    /// Reads them from a street document (none before its upgrade).
    pub fn read(doc: &AutoCommit) -> Result<Corrections, EditError> {
        Ok(Corrections::new(docs::amended(doc, docs::CORRECTIONS)?))
    }

    /// The corrections of visit `id`, oldest first.
    pub fn of(&self, id: &str) -> &[(String, Correction)] {
        self.0.get(id).map_or(&[], Vec::as_slice)
    }

    /// The correction that counts: the latest, ties broken by id, the same on every phone.
    pub fn latest(&self, id: &str) -> Option<&Correction> {
        self.of(id).last().map(|(_, c)| c)
    }
}

/// Calls `each` with every visit of a street document, read of only the four fields that
/// say where a door stands (where, when, how it went, the planned return; not who
/// knocked): several times faster than reading the visits whole.
pub(crate) fn for_each_knock(
    doc: &AutoCommit,
    mut each: impl FnMut(&str, Visit),
) -> Result<(), EditError> {
    docs::for_each_entry(doc, docs::VISITS, |id, visit| {
        each(
            id,
            Visit {
                address: autosurgeon::hydrate_prop(doc, visit, "address")?,
                at_ms: autosurgeon::hydrate_prop(doc, visit, "at_ms")?,
                outcome: autosurgeon::hydrate_prop(doc, visit, "outcome")?,
                return_on: autosurgeon::hydrate_prop(doc, visit, "return_on")?,
                author: String::new(),
            },
        );
        Ok(())
    })
}

/// Reads a street's cleared refusals (none before its upgrade).
pub fn read_clearances(doc: &AutoCommit) -> Result<BTreeMap<String, Clearance>, EditError> {
    docs::amended(doc, docs::CLEARANCES)
}

impl WalkList {
    /// The walk list of a street read whole, before any correction or cleared refusal.
    pub fn of(street: &Street) -> Self {
        Self::amended(street, &Corrections::default(), &BTreeMap::new())
    }

    /// The walk list of a street read whole, with its corrections and cleared refusals.
    pub fn amended(
        street: &Street,
        corrections: &Corrections,
        clearances: &BTreeMap<String, Clearance>,
    ) -> Self {
        let knocks = street
            .visits
            .iter()
            .map(|(id, v)| Knock::new(id, v, corrections));
        Self::build(
            &street.name,
            &street.complexes,
            &street.addresses,
            knocks,
            clearances,
        )
    }

    /// The walk list of a street document, reading of each visit only the four fields it
    /// needs: several times faster than reading the whole street (in the browser, a
    /// street with ten thousand visits reads in a fraction of the time).
    pub fn read(doc: &AutoCommit) -> Result<Self, EditError> {
        let name: String = autosurgeon::hydrate_prop(doc, ROOT, "name")?;
        let complexes: BTreeMap<String, Complex> =
            autosurgeon::hydrate_prop(doc, ROOT, docs::COMPLEXES.name)?;
        let addresses: BTreeMap<String, Address> =
            autosurgeon::hydrate_prop(doc, ROOT, docs::ADDRESSES.name)?;
        let corrections = Corrections::read(doc)?;
        let clearances = read_clearances(doc)?;
        let mut knocks = Vec::new();
        for_each_knock(doc, |id, visit| {
            knocks.push(Knock::new(id, &visit, &corrections))
        })?;
        Ok(Self::build(
            &name,
            &complexes,
            &addresses,
            knocks.into_iter(),
            &clearances,
        ))
    }

    fn build(
        name: &str,
        complexes: &BTreeMap<String, Complex>,
        addresses: &BTreeMap<String, Address>,
        knocks: impl Iterator<Item = Knock>,
        clearances: &BTreeMap<String, Clearance>,
    ) -> Self {
        let mut latest: BTreeMap<String, (i64, DoorState)> = BTreeMap::new();
        let mut not_home: BTreeMap<String, u32> = BTreeMap::new();
        let mut cleared: BTreeMap<&str, i64> = BTreeMap::new();
        for clearance in clearances.values() {
            let at = cleared
                .entry(clearance.address.as_str())
                .or_insert(i64::MIN);
            *at = (*at).max(clearance.at_ms);
        }
        // Doors with a refusal no one cleared after it: refused, whatever came later.
        let mut refused: BTreeSet<String> = BTreeSet::new();
        let mut latest_ms: BTreeMap<String, i64> = BTreeMap::new();
        for knock in knocks {
            let at = latest_ms.entry(knock.address.clone()).or_insert(i64::MIN);
            *at = (*at).max(knock.at_ms);
            if knock.outcome == Outcome::NotHome {
                *not_home.entry(knock.address.clone()).or_default() += 1;
            }
            if knock.outcome == Outcome::Refused {
                let cleared_after = cleared
                    .get(knock.address.as_str())
                    .is_some_and(|at| *at >= knock.decided_ms);
                if cleared_after {
                    // Set aside on purpose: the door stands as its other visits say.
                    continue;
                }
                refused.insert(knock.address.clone());
            }
            let state = match knock.outcome {
                Outcome::NotHome => DoorState::NotHome { times: 0 },
                Outcome::Talked => DoorState::Talked,
                Outcome::Refused => DoorState::Refused,
                Outcome::ComeBackLater => DoorState::ComeBackLater {
                    on: knock.return_on,
                },
            };
            match latest.get(&knock.address) {
                Some((at, _)) if *at > knock.at_ms => {}
                _ => {
                    latest.insert(knock.address, (knock.at_ms, state));
                }
            }
        }

        let mut buildings: BTreeMap<(&str, &str), BTreeMap<u32, Vec<WalkDoor>>> = BTreeMap::new();
        for (id, address) in addresses {
            let (Some(complex), Ok(address_id)) = (complexes.get(&address.complex), id.parse())
            else {
                continue;
            };
            let times = not_home.get(id.as_str()).copied().unwrap_or(0);
            let state = match latest.remove(id.as_str()) {
                None => DoorState::NotVisited,
                Some(_) if refused.contains(id.as_str()) => DoorState::Refused,
                Some((_, DoorState::NotHome { .. })) => DoorState::NotHome { times },
                Some((_, state)) => state,
            };
            let latest_ms = latest_ms.get(id.as_str()).copied().unwrap_or(0);
            buildings
                .entry((complex.name.as_str(), address.complex.as_str()))
                .or_default()
                .entry(address.floor)
                .or_default()
                .push(WalkDoor {
                    id: address_id,
                    number: address.number.clone(),
                    business: address.kind == AddressKind::Business,
                    state,
                    latest_ms,
                    not_home: times,
                });
        }
        let mut buildings: Vec<Building> = buildings
            .into_iter()
            .map(|((name, _), floors)| Building {
                name: name.to_string(),
                floors: floors
                    .into_iter()
                    .map(|(floor, mut doors)| {
                        doors.sort_by_key(|d| house_number_key(&d.number));
                        Floor { floor, doors }
                    })
                    .collect(),
            })
            .collect();
        // The building with door 1 first: buildings in the order of their lowest number.
        buildings.sort_by_cached_key(|b| {
            let lowest = b
                .floors
                .iter()
                .flat_map(|f| &f.doors)
                .map(|d| house_number_key(&d.number))
                .min();
            (lowest, b.name.clone())
        });
        WalkList {
            street: name.to_string(),
            buildings,
        }
    }

    /// Takes in a visit just recorded at door `address`, without reading the street again
    /// (the walk list then equals [`WalkList::read`] of the street with that visit).
    pub fn knock(
        &mut self,
        address: AddressId,
        at_ms: i64,
        outcome: Outcome,
        return_on: Option<IsoDate>,
    ) {
        let doors = self
            .buildings
            .iter_mut()
            .flat_map(|b| b.floors.iter_mut().flat_map(|f| f.doors.iter_mut()));
        let Some(door) = doors.into_iter().find(|d| d.id == address) else {
            return;
        };
        if outcome == Outcome::NotHome {
            door.not_home += 1;
        }
        let newer = at_ms >= door.latest_ms;
        door.latest_ms = door.latest_ms.max(at_ms);
        // A refusal stays until someone clears it, and a new one shows whenever it was.
        if door.state == DoorState::Refused || outcome == Outcome::Refused {
            door.state = DoorState::Refused;
            return;
        }
        if !newer {
            if let DoorState::NotHome { times } = &mut door.state {
                *times = door.not_home;
            }
            return;
        }
        door.state = match outcome {
            Outcome::NotHome => DoorState::NotHome {
                times: door.not_home,
            },
            Outcome::Talked => DoorState::Talked,
            Outcome::Refused => DoorState::Refused,
            Outcome::ComeBackLater => DoorState::ComeBackLater {
                on: Visit::planned_return(outcome, return_on),
            },
        };
    }

    /// Every door in walking order: building by building, floor by floor from the ground up.
    pub fn doors(&self) -> impl Iterator<Item = &WalkDoor> {
        self.buildings
            .iter()
            .flat_map(|b| b.floors.iter().flat_map(|f| f.doors.iter()))
    }

    /// The first unvisited door after `after` in walking order, wrapping around.
    pub fn next_unvisited(&self, after: Option<AddressId>) -> Option<&WalkDoor> {
        let doors: Vec<&WalkDoor> = self.doors().collect();
        let start = after
            .and_then(|id| doors.iter().position(|d| d.id == id))
            .map_or(0, |i| i + 1);
        doors[start..]
            .iter()
            .chain(&doors[..start])
            .find(|d| d.state == DoorState::NotVisited)
            .copied()
    }

    /// Doors whose house number starts with `query` (ignoring case and spaces).
    pub fn find<'a>(&'a self, query: &str) -> impl Iterator<Item = &'a WalkDoor> + 'a {
        let query: String = query
            .chars()
            .filter(|c| !c.is_whitespace())
            .flat_map(char::to_lowercase)
            .collect();
        self.doors()
            .filter(move |d| d.number.to_lowercase().starts_with(&query))
    }

    /// Where to knock first today: the planned returns due today or before (the most
    /// overdue first), then the doors where no one was ever spoken to, in walking order.
    pub fn today(&self, today: IsoDate) -> Today<'_> {
        let mut returns: Vec<(IsoDate, &WalkDoor)> = self
            .doors()
            .filter_map(|d| match d.state {
                DoorState::ComeBackLater { on: Some(on) } if on <= today => Some((on, d)),
                _ => None,
            })
            .collect();
        returns.sort_by_key(|(on, _)| *on);
        Today {
            returns,
            never_reached: self
                .doors()
                .filter(|d| matches!(d.state, DoorState::NotVisited | DoorState::NotHome { .. }))
                .collect(),
        }
    }

    pub fn visited(&self) -> usize {
        self.doors()
            .filter(|d| d.state != DoorState::NotVisited)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        demo,
        docs::{DocKind, new_actor},
        record::Door as DoorRef,
        sync::client::{Replica, ReplicaDoc},
    };

    fn demo_replica() -> Replica {
        let (kind, doc) = demo::street(new_actor()).unwrap();
        let mut replica = Replica::new(new_actor());
        replica.insert(ReplicaDoc::restore(kind, doc, Vec::new()));
        replica
    }

    /// The walk list both ways; they must agree.
    fn walk_list(replica: &Replica) -> WalkList {
        let kind = DocKind::Street {
            street: demo::street_id(),
            epoch: 0,
        };
        let doc = &replica.get(&kind.id()).unwrap().doc;
        let list = WalkList::amended(
            &docs::read(doc).unwrap(),
            &Corrections::read(doc).unwrap(),
            &read_clearances(doc).unwrap(),
        );
        assert_eq!(WalkList::read(doc).unwrap(), list);
        list
    }

    #[test]
    fn doors_are_in_walking_order() {
        let list = walk_list(&demo_replica());
        assert_eq!(list.street, demo::STREET_NAME);
        let names: Vec<_> = list.buildings.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(
            names,
            ["Lindenhof", "Kastanjehof"],
            "door 1's building first"
        );
        let lindenhof = &list.buildings[0];
        assert_eq!(lindenhof.floors[0].floor, 0);
        let ground: Vec<_> = lindenhof.floors[0]
            .doors
            .iter()
            .map(|d| &d.number)
            .collect();
        assert_eq!(ground, ["1A", "1B"]);
        let first: Vec<_> = lindenhof.floors[1]
            .doors
            .iter()
            .map(|d| &d.number)
            .collect();
        assert_eq!(first, ["1", "3", "5", "7", "9"]);
        assert_eq!(list.doors().count(), 43);
        assert_eq!(list.visited(), 0);
    }

    #[test]
    fn a_door_shows_its_latest_visit_and_counts_not_home() {
        let mut replica = demo_replica();
        let list = walk_list(&replica);
        let door = list.find("13").next().unwrap().clone();
        let at = DoorRef::find(&replica, demo::street_id(), door.id.0).unwrap();
        at.record_visit(&mut replica, "Fatima", 1_000, Outcome::NotHome, None)
            .unwrap();
        at.record_visit(&mut replica, "Fatima", 2_000, Outcome::NotHome, None)
            .unwrap();
        let state = |replica: &Replica| {
            walk_list(replica)
                .doors()
                .find(|d| d.id == door.id)
                .unwrap()
                .state
                .clone()
        };
        assert_eq!(state(&replica), DoorState::NotHome { times: 2 });

        // Taking in a visit by hand gives the same list as reading the street again.
        let mut known = walk_list(&replica);
        let on: IsoDate = "2026-11-30".parse().unwrap();
        at.record_visit(
            &mut replica,
            "Fatima",
            2_500,
            Outcome::ComeBackLater,
            Some(on),
        )
        .unwrap();
        known.knock(door.id, 2_500, Outcome::ComeBackLater, Some(on));
        assert_eq!(known, walk_list(&replica));
        at.record_visit(&mut replica, "Fatima", 2_600, Outcome::NotHome, None)
            .unwrap();
        known.knock(door.id, 2_600, Outcome::NotHome, None);
        assert_eq!(known, walk_list(&replica));
        assert_eq!(state(&replica), DoorState::NotHome { times: 3 });

        let on: IsoDate = "2026-12-01".parse().unwrap();
        at.record_visit(
            &mut replica,
            "Fatima",
            3_000,
            Outcome::ComeBackLater,
            Some(on),
        )
        .unwrap();
        assert_eq!(state(&replica), DoorState::ComeBackLater { on: Some(on) });
        // An older visit synced in later does not hide the newer one.
        at.record_visit(&mut replica, "Coach", 500, Outcome::Talked, None)
            .unwrap();
        assert_eq!(state(&replica), DoorState::ComeBackLater { on: Some(on) });
    }

    /// Two people at one door, offline: one hears "no", the other knocks later and talks.
    /// The door stays refused until someone clears it on purpose; a later "no" shows again.
    #[test]
    fn a_refusal_stays_until_someone_clears_it() {
        let mut replica = demo_replica();
        let door = walk_list(&replica).doors().next().unwrap().clone();
        let at = DoorRef::find(&replica, demo::street_id(), door.id.0).unwrap();
        let state = |replica: &Replica| {
            walk_list(replica)
                .doors()
                .find(|d| d.id == door.id)
                .unwrap()
                .state
                .clone()
        };
        let refusal = at
            .record_visit(&mut replica, "Sanne", 1_000, Outcome::Refused, None)
            .unwrap();
        let mut known = walk_list(&replica);
        at.record_visit(&mut replica, "Karim", 2_000, Outcome::Talked, None)
            .unwrap();
        known.knock(door.id, 2_000, Outcome::Talked, None);
        assert_eq!(state(&replica), DoorState::Refused);
        assert_eq!(known, walk_list(&replica), "taken in by hand alike");

        let by = |name, at_ms| docs::Signature { by: name, at_ms };
        at.clear_refusal(&mut replica, by("Sanne", 3_000)).unwrap();
        assert_eq!(state(&replica), DoorState::Talked);
        at.record_visit(&mut replica, "Karim", 4_000, Outcome::Refused, None)
            .unwrap();
        assert_eq!(state(&replica), DoorState::Refused);
        at.clear_refusal(&mut replica, by("Sanne", 5_000)).unwrap();
        assert_eq!(
            state(&replica),
            DoorState::Talked,
            "as its other visits say"
        );

        // A correction of the first visit to "no" after the clearance shows again; set
        // right once more, it does not.
        at.correct_outcome(
            &mut replica,
            by("Karim", 6_000),
            refusal,
            Outcome::Refused,
            None,
        )
        .unwrap();
        assert_eq!(state(&replica), DoorState::Refused);
        at.correct_outcome(
            &mut replica,
            by("Karim", 7_000),
            refusal,
            Outcome::NotHome,
            None,
        )
        .unwrap();
        assert_ne!(state(&replica), DoorState::Refused);
    }

    #[test]
    fn today_shows_returns_due_then_doors_never_reached() {
        let mut replica = demo_replica();
        let doors: Vec<AddressId> = walk_list(&replica).doors().map(|d| d.id).collect();
        let date = |s: &str| s.parse::<IsoDate>().unwrap();
        let knocks = [
            (doors[0], Outcome::ComeBackLater, Some("2026-12-03")),
            (doors[1], Outcome::ComeBackLater, Some("2026-11-20")),
            (doors[2], Outcome::ComeBackLater, Some("2026-12-24")),
            (doors[3], Outcome::Talked, None),
            (doors[4], Outcome::NotHome, None),
        ];
        for (door, outcome, on) in knocks {
            let at = DoorRef::find(&replica, demo::street_id(), door.0).unwrap();
            at.record_visit(&mut replica, "Sanne", 1, outcome, on.map(date))
                .unwrap();
        }
        let list = walk_list(&replica);
        let today = list.today(date("2026-12-03"));
        let due: Vec<(IsoDate, AddressId)> =
            today.returns.iter().map(|(on, d)| (*on, d.id)).collect();
        assert_eq!(
            due,
            [
                (date("2026-11-20"), doors[1]),
                (date("2026-12-03"), doors[0])
            ],
            "the most overdue first; a later date waits"
        );
        let never: Vec<AddressId> = today.never_reached.iter().map(|d| d.id).collect();
        assert_eq!(
            never.len(),
            doors.len() - 4,
            "all but the talked and the three returns"
        );
        assert_eq!(
            never[0], doors[4],
            "never home counts as never reached, in walking order"
        );
    }

    #[test]
    fn next_unvisited_skips_visited_doors_and_wraps() {
        let mut replica = demo_replica();
        let list = walk_list(&replica);
        let first = list.next_unvisited(None).unwrap().clone();
        let at = DoorRef::find(&replica, demo::street_id(), first.id.0).unwrap();
        at.record_visit(&mut replica, "Fatima", 1, Outcome::Talked, None)
            .unwrap();
        let list = walk_list(&replica);
        let next = list.next_unvisited(None).unwrap();
        assert_ne!(next.id, first.id);
        let last = list.doors().last().unwrap();
        assert_eq!(list.next_unvisited(Some(last.id)).unwrap().id, next.id);
        assert_eq!(
            list.find("1 a").map(|d| &d.number).collect::<Vec<_>>(),
            ["1A"]
        );
    }
}
