//! What the server keeps: across restarts, through a restore from backup, and compacted.

use std::collections::BTreeSet;

use voordeur_server::store::{
    COMPACT_AFTER_CHUNKS, Chunks, DocStore, Snapshot, memory::MemoryStore,
};
use voordeur_shared::{
    automerge::{AutoCommit, ROOT, transaction::Transactable},
    demo,
    docs::new_actor,
    sync::server::DocWrite,
};

use crate::helpers::{
    Backend, TestDb, config, device, heads, record_visit, rng, spawn_app, spawn_app_with,
    street_kind, street_of,
};

async fn acknowledged_changes_survive_a_restart(backend: Backend) {
    let db = TestDb::new(backend).await;
    let mut phone = device();
    {
        let app = spawn_app(&db).await;
        app.sync(&mut phone).await;
        record_visit(&mut phone, &mut rng(5));
        app.sync(&mut phone).await;
        app.store.close().await;
    }
    let app = spawn_app(&db).await;
    assert_eq!(app.server_heads().await, heads(&mut phone));
    let mut other = device();
    app.sync(&mut other).await;
    assert_eq!(street_of(&other).visits.len(), 1);
}

async fn a_document_with_many_changes_is_compacted_and_still_whole(backend: Backend) {
    let db = TestDb::new(backend).await;
    let app = spawn_app(&db).await;
    let mut phone = device();
    app.sync(&mut phone).await;
    let mut rng = rng(9);
    for _ in 0..60 {
        record_visit(&mut phone, &mut rng);
        app.sync(&mut phone).await;
    }
    let chunks = app.store.chunk_count(street_kind().id()).await.unwrap();
    assert!(
        chunks <= COMPACT_AFTER_CHUNKS,
        "{chunks} chunks after 60 syncs"
    );
    let mut other = device();
    app.sync(&mut other).await;
    assert_eq!(street_of(&other).visits.len(), 60);
    assert_eq!(heads(&mut other), heads(&mut phone));
    street_kind()
        .validate(&other.get(&street_kind().id()).unwrap().doc)
        .unwrap();
}

/// The demo street's document as `store` holds it.
async fn load_street<S: DocStore>(store: &S) -> AutoCommit {
    let id = street_kind().id();
    let mut tx = store.begin().await.unwrap();
    let mut docs = store.load(&mut tx, &BTreeSet::from([id])).await.unwrap();
    docs.remove(&id).unwrap()
}

/// Renames the street in `doc` and writes the change as a sync would, in a transaction
/// of its own.
async fn write_change<S: DocStore>(store: &S, doc: &mut AutoCommit, name: &str) -> Chunks {
    let before = doc.get_heads();
    doc.put(ROOT, "name", name).unwrap();
    doc.commit();
    let write = DocWrite {
        id: street_kind().id(),
        kind: street_kind(),
        created: false,
        changes: doc.save_after(&before),
        heads: doc.get_heads(),
        authors: Default::default(),
        repaired: false,
    };
    let mut tx = store.begin().await.unwrap();
    let chunks = store.write(&mut tx, &[write]).await.unwrap();
    store.commit(tx).await.unwrap();
    chunks[&street_kind().id()]
}

/// Compaction replaces only the chunks its snapshot covers: a chunk another sync appended
/// after the snapshot was taken is kept, and a snapshot is dropped once the document was
/// compacted after its sync wrote, so snapshots never stack.
async fn compaction_keeps_what_its_snapshot_does_not_cover<S: DocStore>(store: &S) {
    let id = street_kind().id();
    let mut doc = load_street(store).await;
    let as_created = doc.save();
    let first = write_change(store, &mut doc, "Lindenstraat I").await;
    // A sync that wrote before `first` compacts only now: its snapshot replaces the
    // chunks before `first`, and `first` is kept.
    let older = Snapshot {
        id,
        through: first.last - 1,
        bytes: as_created,
    };
    assert_eq!(store.compact(&[older]).await.unwrap(), 1);
    assert_eq!(load_street(store).await.get_heads(), doc.get_heads());
    // `first`'s own snapshot comes too late: the document was compacted after `first`
    // was written, so it is dropped rather than stacked on the other.
    let late = Snapshot {
        id,
        through: first.last,
        bytes: doc.save(),
    };
    assert_eq!(store.compact(&[late]).await.unwrap(), 0);

    let second = write_change(store, &mut doc, "Lindenstraat II").await;
    assert_eq!(
        second.count, 3,
        "a snapshot, the first change and the second"
    );
    let snapshot = Snapshot {
        id,
        through: second.last,
        bytes: doc.save(),
    };
    // Another sync appends a chunk before this one compacts.
    let third = write_change(store, &mut doc, "Lindenstraat III").await;
    assert!(third.last > second.last);
    assert_eq!(
        store
            .compact(std::slice::from_ref(&snapshot))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        load_street(store).await.get_heads(),
        doc.get_heads(),
        "the later change is kept"
    );
    assert_eq!(
        store.compact(&[snapshot]).await.unwrap(),
        0,
        "a snapshot whose chunks are gone changes nothing"
    );
    let fourth = write_change(store, &mut doc, "Lindenstraat IV").await;
    assert_eq!(
        fourth.count, 3,
        "the snapshot, the third change and the fourth"
    );
    let mut stored = load_street(store).await;
    assert_eq!(stored.get_heads(), doc.get_heads());
    street_kind().validate(&stored).unwrap();
}

