//! A street's layout as an administrator describes it — its complexes, their floors and
//! doors, and the businesses on the ground floor — and the street document built from it.
//!
//! A complex is written `NAME:FLOORSxDOORS:FIRST[:BUSINESS,…]`, e.g.
//! `Lindenhof:4x5:1:1A,1B`: four floors of five apartments numbered from 1 up by two (as
//! on one side of a Dutch street), and businesses 1A and 1B on the ground floor.

use std::{collections::BTreeSet, fmt, str::FromStr};

use automerge::{ActorId, AutoCommit};
use uuid::Uuid;

use crate::{
    docs::{self, DocKind, EditError, put_entry, put_field},
    model::{Address, AddressKind, Complex, MAX_SHORT_CHARS},
};

/// Most floors and doors per floor a complex may have (a sanity bound, not a policy).
const MAX_FLOORS: u32 = 60;
const MAX_DOORS_PER_FLOOR: u32 = 60;
const MAX_BUSINESSES: usize = 60;
const MAX_COMPLEXES: usize = 20;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StreetPlan {
    pub name: String,
    pub complexes: Vec<ComplexPlan>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ComplexPlan {
    pub name: String,
    /// Floors with apartments, above the ground floor.
    pub floors: u32,
    pub doors_per_floor: u32,
    /// The house number of the first apartment; the others go up by two.
    pub first_number: u32,
    /// House numbers of the businesses on the ground floor.
    pub businesses: Vec<String>,
}

/// Why a plan cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PlanError(String);

fn plan_error(message: impl Into<String>) -> PlanError {
    PlanError(message.into())
}

impl ComplexPlan {
    /// The complex's addresses as (floor, house number, kind), businesses first.
    pub fn addresses(&self) -> impl Iterator<Item = (u32, String, AddressKind)> + '_ {
        let shops = self
            .businesses
            .iter()
            .map(|number| (0, number.clone(), AddressKind::Business));
        let apartments = (1..=self.floors).flat_map(move |floor| {
            (0..self.doors_per_floor).map(move |door| {
                let number = self.first_number + ((floor - 1) * self.doors_per_floor + door) * 2;
                (floor, number.to_string(), AddressKind::Apartment)
            })
        });
        shops.chain(apartments)
    }
}

impl StreetPlan {
    /// Checks names, bounds and that no house number repeats.
    pub fn check(&self) -> Result<(), PlanError> {
        let text_ok = |t: &str| {
            !t.trim().is_empty()
                && t.chars().count() <= MAX_SHORT_CHARS
                && !t.contains(char::is_control)
        };
        if !text_ok(&self.name) {
            return Err(plan_error("a street needs a name"));
        }
        if self.complexes.is_empty() || self.complexes.len() > MAX_COMPLEXES {
            return Err(plan_error(format!(
                "a street has 1 to {MAX_COMPLEXES} complexes"
            )));
        }
        let mut names = BTreeSet::new();
        let mut numbers = BTreeSet::new();
        for complex in &self.complexes {
            if !text_ok(&complex.name) || !names.insert(complex.name.as_str()) {
                return Err(plan_error(format!(
                    "complex name {:?} is empty or used twice",
                    complex.name
                )));
            }
            if complex.floors > MAX_FLOORS
                || complex.doors_per_floor > MAX_DOORS_PER_FLOOR
                || complex.businesses.len() > MAX_BUSINESSES
            {
                return Err(plan_error(format!(
                    "complex {:?} is larger than {MAX_FLOORS} floors of {MAX_DOORS_PER_FLOOR} doors",
                    complex.name
                )));
            }
            if complex.first_number == 0 || complex.first_number > 100_000 {
                return Err(plan_error(
                    "house numbers start at 1 (and stay below 100000)",
                ));
            }
            for (_, number, _) in complex.addresses() {
                if !text_ok(&number) || number.chars().count() > 12 {
                    return Err(plan_error(format!("{number:?} is not a house number")));
                }
                if !numbers.insert(number.clone()) {
                    return Err(plan_error(format!("house number {number} is used twice")));
                }
            }
        }
        if numbers.is_empty() {
            return Err(plan_error("a street needs at least one door"));
        }
        Ok(())
    }

