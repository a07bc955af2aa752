//! The byte encoding of sync messages.
//!
//! A message is a five-byte header, `V` `D`, the format version, a tag (`Q` for a
//! request, `R` for a response) and the compression (`B` Brotli, `D` DEFLATE), followed by
//! the message in postcard encoding, compressed. Automerge change chunks repeat actor ids, dependency hashes and keys from
//! change to change, so compressing a whole request at once pays; Brotli's 4 MiB window
//! finds repetition anywhere in a message, where DEFLATE's 32 KiB window missed much of it
//! (see docs/benchmarks.md).

use std::io::{Read, Write};

use serde::{Serialize, de::DeserializeOwned};

use super::{
    SyncRequest, SyncResponse,
    chunks::{self, Budget, ChargeError, ReadError},
};
use crate::docs::DocumentId;

const MAGIC: [u8; 2] = *b"VD";
const VERSION: u8 = 2;
const REQUEST_TAG: u8 = b'Q';
const RESPONSE_TAG: u8 = b'R';
/// Brotli quality and window (2^22 = 4 MiB, so repetition across a whole message counts).
#[cfg(feature = "brotli")]
const QUALITY: u32 = 9;
#[cfg(feature = "brotli")]
const WINDOW_BITS: u32 = 22;

/// The media type of sync messages on HTTP.
pub const CONTENT_TYPE: &str = "application/vnd.voordeur.sync";

/// How a message's body is compressed (the fifth byte of a message).
///
/// Brotli makes the smaller messages; DEFLATE is what the field app sends, because its
/// encoder is already in the app (Automerge compresses with it) and Brotli's would add a
/// quarter of a megabyte to every phone's download. The server answers in the
/// compression of the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Brotli,
    Deflate,
}

impl Compression {
    /// The best compression this build can write.
    pub const BEST: Compression = if cfg!(feature = "brotli") {
        Compression::Brotli
    } else {
        Compression::Deflate
    };

    fn byte(self) -> u8 {
        match self {
            Compression::Brotli => b'B',
            Compression::Deflate => b'D',
        }
    }

    fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            b'B' => Some(Compression::Brotli),
            b'D' => Some(Compression::Deflate),
            _ => None,
        }
    }
}

/// Why bytes could not be read as a sync message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("message is {0} bytes, shorter than its header")]
    TooShort(usize),
    #[error("message does not start with the Voordeur sync header")]
    BadMagic,
    #[error("message format version {0} is not supported (this side speaks {VERSION})")]
    UnsupportedVersion(u8),
    #[error("expected a {expected} but the message is tagged {found:?}")]
    WrongTag { expected: &'static str, found: char },
    #[error("message compression {0:?} is not supported here")]
    UnsupportedCompression(char),
    #[error("message does not decompress: {0}")]
    Inflate(String),
    /// The message, or the Automerge chunks inside it, inflate to more than the
    /// message's budget.
    #[error("message decompresses to more than {limit} bytes")]
    TooLarge { limit: usize },
    /// The changes offered for a document are not Automerge chunks as far as their layout
    /// goes, so how much they would inflate cannot be told.
    #[error("changes for document {id} are not valid Automerge: {reason}")]
    BadChanges { id: DocumentId, reason: String },
    #[error("message does not decode: {0}")]
    Decode(String),
}

fn encode<T: Serialize>(tag: u8, message: &T, compression: Compression) -> Vec<u8> {
    let plain = postcard::to_allocvec(message).expect("sync messages always serialize");
    let mut out = Vec::with_capacity(plain.len() / 2 + 8);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&[VERSION, tag, compression.byte()]);
    match compression {
        #[cfg(feature = "brotli")]
        Compression::Brotli => {
            let mut encoder = brotli::CompressorWriter::new(&mut out, 4096, QUALITY, WINDOW_BITS);
            encoder
                .write_all(&plain)
                .expect("writing to a Vec cannot fail");
        }
        #[cfg(not(feature = "brotli"))]
        Compression::Brotli => unreachable!("Compression::BEST is Deflate without brotli"),
        Compression::Deflate => {
            let mut encoder =
                flate2::write::DeflateEncoder::new(&mut out, flate2::Compression::best());
            encoder
                .write_all(&plain)
                .and_then(|()| encoder.try_finish())
                .expect("writing to a Vec cannot fail");
        }
    }
    out
}

const HEADER_LEN: usize = 5;