/// Phones writing one street at once: while one sync compacts the street, the others that
/// find it long leave it to that one, so it ends as one snapshot and the chunks written
/// since, never as a stack of snapshots.
async fn a_street_written_by_many_phones_at_once_is_compacted_once_at_a_time(backend: Backend) {
    const PHONES: u64 = 8;
    const VISITS: usize = 6;
    let db = TestDb::new(backend).await;
    let app = std::sync::Arc::new(spawn_app(&db).await);
    let mut tasks = Vec::new();
    for i in 0..PHONES {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            let mut phone = device();
            app.sync(&mut phone).await;
            let mut rng = rng(200 + i);
            for _ in 0..VISITS {
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
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&db.url).await.unwrap();
    let count = |sql: &'static str| {
        let pool = pool.clone();
        async move {
            let row = sqlx::query(sql)
                .bind(street_kind().id().to_string())
                .fetch_one(&pool)
                .await
                .unwrap();
            sqlx::Row::try_get::<i64, _>(&row, "n").unwrap()
        }
    };
    let chunks = count("SELECT COUNT(*) AS n FROM chunks WHERE doc_id = $1").await;
    let snapshots =
        count("SELECT COUNT(*) AS n FROM chunks WHERE doc_id = $1 AND snapshot = 1").await;
    assert_eq!(
        snapshots, 1,
        "{chunks} chunks, {snapshots} of them snapshots"
    );
    assert!(chunks <= COMPACT_AFTER_CHUNKS, "{chunks} chunks");
    let mut other = device();
    app.sync(&mut other).await;
    assert_eq!(street_of(&other).visits.len(), PHONES as usize * VISITS);
}

async fn compaction_replaces_only_the_chunks_its_snapshot_covers(backend: Backend) {
    let db = TestDb::new(backend).await;
    let app = spawn_app(&db).await;
    compaction_keeps_what_its_snapshot_does_not_cover(&app.store).await;
}

crate::on_both_backends!(
    acknowledged_changes_survive_a_restart,
    a_document_with_many_changes_is_compacted_and_still_whole,
    compaction_replaces_only_the_chunks_its_snapshot_covers,
    a_street_written_by_many_phones_at_once_is_compacted_once_at_a_time,
);

/// The same rule on the in-memory store the simulation runs on.
#[tokio::test]
async fn the_memory_store_compacts_by_the_same_rule() {
    let store = MemoryStore::new(COMPACT_AFTER_CHUNKS);
    let (kind, mut doc) = demo::street(new_actor()).unwrap();
    store.create(kind, &mut doc);
    compaction_keeps_what_its_snapshot_does_not_cover(&store).await;
}

/// The server's disk is restored from last night's backup: what phones synced since is
/// gone from the server, but not from the phones. They hand it back, one extra round trip.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_restored_from_backup_gets_everything_back_from_the_phones() {
    let db = TestDb::new(Backend::Sqlite).await;
    let backup = db.dir.path().join("backup.db");
    let mut phone = device();
    let mut rng = rng(21);
    {
        let app = spawn_app(&db).await;
        app.sync(&mut phone).await;
        record_visit(&mut phone, &mut rng);
        app.sync(&mut phone).await;
        // A consistent copy of the live database, as a backup tool would make.
        sqlx::query(&format!("VACUUM INTO '{}'", backup.display()))
            .execute(&mut *app_sqlite(&db).await)
            .await
            .unwrap();
        for _ in 0..3 {
            record_visit(&mut phone, &mut rng);
        }
        app.sync(&mut phone).await;
        assert_eq!(phone.unsynced(), 0);
        app.store.close().await;
    }
    // The restored server starts from the backup file.
    let restored = TestDb::new(Backend::Sqlite).await;
    std::fs::copy(&backup, restored.sqlite_file()).unwrap();
    let app = spawn_app_with(config(&restored)).await;
    let mut late = device();
    app.sync(&mut late).await;
    assert_eq!(street_of(&late).visits.len(), 1, "the backup has one visit");

    assert!(
        app.sync(&mut phone).await.again,
        "the server asks for everything"
    );
    assert!(
        !app.sync(&mut phone).await.again,
        "one extra round trip converges"
    );
    assert_eq!(app.server_heads().await, heads(&mut phone));
    app.sync(&mut late).await;
    assert_eq!(street_of(&late).visits.len(), 4, "all four visits are back");
}

async fn app_sqlite(db: &TestDb) -> sqlx::pool::PoolConnection<sqlx::Any> {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&db.url).await.unwrap();
    pool.acquire().await.unwrap()
}
