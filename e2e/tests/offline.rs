//! Scenario 1 (../shared/BRIEF.md): the builder opens the app once at the office; in the
//! street, without signal, records fifteen doors, reloads, closes the browser and opens it
//! again: all fifteen are there. When the server can be reached again everything syncs by
//! itself, and another person's browser sees the fifteen doors.
//!
//! "No signal" is the server really gone: stopped, every connection closed. The reload and
//! the reopening get the app from the service worker's cache.

use voordeur_e2e::{PHONE, Phone, Server};

const DOORS: usize = 15;

async fn at_the_office(phone: &Phone) -> anyhow::Result<Vec<String>> {
    phone.wait_synced().await?;
    phone.type_into("input[name=author]", "Fatima").await?;
    phone.tap("form.card button[type=submit]").await?;
    // The service worker holds the app shell before the builder leaves the office.
    let ready: bool = phone
        .eval("navigator.serviceWorker.ready.then(r => !!r.active)")
        .await?;
    anyhow::ensure!(ready, "the service worker is not active");
    phone
        .eval(&format!(
            "[...document.querySelectorAll('a.door')].slice(0, {DOORS}).map(a => a.dataset.number)"
        ))
        .await
}

async fn in_the_street(phone: &Phone, doors: &[String]) -> anyhow::Result<()> {
    for number in doors {
        phone.open_door(number).await?;
        phone.tap("button[data-outcome=Talked]").await?;
        phone
            .type_into(
                "article.visit textarea.notes",
                &format!("Gesprek aan deur {number}."),
            )
            .await?;
    }
    phone.goto_walk_list().await?;
    phone
        .wait_for("document.querySelector('[data-sync=offline]')")
        .await?;
    Ok(())
}

async fn talked_doors(phone: &Phone) -> anyhow::Result<usize> {
    phone.wait_for("document.querySelector('a.door')").await?;
    phone
        .eval("document.querySelectorAll('a.door.talked').length")
        .await
}

async fn notes_at(phone: &Phone, number: &str) -> anyhow::Result<String> {
    phone.open_door(number).await?;
    phone
        .wait_for("document.querySelector('article.visit textarea.notes')")
        .await?;
    phone
        .eval("document.querySelector('article.visit textarea.notes').value")
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifteen_doors_recorded_without_signal_survive_and_sync_by_themselves() {
    let mut server = Server::start().await.expect("server starts");
    let profile = tempfile::tempdir().unwrap();

    let phone = Phone::open(profile.path(), &server.url("/"), PHONE)
        .await
        .expect("Chromium starts");
    let doors = at_the_office(&phone).await;
    let before_reload = match &doors {
        Ok(doors) => {
            server.stop().await.expect("server stops");
            let recorded = in_the_street(&phone, doors).await;
            let waiting =
                phone.eval::<String>("document.querySelector('[data-unsynced]').dataset.unsynced");
            let waiting = waiting.await;
            let reloaded = async {
                phone.reload().await?;
                talked_doors(&phone).await
            }
            .await;
            Some((recorded, waiting, reloaded))
        }
        Err(_) => None,
    };
    phone.close().await.unwrap();
    let doors = doors.expect("the app opens at the office");
    let (recorded, waiting, reloaded) = before_reload.unwrap();
    recorded.expect("fifteen doors recorded without signal");
    let waiting: usize = waiting.unwrap().parse().unwrap();
    assert!(
        waiting >= DOORS,
        "the status bar counts {waiting} waiting changes"
    );
    assert_eq!(reloaded.unwrap(), DOORS, "after a reload without signal");

    // Close the browser and open it again, still without signal.
    let phone = Phone::open(profile.path(), &server.url("/"), PHONE)
        .await
        .expect("Chromium starts again");
    let reopened = async {
        let talked = talked_doors(&phone).await?;
        let notes = notes_at(&phone, &doors[DOORS - 1]).await?;
        phone.goto_walk_list().await?;
        anyhow::Ok((talked, notes))
    }
    .await;
    // Back in signal: no button pressed.
    let synced = match server.restart().await {
        Ok(()) => phone.wait_synced().await,
        Err(e) => Err(e),
    };
    phone.close().await.unwrap();
    let (talked, notes) = reopened.expect("the reopened browser shows the street");
    assert_eq!(talked, DOORS, "after closing and reopening the browser");
    assert_eq!(notes, format!("Gesprek aan deur {}.", doors[DOORS - 1]));
    synced.expect("everything syncs by itself once the server is back");

    let streets: serde_json::Value = reqwest::get(server.url("/api/streets"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(streets[0]["visits"], DOORS, "{streets}");

    // A coach at the office, in another browser, sees the fifteen doors.
    let other = tempfile::tempdir().unwrap();
    let coach = Phone::open(other.path(), &server.url("/"), PHONE)
        .await
        .expect("a second browser starts");
    let seen = async {
        coach.wait_synced().await?;
        let talked = talked_doors(&coach).await?;
        let notes = notes_at(&coach, &doors[0]).await?;
        anyhow::Ok((talked, notes))
    }
    .await;
    coach.close().await.unwrap();
    let (talked, notes) = seen.unwrap();
    assert_eq!(talked, DOORS);
    assert_eq!(notes, format!("Gesprek aan deur {}.", doors[0]));
}
