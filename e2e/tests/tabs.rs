//! Two tabs of the app on one phone: one browser profile, so one local storage. Both edit
//! at once (different doors, and the same door's notes), online and then without signal;
//! nothing is lost, each tab shows the other's edits as they are made, and after a reload;
//! when the server is back, it gets everything.

use voordeur_e2e::{PHONE, Phone, Server, Tab};

const NOTES: &str = "article.visit textarea.notes";

fn notes(number: &str, who: &str) -> String {
    format!("Tab {who} aan deur {number}.")
}

/// Waits until door `number`'s notes in `tab` hold every one of `texts`.
async fn shows(tab: &Tab, number: &str, texts: &[&str]) -> anyhow::Result<()> {
    tab.open_door(number).await?;
    let all = texts
        .iter()
        .map(|t| format!("document.querySelector({NOTES:?}).value.includes({t:?})"))
        .collect::<Vec<_>>()
        .join(" && ");
    tab.wait_for(&all).await
}

/// Each tab types its text a word at a time, taking turns; `at`: where the tab starts
/// typing (the end if `None`), then it goes on after its own words.
async fn turns(typists: &[(&Tab, Option<usize>, &str)]) -> anyhow::Result<()> {
    let words: Vec<Vec<&str>> = typists
        .iter()
        .map(|(_, _, text)| text.split_inclusive(' ').collect())
        .collect();
    let mut typed = vec![0usize; typists.len()];
    let rounds = words.iter().map(Vec::len).max().unwrap_or(0);
    for round in 0..rounds {
        for (i, (tab, at, _)) in typists.iter().enumerate() {
            if let Some(word) = words[i].get(round) {
                let at = at.map(|start| start + typed[i]);
                tab.type_at(NOTES, at, word).await?;
                typed[i] += word.chars().count();
            }
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_tabs_editing_at_once_lose_nothing_and_show_each_others_edits() {
    let mut server = Server::start().await.expect("server starts");
    let url = server.url("/");
    let profile = tempfile::tempdir().unwrap();
    let phone = Phone::open(profile.path(), &url, PHONE).await.unwrap();
    let result = async {
        phone.sign_in("sanne").await?;
        phone.wait_synced().await?;
        let ready: bool = phone
            .eval("navigator.serviceWorker.ready.then(r => !!r.active)")
            .await?;
        anyhow::ensure!(ready, "the service worker is not active");
        // The second tab finds the person signed in: the storage is the same.
        let second = phone.open_tab(&url).await?;
        second.wait_synced().await?;
        let first: &Tab = &phone;

        let mut same_doors = Vec::new();
        for (round, [a, b, same]) in [("online", ["1", "3", "5"]), ("offline", ["7", "9", "11"])] {
            if round == "offline" {
                server.stop().await?;
            }
            // At once, at different doors: the tabs take turns, a word at a time (a tab
            // behind another takes no keys).
            for (tab, door) in [(first, a), (&second, b)] {
                tab.open_door(door).await?;
                tab.tap("button[data-outcome=Talked]").await?;
            }
            turns(&[
                (first, None, &notes(a, "A")),
                (&second, None, &notes(b, "B")),
            ])
            .await?;
            // Both at one door: the first tab records the talk, the second sees it come.
            first.open_door(same).await?;
            first.tap("button[data-outcome=Talked]").await?;
            second.open_door(same).await?;
            second
                .wait_for(&format!("document.querySelector({NOTES:?})"))
                .await?;
            // At once, in the same notes: the first tab writes at the end, the second at the
            // start, each hearing of the other's words between its own.
            turns(&[
                (first, None, "Eerst tab A over de tuin."),
                (&second, Some(0), "Dan tab B over de trap."),
            ])
            .await?;
            same_doors.push(same);
            for (name, tab) in [("first", first), ("second", &second)] {
                shows(
                    tab,
                    same,
                    &["Eerst tab A over de tuin.", "Dan tab B over de trap."],
                )
                .await
                .map_err(|e| e.context(format!("{round}: the {name} tab, door {same}")))?;
                shows(tab, a, &[&notes(a, "A")]).await?;
                shows(tab, b, &[&notes(b, "B")]).await?;
            }
        }
        // Still without signal: both tabs reloaded show all of it.
        for tab in [first, &second] {
            tab.page.bring_to_front().await?;
            tab.reload().await?;
            tab.goto_walk_list().await?;
            tab.wait_for("document.querySelectorAll('a.door.talked').length === 6")
                .await?;
            for same in &same_doors {
                shows(
                    tab,
                    same,
                    &["Eerst tab A over de tuin.", "Dan tab B over de trap."],
                )
                .await?;
            }
            shows(tab, "9", &[&notes("9", "B")]).await?;
            tab.goto_walk_list().await?;
        }
        server.restart().await?;
        for tab in [first, &second] {
            tab.wait_synced().await?;
        }
        anyhow::Ok(same_doors)
    }
    .await;
    phone.close().await.unwrap();
    let same_doors = result.unwrap();
    assert_eq!(server.visits().await.unwrap(), 6, "visits on the server");

    // Someone else's browser gets both tabs' notes from the server.
    let other = tempfile::tempdir().unwrap();
    Phone::session(other.path(), &url, PHONE, async |coach| {
        coach.sign_in("karim").await?;
        coach.wait_synced().await?;
        for same in &same_doors {
            shows(
                coach,
                same,
                &["Eerst tab A over de tuin.", "Dan tab B over de trap."],
            )
            .await?;
        }
        shows(coach, "3", &[&notes("3", "B")]).await?;
        shows(coach, "7", &[&notes("7", "A")]).await
    })
    .await
    .unwrap();
}
