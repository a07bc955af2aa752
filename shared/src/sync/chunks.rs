//! Strict reading of Automerge change bytes received from a peer.
//!
//! `AutoCommit::load_incremental` skips whatever it cannot parse and keeps the rest; a
//! server must instead refuse damaged input whole. This splits the bytes into Automerge
//! chunks by their headers, parses each (checking its checksum), and returns the changes,
//! or names the first chunk that is wrong.

use automerge::{AutoCommit, Bundle, Change};

/// Every Automerge chunk starts with these bytes.
const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
const DOCUMENT: u8 = 0;
const CHANGE: u8 = 1;
const COMPRESSED_CHANGE: u8 = 2;
const BUNDLE: u8 = 3;

fn uleb128(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value: u64 = 0;
    for (i, byte) in bytes.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

/// The changes in `bytes` (change chunks, or whole saved documents).
pub fn parse_changes(mut bytes: &[u8]) -> Result<Vec<Change>, String> {
    let mut changes = Vec::new();
    let mut index = 0;
    while !bytes.is_empty() {
        let bad = |what: &str| format!("chunk {index}: {what}");
        if bytes.len() < 9 || bytes[..4] != MAGIC {
            return Err(bad("does not start with an Automerge chunk header"));
        }
        let checksum = &bytes[4..8];
        let chunk_type = bytes[8];
        let (len, len_size) = uleb128(&bytes[9..]).ok_or_else(|| bad("bad length"))?;
        let end = usize::try_from(len)
            .ok()
            .and_then(|len| (9 + len_size).checked_add(len))
            .filter(|end| *end <= bytes.len())
            .ok_or_else(|| bad("is cut short"))?;
        let (chunk, rest) = bytes.split_at(end);
        match chunk_type {
            CHANGE | COMPRESSED_CHANGE => {
                let change = Change::try_from(chunk).map_err(|e| bad(&e.to_string()))?;
                if chunk_type == CHANGE && change.hash().0[..4] != *checksum {
                    return Err(bad("checksum does not match"));
                }
                changes.push(change);
            }
            DOCUMENT => {
                let mut doc = AutoCommit::load(chunk).map_err(|e| bad(&e.to_string()))?;
                changes.extend(doc.get_changes(&[]));
            }
            BUNDLE => {
                let bundle = Bundle::try_from(chunk).map_err(|e| bad(&e.to_string()))?;
                changes.extend(bundle.to_changes().map_err(|e| bad(&e.to_string()))?);
            }
            other => return Err(bad(&format!("chunk type {other} is not accepted"))),
        }
        bytes = rest;
        index += 1;
    }
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docs::{DocKind, new_actor};

    fn sample() -> AutoCommit {
        DocKind::Street {
            street: uuid::Uuid::from_u128(1),
        }
        .genesis(new_actor())
    }

    #[test]
    fn changes_and_saved_documents_parse() {
        let mut doc = sample();
        assert_eq!(parse_changes(&doc.save_after(&[])).unwrap().len(), 1);
        assert_eq!(parse_changes(&doc.save()).unwrap().len(), 1);
        assert_eq!(parse_changes(&[]).unwrap().len(), 0);
        crate::docs::put_field(&mut doc, "name", &"Lindenstraat").unwrap();
        doc.commit();
        let bundle = crate::sync::changes_since(&mut doc, &[]);
        assert_eq!(bundle[8], BUNDLE, "two changes travel as a bundle");
        assert_eq!(parse_changes(&bundle).unwrap().len(), 2);
    }

    #[test]
    fn damage_anywhere_is_named() {
        let mut doc = sample();
        let good = doc.save_after(&[]);
        let mut flipped = good.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 0x55;
        assert!(parse_changes(&flipped).is_err());
        let mut two = good.clone();
        two.extend_from_slice(&good[..good.len() - 2]);
        assert!(parse_changes(&two).unwrap_err().starts_with("chunk 1"));
        assert!(parse_changes(b"not automerge at all").is_err());
    }
}
