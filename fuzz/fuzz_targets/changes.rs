//! The strict change parser: any bytes as a document's offered changes, charged to the
//! request budget first (as the wire decoder does), then parsed, checked against the
//! seeded street and applied to a copy of it, as `merge_offer` does.
#![no_main]

use libfuzzer_sys::fuzz_target;
use voordeur_fuzz::{BUDGET, Capped, Target, start, world};
use voordeur_shared::sync::chunks::{self, Budget};

#[global_allocator]
static ALLOCATOR: Capped = Capped;

fuzz_target!(
    init: start(Target::Changes),
    |data: &[u8]| {
        let mut budget = Budget::new(BUDGET);
        if chunks::charge(data, &mut budget).is_err() {
            return;
        }
        let Ok(changes) = chunks::parse_changes(data) else {
            return;
        };
        let mut doc = world().street().clone();
        if let Ok(changes) = chunks::check_against(&mut doc, changes) {
            let _ = doc.apply_changes(changes);
        }
    }
);
