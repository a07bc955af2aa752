//! The demo that ships with Voordeur: a street of two complexes of twenty apartments (four
//! floors of five) above a ground floor with three businesses, the three partner
//! organisations and one person in every role, so that one command shows a street that
//! looks real. The street's id is fixed, so seeding it twice changes nothing.

use automerge::{ActorId, AutoCommit};
use uuid::Uuid;

use crate::{
    access::Role,
    docs::{DocKind, EditError},
    layout::{ComplexPlan, StreetPlan},
    model::Partner,
};

const DEMO_NAMESPACE: Uuid = Uuid::from_u128(0x0d3e_7a51_c8b2_4f6e_8d0a_51e2_96b7_c4d8);

fn demo_id(name: &str) -> Uuid {
    Uuid::new_v5(&DEMO_NAMESPACE, name.as_bytes())
}

/// The demo street's id.
pub fn street_id() -> Uuid {
    demo_id("street")
}

/// The demo street's name.
pub const STREET_NAME: &str = "Lindenstraat";

/// The demo street's layout.
pub fn plan() -> StreetPlan {
    let complex = |name: &str, first_number, businesses: &[&str]| ComplexPlan {
        name: name.to_string(),
        floors: 4,
        doors_per_floor: 5,
        first_number,
        businesses: businesses.iter().map(|b| b.to_string()).collect(),
    };
    StreetPlan {
        name: STREET_NAME.to_string(),
        complexes: vec![
            complex("Lindenhof", 1, &["1A", "1B"]),
            complex("Kastanjehof", 41, &["41A"]),
        ],
    }
}

/// The demo street document, written by `actor`.
pub fn street(actor: ActorId) -> Result<(DocKind, AutoCommit), EditError> {
    plan().build(street_id(), actor)
}

/// The demo's partner organisations, as (name, partner).
pub const ORGANISATIONS: [(&str, Partner); 3] = [
    ("Woonstede", Partner::Corporation),
    ("Zorggroep De Linde", Partner::CareOrganisation),
    ("Gemeente", Partner::Municipality),
];

/// The demo's people, as (username, display name, role, organisation), all with the
/// password [`PASSWORD`] and, but for the administrator, working in the demo street.
pub const PEOPLE: [(&str, &str, Role, Option<&str>); 6] = [
    (
        "sanne",
        "Sanne (buurtcoach)",
        Role::CommunityBuilder,
        Some("Gemeente"),
    ),
    (
        "karim",
        "Karim (coach zorg)",
        Role::Coach,
        Some("Zorggroep De Linde"),
    ),
    (
        "els",
        "Els (coördinator zorg)",
        Role::Coordinator,
        Some("Zorggroep De Linde"),
    ),
    (
        "joost",
        "Joost (coördinator gemeente)",
        Role::Coordinator,
        Some("Gemeente"),
    ),
    (
        "mirjam",
        "Mirjam (coördinator corporatie)",
        Role::Coordinator,
        Some("Woonstede"),
    ),
    ("beheer", "Beheerder", Role::Administrator, None),
];

/// The demo accounts' password. Only a server started with `--demo` has these accounts.
pub const PASSWORD: &str = "voordeur-demo";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        docs::new_actor,
        model::{AddressKind, Street},
    };

    #[test]
    fn the_demo_street_has_forty_apartments_and_three_businesses() {
        let (kind, doc) = street(new_actor()).unwrap();
        kind.validate(&doc).unwrap();
        let street: Street = crate::docs::read(&doc).unwrap();
        let count = |k| street.addresses.values().filter(|a| a.kind == k).count();
        assert_eq!(street.complexes.len(), 2);
        assert_eq!(count(AddressKind::Apartment), 40);
        assert_eq!(count(AddressKind::Business), 3);
        let numbers: std::collections::BTreeSet<_> = street
            .addresses
            .values()
            .map(|a| a.number.clone())
            .collect();
        assert_eq!(numbers.len(), 43, "house numbers are unique");
    }
}
