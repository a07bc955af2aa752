//! Strict reading of Automerge change bytes received from a peer.
//!
//! `AutoCommit::load_incremental` skips whatever it cannot parse and keeps the rest; a
//! server must instead refuse damaged input whole. Three things stand between a peer's
//! bytes and a document:
//!
//! 1. [`charge`]: what Automerge would inflate while parsing the bytes, counted against
//!    the message's [`Budget`] *before* Automerge sees them. Automerge inflates compressed
//!    change chunks and the DEFLATE-compressed columns of documents and bundles into
//!    memory without a limit (a 242-byte request once held a change that inflated to
//!    1 GiB); here each compressed part is streamed through a small fixed buffer and
//!    counted, and counting stops as soon as the budget is spent. The wire's own
//!    inflation is charged to the same budget (see [`super::wire`], which charges every
//!    message it decodes, so no caller can forget it).
//! 2. [`parse_changes`]: splits the bytes into chunks by their headers, checks each
//!    chunk's checksum (Automerge's `Change::try_from` and `Bundle::try_from` do not; a
//!    compressed change's checksum is of the inflated change, so it is checked after
//!    inflating), parses it with any panic of Automerge's parser caught, and refuses two
//!    changes of one actor with one sequence number.
//! 3. [`check_against`]: refuses a change whose actor and sequence number the document
//!    already holds under another hash. Automerge would keep it as a second change (a
//!    damaged byte inside a bundle once doubled a document's history); it is damage or a
//!    forgery, never a new change.

use std::{
    any::Any,
    collections::{BTreeMap, BTreeSet},
    io::{self, Read},
    panic::{AssertUnwindSafe, catch_unwind},
};

use automerge::{ActorId, AutoCommit, Bundle, Change, ChangeHash};
use sha2::{Digest, Sha256};

/// Every Automerge chunk starts with these bytes.
const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
const DOCUMENT: u8 = 0;
const CHANGE: u8 = 1;
const COMPRESSED_CHANGE: u8 = 2;
const BUNDLE: u8 = 3;
/// The bit of a column specification that marks its data DEFLATE-compressed.
const DEFLATE_BIT: u64 = 0b1000;
/// The bits of a column specification that say its type, and the type of string columns.
const COLUMN_TYPE: u64 = 0b0111;
const STRING_COLUMN: u64 = 5;
/// A change hash is a SHA-256.
const HASH_LEN: u64 = 32;

/// What decompression may still produce while one message is read: the wire's inflation
/// and every inflation inside its Automerge chunks draw from the same budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    limit: usize,
    left: usize,
}

/// A message would inflate to more than its budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("inflates to more than {limit} bytes")]
pub struct OverBudget {
    pub limit: usize,
}

/// Why change bytes were not charged to a budget.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChargeError {
    #[error(transparent)]
    OverBudget(#[from] OverBudget),
    /// The bytes are not Automerge chunks as far as their layout goes: how much they
    /// would inflate cannot be told, so they are refused before Automerge sees them.
    #[error("{0}")]
    Damaged(String),
}

impl Budget {
    pub fn new(limit: usize) -> Budget {
        Budget { limit, left: limit }
    }

    /// The whole budget, as it was made.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// What is left of it.
    pub fn left(&self) -> usize {
        self.left
    }

    /// Takes `bytes` from what is left, or refuses (leaving nothing) if they do not fit.
    pub fn spend(&mut self, bytes: usize) -> Result<(), OverBudget> {
        match self.left.checked_sub(bytes) {
            Some(left) => {
                self.left = left;
                Ok(())
            }
            None => {
                self.left = 0;
                Err(OverBudget { limit: self.limit })
            }
        }
    }

