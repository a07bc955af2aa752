//! A user opens the app in a browser: the server serves the field app, the WebAssembly app
//! starts, follows the server's one street and shows it as a walk list.

use voordeur_e2e::{PHONE, Phone, Server, THE_APP};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_start_fetches_the_street_and_shows_its_doors() {
    let server = Server::start().await.expect("server starts");
    let profile = tempfile::tempdir().unwrap();
    let fits = "document.documentElement.scrollWidth <= window.innerWidth";
    Phone::session(profile.path(), &server.url("/"), PHONE, async |phone| {
        phone
            .wait_for("document.querySelector('form.sign-in')")
            .await?;
        let syncs: bool = phone
            .eval("!!document.querySelector('header .sync')")
            .await?;
        assert!(!syncs, "no sync status before anyone signs in");
        phone.sign_in("sanne").await?;
        phone.wait_synced().await?;
        // The browser was asked to keep the storage; the walk list says what it answered,
        // and what that risks when it said no.
        phone
            .wait_for("document.querySelector('p.storage[data-kept]')")
            .await?;
        let shown: String = phone
            .eval("document.querySelector('p.storage').dataset.kept")
            .await?;
        let kept: bool = phone.eval("navigator.storage.persisted()").await?;
        assert_eq!(shown, kept.to_string());
        let warned: bool = phone
            .eval("!!document.querySelector('.storage-not-kept')")
            .await?;
        assert_eq!(warned, !kept);
        let heading: String = phone.eval("document.querySelector('h1').innerText").await?;
        assert_eq!(heading, "Lindenstraat");
        let doors: u32 = phone
            .eval("document.querySelectorAll('a.door').length")
            .await?;
        assert_eq!(doors, 43, "every door of the demo street");
        let lang: String = phone.eval("document.documentElement.lang").await?;
        assert_eq!(lang, "nl", "Dutch first");
        let status = phone.status().await?;
        assert!(status.contains("Alles gesynchroniseerd"), "{status}");
        // Nothing wider than the phone, on the walk list and on a door.
        assert!(
            phone.eval::<bool>(fits).await?,
            "the walk list scrolls sideways"
        );
        phone.open_door("1A").await?;
        phone.tap("button[data-outcome=Talked]").await?;
        phone
            .wait_for("document.querySelector('article.visit')")
            .await?;
        assert!(phone.eval::<bool>(fits).await?, "the door scrolls sideways");
        // The most common visit (an outcome, a few words, maybe a wish) in one screen:
        // with three lines of notes and a wish, the button for another wish is above the
        // screen's bottom edge from the top, and the rest is folded.
        phone
            .type_into(
                "article.visit textarea.notes",
                "Woont hier 12 jaar. Mist een plek om buren te ontmoeten; wil helpen met een buurtbarbecue.",
            )
            .await?;
        phone
            .type_into("article.visit input.wish", "Bankjes bij de speeltuin")
            .await?;
        phone
            .tap("article.visit form.add-wish button[type=submit]")
            .await?;
        phone
            .wait_for("document.querySelector('article.visit ul.wishes li')")
            .await?;
        let (bottom, height): (f64, f64) = phone
            .eval(
                "window.scrollTo(0, 0); \
                 [document.querySelector('article.visit form.add-wish button') \
                   .getBoundingClientRect().bottom, window.innerHeight]",
            )
            .await?;
        assert!(
            bottom <= height,
            "a visit with a wish takes more than one screen: its button ends at {bottom} px of {height}"
        );
        let folded: bool = phone
            .eval("!document.querySelector('article.visit details.more').open")
            .await?;
        assert!(folded, "contribution and signals are folded on a new visit");
        // With text at 200 % (a browser's text size setting), the door and the walk list
        // still fit the phone's width, and axe still finds nothing serious.
        phone
            .run("document.documentElement.style.fontSize = '200%';")
            .await?;
        assert!(
            phone.eval::<bool>(fits).await?,
            "the door at 200 % scrolls sideways"
        );
        phone.check_accessibility("the door at 200 %").await?;
        phone.goto_walk_list().await?;
        assert!(
            phone.eval::<bool>(fits).await?,
            "the walk list at 200 % scrolls sideways"
        );
        Ok(())
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deep_link_gets_the_app_and_english_is_one_tap_away() {
    let server = Server::start().await.expect("server starts");
    let profile = tempfile::tempdir().unwrap();
    let url = server.url("/straat/lindenstraat");
    Phone::session(profile.path(), &url, PHONE, async |phone| {
        phone.sign_in("sanne").await?;
        phone.wait_synced().await?;
        phone.tap("header.status button[lang=en]").await?;
        phone
            .wait_for("document.documentElement.lang === 'en'")
            .await?;
        let next: String = phone
            .eval("document.querySelector('a.next').innerText")
            .await?;
        assert!(next.starts_with("Next door"), "{next}");
        // The choice is kept.
        phone.reload().await?;
        phone.wait_for("document.querySelector('a.door')").await?;
        let lang: String = phone.eval("document.documentElement.lang").await?;
        assert_eq!(lang, "en");
        Ok(())
    })
    .await
    .unwrap();
}

/// A server that refuses a sync (here: too large for its limit) is a refusal, not "offline":
/// the problem bar says why in Dutch, the status bar says refused, the change stays on the
/// phone, waiting, and the phone does not send the refused request again at every change
/// (only when asked).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_sync_says_why() {
    let server = Server::start_with_body_limit(2_000)
        .await
        .expect("server starts");
    let profile = tempfile::tempdir().unwrap();
    // Notes that do not compress below the server's limit.
    let alphabet: Vec<char> = ('a'..='z').chain('0'..='9').collect();
    let mut seed: u64 = 7;
    let notes: String = (0..6000)
        .map(|_| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            alphabet[(seed >> 33) as usize % alphabet.len()]
        })
        .collect();
    // Sync requests the page has sent (and had answered).
    let syncs = "performance.getEntriesByType('resource')\
                 .filter(e => e.name.endsWith('/api/sync')).length";
    Phone::session(profile.path(), &server.url("/"), PHONE, async |phone| {
        phone.sign_in("sanne").await?;
        phone.wait_synced().await?;
        phone.open_door("1").await?;
        phone.tap("button[data-outcome=Talked]").await?;
        phone
            .run(&format!(
                "const ta = document.querySelector('article.visit textarea.notes'); \
                 ta.value = {notes:?}; ta.dispatchEvent(new Event('input', {{ bubbles: true }}))"
            ))
            .await?;
        phone.tap("button.sync-now").await?;
        phone
            .wait_for("document.querySelector('[data-sync=refused]')")
            .await?;
        let status = phone.status().await?;
        assert!(status.contains("Geweigerd door de server"), "{status}");
        let problem: String = phone
            .eval("document.querySelector('p.problem')?.innerText ?? ''")
            .await?;
        assert!(problem.contains("te groot"), "why, in Dutch: {problem}");
        assert!(problem.contains("bewaard"), "the work is kept: {problem}");
        assert!(problem.contains("(413 too_large)"), "{problem}");
        let waiting: String = phone
            .eval("document.querySelector('[data-unsynced]').dataset.unsynced")
            .await?;
        assert_ne!(waiting, "0", "the refused change still waits");
        if let Ok(dir) = std::env::var("VOORDEUR_SCREENSHOTS") {
            phone
                .screenshot(&std::path::Path::new(&dir).join("refused-sync.png"))
                .await?;
        }

        // More typing does not resend the refused request; asking does.
        let sent: u32 = phone.eval(syncs).await?;
        phone
            .type_into("article.visit textarea.notes", " en nog wat")
            .await?;
        tokio::time::sleep(std::time::Duration::from_secs(4)).await;
        assert_eq!(
            phone.eval::<u32>(syncs).await?,
            sent,
            "no request per change"
        );
        phone.tap("button.sync-now").await?;
        phone.wait_for(&format!("{syncs} > {sent}")).await?;
        phone
            .wait_for("document.querySelector('[data-sync=refused]')")
            .await?;
        // English, too.
        phone.tap("header.status button[lang=en]").await?;
        phone
            .wait_for("document.querySelector('p.problem')?.innerText.includes('too large')")
            .await?;
        Ok(())
    })
    .await
    .unwrap();
}

/// A server with several streets: the first start asks which one to follow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_several_streets_the_first_start_asks_which() {
    let server = Server::start().await.expect("server starts");
    server
        .add_street("Eikenlaan", &["sanne"])
        .await
        .expect("a second street");
    let profile = tempfile::tempdir().unwrap();
    Phone::session(profile.path(), &server.url("/"), PHONE, async |phone| {
        phone.sign_in("sanne").await?;
        phone.wait_for("document.querySelectorAll('.streets button').length === 2").await?;
        let heading: String = phone.eval("document.querySelector('h1').innerText").await?;
        assert_eq!(heading, "Kies je straat");
        phone
            .run("[...document.querySelectorAll('.streets button')].find(b => b.innerText === 'Lindenstraat').click()")
            .await?;
        phone.wait_synced().await?;
        phone.wait_for("document.querySelectorAll('a.door').length === 43").await?;
        // Kept: a reload goes straight to the street.
        phone.reload().await?;
        phone.wait_for("document.querySelectorAll('a.door').length === 43").await?;
        Ok(())
    })
    .await
    .unwrap();
}

