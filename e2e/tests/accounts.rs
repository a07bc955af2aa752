//! People in the browser: scenario 4 (../shared/BRIEF.md) — a care signal recorded in the
//! street reaches the care organisation's coach and no one else — and signing out, which
//! warns about unsent work and then wipes the phone.

use voordeur_e2e::{LAPTOP, PHONE, Phone, Server};

const DOOR: &str = "13";
const SIGNAL: &str = "Mevrouw vraagt hulp bij haar post en administratie.";

/// Signs `username` in on a fresh browser and opens the door.
async fn at_the_door(phone: &Phone, username: &str) -> anyhow::Result<()> {
    phone.sign_in(username).await?;
    phone.wait_synced().await?;
    phone.open_door(DOOR).await
}

async fn page_text(phone: &Phone) -> anyhow::Result<String> {
    phone.eval("document.body.innerText").await
}

/// Whether any stored value, base64-decoded as the app stores bytes, contains `text`, or
/// any key holds a document id (a UUID).
const STORAGE_LEAKS: &str = "(text) => Object.keys(localStorage).some(k => \
    /[0-9a-f]{8}-[0-9a-f]{4}-/.test(k) || (() => { \
      const v = localStorage.getItem(k); let bytes = ''; \
      try { bytes = atob(v); } catch (e) { bytes = v; } \
      return bytes.includes(text) || v.includes(text); })())";

