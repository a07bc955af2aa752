//! The whole sync exchange in-process: the first byte picks who syncs (one of each role),
//! the rest is a request's postcard bytes, put on the wire as the field app would
//! (DEFLATE) and decoded with the request budget; then `exchange::run` against a copy of
//! the seeded store (the demo street, households, confidential documents).
#![no_main]

use libfuzzer_sys::fuzz_target;
use voordeur_fuzz::{BUDGET, Capped, Target, start, wire_request, world};
use voordeur_shared::sync::wire;

#[global_allocator]
static ALLOCATOR: Capped = Capped;

fuzz_target!(
    init: start(Target::Exchange),
    |data: &[u8]| {
        let Some((&who, plain)) = data.split_first() else {
            return;
        };
        let Ok(request) = wire::decode_request(&wire_request(plain), BUDGET) else {
            return;
        };
        world().exchange(who, request);
    }
);