/// On a first visit the page's own sign-in form is there before the app's code: a person
/// switches it to English, types, and presses sign in; the app, once it arrives, takes
/// over and signs them in, in English.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_signs_in_before_the_app_has_arrived() {
    let server = Server::start().await.expect("server starts");
    let profile = tempfile::tempdir().unwrap();
    Phone::session(profile.path(), "about:blank", PHONE, async |phone| {
        let held = phone.hold(THE_APP).await?;
        phone.page.goto(server.url("/")).await?;
        phone
            .wait_for("document.querySelector('#boot form.sign-in')")
            .await?;
        phone
            .check_accessibility("the sign-in form before the app")
            .await?;
        phone.tap("#boot header.status button[lang=en]").await?;
        let title: String = phone.eval("document.querySelector('h1').innerText").await?;
        assert_eq!(title, "Sign in to Voordeur");
        phone.type_into("input[name=username]", "sanne").await?;
        phone
            .type_into("input[name=password]", voordeur_shared::demo::PASSWORD)
            .await?;
        phone.tap("form.sign-in button[type=submit]").await?;
        phone
            .wait_for("document.querySelector('#boot [role=status]:not([hidden])')")
            .await?;
        let waiting: String = phone
            .eval("document.querySelector('#boot [role=status]').innerText")
            .await?;
        assert_eq!(waiting, "Loading the app…");
        assert!(
            phone
                .eval::<bool>("!!document.getElementById('boot')")
                .await?,
            "the app has not arrived yet"
        );
        held.release();
        phone.wait_synced().await?;
        phone
            .wait_for("document.querySelectorAll('a.door').length === 43")
            .await?;
        let (signed_in, lang): (bool, String) = phone
            .eval("[!document.querySelector('form.sign-in'), document.documentElement.lang]")
            .await?;
        assert!(signed_in, "signed in with what was typed before the app");
        assert_eq!(lang, "en", "the language chosen before the app");
        phone.reload().await?;
        phone.wait_for("document.querySelector('a.door')").await?;
        let lang: String = phone.eval("document.documentElement.lang").await?;
        assert_eq!(lang, "en", "and kept");
        Ok(())
    })
    .await
    .unwrap();
}

