//! Hostile bytes from a signed-in person: compression bombs inside Automerge's own chunks,
//! and damaged changes. Each is a 4xx with a JSON error, never a 500, and stores nothing.

use std::{
    collections::{BTreeMap, BTreeSet},
    io::Write,
    time::{Duration, Instant},
};

use voordeur_shared::{
    automerge::{ActorId, ChangeHash},
    docs::DocumentId,
    sync::{DocOffer, SyncRequest, client::Replica, wire},
};

use crate::helpers::{Backend, TestApp, TestDb, device, record_visit, rng, spawn_app, street_kind};

/// A compressed Automerge change chunk (type 2) whose body inflates to `inflated` zero
/// bytes: the kind of chunk Automerge inflated whole, into memory, before it could tell
/// the change was no change.
fn compressed_change_bomb(inflated: usize) -> Vec<u8> {
    let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
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

/// The process's peak resident memory since the last reset, in bytes (Linux only).
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Resets the peak that [`peak_rss`] reads to the current resident memory.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Every change hash of every document the server holds, as a fresh device receives them.
async fn server_changes(app: &TestApp) -> BTreeMap<DocumentId, BTreeSet<ChangeHash>> {
    let mut fresh = device();
    app.sync(&mut fresh).await;
    changes_of(&mut fresh)
}

fn changes_of(replica: &mut Replica) -> BTreeMap<DocumentId, BTreeSet<ChangeHash>> {
    let ids: Vec<DocumentId> = replica.docs().map(|(id, _)| *id).collect();
    ids.into_iter()
        .map(|id| {
            let doc = &mut replica.get_mut(&id).unwrap().doc;
            (id, doc.get_changes(&[]).iter().map(|c| c.hash()).collect())
        })
        .collect()
}

/// No document holds two changes of one actor with one sequence number.
async fn assert_no_doubled_history(app: &TestApp) {
    let mut fresh = device();
    app.sync(&mut fresh).await;
    let ids: Vec<DocumentId> = fresh.docs().map(|(id, _)| *id).collect();
    for id in ids {
        let doc = &mut fresh.get_mut(&id).unwrap().doc;
        let mut seen: BTreeSet<(ActorId, u64)> = BTreeSet::new();
        for change in doc.get_changes(&[]) {
            assert!(
                seen.insert((change.actor_id().clone(), change.seq())),
                "document {id} holds change {} of actor {} twice",
                change.seq(),
                change.actor_id()
            );
        }
    }
}

/// A 200, or a 4xx with a JSON error; the status.
async fn send_expecting_no_fault(app: &TestApp, body: Vec<u8>, what: &str) -> u16 {
    let response = app.post_sync(body).await;
    let status = response.status().as_u16();
    let bytes = response.bytes().await.unwrap();
    match status {
        200 => {
            wire::decode_response(&bytes, 256 << 20).expect("a 200 carries a response");
        }
        400..=499 => {
            let json: serde_json::Value = serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| panic!("{what}: {status} without a JSON body"));
            assert!(json["error"].is_string(), "{what}: {json}");
        }
        _ => panic!("{what}: {status}: {}", String::from_utf8_lossy(&bytes)),
    }
    status
}

/// A request of a few hundred bytes whose one change inflates to a gibibyte: refused
/// as too large (the server's budget is 8 MiB in tests), fast, without the memory.
async fn a_change_that_inflates_past_the_budget_is_refused_before_it_is_inflated(backend: Backend) {
    let db = TestDb::new(backend).await;
    let app = spawn_app(&db).await;
    let before = server_changes(&app).await;
    let street = street_kind();
    let request = SyncRequest {
        id: 1,
        streets: vec![],
        docs: vec![DocOffer {
            id: street.id(),
            kind: Some(street),
            since: Some(Vec::new()),
            heads: Vec::new(),
            changes: compressed_change_bomb(1 << 30),
        }],
    };
    let body = wire::encode_request(&request);
    assert!(body.len() < 2_000, "the bomb is {} bytes", body.len());
    let can_measure = reset_peak_rss();
    let rss_before = peak_rss();
    let started = Instant::now();
    let response = app.post_sync(body).await;
    let took = started.elapsed();
    assert_eq!(response.status().as_u16(), 413);
    let json: serde_json::Value = response.json().await.expect("a JSON error");
    assert_eq!(json["error"], "too_large", "{json}");
    assert!(took < Duration::from_secs(2), "took {took:?}");
    if let (true, Some(rss_before), Some(peak)) = (can_measure, rss_before, peak_rss()) {
        let grew = peak.saturating_sub(rss_before);
        eprintln!(
            "the bomb took {took:?}; peak memory grew by {} KiB",
            grew / 1024
        );
        assert!(grew < 256 << 20, "peak memory grew by {} MiB", grew >> 20);
    }
    assert_eq!(server_changes(&app).await, before, "nothing stored");
}

