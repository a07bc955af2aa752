//! What the server keeps: across restarts, through a restore from backup, and compacted.

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
        chunks <= voordeur_server::store::COMPACT_AFTER_CHUNKS,
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

crate::on_both_backends!(
    acknowledged_changes_survive_a_restart,
    a_document_with_many_changes_is_compacted_and_still_whole,
);

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