/// A person still typing when the app arrives goes on typing where they were: the app's
/// form has what was typed, the focus and the caret.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_arriving_mid_word_takes_over_the_typing() {
    let server = Server::start().await.expect("server starts");
    let profile = tempfile::tempdir().unwrap();
    Phone::session(profile.path(), "about:blank", PHONE, async |phone| {
        let held = phone.hold(THE_APP).await?;
        phone.page.goto(server.url("/")).await?;
        phone.type_into("input[name=username]", "sanne").await?;
        let password = voordeur_shared::demo::PASSWORD;
        let (first, rest) = password.split_at(password.len() / 2);
        phone.type_into("input[name=password]", first).await?;
        phone
            .run("document.activeElement.setSelectionRange(1, 1)")
            .await?;
        held.release();
        phone.wait_for_app_sign_in().await?;
        let (focused, caret, username, typed): (String, u32, String, String) = phone
            .eval(
                "[document.activeElement.name, document.activeElement.selectionStart, \
                  document.querySelector('input[name=username]').value, \
                  document.querySelector('input[name=password]').value]",
            )
            .await?;
        assert_eq!(
            (focused.as_str(), caret, username.as_str(), typed.as_str()),
            ("password", 1, "sanne", first)
        );
        phone.type_into("input[name=password]", rest).await?;
        phone.tap("form.sign-in button[type=submit]").await?;
        phone.wait_synced().await
    })
    .await
    .unwrap();
}
