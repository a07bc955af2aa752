//! Devices syncing with the server: one round trip, merges, retries, concurrency.

use voordeur_shared::{
    docs::{self, DocKind},
    model::{Confidential, Household, Partner},
    sync::wire,
};

use crate::helpers::{Backend, TestDb, device, heads, record_visit, rng, spawn_app, street_of};

async fn a_new_device_receives_the_whole_street_in_one_round_trip(backend: Backend) {
    let db = TestDb::new(backend).await;
    let app = spawn_app(&db).await;
    let mut phone = device();
    let received = app.sync(&mut phone).await;
    assert!(!received.again);
    assert_eq!(street_of(&phone).addresses.len(), 43);
    assert_eq!(phone.unsynced(), 0);
}

async fn offline_work_on_two_devices_merges_in_one_round_trip_each(backend: Backend) {
    let db = TestDb::new(backend).await;
    let app = spawn_app(&db).await;
    let mut rng = rng(7);
    let (mut builder, mut coach) = (device(), device());
    app.sync(&mut builder).await;
    app.sync(&mut coach).await;
    for _ in 0..15 {
        record_visit(&mut builder, &mut rng);
        record_visit(&mut coach, &mut rng);
    }
    assert!(builder.unsynced() >= 15);
    assert!(!app.sync(&mut coach).await.again);
    assert!(!app.sync(&mut builder).await.again, "one round trip");
    assert_eq!(builder.unsynced(), 0);
    assert_eq!(
        street_of(&builder).visits.len(),
        30,
        "the builder has the coach's visits"
    );
    app.sync(&mut coach).await;
    assert_eq!(heads(&mut builder), heads(&mut coach));
    assert_eq!(heads(&mut builder), app.server_heads().await);
}

async fn notes_edited_on_two_offline_devices_keep_both_texts(backend: Backend) {
    let db = TestDb::new(backend).await;
    let app = spawn_app(&db).await;
    let (mut builder, mut coach) = (device(), device());
    app.sync(&mut builder).await;
    let visit = record_visit(&mut builder, &mut rng(1));
    app.sync(&mut builder).await;
    app.sync(&mut coach).await;
    let household = builder
        .docs()
        .find(|(_, d)| matches!(d.kind, DocKind::Household { .. }))
        .map(|(id, _)| *id)
        .expect("the visit made a household document");
    let original: Household = docs::read(&builder.get(&household).unwrap().doc).unwrap();
    let text = original.conversations[&visit].notes.as_str().to_string();
    let edit = |replica: &mut voordeur_shared::sync::client::Replica, new: String| {
        let doc = &mut replica.get_mut(&household).unwrap().doc;
        docs::update_notes(doc, &visit, &new).unwrap();
        doc.commit();
    };
    edit(&mut builder, format!("Buurtcoach: {text}"));
    edit(&mut coach, format!("{text} Coach: belt volgende week."));
    app.sync(&mut builder).await;
    app.sync(&mut coach).await;
    app.sync(&mut builder).await;
    let expected = format!("Buurtcoach: {text} Coach: belt volgende week.");
    let mut coordinator = device();
    app.sync(&mut coordinator).await;
    for replica in [&builder, &coach, &coordinator] {
        let merged: Household = docs::read(&replica.get(&household).unwrap().doc).unwrap();
        assert_eq!(merged.conversations[&visit].notes.as_str(), expected);
    }
}

async fn a_retried_request_applies_nothing_twice(backend: Backend) {
    let db = TestDb::new(backend).await;
    let app = spawn_app(&db).await;
    let mut phone = device();
    app.sync(&mut phone).await;
    record_visit(&mut phone, &mut rng(3));
    let request = wire::encode_request(&phone.request());
    let first = app.post_sync(request.clone()).await.bytes().await.unwrap();
    let street = crate::helpers::street_kind().id();
    let chunks = app.store.chunk_count(street).await.unwrap();
    // The response was "lost"; the phone sends the same request again.
    let second = app.post_sync(request).await.bytes().await.unwrap();
    assert_eq!(first, second, "the retry gets the same answer");
    assert_eq!(
        app.store.chunk_count(street).await.unwrap(),
        chunks,
        "and writes nothing"
    );
    phone.receive(wire::decode_response(&second, 1 << 26).unwrap());
    assert_eq!(phone.unsynced(), 0);
    let mut other = device();
    app.sync(&mut other).await;
    assert_eq!(street_of(&other).visits.len(), 1, "the visit is there once");
}

async fn signals_land_in_the_confidential_document_of_their_partner(backend: Backend) {
    let db = TestDb::new(backend).await;
    let app = spawn_app(&db).await;
    let mut phone = device();
    app.sync(&mut phone).await;
    let mut rng = rng(11);
    for _ in 0..10 {
        record_visit(&mut phone, &mut rng);
    }
    app.sync(&mut phone).await;
    let mut other = device();
    app.sync(&mut other).await;
    let mut signals = 0;
    for (_, doc) in other.docs() {
        if let DocKind::Confidential { partner, .. } = doc.kind {
            assert_eq!(partner, Partner::CareOrganisation);
            let confidential: Confidential = docs::read(&doc.doc).unwrap();
            signals += confidential.signals.len();
        }
    }
    assert!(signals > 0, "seed 11 records at least one care signal");
}

