//! The wire decoder: any bytes, as a request and as a response, with the request budget
//! (the message's inflation and the Automerge chunks' inflation inside it).
#![no_main]

use libfuzzer_sys::fuzz_target;
use voordeur_fuzz::{BUDGET, Capped, Target, start};
use voordeur_shared::sync::wire;

#[global_allocator]
static ALLOCATOR: Capped = Capped;

fuzz_target!(
    init: start(Target::Wire),
    |data: &[u8]| {
        if let Ok(request) = wire::decode_request(data, BUDGET) {
            // What decodes encodes again and reads back the same.
            let again = wire::encode_request_as(&request, wire::Compression::Deflate);
            assert_eq!(wire::decode_request(&again, usize::MAX).as_ref(), Ok(&request));
        }
        let _ = wire::decode_response(data, BUDGET);
    }
);