    /// Inflates `reader` into `out`, spending as it goes; never grows `out` beyond what
    /// the budget allows (plus one read buffer), so an over-budget message costs at most
    /// the budget in memory.
    pub fn read_to_end(&mut self, reader: impl Read, out: &mut Vec<u8>) -> Result<(), ReadError> {
        let mut limited = reader.take((self.left as u64).saturating_add(1));
        let mut buffer = [0u8; 16 * 1024];
        loop {
            let n = match limited.read(&mut buffer) {
                Ok(0) => return Ok(()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(ReadError::Inflate(e.to_string())),
            };
            self.spend(n)?;
            if out.capacity() - out.len() < n {
                // Double as a Vec does, but never past what the budget can still allow.
                let wanted = out.capacity().max(n).saturating_mul(2);
                let cap = wanted.min((out.len() + n).saturating_add(self.left));
                out.reserve_exact(cap - out.len());
            }
            out.extend_from_slice(&buffer[..n]);
        }
    }

    /// Inflates a DEFLATE stream into nothing, counting through a small fixed buffer, and
    /// spends what it inflates to; stops as soon as the budget is exceeded. Returns the
    /// inflated length.
    fn charge_deflated(&mut self, deflated: &[u8]) -> Result<usize, ChargeError> {
        let decoder = flate2::bufread::DeflateDecoder::new(deflated);
        let mut limited = decoder.take((self.left as u64).saturating_add(1));
        let mut buffer = [0u8; 8 * 1024];
        let mut inflated = 0;
        loop {
            match limited.read(&mut buffer) {
                Ok(0) => return Ok(inflated),
                Ok(n) => {
                    self.spend(n)?;
                    inflated += n;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(ChargeError::Damaged(format!("does not inflate: {e}"))),
            }
        }
    }
}

/// Why [`Budget::read_to_end`] stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    OverBudget(#[from] OverBudget),
    #[error("does not decompress: {0}")]
    Inflate(String),
}

/// A reader of the LEB128 numbers and byte runs of Automerge's formats, exactly as strict
/// as Automerge's own (no overlong or too large numbers), so it reads the layout Automerge
/// will read.
struct Cursor<'a> {
    bytes: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn uleb(&mut self) -> Result<u64, String> {
        let (value, len) = uleb128(self.bytes).ok_or("bad LEB128 number")?;
        self.bytes = &self.bytes[len..];
        Ok(value)
    }

    fn sleb(&mut self) -> Result<i64, String> {
        let mut value: i64 = 0;
        for (i, byte) in self.bytes.iter().enumerate().take(10) {
            value |= i64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                if i < 9 && byte & 0x40 != 0 {
                    value |= -1 << (7 * (i + 1));
                }
                self.bytes = &self.bytes[i + 1..];
                return Ok(value);
            }
        }
        Err("bad LEB128 number".into())
    }

    fn take(&mut self, len: u64) -> Result<&'a [u8], String> {
        let len = usize::try_from(len)
            .ok()
            .filter(|len| *len <= self.bytes.len())
            .ok_or("is cut short")?;
        let (taken, rest) = self.bytes.split_at(len);
        self.bytes = rest;
        Ok(taken)
    }

    /// Skips `count` items of `len` bytes each.
    fn skip_n(&mut self, count: u64, len: u64) -> Result<(), String> {
        self.take(count.checked_mul(len).ok_or("is cut short")?)
            .map(|_| ())
    }

    /// Skips a count of length-prefixed actor ids.
    fn skip_actors(&mut self) -> Result<(), String> {
        let count = self.uleb()?;
        for _ in 0..count {
            let len = self.uleb()?;
            self.take(len)?;
        }
        Ok(())
    }

    /// Reads column metadata (a count, then a specification and a length per column);
    /// returns the metadata's bytes (to walk again with [`charge_columns`]) and the total
    /// length of the columns' data.
    fn columns(&mut self) -> Result<(&'a [u8], u64), String> {
        let start = self.bytes;
        let count = self.uleb()?;
        let mut total: u64 = 0;
        for _ in 0..count {
            let spec = self.uleb()?;
            u32::try_from(spec).map_err(|_| "bad column specification")?;
            let len = self.uleb()?;
            total = total.checked_add(len).ok_or("columns are too long")?;
        }
        let used = start.len() - self.bytes.len();
        Ok((&start[..used], total))
    }
}