/// A phone with several new visits (so the street's changes travel as one bundle, and
/// households as single changes), and its request.
async fn phone_with_visits(app: &TestApp) -> (Replica, SyncRequest) {
    let mut phone = device();
    app.sync(&mut phone).await;
    let mut rng = rng(3);
    for _ in 0..3 {
        record_visit(&mut phone, &mut rng);
    }
    let request = phone.request();
    assert!(
        request.docs.iter().any(|o| o.changes.get(8) == Some(&3)),
        "a bundle is offered"
    );
    (phone, request)
}

/// Sends `request` with one byte flipped at each of a deterministic sample of positions
/// inside the offered change bytes; every answer is a 200 or a 4xx with JSON. Returns how
/// many were accepted.
async fn send_flipped(app: &TestApp, request: &SyncRequest, per_offer: usize) -> usize {
    let mut accepted = 0;
    for (doc, offer) in request.docs.iter().enumerate() {
        let len = offer.changes.len();
        if len == 0 {
            continue;
        }
        let step = len.div_ceil(per_offer).max(1);
        // Every header byte, then a stride through the rest (offset per offer, so the
        // sample does not fall on the same column each time).
        let positions = (0..len.min(16)).chain((16 + doc % step..len).step_by(step));
        for position in positions {
            let mut damaged = request.clone();
            // Alternate a single bit and a whole byte.
            let mask = if position % 2 == 0 {
                1 << (position % 8)
            } else {
                0xff
            };
            damaged.docs[doc].changes[position] ^= mask;
            let what = format!("document {} byte {position} ^ {mask:#x}", offer.id);
            if send_expecting_no_fault(app, wire::encode_request(&damaged), &what).await == 200 {
                accepted += 1;
            }
        }
    }
    accepted
}

/// Damaged changes: first while the server lacks them, then once it holds them (when a
/// damaged copy of a held change must not be stored beside it). No 500, and the history
/// stays exactly the phone's.
async fn a_damaged_request_is_refused_whole_and_never_a_500(backend: Backend) {
    let db = TestDb::new(backend).await;
    let app = spawn_app(&db).await;
    let (mut phone, request) = phone_with_visits(&app).await;
    let before = server_changes(&app).await;

    let accepted = send_flipped(&app, &request, 60).await;
    let after = server_changes(&app).await;
    if accepted == 0 {
        assert_eq!(after, before, "refused requests store nothing");
    }
    // Whatever was accepted is the phone's own changes, never a damaged copy.
    let own = changes_of(&mut phone);
    for (id, hashes) in &after {
        let theirs = own.get(id).cloned().unwrap_or_default();
        let old = before.get(id).cloned().unwrap_or_default();
        assert!(
            hashes.is_subset(&theirs.union(&old).copied().collect()),
            "document {id} holds changes the phone never made"
        );
    }
    assert_no_doubled_history(&app).await;

    // The good request, then its damaged copies again, against the changes now held.
    let response = app
        .exchange(&request)
        .await
        .expect("the good request syncs");
    phone.receive(response);
    let synced = server_changes(&app).await;
    assert_eq!(synced, changes_of(&mut phone));
    send_flipped(&app, &request, 60).await;
    assert_eq!(
        server_changes(&app).await,
        synced,
        "a damaged copy of a held change is never stored beside it"
    );
    assert_no_doubled_history(&app).await;
}

crate::on_both_backends!(
    a_change_that_inflates_past_the_budget_is_refused_before_it_is_inflated,
    a_damaged_request_is_refused_whole_and_never_a_500,
);