fn decode<T: DeserializeOwned + Carries>(
    bytes: &[u8],
    tag: u8,
    expected: &'static str,
    max_inflated: usize,
) -> Result<T, WireError> {
    let (header, body) = bytes
        .split_at_checked(HEADER_LEN)
        .ok_or(WireError::TooShort(bytes.len()))?;
    if header[..2] != MAGIC {
        return Err(WireError::BadMagic);
    }
    if header[2] != VERSION {
        return Err(WireError::UnsupportedVersion(header[2]));
    }
    if header[3] != tag {
        return Err(WireError::WrongTag {
            expected,
            found: char::from(header[3]),
        });
    }
    let unsupported = || WireError::UnsupportedCompression(char::from(header[4]));
    let compression = Compression::from_byte(header[4]).ok_or_else(unsupported)?;
    let reader: Box<dyn Read + '_> = match compression {
        #[cfg(feature = "brotli")]
        Compression::Brotli => {
            // The decoder allocates the window the stream asks for, before any output
            // counts against the budget: up to 1 GiB with the large-window extension.
            match body.first().and_then(|first| brotli_window_bits(*first)) {
                Some(bits) if bits <= WINDOW_BITS => {}
                _ => {
                    return Err(WireError::Inflate(format!(
                        "the Brotli window is larger than 2^{WINDOW_BITS} bytes"
                    )));
                }
            }
            Box::new(brotli::Decompressor::new(body, 4096))
        }
        #[cfg(not(feature = "brotli"))]
        Compression::Brotli => return Err(unsupported()),
        Compression::Deflate => Box::new(flate2::read::DeflateDecoder::new(body)),
    };
    // One budget for all the inflating this message causes: the message itself, then
    // every compressed Automerge chunk or column inside it (see `chunks`), counted before
    // Automerge ever parses them.
    let mut budget = Budget::new(max_inflated);
    let mut plain = Vec::new();
    budget
        .read_to_end(reader, &mut plain)
        .map_err(|e| match e {
            ReadError::OverBudget(_) => WireError::TooLarge {
                limit: max_inflated,
            },
            ReadError::Inflate(e) => WireError::Inflate(e),
        })?;
    let message: T = postcard::from_bytes(&plain).map_err(|e| WireError::Decode(e.to_string()))?;
    drop(plain);
    for (id, changes) in message.changes() {
        chunks::charge(changes, &mut budget).map_err(|e| match e {
            ChargeError::OverBudget(_) => WireError::TooLarge {
                limit: max_inflated,
            },
            ChargeError::Damaged(reason) => WireError::BadChanges { id, reason },
        })?;
    }
    Ok(message)
}

/// A message that carries Automerge changes per document.
trait Carries {
    fn changes(&self) -> impl Iterator<Item = (DocumentId, &[u8])>;
}

impl Carries for SyncRequest {
    fn changes(&self) -> impl Iterator<Item = (DocumentId, &[u8])> {
        self.docs.iter().map(|offer| (offer.id, &offer.changes[..]))
    }
}

impl Carries for SyncResponse {
    fn changes(&self) -> impl Iterator<Item = (DocumentId, &[u8])> {
        self.docs.iter().map(|reply| (reply.id, &reply.changes[..]))
    }
}

/// The window size (as a power of two) a Brotli stream declares in its first byte (RFC 7932,
/// 9.1); `None` for the large-window extension (up to 2^30), which this side never writes.
#[cfg(feature = "brotli")]
fn brotli_window_bits(first: u8) -> Option<u32> {
    if first & 1 == 0 {
        return Some(16);
    }
    match (first >> 1) & 0b111 {
        0 => match (first >> 4) & 0b111 {
            0 => Some(17),
            1 => None,
            m => Some(8 + u32::from(m)),
        },
        n => Some(17 + u32::from(n)),
    }
}

/// The compression of a message, as its header says.
pub fn compression_of(bytes: &[u8]) -> Option<Compression> {
    bytes.get(4).copied().and_then(Compression::from_byte)
}

/// A request, compressed as well as this build can.
pub fn encode_request(request: &SyncRequest) -> Vec<u8> {
    encode(REQUEST_TAG, request, Compression::BEST)
}

pub fn encode_request_as(request: &SyncRequest, compression: Compression) -> Vec<u8> {
    encode(REQUEST_TAG, request, compression)
}

/// A response, compressed as well as this build can.
pub fn encode_response(response: &SyncResponse) -> Vec<u8> {
    encode(RESPONSE_TAG, response, Compression::BEST)
}