    /// The street document, with id `street`, written by `actor`. Complex and address
    /// ids derive from the street id and their names, so building twice gives the same
    /// ids.
    pub fn build(&self, street: Uuid, actor: ActorId) -> Result<(DocKind, AutoCommit), EditError> {
        let kind = DocKind::Street { street, epoch: 0 };
        let mut doc = kind.genesis(actor);
        put_field(&mut doc, "name", &self.name)?;
        for complex in &self.complexes {
            let complex_id = Uuid::new_v5(&street, complex.name.as_bytes()).to_string();
            put_entry(
                &mut doc,
                docs::COMPLEXES,
                &complex_id,
                &Complex {
                    name: complex.name.clone(),
                    floors: complex.floors,
                },
            )?;
            for (floor, number, kind) in complex.addresses() {
                let name = format!("{}/{number}", complex.name);
                let id = Uuid::new_v5(&street, name.as_bytes()).to_string();
                let address = Address {
                    complex: complex_id.clone(),
                    floor,
                    number,
                    kind,
                    household_epoch: 0,
                };
                put_entry(&mut doc, docs::ADDRESSES, &id, &address)?;
            }
        }
        doc.commit();
        Ok((kind, doc))
    }
}

impl FromStr for ComplexPlan {
    type Err = PlanError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            plan_error(format!(
                "{s:?} is not a complex as NAME:FLOORSxDOORS:FIRST[:BUSINESS,…], e.g. Lindenhof:4x5:1:1A,1B"
            ))
        };
        let mut parts = s.split(':').map(str::trim);
        let name = parts.next().filter(|n| !n.is_empty()).ok_or_else(bad)?;
        let (floors, doors) = parts
            .next()
            .and_then(|p| p.split_once('x'))
            .ok_or_else(bad)?;
        let first = parts.next().ok_or_else(bad)?;
        let businesses = parts
            .next()
            .map(|b| {
                b.split(',')
                    .map(str::trim)
                    .filter(|b| !b.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(ComplexPlan {
            name: name.to_string(),
            floors: floors.trim().parse().map_err(|_| bad())?,
            doors_per_floor: doors.trim().parse().map_err(|_| bad())?,
            first_number: first.parse().map_err(|_| bad())?,
            businesses,
        })
    }
}

impl fmt::Display for ComplexPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}x{}:{}",
            self.name, self.floors, self.doors_per_floor, self.first_number
        )?;
        if !self.businesses.is_empty() {
            write!(f, ":{}", self.businesses.join(","))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{docs::new_actor, model::Street};

    #[test]
    fn a_complex_reads_and_prints_the_same() {
        let complex: ComplexPlan = "Lindenhof:4x5:1:1A,1B".parse().unwrap();
        assert_eq!(complex.floors, 4);
        assert_eq!(complex.businesses, ["1A", "1B"]);
        assert_eq!(complex.to_string(), "Lindenhof:4x5:1:1A,1B");
        assert!("Lindenhof:4:1".parse::<ComplexPlan>().is_err());
        assert!("Lindenhof:4x5:een".parse::<ComplexPlan>().is_err());
    }

    #[test]
    fn a_plan_builds_a_valid_street() {
        let plan = StreetPlan {
            name: "Eikenlaan".into(),
            complexes: vec!["Eikenhof:2x3:2:2A".parse().unwrap()],
        };
        plan.check().unwrap();
        let (kind, doc) = plan.build(Uuid::now_v7(), new_actor()).unwrap();
        kind.validate(&doc).unwrap();
        let street: Street = docs::read(&doc).unwrap();
        let mut numbers: Vec<u32> = street
            .addresses
            .values()
            .filter_map(|a| a.number.parse().ok())
            .collect();
        numbers.sort();
        assert_eq!(numbers, [2, 4, 6, 8, 10, 12]);
        assert_eq!(street.addresses.len(), 7);
    }

    #[test]
    fn repeated_numbers_and_empty_names_are_refused() {
        let twice = StreetPlan {
            name: "Eikenlaan".into(),
            complexes: vec!["A:1x2:1".parse().unwrap(), "B:1x2:3".parse().unwrap()],
        };
        assert!(twice.check().unwrap_err().0.contains("used twice"));
        let nameless = StreetPlan {
            name: " ".into(),
            complexes: vec!["A:1x2:1".parse().unwrap()],
        };
        assert!(nameless.check().is_err());
    }
}