/// What the vault keeps in IndexedDB: (key present, extractable, export refused).
const KEPT_KEY: &str = "new Promise((resolve) => { \
    const open = indexedDB.open('voordeur-vault', 1); \
    open.onsuccess = () => { \
      const get = open.result.transaction('keys').objectStore('keys').get('kek'); \
      get.onsuccess = async () => { \
        const key = get.result; \
        if (!key) return resolve([false, false, true]); \
        const refused = await crypto.subtle.exportKey('raw', key).then(() => false, () => true); \
        resolve([true, key.extractable, refused]); }; }; })";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_care_signal_reaches_the_care_coach_and_no_one_else() {
    let server = Server::start().await.expect("server starts");
    let url = server.url("/");

    // Sanne, the municipality's community builder, hears of a care need at door 13.
    let builder = tempfile::tempdir().unwrap();
    Phone::session(builder.path(), &url, PHONE, async |phone| {
        at_the_door(phone, "sanne").await?;
        phone.tap("button[data-outcome=Talked]").await?;
        phone
            .type_into("article.visit textarea.notes", "Praatje over de galerij.")
            .await?;
        phone.tap("article.visit input.signal").await?;
        phone
            .type_into("article.visit input.signal", SIGNAL)
            .await?;
        phone
            .tap("article.visit form.add-signal button[type=submit]")
            .await?;
        phone
            .wait_for(&format!(
                "document.querySelector('ul.signals').innerText.includes({SIGNAL:?})"
            ))
            .await?;
        phone.wait_synced().await?;
        // At rest the phone holds ciphertext under pseudonyms, and a key no script can read.
        for text in ["galerij", "administratie", "Lindenhof", "Sanne"] {
            let leaks: bool = phone.eval(&format!("({STORAGE_LEAKS})({text:?})")).await?;
            assert!(!leaks, "local storage shows {text:?}");
        }
        let kept: (bool, bool, bool) = phone.eval(KEPT_KEY).await?;
        assert_eq!(kept, (true, false, true), "a non-extractable key is kept");
        Ok(())
    })
    .await
    .unwrap();

    // Karim, coach of the care organisation, sees it; so does its coordinator.
    for (username, screen) in [("karim", PHONE), ("els", LAPTOP)] {
        let profile = tempfile::tempdir().unwrap();
        Phone::session(profile.path(), &url, screen, async |phone| {
            at_the_door(phone, username).await?;
            phone
                .wait_for(&format!(
                    "document.querySelector('ul.signals').innerText.includes({SIGNAL:?})"
                ))
                .await
        })
        .await
        .unwrap_or_else(|e| panic!("{username}: {e:#}"));
    }

    // Joost, coordinator of the municipality, sees the visit and its notes, but not the
    // signal: not on screen, not in his browser's storage.
    let profile = tempfile::tempdir().unwrap();
    Phone::session(profile.path(), &url, LAPTOP, async |phone| {
        at_the_door(phone, "joost").await?;
        phone
            .wait_for(
                "document.querySelector('article.visit textarea.notes').value === 'Praatje over de galerij.'",
            )
            .await?;
        let text = page_text(phone).await?;
        assert!(!text.contains("hulp bij haar post"), "{text}");
        let signals: u32 = phone
            .eval("document.querySelectorAll('ul.signals li').length")
            .await?;
        assert_eq!(signals, 0);
        assert!(
            phone
                .eval::<bool>("!!document.querySelector('.read-only')")
                .await?,
            "a coordinator reads, and is told so"
        );
        let stored: u32 = phone.eval("localStorage.length").await?;
        assert!(stored > 3, "the street is stored ({stored} keys)");
        let keys: Vec<String> = phone
            .eval("Object.keys(localStorage).filter(k => k.startsWith('vd.heads.'))")
            .await?;
        assert_eq!(
            keys.len(),
            2,
            "the street and door 13's household, and no confidential document: {keys:?}"
        );
        Ok(())
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_out_warns_about_unsent_work_and_wipes_the_phone() {
    let mut server = Server::start().await.expect("server starts");
    let url = server.url("/");
    let profile = tempfile::tempdir().unwrap();
    Phone::session(profile.path(), &url, PHONE, async |phone| {
        phone.sign_in("sanne").await?;
        phone.wait_synced().await?;
        server.stop().await?;
        phone.open_door("3").await?;
        phone.tap("button[data-outcome=NotHome]").await?;
        phone.goto_walk_list().await?;
        phone.tap("button.sign-out").await?;
        // Not yet: the warning comes first, and cancelling keeps everything.
        phone
            .wait_for("document.querySelector('button.sign-out-anyway')")
            .await?;
        let warning = page_text(phone).await?;
        assert!(warning.contains("Nog niet alles is verstuurd"), "{warning}");
        phone.tap("button.sign-out-anyway").await?;
        phone
            .wait_for("document.querySelector('form.sign-in')")
            .await?;
        let left: Vec<String> = phone
            .eval("Object.keys(localStorage).filter(k => k !== 'vd.settings')")
            .await?;
        assert!(left.is_empty(), "the phone keeps nothing: {left:?}");
        let kept: (bool, bool, bool) = phone.eval(KEPT_KEY).await?;
        assert!(!kept.0, "the key is gone too");
        assert!(!page_text(phone).await?.contains("Lindenstraat"));
        Ok(())
    })
    .await
    .unwrap();
}

/// The administrator adds an organisation and a coach on the admin page and puts the
/// coach in the Lindenstraat; the coach signs in on a phone and walks the street.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_adds_a_coach_who_then_walks_the_street() {
    let server = Server::start().await.expect("server starts");
    let url = server.url("/");
    let laptop = tempfile::tempdir().unwrap();
    Phone::session(laptop.path(), &url, LAPTOP, async |admin| {
        admin.sign_in("beheer").await?;
        // The lists arrive after the page: wait, or a tap lands where a form was.
        admin
            .wait_for("document.querySelectorAll('ul.accounts li').length === 6")
            .await?;
        admin.check_accessibility("the admin page").await?;
        admin.type_into("input[name=org-name]", "Buurtwerk Noord").await?;
        admin.choose("select[name=org-partner]", "municipality").await?;
        admin.tap("form.add-organisation button[type=submit]").await?;
        admin
            .wait_for("[...document.querySelectorAll('select[name=new-organisation] option')].some(o => o.value === 'Buurtwerk Noord')")
            .await?;
        admin.type_into("input[name=new-username]", "noor").await?;
        admin.type_into("input[name=new-display-name]", "Noor").await?;
        admin.choose("select[name=new-role]", "coach").await?;
        admin.choose("select[name=new-organisation]", "Buurtwerk Noord").await?;
        admin.type_into("input[name=new-password]", "wachtwoord-van-noor").await?;
        admin.tap("form.add-account button[type=submit]").await?;
        admin
            .wait_for("[...document.querySelectorAll('select[name=assign-user] option')].some(o => o.value === 'noor')")
            .await?;
        admin.choose("select[name=assign-user]", "noor").await?;
        let street = voordeur_shared::demo::street_id().to_string();
        admin.choose("select[name=assign-street]", &street).await?;
        admin.tap("form.assign button[type=submit]").await?;
        admin
            .wait_for("document.querySelector('li[data-username=noor]').innerText.includes('1 straten')")
            .await
    })
    .await
    .unwrap();

    let phone = tempfile::tempdir().unwrap();
    Phone::session(phone.path(), &url, PHONE, async |phone| {
        phone.wait_for_app_sign_in().await?;
        phone.type_into("input[name=username]", "noor").await?;
        phone
            .type_into("input[name=password]", "wachtwoord-van-noor")
            .await?;
        phone.tap("form.sign-in button[type=submit]").await?;
        phone.wait_synced().await?;
        phone
            .wait_for("document.querySelectorAll('a.door').length === 43")
            .await
    })
    .await
    .unwrap();
}
