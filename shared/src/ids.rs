//! Typed ids: a street, an address, a visit and an account are each a UUID, and each has
//! its own type, so one can't be passed where another is meant.
//!
//! They read and write as the UUID's hyphenated text in every format (JSON and postcard
//! alike): the app's stored records kept these ids as strings before they had types, and
//! still read the same.

use std::{fmt, str::FromStr};

use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub Uuid);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map($name)
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                $name(id)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(&self.0.hyphenated())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

id_type!(
    /// A street (werkgebied): its street document's id follows from it.
    StreetId
);
id_type!(
    /// An address (an apartment or a business) in a street document.
    AddressId
);
id_type!(
    /// A visit in a street document (a UUID v7, so ids sort by time); its conversation in
    /// the household document and its wishes and signals name it.
    VisitId
);
id_type!(
    /// A person's account on the server.
    AccountId
);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn an_id_reads_and_writes_as_the_text_it_was_stored_as_before_it_had_a_type() {
        let text = "0191a3b2-7c4d-7e8f-9a0b-1c2d3e4f5a6b".to_string();
        let stored = postcard::to_allocvec(&text).unwrap();
        let id: VisitId = postcard::from_bytes(&stored).unwrap();
        assert_eq!(id.to_string(), text);
        assert_eq!(postcard::to_allocvec(&id).unwrap(), stored);
    }

    #[test]
    fn text_that_is_no_uuid_is_an_error() {
        assert!("door 12".parse::<AddressId>().is_err());
        let stored = postcard::to_allocvec(&"door 12".to_string()).unwrap();
        assert!(postcard::from_bytes::<AddressId>(&stored).is_err());
    }
}