fn uleb128(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value: u64 = 0;
    for (i, byte) in bytes.iter().enumerate().take(10) {
        let bits = u64::from(byte & 0x7f);
        if i == 9 && bits > 1 {
            return None;
        }
        value |= bits << (7 * i);
        if byte & 0x80 == 0 {
            // A zero last byte after others is overlong: Automerge refuses it.
            if i > 0 && *byte == 0 {
                return None;
            }
            return Some((value, i + 1));
        }
    }
    None
}

/// Charges the inflation of the DEFLATE-compressed columns among `meta` (as read by
/// [`Cursor::columns`]) whose data is `data`, and checks every string column (see
/// [`check_strings`]; a compressed one is inflated, within the budget, to be checked).
fn charge_columns(meta: &[u8], data: &[u8], budget: &mut Budget) -> Result<(), ChargeError> {
    let mut meta = Cursor { bytes: meta };
    let mut data = Cursor { bytes: data };
    let count = meta.uleb().map_err(ChargeError::Damaged)?;
    for _ in 0..count {
        let spec = meta.uleb().map_err(ChargeError::Damaged)?;
        let len = meta.uleb().map_err(ChargeError::Damaged)?;
        let column = data.take(len).map_err(ChargeError::Damaged)?;
        let strings = spec & COLUMN_TYPE == STRING_COLUMN;
        match (spec & DEFLATE_BIT != 0, strings) {
            (false, false) => {}
            (false, true) => check_strings(column)?,
            (true, false) => {
                budget.charge_deflated(column)?;
            }
            (true, true) => check_strings(&charge_and_inflate(column, budget)?)?,
        }
    }
    Ok(())
}

/// Charges what `deflated` inflates to (counting, without keeping it: a bomb is refused
/// before anything is allocated), then inflates it for checking, into exactly that much.
fn charge_and_inflate(deflated: &[u8], budget: &mut Budget) -> Result<Vec<u8>, ChargeError> {
    let len = budget.charge_deflated(deflated)?;
    let mut inflated = Vec::with_capacity(len);
    flate2::bufread::DeflateDecoder::new(deflated)
        .take(len as u64)
        .read_to_end(&mut inflated)
        .map_err(|e| ChargeError::Damaged(format!("does not inflate: {e}")))?;
    Ok(inflated)
}

/// Checks that every string of an RLE-encoded string column (Automerge's keys) is no
/// longer than the bytes left in its column. Automerge allocates a string's buffer from its
/// stated length (up to 1 GB) before it reads the string: a few bytes could ask for a
/// gibibyte.
fn check_strings(column: &[u8]) -> Result<(), ChargeError> {
    let damaged = |e: String| ChargeError::Damaged(format!("a string column: {e}"));
    let mut column = Cursor { bytes: column };
    while !column.bytes.is_empty() {
        let count = column.sleb().map_err(damaged)?;
        // A run is one string repeated; a literal run, that many strings (each at least a
        // byte long, so the loop ends with the column); a null run, a count.
        let strings = if count > 0 { 1 } else { count.unsigned_abs() };
        if count == 0 {
            column.uleb().map_err(damaged)?;
        }
        for _ in 0..strings {
            let len = column.uleb().map_err(damaged)?;
            column.take(len).map_err(damaged)?;
        }
    }
    Ok(())
}

/// Charges and checks the body of a change chunk (after its header; for a compressed
/// change, inflated): its fields, then its op columns (never compressed in a change).
fn charge_change(body: &[u8], budget: &mut Budget) -> Result<(), ChargeError> {
    let damaged = |e: String| ChargeError::Damaged(e);
    let mut data = Cursor { bytes: body };
    // Dependencies, actor, seq, start op, time, message, other actors, op columns.
    let deps = data.uleb().map_err(damaged)?;
    data.skip_n(deps, HASH_LEN).map_err(damaged)?;
    let actor = data.uleb().map_err(damaged)?;
    data.take(actor).map_err(damaged)?;
    data.uleb().map_err(damaged)?;
    data.uleb().map_err(damaged)?;
    data.sleb().map_err(damaged)?;
    let message = data.uleb().map_err(damaged)?;
    data.take(message).map_err(damaged)?;
    data.skip_actors().map_err(damaged)?;
    let (op_meta, op_len) = data.columns().map_err(damaged)?;
    let op_data = data.take(op_len).map_err(damaged)?;
    charge_columns(op_meta, op_data, budget)
}