async fn many_devices_syncing_at_once_all_converge(backend: Backend) {
    let db = TestDb::new(backend).await;
    let app = std::sync::Arc::new(spawn_app(&db).await);
    let mut tasks = Vec::new();
    for i in 0..8u64 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            let mut phone = device();
            app.sync(&mut phone).await;
            let mut rng = rng(100 + i);
            for _ in 0..3 {
                record_visit(&mut phone, &mut rng);
                // A 503 (two new documents created at the same instant) is retried.
                for attempt in 0.. {
                    assert!(attempt < 20, "sync kept failing");
                    match app.exchange(&phone.request()).await {
                        Ok(response) => {
                            phone.receive(response);
                            break;
                        }
                        Err(e) if e.status == 503 => continue,
                        Err(e) => panic!("sync refused: {} {}", e.status, e.body),
                    }
                }
            }
            phone
        }));
    }
    let mut phones = Vec::new();
    for task in tasks {
        phones.push(task.await.unwrap());
    }
    let expected = app.server_heads().await;
    assert_eq!(
        street_of(&{
            let mut d = device();
            app.sync(&mut d).await;
            d
        })
        .visits
        .len(),
        24
    );
    for phone in &mut phones {
        app.sync(phone).await;
        assert_eq!(phone.unsynced(), 0);
        assert_eq!(heads(phone), expected);
    }
}

/// Issue 11: offline, one person answers "yes" and types the name, another "no"; and a
/// name typed beside a later "no". Every sync is accepted (the second phone was refused
/// with 422 for good before); the clash stays visible as two answers; the name beside the
/// later "no" is cleared by the server's repair, on the server and on every phone.
async fn consent_answered_differently_offline_never_blocks_a_phone(backend: Backend) {
    use voordeur_shared::{
        docs::Signature,
        model::{Consent, Resident},
        record::Door,
    };
    let db = TestDb::new(backend).await;
    let app = spawn_app(&db).await;
    let (mut builder, mut coach) = (device(), device());
    app.sync(&mut builder).await;
    let visit = record_visit(&mut builder, &mut rng(2));
    let address = street_of(&builder).visits[&visit].address.parse().unwrap();
    let door = Door::find(&builder, voordeur_shared::demo::street_id(), address).unwrap();
    app.sync(&mut builder).await;
    app.sync(&mut coach).await;
    let jan = |name: &str| Resident {
        name: name.into(),
        contact: String::new(),
    };
    let by = |name| Signature { by: name, at_ms: 1 };
    let answer = |replica: &mut voordeur_shared::sync::client::Replica, who, consent, name| {
        door.set_consent(replica, by(who), consent, &jan(name))
            .unwrap();
    };
    let household = |replica: &voordeur_shared::sync::client::Replica| -> Household {
        docs::read(&replica.get(&door.household().id()).unwrap().doc).unwrap()
    };

    // Both from "not asked": two answers side by side, the name kept while one is yes.
    answer(&mut builder, "Sanne", Consent::Given, "Jan Smit");
    answer(&mut coach, "Karim", Consent::Refused, "");
    app.sync(&mut builder).await;
    app.sync(&mut coach).await;
    app.sync(&mut builder).await;
    for replica in [&builder, &coach] {
        let doc = &replica.get(&door.household().id()).unwrap().doc;
        let mut answers = docs::consent_answers(doc).unwrap();
        answers.sort_by_key(|c| c.name());
        assert_eq!(answers, [Consent::Given, Consent::Refused]);
        assert_eq!(household(replica).resident.name, "Jan Smit");
    }

    // Settled as "yes"; then withdrawn on one phone while the other changes the name
    // alone (the app answers "yes" again with a name; an older one did not).
    answer(&mut builder, "Sanne", Consent::Given, "Jan Smit");
    app.sync(&mut builder).await;
    app.sync(&mut coach).await;
    answer(&mut coach, "Karim", Consent::Withdrawn, "");
    let doc = &mut builder.get_mut(&door.household().id()).unwrap().doc;
    docs::put_field(doc, "resident", &jan("J. Smit")).unwrap();
    doc.commit();
    app.sync(&mut coach).await;
    app.sync(&mut builder).await;
    app.sync(&mut coach).await;
    let mut fresh = device();
    app.sync(&mut fresh).await;
    for replica in [&builder, &coach, &fresh] {
        let kept = household(replica);
        assert_eq!(kept.consent, Consent::Withdrawn);
        assert!(
            kept.resident.is_empty(),
            "the repair reached every phone: {kept:?}"
        );
    }
    assert_eq!(heads(&mut builder), heads(&mut coach));
}

crate::on_both_backends!(
    consent_answered_differently_offline_never_blocks_a_phone,
    a_new_device_receives_the_whole_street_in_one_round_trip,
    offline_work_on_two_devices_merges_in_one_round_trip_each,
    notes_edited_on_two_offline_devices_keep_both_texts,
    a_retried_request_applies_nothing_twice,
    signals_land_in_the_confidential_document_of_their_partner,
    many_devices_syncing_at_once_all_converge,
);
