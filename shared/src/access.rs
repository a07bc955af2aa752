//! Who may see and change which document: the one rule the server enforces on every sync
//! and read, and the app uses to show only what a person may do.
//!
//! A person works for one organisation (one of the three partners), in a role, in the
//! streets an administrator assigned them to. Outside those streets they see nothing.
//! Inside them:
//!
//! | document | community builder, coach | coordinator | administrator |
//! |---|---|---|---|
//! | street (outcomes, wishes, activities) | read, write | read; their organisation's follow-ups of wishes | — |
//! | household (notes, consent, contact) | read, write | read | — |
//! | confidential, own organisation's | read, write | read; its signals' follow-up | — |
//! | confidential, another organisation's | add signals | — | — |
//!
//! "Add signals" is write-only: it is how a signal reaches the organisation it is for. A
//! builder of the municipality who hears of a care need records it in the care
//! organisation's document of that household; the server merges the change, but never
//! sends that document (or anyone else's signals in it) to the builder, and the change may
//! only add signals and edit the builder's own ([`Write::ADD_SIGNALS`]).
//!
//! What may be written is a [`Write`]: places in the document and whether others' values
//! may be changed. The server checks it on every operation of every change, against the
//! rights of the change's author (the account that first brought its actor), not of
//! whoever sends it (`crate::sync::rules`). Administrators set up streets, organisations and
//! accounts; they do not read residents' data through the sync.

use std::collections::BTreeSet;

use uuid::Uuid;

use crate::{docs::DocKind, model::Partner};

/// What a person does.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Buurtcoach / community builder: walks the street and records every door.
    CommunityBuilder,
    /// A coach of a partner (usually the care organisation): records and follows up.
    Coach,
    /// Coordinator of a partner: reads everything their organisation may see.
    Coordinator,
    /// Sets up streets, organisations and accounts.
    Administrator,
}

impl Role {
    pub const ALL: [Role; 4] = [
        Role::CommunityBuilder,
        Role::Coach,
        Role::Coordinator,
        Role::Administrator,
    ];

    /// The name used in the database, the API and on the command line.
    pub fn label(self) -> &'static str {
        match self {
            Role::CommunityBuilder => "community_builder",
            Role::Coach => "coach",
            Role::Coordinator => "coordinator",
            Role::Administrator => "administrator",
        }
    }

    pub fn from_label(label: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.label() == label)
    }

    /// Whether people in this role record visits.
    fn records(self) -> bool {
        matches!(self, Role::CommunityBuilder | Role::Coach)
    }
}

impl Partner {
    /// The name used in the database, the API and on the command line.
    pub fn label(self) -> &'static str {
        match self {
            Partner::Corporation => "corporation",
            Partner::CareOrganisation => "care_organisation",
            Partner::Municipality => "municipality",
        }
    }

    pub fn from_label(label: &str) -> Option<Partner> {
        Partner::ALL.into_iter().find(|p| p.label() == label)
    }
}

/// What a person may do with one document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    /// The server sends the document's content.
    pub read: bool,
    /// What of the document the server accepts changes to, if anything.
    pub write: Option<Write>,
}

impl Access {
    pub const NONE: Access = Access {
        read: false,
        write: None,
    };
    pub const READ: Access = Access {
        read: true,
        write: None,
    };
    pub const WRITE_ONLY: Access = Access {
        read: false,
        write: Some(Write::ADD_SIGNALS),
    };
    pub const READ_WRITE: Access = Access {
        read: true,
        write: Some(Write::EVERYTHING),
    };

    /// Whether the document may be touched at all.
    pub fn any(self) -> bool {
        self.read || self.write.is_some()
    }

    /// Whether every part of the document may be changed (what recording at a door needs).
    pub fn writes_everything(self) -> bool {
        self.write == Some(Write::EVERYTHING)
    }
}

/// Where in a document a person may write, checked on every operation of every change
/// they make (`crate::sync::rules`), whoever sends it.
///
/// A place is a path of map keys from the document's root; `*` stands for any one key. An
/// operation lands where the value it writes, deletes or inserts into lives: a map entry's
/// place is its object's path and its key; anything inside a list or text is at the list's
/// or text's path. An operation is allowed if its place starts with one of `within`.
///
/// [`Write::OWN`] in a place stands for the author's own partner (its label, as in
/// `follow_ups/corporation/…`): a coordinator of the corporation writes the corporation's
/// follow-ups and no other partner's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Write {
    pub within: &'static [&'static [&'static str]],
    /// Whether values another account wrote may be overwritten, deleted or hidden behind a
    /// concurrent value. Without it a person adds new entries and edits only what their own
    /// account wrote.
    pub over_others: bool,
}

impl Write {
    /// The whole document (it must still keep its schema).
    pub const EVERYTHING: Write = Write {
        within: &[&[]],
        over_others: true,
    };
    /// New signals in another partner's confidential document, and edits of one's own.
    pub const ADD_SIGNALS: Write = Write {
        within: &[&["signals", "*"]],
        over_others: false,
    };
    /// In a place: the author's own partner's label.
    pub const OWN: &'static str = "@own";
    /// A coordinator's follow-ups of wishes in the street document: their organisation's
    /// (taking a wish on, its status and note), nothing else.
    pub const WISH_FOLLOW_UP: Write = Write {
        within: &[&["follow_ups", Write::OWN]],
        over_others: true,
    };
    /// A coordinator's follow-up of their organisation's signals: each signal's status,
    /// who picked it up and when, and a note; never what the signal says.
    pub const SIGNAL_FOLLOW_UP: Write = Write {
        within: &[
            &["signals", "*", "status"],
            &["signals", "*", "note"],
            &["signals", "*", "picked_by"],
            &["signals", "*", "picked_at_ms"],
            &["signals", "*", "moved_ms"],
        ],
        over_others: true,
    };

