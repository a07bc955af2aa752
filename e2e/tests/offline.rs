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
    phone.sign_in("sanne").await?;
    phone.wait_synced().await?;
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

/// The visits, notes and doors the status bar counts as waiting.
async fn waiting(phone: &Phone) -> anyhow::Result<(usize, usize, usize)> {
    let counts: Vec<String> = phone
        .eval(
            "(() => { const s = document.querySelector('.status .sync').dataset; \
             return [s.visits, s.notes, s.doors]; })()",
        )
        .await?;
    let n = |i: usize| counts[i].parse::<usize>();
    Ok((n(0)?, n(1)?, n(2)?))
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
    let url = server.url("/");
    let profile = tempfile::tempdir().unwrap();

    let doors = Phone::session(profile.path(), &url, PHONE, async |phone| {
        let doors = at_the_office(phone).await?;
        server.stop().await?;
        in_the_street(phone, &doors).await?;
        // The status bar counts what the builder did, not the keystrokes it took.
        let counted = waiting(phone).await?;
        assert_eq!(
            counted,
            (DOORS, DOORS, DOORS),
            "visits, notes, doors waiting"
        );
        let said = phone.status().await?;
        assert!(
            said.contains("15 bezoeken en 15 notities bij 15 deuren wachten · oudste"),
            "the status bar says {said:?}"
        );
        phone.reload().await?;
        assert_eq!(
            talked_doors(phone).await?,
            DOORS,
            "after a reload without signal"
        );
        phone
            .wait_for("document.querySelector('[data-sync=offline]')")
            .await?;
        assert_eq!(
            waiting(phone).await?,
            counted,
            "counted alike after a reload"
        );
        Ok(doors)
    })
    .await
    .unwrap();

    // Close the browser and open it again, still without signal; then signal returns.
    Phone::session(profile.path(), &url, PHONE, async |phone| {
        let talked = talked_doors(phone).await?;
        assert_eq!(talked, DOORS, "after closing and reopening the browser");
        let last = &doors[DOORS - 1];
        assert_eq!(
            notes_at(phone, last).await?,
            format!("Gesprek aan deur {last}.")
        );
        phone.goto_walk_list().await?;
        server.restart().await?;
        // No button pressed.
        phone.wait_synced().await
    })
    .await
    .unwrap();

    assert_eq!(
        server.visits().await.unwrap(),
        DOORS as u64,
        "visits on the server"
    );

    // A coach at the office, in another browser, sees the fifteen doors.
    let other = tempfile::tempdir().unwrap();
    Phone::session(other.path(), &url, PHONE, async |coach| {
        coach.sign_in("karim").await?;
        coach.wait_synced().await?;
        assert_eq!(talked_doors(coach).await?, DOORS);
        let first = &doors[0];
        assert_eq!(
            notes_at(coach, first).await?,
            format!("Gesprek aan deur {first}.")
        );
        Ok(())
    })
    .await
    .unwrap();
}