/// One chunk of a run of Automerge chunks.
struct Chunk<'a> {
    checksum: [u8; 4],
    kind: u8,
    /// The chunk whole, header included.
    bytes: &'a [u8],
    /// What follows the header.
    data: &'a [u8],
}

impl Chunk<'_> {
    /// Whether the checksum in the header is that of the bytes as they are (it is for
    /// documents, uncompressed changes and bundles; a compressed change's is of the change
    /// inflated). The length was read strictly, so its encoding is the canonical one the
    /// hash is of.
    fn checksum_matches(&self) -> bool {
        let hash = Sha256::digest(&self.bytes[8..]);
        hash[..4] == self.checksum
    }
}

/// Splits `bytes` into chunks by their headers; the error names the chunk.
fn split(mut bytes: &[u8]) -> impl Iterator<Item = Result<Chunk<'_>, String>> {
    let mut index = 0;
    std::iter::from_fn(move || {
        if bytes.is_empty() {
            return None;
        }
        let this = index;
        index += 1;
        let bad = |what: &str| format!("chunk {this}: {what}");
        if bytes.len() < 9 || bytes[..4] != MAGIC {
            bytes = &[];
            return Some(Err(bad("does not start with an Automerge chunk header")));
        }
        let Some((len, len_size)) = uleb128(&bytes[9..]) else {
            bytes = &[];
            return Some(Err(bad("bad length")));
        };
        let Some(end) = usize::try_from(len)
            .ok()
            .and_then(|len| (9 + len_size).checked_add(len))
            .filter(|end| *end <= bytes.len())
        else {
            bytes = &[];
            return Some(Err(bad("is cut short")));
        };
        let (chunk, rest) = bytes.split_at(end);
        bytes = rest;
        Some(Ok(Chunk {
            checksum: [chunk[4], chunk[5], chunk[6], chunk[7]],
            kind: chunk[8],
            bytes: chunk,
            data: &chunk[9 + len_size..],
        }))
    })
}

/// Charges `budget` with everything Automerge would inflate while parsing `bytes`
/// (compressed change chunks; the compressed columns of documents and bundles), without
/// keeping any of it. Bytes whose layout cannot be read are refused: how much they would
/// inflate cannot be told.
pub fn charge(bytes: &[u8], budget: &mut Budget) -> Result<(), ChargeError> {
    for chunk in split(bytes) {
        let chunk = chunk.map_err(ChargeError::Damaged)?;
        let mut data = Cursor { bytes: chunk.data };
        let damaged = |e: String| ChargeError::Damaged(e);
        match chunk.kind {
            CHANGE => charge_change(chunk.data, budget)?,
            COMPRESSED_CHANGE => charge_change(&charge_and_inflate(chunk.data, budget)?, budget)?,
            DOCUMENT => {
                // Actors, heads, change columns' and op columns' metadata, then their data.
                data.skip_actors().map_err(damaged)?;
                let heads = data.uleb().map_err(damaged)?;
                data.skip_n(heads, HASH_LEN).map_err(damaged)?;
                let (change_meta, change_len) = data.columns().map_err(damaged)?;
                let (op_meta, op_len) = data.columns().map_err(damaged)?;
                let change_data = data.take(change_len).map_err(damaged)?;
                let op_data = data.take(op_len).map_err(damaged)?;
                charge_columns(change_meta, change_data, budget)?;
                charge_columns(op_meta, op_data, budget)?;
            }
            BUNDLE => {
                // Dependencies, actors, then change columns and op columns, each
                // metadata followed by data.
                let deps = data.uleb().map_err(damaged)?;
                data.skip_n(deps, HASH_LEN).map_err(damaged)?;
                data.skip_actors().map_err(damaged)?;
                let (change_meta, change_len) = data.columns().map_err(damaged)?;
                let change_data = data.take(change_len).map_err(damaged)?;
                let (op_meta, op_len) = data.columns().map_err(damaged)?;
                let op_data = data.take(op_len).map_err(damaged)?;
                charge_columns(change_meta, change_data, budget)?;
                charge_columns(op_meta, op_data, budget)?;
            }
            other => {
                return Err(ChargeError::Damaged(format!(
                    "chunk type {other} is not accepted"
                )));
            }
        }
    }
    Ok(())
}

