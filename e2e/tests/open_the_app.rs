//! A user opens the app in a browser: the server serves the field app, the WebAssembly app
//! starts, follows the server's one street and shows it as a walk list.

use voordeur_e2e::{PHONE, Phone, Server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_start_fetches_the_street_and_shows_its_doors() {
    let server = Server::start().await.expect("server starts");
    let profile = tempfile::tempdir().unwrap();
    let phone = Phone::open(profile.path(), &server.url("/"), PHONE)
        .await
        .expect("Chromium starts");
    let result = async {
        phone.wait_synced().await?;
        let heading: String = phone.eval("document.querySelector('h1').innerText").await?;
        let doors: u32 = phone
            .eval("document.querySelectorAll('a.door').length")
            .await?;
        let lang: String = phone.eval("document.documentElement.lang").await?;
        let status = phone.status().await?;
        anyhow::Ok((heading, doors, lang, status))
    }
    .await;
    phone.close().await.unwrap();
    let (heading, doors, lang, status) = result.unwrap();
    assert_eq!(heading, "Lindenstraat");
    assert_eq!(doors, 43, "every door of the demo street");
    assert_eq!(lang, "nl", "Dutch first");
    assert!(status.contains("Alles gesynchroniseerd"), "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deep_link_gets_the_app_and_english_is_one_tap_away() {
    let server = Server::start().await.expect("server starts");
    let profile = tempfile::tempdir().unwrap();
    let phone = Phone::open(profile.path(), &server.url("/straat/lindenstraat"), PHONE)
        .await
        .expect("Chromium starts");
    let result = async {
        phone.wait_synced().await?;
        phone.tap("header.status button[lang=en]").await?;
        phone
            .wait_for("document.documentElement.lang === 'en'")
            .await?;
        let next: String = phone
            .eval("document.querySelector('a.next').innerText")
            .await?;
        // The choice is kept.
        phone.reload().await?;
        phone.wait_for("document.querySelector('a.door')").await?;
        let lang: String = phone.eval("document.documentElement.lang").await?;
        anyhow::Ok((next, lang))
    }
    .await;
    phone.close().await.unwrap();
    let (next, lang) = result.unwrap();
    assert!(next.starts_with("Next door"), "{next}");
    assert_eq!(lang, "en");
}