pub fn encode_response_as(response: &SyncResponse, compression: Compression) -> Vec<u8> {
    encode(RESPONSE_TAG, response, compression)
}

/// Reads a request, refusing one that inflates to more than `max_inflated` bytes: the
/// message and every compressed Automerge chunk or column in it together (see
/// [`chunks::charge`]), so what Automerge inflates later is bounded too.
pub fn decode_request(bytes: &[u8], max_inflated: usize) -> Result<SyncRequest, WireError> {
    decode(bytes, REQUEST_TAG, "request", max_inflated)
}

/// Reads a response, refusing one that inflates to more than `max_inflated` bytes, the
/// Automerge chunks in it included (as [`decode_request`]).
pub fn decode_response(bytes: &[u8], max_inflated: usize) -> Result<SyncResponse, WireError> {
    decode(bytes, RESPONSE_TAG, "response", max_inflated)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        docs::{DocKind, DocumentId},
        sync::DocOffer,
    };

    fn request() -> SyncRequest {
        let kind = DocKind::Street {
            street: uuid::Uuid::from_u128(7),
            epoch: 0,
        };
        let mut doc = kind.genesis(crate::docs::new_actor());
        SyncRequest {
            id: 1,
            streets: vec![kind.street()],
            docs: vec![DocOffer {
                id: kind.id(),
                kind: Some(kind),
                since: Some(vec![]),
                heads: vec![],
                changes: doc.save_after(&[]),
            }],
        }
    }

    #[test]
    fn a_request_survives_the_round_trip_in_either_compression() {
        for compression in [Compression::Brotli, Compression::Deflate] {
            let bytes = encode_request_as(&request(), compression);
            assert_eq!(compression_of(&bytes), Some(compression));
            assert_eq!(decode_request(&bytes, 1 << 20), Ok(request()));
        }
    }

    #[test]
    fn every_kind_of_damage_is_named() {
        let good = encode_request(&request());
        assert_eq!(
            decode_request(&good[..3], 1 << 20),
            Err(WireError::TooShort(3))
        );
        assert_eq!(
            decode_request(b"GET / HTTP", 1 << 20),
            Err(WireError::BadMagic)
        );
        let mut future = good.clone();
        future[2] = 9;
        assert_eq!(
            decode_request(&future, 1 << 20),
            Err(WireError::UnsupportedVersion(9))
        );
        assert!(matches!(
            decode_response(&good, 1 << 20),
            Err(WireError::WrongTag { .. })
        ));
        let mut unknown = good.clone();
        unknown[4] = b'Z';
        assert_eq!(
            decode_request(&unknown, 1 << 20),
            Err(WireError::UnsupportedCompression('Z'))
        );
        let mut garbled = good.clone();
        garbled.truncate(good.len() - 3);
        garbled.extend_from_slice(&[0xff; 16]);
        assert!(decode_request(&garbled, 1 << 20).is_err());
        assert_eq!(
            decode_request(&good, 4),
            Err(WireError::TooLarge { limit: 4 })
        );
    }

    #[test]
    fn a_compression_bomb_is_refused_without_inflating_it_all() {
        let zeros = SyncRequest {
            id: 1,
            streets: vec![],
            docs: vec![DocOffer {
                id: DocumentId(uuid::Uuid::nil()),
                kind: None,
                since: None,
                heads: vec![],
                changes: vec![0; 50 << 20],
            }],
        };
        for compression in [Compression::Brotli, Compression::Deflate] {
            let bytes = encode_request_as(&zeros, compression);
            assert!(bytes.len() < 200_000, "{} bytes", bytes.len());
            assert_eq!(
                decode_request(&bytes, 1 << 20),
                Err(WireError::TooLarge { limit: 1 << 20 })
            );
        }
    }

    /// A request with `changes` for one document.
    fn carrying(changes: Vec<u8>) -> SyncRequest {
        let mut request = request();
        request.docs[0].changes = changes;
        request
    }

    /// A compressed change chunk whose body is `inflated` bytes of zeros: not a valid
    /// change, but Automerge inflates it before it can tell.
    fn bomb(inflated: usize) -> Vec<u8> {
        let mut encoder =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![0u8; 1 << 20];
        let mut left = inflated;
        while left > 0 {
            let n = left.min(zeros.len());
            encoder.write_all(&zeros[..n]).unwrap();
            left -= n;
        }
        let deflated = encoder.finish().unwrap();
        let mut chunk = vec![0x85, 0x6f, 0x4a, 0x83, 0, 0, 0, 0, 2];
        let mut n = deflated.len() as u64;
        while n >= 0x80 {
            chunk.push((n as u8) | 0x80);
            n >>= 7;
        }
        chunk.push(n as u8);
        chunk.extend_from_slice(&deflated);
        chunk
    }

    #[test]
    fn the_chunks_inside_a_message_share_its_budget() {
        let limit = 4 << 20;
        // Inflating to 3 MiB inside a small message fits the budget (and then fails as
        // the damaged change it is, later, in `parse_changes`).
        let fits = encode_request(&carrying(bomb(3 << 20)));
        assert!(fits.len() < 10_000, "{}", fits.len());
        assert!(decode_request(&fits, limit).is_ok());
        // Twice that in two chunks does not: one budget for the whole message.
        let mut two = bomb(3 << 20);
        two.extend(bomb(3 << 20));
        assert_eq!(
            decode_request(&encode_request(&carrying(two)), limit),
            Err(WireError::TooLarge { limit })
        );
        // Nor does a gibibyte.
        let gib = encode_request(&carrying(bomb(1 << 30)));
        assert!(gib.len() < 2 << 20, "{}", gib.len());
        assert_eq!(
            decode_request(&gib, limit),
            Err(WireError::TooLarge { limit })
        );
        // Responses are held to their budget just the same.
        let response = SyncResponse {
            request: 1,
            docs: vec![crate::sync::DocReply {
                id: DocumentId(uuid::Uuid::nil()),
                kind: None,
                status: crate::sync::ReplyStatus::Merged,
                heads: None,
                changes: bomb(8 << 20),
            }],
        };
        assert_eq!(
            decode_response(&encode_response(&response), limit),
            Err(WireError::TooLarge { limit })
        );
    }

    /// Found by fuzzing (the `wire` target, crash-ca31764151f9c950260e273b74dde02d2d920fc8):
    /// a budget of `usize::MAX` (no limit) overflowed while reading.
    #[test]
    fn an_unlimited_budget_reads() {
        let bytes = encode_request_as(&request(), Compression::Deflate);
        assert_eq!(decode_request(&bytes, usize::MAX), Ok(request()));
        let found = b"VD\x02QD\xfb\xdds\xb2yicc\xb3:\xa3\x80=\xc3\x01\xaeY\x09\x01\xff\xa7\xed\xd3\xd6\xac.pQa\x00\x00";
        if let Ok(request) = decode_request(found, 8 << 20) {
            let again = encode_request_as(&request, Compression::Deflate);
            assert_eq!(decode_request(&again, usize::MAX), Ok(request));
        }
    }

    /// Found by fuzzing (the `wire` target, crash-b8a4dd51b2f1a10cb6a0711b7efcad29135a763e):
    /// a Brotli stream asking for a large window made the decoder allocate it (over
    /// 24 MiB from a 100-byte request) before a byte of output.
    #[test]
    fn a_brotli_window_larger_than_ours_is_refused() {
        let found = include_bytes!("../../tests/fuzzed/wire-b8a4dd51.bin");
        assert!(matches!(
            decode_request(found, 8 << 20),
            Err(WireError::Inflate(e)) if e.contains("window")
        ));
        // What this side writes passes, whatever the message's size.
        for size in [0, 100, 1 << 20] {
            let mut request = request();
            request.docs[0].heads = vec![crate::sync::Hash([7; 32]); size / 32];
            let bytes = encode_request_as(&request, Compression::Brotli);
            assert!(brotli_window_bits(bytes[5]).is_some_and(|bits| bits <= WINDOW_BITS));
            assert_eq!(decode_request(&bytes, 64 << 20), Ok(request));
        }
        // The header's forms (RFC 7932, 9.1).
        assert_eq!(brotli_window_bits(0b0000_0000), Some(16));
        assert_eq!(brotli_window_bits(0b0000_1011), Some(22));
        assert_eq!(brotli_window_bits(0b0000_1111), Some(24));
        assert_eq!(brotli_window_bits(0b0000_0001), Some(17));
        assert_eq!(brotli_window_bits(0b0011_0001), Some(11));
        assert_eq!(brotli_window_bits(0x11), None, "large window");
    }

    #[test]
    fn changes_whose_layout_does_not_read_are_refused_with_their_document() {
        let request = carrying(b"not automerge".to_vec());
        let id = request.docs[0].id;
        assert!(matches!(
            decode_request(&encode_request(&request), 1 << 20),
            Err(WireError::BadChanges { id: found, .. }) if found == id
        ));
    }
}