    /// Whether `place` is exactly one of `within`: an entry of a collection, as opposed
    /// to a field inside one. `partner` is the author's.
    pub fn is_entry(&self, place: &[&str], partner: Option<Partner>) -> bool {
        self.within
            .iter()
            .any(|prefix| prefix.len() == place.len() && Write::matches(prefix, place, partner))
    }

    fn matches(prefix: &[&str], place: &[&str], partner: Option<Partner>) -> bool {
        prefix.iter().zip(place).all(|(want, key)| match *want {
            "*" => true,
            Write::OWN => partner.is_some_and(|p| p.label() == *key),
            want => want == *key,
        })
    }

    /// Whether an operation landing at `place` is inside what this allows, for an author
    /// of `partner`.
    pub fn allows(&self, place: &[&str], partner: Option<Partner>) -> bool {
        self.within
            .iter()
            .any(|prefix| prefix.len() <= place.len() && Write::matches(prefix, place, partner))
    }
}

/// Everything that decides what one person may do: their role, their organisation's
/// partner kind (none for an administrator without one) and their streets.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Grant {
    pub role: Role,
    pub partner: Option<Partner>,
    pub streets: BTreeSet<Uuid>,
}

impl Grant {
    /// What this person may do with a document of `kind`.
    pub fn access(&self, kind: &DocKind) -> Access {
        if !self.streets.contains(&kind.street()) {
            return Access::NONE;
        }
        let (own, other) = match self.role {
            Role::Administrator => return Access::NONE,
            role if role.records() => (Access::READ_WRITE, Access::WRITE_ONLY),
            _ => (Access::READ, Access::NONE),
        };
        let follows_up = |write| Access {
            read: true,
            write: Some(write),
        };
        let coordinator = self.role == Role::Coordinator;
        match kind {
            DocKind::Street { .. } if coordinator => follows_up(Write::WISH_FOLLOW_UP),
            DocKind::Street { .. } | DocKind::Household { .. } => own,
            DocKind::Confidential { partner, .. } if self.partner == Some(*partner) => {
                if coordinator {
                    follows_up(Write::SIGNAL_FOLLOW_UP)
                } else {
                    own
                }
            }
            DocKind::Confidential { .. } => other,
        }
    }

    /// Whether this person may follow `street` (receive its documents).
    pub fn follows(&self, street: Uuid) -> bool {
        self.role != Role::Administrator && self.streets.contains(&street)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STREET: Uuid = Uuid::from_u128(1);
    const ADDRESS: Uuid = Uuid::from_u128(2);

    fn grant(role: Role, partner: Partner) -> Grant {
        Grant {
            role,
            partner: Some(partner),
            streets: BTreeSet::from([STREET]),
        }
    }

    fn confidential(partner: Partner) -> DocKind {
        DocKind::Confidential {
            street: STREET,
            address: ADDRESS,
            epoch: 0,
            partner,
        }
    }

    #[test]
    fn care_signals_are_read_only_inside_the_care_organisation() {
        let care = confidential(Partner::CareOrganisation);
        for role in Role::ALL {
            for partner in Partner::ALL {
                let access = grant(role, partner).access(&care);
                let inside = partner == Partner::CareOrganisation;
                assert_eq!(
                    access.read,
                    inside && role != Role::Administrator,
                    "{role:?} of {partner:?}"
                );
            }
        }
    }

    #[test]
    fn builders_may_hand_a_signal_to_another_partner_without_reading_it() {
        let builder = grant(Role::CommunityBuilder, Partner::Municipality);
        assert_eq!(
            builder.access(&confidential(Partner::CareOrganisation)),
            Access::WRITE_ONLY
        );
        let coordinator = grant(Role::Coordinator, Partner::Municipality);
        assert_eq!(
            coordinator.access(&confidential(Partner::CareOrganisation)),
            Access::NONE
        );
    }

    #[test]
    fn a_coordinator_follows_up_only_their_own_organisations_work() {
        let coordinator = grant(Role::Coordinator, Partner::Corporation);
        let street = coordinator.access(&DocKind::Street {
            street: STREET,
            epoch: 0,
        });
        let write = street.write.unwrap();
        let own = Some(Partner::Corporation);
        assert!(write.allows(&["follow_ups", "corporation", "w1"], own));
        assert!(write.allows(&["follow_ups", "corporation", "w1", "status"], own));
        assert!(!write.allows(&["follow_ups", "municipality", "w1"], own));
        assert!(!write.allows(&["follow_ups", "corporation"], None));
        assert!(!write.allows(&["wishes", "w1", "status"], own));
        assert!(!write.allows(&["visits", "v1"], own));
        let signals = coordinator
            .access(&confidential(Partner::Corporation))
            .write
            .unwrap();
        assert!(signals.allows(&["signals", "s1", "status"], own));
        assert!(!signals.allows(&["signals", "s1", "text"], own));
        assert!(!signals.allows(&["signals", "s1"], own));
        assert_eq!(
            coordinator.access(&confidential(Partner::CareOrganisation)),
            Access::NONE
        );
    }

    #[test]
    fn nothing_outside_ones_streets() {
        let mut coach = grant(Role::Coach, Partner::CareOrganisation);
        coach.streets.clear();
        assert_eq!(
            coach.access(&DocKind::Street {
                street: STREET,
                epoch: 0
            }),
            Access::NONE
        );
        assert!(!coach.follows(STREET));
    }

    #[test]
    fn labels_round_trip() {
        for role in Role::ALL {
            assert_eq!(Role::from_label(role.label()), Some(role));
        }
        for partner in Partner::ALL {
            assert_eq!(Partner::from_label(partner.label()), Some(partner));
        }
    }
}
