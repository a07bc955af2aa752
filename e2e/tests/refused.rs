//! One refused document never blocks the others (issue 11): a builder follows two streets
//! and, without signal, records a visit in each; meanwhile an administrator takes them off
//! the second street. Back in signal, the first street's visit reaches the server; the
//! second's is refused, and the phone says so in Dutch, at which door and what to do, and
//! keeps it (set aside in storage, across a reload) instead of blocking everything else.

use voordeur_e2e::{PHONE, Phone, Server};

/// Chooses `name` among the streets the walk list offers.
async fn choose(phone: &Phone, name: &str) -> anyhow::Result<()> {
    phone
        .wait_for(&format!(
            "[...document.querySelectorAll('.streets button')].some(b => b.innerText === {name:?})"
        ))
        .await?;
    phone
        .run(&format!(
            "[...document.querySelectorAll('.streets button')].find(b => b.innerText === {name:?}).click()"
        ))
        .await?;
    phone
        .wait_for(&format!(
            "document.querySelector('h1')?.innerText === {name:?} && document.querySelector('a.door')"
        ))
        .await
}

/// Switches the walk list to `name` with the "other street" button.
async fn switch_to(phone: &Phone, name: &str) -> anyhow::Result<()> {
    phone.goto_walk_list().await?;
    phone.tap("button.switch-street").await?;
    choose(phone, name).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_street_taken_away_offline_is_refused_alone_and_its_work_kept() {
    let mut server = Server::start().await.expect("server starts");
    let second = server
        .add_street("Eikenlaan", &["sanne"])
        .await
        .expect("a second street");
    let profile = tempfile::tempdir().unwrap();
    let url = server.url("/");
    Phone::session(profile.path(), &url, PHONE, async |phone| {
        phone.sign_in("sanne").await?;
        choose(phone, "Eikenlaan").await?;
        phone.wait_synced().await?;
        switch_to(phone, "Lindenstraat").await?;
        phone.wait_synced().await?;

        // No signal: a visit in each street.
        server.stop().await?;
        phone.open_door("1A").await?;
        phone.tap("button[data-outcome=Talked]").await?;
        phone
            .wait_for("document.querySelector('article.visit')")
            .await?;
        switch_to(phone, "Eikenlaan").await?;
        phone.open_door("1").await?;
        phone.tap("button[data-outcome=Talked]").await?;
        phone
            .type_into("article.visit textarea.notes", "Wil graag een bankje.")
            .await?;

        // Meanwhile Sanne is taken off Eikenlaan. Back in signal.
        server.unassign("sanne", second).await?;
        server.restart().await?;
        phone.tap("button.sync-now").await?;
        phone.wait_for("document.querySelector('.refusal')").await?;
        phone.check_accessibility("a refused change").await?;
        phone.wait_synced().await?;
        assert_eq!(
            server.visits().await?,
            1,
            "the other street's visit reached the server"
        );

        // On the door's screen: what, where, why, what to do; in Dutch, without ids.
        let notice: String = phone
            .eval("[...document.querySelectorAll('.refusal')].map(e => e.innerText).join('\\n')")
            .await?;
        for words in [
            "Niet aangenomen door de server",
            "je bezoek bij Blok A 1 (Eikenlaan)",
            "je hebt geen toegang meer tot deze straat",
            "Je werk is bewaard op deze telefoon",
            "coördinator",
            "Opnieuw proberen",
        ] {
            assert!(notice.contains(words), "{words:?} in {notice:?}");
        }
        let uuid = regex_free_uuid(&notice);
        assert!(!uuid, "no raw ids: {notice:?}");
        assert!(!notice.contains("no_access"), "no codes: {notice:?}");
        let visits: u32 = phone
            .eval("document.querySelectorAll('article.visit').length")
            .await?;
        assert_eq!(visits, 0, "the door shows the server's version");
        if let Ok(dir) = std::env::var("VOORDEUR_SCREENSHOTS") {
            phone.run("window.scrollTo(0, 0)").await?;
            phone
                .screenshot(&std::path::Path::new(&dir).join("refused-change.png"))
                .await?;
        }

        // Nothing is lost: the refused changes are stored, and still there after a reload.
        let kept: u32 = phone
            .eval("Object.keys(localStorage).filter(k => k.startsWith('vd.aside.')).length")
            .await?;
        assert!(kept >= 1, "the refused changes are stored");
        phone.reload().await?;
        phone.wait_for("document.querySelector('.refusal')").await?;
        // The walk list of the other street shows it too.
        switch_to(phone, "Lindenstraat").await?;
        let walk: String = phone
            .eval("document.querySelector('.refusal')?.innerText ?? ''")
            .await?;
        assert!(walk.contains("Blok A 1 (Eikenlaan)"), "{walk:?}");
        phone.wait_synced().await?;
        Ok(())
    })
    .await
    .unwrap();
}

/// Whether `text` holds something shaped like a UUID (8-4-4-4-12 hex digits).
fn regex_free_uuid(text: &str) -> bool {
    let shape = [8, 4, 4, 4, 12];
    text.split(|c: char| !(c.is_ascii_hexdigit() || c == '-'))
        .any(|word| {
            let parts: Vec<&str> = word.split('-').collect();
            parts.len() == 5 && parts.iter().zip(shape).all(|(p, n)| p.len() == n)
        })
}
