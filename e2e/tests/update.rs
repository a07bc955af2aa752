//! An app update never strands unsynced work: changes made offline with one version are
//! still there, and sync, when the server has meanwhile been given a new version.
//!
//! The "new version" is the built app with a new service worker version, which is all the
//! browser looks at to decide that the app changed.

use std::path::Path;

use voordeur_e2e::{PHONE, Phone, Server, app_dir};

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        std::fs::copy(entry.path(), to.join(entry.file_name()))?;
    }
    Ok(())
}

/// The service worker's cache names, newest build last.
const CACHES: &str =
    "caches.keys().then(keys => keys.filter(k => k.startsWith('voordeur-shell-')))";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn work_done_offline_survives_an_app_update() {
    let app = tempfile::tempdir().unwrap();
    copy_dir(&app_dir(), app.path()).unwrap();
    let mut server = Server::start().await.expect("server starts");
    server.stop().await.unwrap();
    server.app = app.path().to_path_buf();
    server.restart().await.unwrap();
    let url = server.url("/");
    let profile = tempfile::tempdir().unwrap();

    let old_caches = Phone::session(profile.path(), &url, PHONE, async |phone| {
        phone.sign_in("sanne").await?;
        phone.wait_synced().await?;
        phone
            .eval::<bool>("navigator.serviceWorker.ready.then(r => !!r.active)")
            .await?;
        let caches: Vec<String> = phone.eval(CACHES).await?;

        server.stop().await?;
        for number in ["31", "33"] {
            phone.open_door(number).await?;
            phone.tap("button[data-outcome=Talked]").await?;
            phone
                .type_into("article.visit textarea.notes", &format!("Voor de update, deur {number}."))
                .await?;
        }
        phone
            .wait_for("document.querySelector('[data-sync=offline]')")
            .await?;

        // Meanwhile the server gets a new version of the app.
        let sw = app.path().join("sw.js");
        let script = std::fs::read_to_string(&sw)?;
        let old = caches.first().cloned().unwrap_or_default();
        let version = old.trim_start_matches("voordeur-shell-");
        std::fs::write(&sw, script.replace(version, &format!("{version}-next")))?;
        server.restart().await?;

        // The phone finds the update, keeps running the version it has, and syncs.
        phone.reload().await?;
        phone.wait_synced().await?;
        phone
            .wait_for(
                "navigator.serviceWorker.getRegistration().then(r => window.__waiting = !!r.waiting) \
                 && window.__waiting",
            )
            .await?;
        assert_eq!(phone.eval::<Vec<String>>(CACHES).await?.len(), 2, "old and new shell");
        Ok(caches)
    })
    .await
    .unwrap();
    assert_eq!(old_caches.len(), 1, "{old_caches:?}");

    // Next time the browser opens, the new version runs, and the work is all there.
    Phone::session(profile.path(), &url, PHONE, async |phone| {
        phone
            .wait_for("document.querySelectorAll('a.door.talked').length === 2")
            .await?;
        phone
            .wait_for(&format!(
                "{CACHES}.then(k => window.__caches = k) && window.__caches \
                 && window.__caches.length === 1 && window.__caches[0].endsWith('-next')"
            ))
            .await?;
        phone.wait_synced().await
    })
    .await
    .unwrap();

    assert_eq!(server.visits().await.unwrap(), 2, "visits on the server");
}