/// What a caught panic said.
pub fn panic_message(panic: &(dyn Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".to_string())
}

/// Runs Automerge on untrusted bytes: a panic inside it (its parser has panicked on
/// damaged input) becomes an error, not a crashed request.
fn isolated<T>(f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        Err(format!(
            "Automerge failed on it: {}",
            panic_message(&*panic)
        ))
    })
}

/// The changes in `bytes` (change chunks, compressed or not, bundles, or whole saved
/// documents), each chunk's checksum checked; two changes of one actor with one sequence
/// number but different hashes are refused.
///
/// Call it only on bytes [`charge`]d to a [`Budget`] (every message [`super::wire`]
/// decodes is): Automerge inflates without a limit.
pub fn parse_changes(bytes: &[u8]) -> Result<Vec<Change>, String> {
    let mut changes = Vec::new();
    for (index, chunk) in split(bytes).enumerate() {
        let chunk = chunk?;
        let bad = |what: &str| format!("chunk {index}: {what}");
        if chunk.kind != COMPRESSED_CHANGE && !chunk.checksum_matches() {
            return Err(bad("checksum does not match"));
        }
        match chunk.kind {
            CHANGE | COMPRESSED_CHANGE => {
                let change = isolated(|| Change::try_from(chunk.bytes).map_err(|e| e.to_string()))
                    .map_err(|e| bad(&e))?;
                // For a compressed change, this is the checksum of the change inflated.
                if change.hash().0[..4] != chunk.checksum {
                    return Err(bad("checksum does not match"));
                }
                changes.push(change);
            }
            DOCUMENT => {
                let loaded = isolated(|| {
                    let mut doc = AutoCommit::load(chunk.bytes).map_err(|e| e.to_string())?;
                    Ok(doc.get_changes(&[]))
                })
                .map_err(|e| bad(&e))?;
                changes.extend(loaded);
            }
            BUNDLE => {
                let unbundled = isolated(|| {
                    let bundle = Bundle::try_from(chunk.bytes).map_err(|e| e.to_string())?;
                    bundle.to_changes().map_err(|e| e.to_string())
                })
                .map_err(|e| bad(&e))?;
                changes.extend(unbundled);
            }
            other => return Err(bad(&format!("chunk type {other} is not accepted"))),
        }
    }
    let mut seen: BTreeMap<(&ActorId, u64), ChangeHash> = BTreeMap::new();
    for change in &changes {
        let hash = change.hash();
        if let Some(other) = seen.insert((change.actor_id(), change.seq()), hash)
            && other != hash
        {
            return Err(format!(
                "two different changes {} and {hash} are both change {} of actor {}",
                other,
                change.seq(),
                change.actor_id()
            ));
        }
    }
    Ok(changes)
}

