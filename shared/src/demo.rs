//! The demo street that ships with Voordeur: two complexes of twenty apartments (four
//! floors of five) above a ground floor with three businesses, so that one command shows
//! a street that looks real. Its ids are fixed, so seeding it twice changes nothing.

use automerge::{ActorId, AutoCommit};
use uuid::Uuid;

use crate::{
    docs::{DocKind, EditError, put_entry, put_field},
    model::{Address, AddressKind, Complex},
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

/// (complex name, first house number, business numbers on its ground floor)
const COMPLEXES: [(&str, u32, &[&str]); 2] = [
    ("Lindenhof", 1, &["1A", "1B"]),
    ("Kastanjehof", 41, &["41A"]),
];
const FLOORS: u32 = 4;
const DOORS_PER_FLOOR: u32 = 5;

/// The demo street document, written by `actor`.
pub fn street(actor: ActorId) -> Result<(DocKind, AutoCommit), EditError> {
    let kind = DocKind::Street {
        street: street_id(),
    };
    let mut doc = kind.genesis(actor);
    put_field(&mut doc, "name", &STREET_NAME)?;
    for (name, first_number, businesses) in COMPLEXES {
        let complex_id = demo_id(name).to_string();
        put_entry(
            &mut doc,
            "complexes",
            &complex_id,
            &Complex {
                name: name.to_string(),
                floors: FLOORS,
            },
        )?;
        let apartments = (1..=FLOORS).flat_map(|floor| {
            (0..DOORS_PER_FLOOR).map(move |door| {
                let number = first_number + (floor - 1) * DOORS_PER_FLOOR * 2 + door * 2;
                (floor, number.to_string(), AddressKind::Apartment)
            })
        });
        let shops = businesses
            .iter()
            .map(|number| (0, number.to_string(), AddressKind::Business));
        for (floor, number, kind) in shops.chain(apartments) {
            let id = demo_id(&format!("{name}/{number}")).to_string();
            let address = Address {
                complex: complex_id.clone(),
                floor,
                number,
                kind,
                household_epoch: 0,
            };
            put_entry(&mut doc, "addresses", &id, &address)?;
        }
    }
    doc.commit();
    Ok((kind, doc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{docs::new_actor, model::Street};

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