/// Refuses `changes` (from [`parse_changes`]) if one of them has the actor and sequence
/// number of a change `doc` already holds, under another hash: that is a damaged or
/// forged copy of it, which Automerge would keep beside the original. Returns the changes
/// otherwise, for `apply_changes`.
pub fn check_against(doc: &mut AutoCommit, changes: Vec<Change>) -> Result<Vec<Change>, String> {
    let new: Vec<&Change> = changes
        .iter()
        .filter(|change| !crate::docs::holds(doc, &[change.hash()]))
        .collect();
    if new.is_empty() {
        return Ok(changes);
    }
    let actors: BTreeSet<&ActorId> = new.iter().map(|change| change.actor_id()).collect();
    let held: BTreeMap<(ActorId, u64), ChangeHash> = doc
        .get_changes_meta(&[])
        .into_iter()
        .filter(|meta| actors.contains(meta.actor.as_ref()))
        .map(|meta| ((meta.actor.into_owned(), meta.seq), meta.hash))
        .collect();
    for change in new {
        if let Some(original) = held.get(&(change.actor_id().clone(), change.seq())) {
            return Err(format!(
                "change {} is change {} of actor {}, which is {original} here: a damaged or \
                 forged copy",
                change.hash(),
                change.seq(),
                change.actor_id()
            ));
        }
    }
    Ok(changes)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::io::Write;

    use automerge::{ROOT, transaction::Transactable};

    use super::*;
    use crate::docs::new_actor;

    /// A document of one change (every kind's genesis has its upgrades too).
    fn sample() -> AutoCommit {
        let mut doc = AutoCommit::new().with_actor(new_actor());
        doc.put(ROOT, "name", "").unwrap();
        doc.commit();
        doc
    }

    /// A document with `changes` changes after its genesis, each writing a short string.
    fn with_changes(changes: usize) -> AutoCommit {
        let mut doc = sample();
        for i in 0..changes {
            doc.put(ROOT, "name", format!("Lindenstraat {i}")).unwrap();
            doc.commit();
        }
        doc
    }

    fn deflate(bytes: &[u8]) -> Vec<u8> {
        let mut encoder =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    /// A compressed change chunk (type 2) whose change writes `text`: Automerge itself
    /// compresses only changes it stores whole, so this wraps an uncompressed chunk.
    fn compressed_change(text: &str) -> Vec<u8> {
        let mut doc = sample();
        doc.put(ROOT, "name", text).unwrap();
        doc.commit();
        let change = doc.get_last_local_change().unwrap();
        let raw = change.raw_bytes();
        let (len, len_size) = uleb128(&raw[9..]).unwrap();
        let body = &raw[9 + len_size..];
        assert_eq!(body.len() as u64, len);
        let deflated = deflate(body);
        let mut chunk = raw[..8].to_vec();
        chunk.push(COMPRESSED_CHANGE);
        let mut n = deflated.len() as u64;
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                chunk.push(byte);
                break;
            }
            chunk.push(byte | 0x80);
        }
        chunk.extend_from_slice(&deflated);
        chunk
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
        let compressed = compressed_change("Lindenstraat");
        assert_eq!(parse_changes(&compressed).unwrap().len(), 1);
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

    /// Every single flipped bit of a bundle, a document, and a compressed change is
    /// refused or, where it leaves the chunk's meaning whole, yields only original changes.
    #[test]
    fn every_flipped_bit_is_refused() {
        let mut doc = with_changes(3);
        let originals: BTreeSet<ChangeHash> =
            doc.get_changes(&[]).iter().map(|c| c.hash()).collect();
        let bundle = crate::sync::changes_since(&mut doc, &[]);
        assert_eq!(bundle[8], BUNDLE);
        let compressed = compressed_change("Lindenstraat");
        let compressed_originals: BTreeSet<ChangeHash> = parse_changes(&compressed)
            .unwrap()
            .iter()
            .map(|c| c.hash())
            .collect();
        let cases = [
            (bundle, &originals),
            (doc.save(), &originals),
            (compressed, &compressed_originals),
        ];
        for (good, originals) in cases {
            for position in 0..good.len() {
                for bit in 0..8 {
                    let mut bytes = good.clone();
                    bytes[position] ^= 1 << bit;
                    let mut budget = Budget::new(1 << 20);
                    let outcome = charge(&bytes, &mut budget)
                        .map_err(|e| e.to_string())
                        .and_then(|()| parse_changes(&bytes));
                    if let Ok(changes) = outcome {
                        let hashes: BTreeSet<ChangeHash> =
                            changes.iter().map(|c| c.hash()).collect();
                        assert!(
                            hashes.is_subset(originals),
                            "byte {position} bit {bit} of a chunk of type {} made new changes",
                            good[8]
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn a_compressed_change_is_checked_after_inflating() {
        let mut chunk = compressed_change("Lindenstraat");
        assert!(parse_changes(&chunk).is_ok());
        // The checksum is of the inflated change: a wrong one is found only by inflating.
        chunk[4] ^= 1;
        assert!(
            parse_changes(&chunk).unwrap_err().contains("checksum"),
            "{:?}",
            parse_changes(&chunk)
        );
    }

    #[test]
    fn a_bundle_with_a_wrong_checksum_is_refused() {
        let mut doc = with_changes(2);
        let mut bundle = crate::sync::changes_since(&mut doc, &[]);
        bundle[5] ^= 0x10;
        assert_eq!(
            parse_changes(&bundle).unwrap_err(),
            "chunk 0: checksum does not match"
        );
    }

    #[test]
    fn a_compressed_change_is_charged_what_it_inflates_to() {
        let text = "ab".repeat(100_000);
        let chunk = compressed_change(&text);
        assert!(chunk.len() < 2_000, "{} bytes", chunk.len());
        let mut budget = Budget::new(1 << 20);
        charge(&chunk, &mut budget).unwrap();
        let spent = budget.limit() - budget.left();
        assert!((200_000..210_000).contains(&spent), "{spent}");
        let mut small = Budget::new(100_000);
        assert_eq!(
            charge(&chunk, &mut small),
            Err(ChargeError::OverBudget(OverBudget { limit: 100_000 }))
        );
        assert_eq!(small.left(), 0);
    }

    /// A 1 GiB bomb in a few hundred bytes is refused after inflating no more than the
    /// budget, quickly.
    #[test]
    fn a_change_that_inflates_to_a_gibibyte_is_refused_at_the_budget() {
        let mut chunk = compressed_change("x");
        // Replace the body by a DEFLATE stream of 1 GiB of zeros, made by streaming.
        let mut encoder =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..1024 {
            encoder.write_all(&zeros).unwrap();
        }
        let deflated = encoder.finish().unwrap();
        chunk.truncate(9);
        let mut n = deflated.len() as u64;
        while n >= 0x80 {
            chunk.push((n as u8) | 0x80);
            n >>= 7;
        }
        chunk.push(n as u8);
        chunk.extend_from_slice(&deflated);
        assert!(chunk.len() < 2 << 20, "{}", chunk.len());
        let started = std::time::Instant::now();
        let mut budget = Budget::new(8 << 20);
        assert!(matches!(
            charge(&chunk, &mut budget),
            Err(ChargeError::OverBudget(_))
        ));
        assert!(started.elapsed().as_secs() < 2, "{:?}", started.elapsed());
    }

    #[test]
    fn the_compressed_columns_of_bundles_and_documents_are_charged() {
        // Many changes: the columns are long enough that Automerge deflates them.
        let mut doc = with_changes(400);
        let bundle = crate::sync::changes_since(&mut doc, &[]);
        let saved = doc.save();
        for bytes in [&bundle, &saved] {
            let mut budget = Budget::new(1 << 20);
            charge(bytes, &mut budget).unwrap();
            let inflated = budget.limit() - budget.left();
            assert!(
                inflated > 0,
                "chunk type {} has compressed columns",
                bytes[8]
            );
            let mut tight = Budget::new(inflated - 1);
            assert!(matches!(
                charge(bytes, &mut tight),
                Err(ChargeError::OverBudget(_))
            ));
            let mut exact = Budget::new(inflated);
            charge(bytes, &mut exact).unwrap();
        }
        // Uncompressed changes inflate nothing.
        let mut budget = Budget::new(0);
        charge(&doc.save_after(&[]), &mut budget).unwrap();
    }

    #[test]
    fn a_changed_copy_of_a_held_change_is_refused() {
        let mut doc = with_changes(1);
        let held = doc.get_last_local_change().unwrap();
        // Another change with the same actor and sequence number: a fork of the document
        // before it, with another value.
        let mut fork = doc.fork_at(held.deps()).unwrap();
        fork.set_actor(held.actor_id().clone());
        fork.put(ROOT, "name", "Eikenlaan").unwrap();
        fork.commit();
        let forged = fork.get_last_local_change().unwrap();
        assert_eq!(
            (forged.actor_id(), forged.seq()),
            (held.actor_id(), held.seq())
        );
        assert_ne!(forged.hash(), held.hash());
        let parsed = parse_changes(forged.raw_bytes()).unwrap();
        let error = check_against(&mut doc, parsed).unwrap_err();
        assert!(error.contains("forged"), "{error}");
        // The change itself, again, is fine: a retry.
        let again = parse_changes(held.raw_bytes()).unwrap();
        assert_eq!(check_against(&mut doc, again).unwrap().len(), 1);
        // Both in one request: refused before the document is consulted.
        let mut both = held.raw_bytes().to_vec();
        both.extend_from_slice(forged.raw_bytes());
        assert!(parse_changes(&both).unwrap_err().contains("both change"));
    }

    /// Found by fuzzing (the `changes` target, crash-22f2c2618803df2fbfd553fa30ec3bbe100f1aae):
    /// a key string stating a length of 1 GB in a change of a few hundred bytes, which
    /// Automerge allocates before it reads.
    #[test]
    fn a_string_longer_than_its_column_is_refused_before_automerge_allocates_it() {
        // A literal run of one string, stating 10^9 bytes where one follows.
        let claimed = [0x7f, 0x80, 0x94, 0xeb, 0xdc, 0x03, b'a'];
        let error = check_strings(&claimed).unwrap_err();
        assert!(error.to_string().contains("string column"), "{error}");
        check_strings(&[0x7f, 0x01, b'a']).unwrap();
        // A run of one string repeated 3 times; a null run of 5.
        check_strings(&[0x03, 0x02, b'a', b'b', 0x00, 0x05]).unwrap();
        assert!(check_strings(&[0x03, 0x03, b'a', b'b']).is_err());
        let fuzzed = include_bytes!("../../tests/fuzzed/changes-22f2c261.bin");
        let error = charge(fuzzed, &mut Budget::new(8 << 20)).unwrap_err();
        assert!(error.to_string().contains("string column"), "{error}");
        // Within the column, strings of every length pass.
        for text in ["", "a", &"b".repeat(200)] {
            let mut doc = sample();
            doc.put(ROOT, text, "x").unwrap();
            doc.commit();
            let change = doc.get_last_local_change().unwrap();
            charge(change.raw_bytes(), &mut Budget::new(1 << 20)).unwrap();
        }
    }

    /// Found by the fuzz smoke run (the `changes` target, crash-d3431f6c…): an object id
    /// whose actor index overflows makes Automerge's change parser panic (`types.rs`, an
    /// unwrap of a failed conversion). The panic is caught: the change is refused.
    #[test]
    fn an_actor_index_that_overflows_is_refused_not_a_crash() {
        let fuzzed = include_bytes!("../../tests/fuzzed/changes-d3431f6c.bin");
        charge(fuzzed, &mut Budget::new(8 << 20)).unwrap();
        let error = parse_changes(fuzzed).unwrap_err();
        assert!(error.contains("Automerge failed on it"), "{error}");
    }

    /// A panic of Automerge's on untrusted bytes is an error naming it, not a crash.
    #[test]
    fn a_panic_while_parsing_is_an_error() {
        let caught: Result<(), String> = isolated(|| panic!("index out of bounds"));
        let error = caught.unwrap_err();
        assert!(error.contains("index out of bounds"), "{error}");
        assert_eq!(isolated(|| Ok(7)), Ok(7));
    }

    #[test]
    fn a_budget_bounds_reading_to_the_end() {
        let plain = vec![7u8; 100_000];
        let deflated = deflate(&plain);
        let mut out = Vec::new();
        let mut budget = Budget::new(100_000);
        budget
            .read_to_end(flate2::read::DeflateDecoder::new(&deflated[..]), &mut out)
            .unwrap();
        assert_eq!(out, plain);
        assert_eq!(budget.left(), 0);
        let mut out = Vec::new();
        let mut budget = Budget::new(99_999);
        assert_eq!(
            budget.read_to_end(flate2::read::DeflateDecoder::new(&deflated[..]), &mut out),
            Err(ReadError::OverBudget(OverBudget { limit: 99_999 }))
        );
        assert!(out.capacity() <= 99_999 + 16 * 1024, "{}", out.capacity());
    }
}
