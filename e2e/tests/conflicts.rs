//! Issue 11 in the browser, two people at one door with no signal (two profiles):
//! a consent clash syncs on both phones and is shown, with whose each answer is, until one
//! tap settles it for everyone; a refusal stays on the walk list until someone clears it;
//! and notes typed elsewhere arrive without moving the caret of the person typing.

use voordeur_e2e::{PHONE, Phone, Server};

const NOTES: &str = "article.visit textarea.notes";

async fn sign_in(phone: &Phone, username: &str) -> anyhow::Result<()> {
    phone.sign_in(username).await?;
    phone.wait_synced().await
}

async fn two_phones(server: &Server) -> anyhow::Result<(Phone, Phone, [tempfile::TempDir; 2])> {
    let profiles = [tempfile::tempdir()?, tempfile::tempdir()?];
    let sanne = Phone::open(profiles[0].path(), &server.url("/"), PHONE).await?;
    let karim = Phone::open(profiles[1].path(), &server.url("/"), PHONE).await?;
    Ok((sanne, karim, profiles))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consent_clash_is_shown_on_both_phones_and_one_tap_settles_it() {
    let mut server = Server::start().await.expect("server starts");
    let (sanne, karim, _profiles) = two_phones(&server).await.unwrap();
    let result = async {
        sign_in(&sanne, "sanne").await?;
        sign_in(&karim, "karim").await?;
        sanne.open_door("13").await?;
        sanne.tap("button[data-outcome=Talked]").await?;
        sanne.wait_synced().await?;
        karim.open_door("13").await?;
        karim.wait_for("document.querySelector('article.visit')").await?;

        server.stop().await?;
        sanne.tap("button[data-consent=Given]").await?;
        sanne.type_into("input.resident-name", "Jan Smit").await?;
        // Leaving the field saves it.
        sanne.tap("button[data-consent=Given]").await?;
        karim.tap("button[data-consent=Refused]").await?;
        server.restart().await?;

        // Neither phone is refused: both end up synced.
        for phone in [&sanne, &karim] {
            phone.wait_synced().await?;
        }
        // The merge may reach the first phone only at its next sync.
        for phone in [&sanne, &karim] {
            phone
                .wait_for(
                    "document.querySelectorAll('.conflicts .candidates li').length === 2 \
                     && document.querySelector('.conflicts').innerText.includes('Sanne') \
                     && document.querySelector('.conflicts').innerText.includes('Karim')",
                )
                .await?;
        }
        let shown: String = karim
            .eval("document.querySelector('.conflicts').innerText")
            .await?;
        // Karim settles it: the answer that is "No".
        karim
            .run(
                "[...document.querySelectorAll('.conflicts .candidates li')] \
                 .find(li => li.querySelector('.value').innerText === 'Nee') \
                 .querySelector('button.choose').click()",
            )
            .await?;
        for phone in [&karim, &sanne] {
            phone
                .wait_for(
                    "!document.querySelector('.conflicts') \
                     && document.querySelector('button[data-consent=Refused]').classList.contains('chosen') \
                     && !document.querySelector('input.resident-name')",
                )
                .await?;
        }
        sanne.wait_synced().await?;
        anyhow::Ok(shown)
    }
    .await;
    sanne.close().await.unwrap();
    karim.close().await.unwrap();
    let shown = result.unwrap();
    assert!(shown.contains("Ja") && shown.contains("Nee"), "{shown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_stays_on_the_walk_list_until_someone_clears_it() {
    let mut server = Server::start().await.expect("server starts");
    let (sanne, karim, _profiles) = two_phones(&server).await.unwrap();
    let door_is = |state: &str| {
        format!(
            "document.querySelector(\"a.door[data-number='15']\").classList.contains('{state}')"
        )
    };
    let result = async {
        sign_in(&sanne, "sanne").await?;
        sign_in(&karim, "karim").await?;
        server.stop().await?;
        sanne.open_door("15").await?;
        sanne.tap("button[data-outcome=Refused]").await?;
        // Later, Karim knocks and talks.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        karim.open_door("15").await?;
        karim.tap("button[data-outcome=Talked]").await?;
        server.restart().await?;
        for phone in [&sanne, &karim] {
            phone.wait_synced().await?;
        }
        for phone in [&sanne, &karim] {
            phone.goto_walk_list().await?;
            phone.wait_for(&door_is("refused")).await?;
        }
        // Karim clears it on purpose, at the door.
        karim.open_door("15").await?;
        karim
            .wait_for("document.querySelector('.card.refusal')")
            .await?;
        karim.check_accessibility("a refusal at the door").await?;
        karim.tap("button.clear-refusal").await?;
        karim.goto_walk_list().await?;
        karim.wait_for(&door_is("talked")).await?;
        karim.wait_synced().await?;
        sanne.wait_for(&door_is("talked")).await?;
        anyhow::Ok(())
    }
    .await;
    sanne.close().await.unwrap();
    karim.close().await.unwrap();
    result.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notes_from_elsewhere_keep_the_caret_and_say_who_wrote_them() {
    let server = Server::start().await.expect("server starts");
    let (sanne, karim, _profiles) = two_phones(&server).await.unwrap();
    const FIRST: &str = "Eerste gesprek.";
    const ADDED: &str = " Karim: belt terug.";
    let result = async {
        sign_in(&sanne, "sanne").await?;
        sign_in(&karim, "karim").await?;
        sanne.open_door("17").await?;
        sanne.tap("button[data-outcome=Talked]").await?;
        sanne.type_into(NOTES, FIRST).await?;
        sanne.wait_synced().await?;
        karim.open_door("17").await?;
        karim
            .wait_for(&format!("document.querySelector({NOTES:?}).value === {FIRST:?}"))
            .await?;
        // Sanne is in the middle of her notes, after "Eerste".
        sanne
            .run(&format!(
                "const e = document.querySelector({NOTES:?}); e.focus(); e.setSelectionRange(6, 6);"
            ))
            .await?;
        karim.type_into(NOTES, ADDED).await?;
        karim.wait_synced().await?;
        sanne
            .wait_for(&format!(
                "document.querySelector({NOTES:?}).value === {:?}",
                format!("{FIRST}{ADDED}")
            ))
            .await?;
        let caret: Vec<u32> = sanne
            .eval(&format!(
                "(() => {{ const e = document.querySelector({NOTES:?}); \
                 return document.activeElement === e ? [e.selectionStart, e.selectionEnd] : []; }})()"
            ))
            .await?;
        sanne
            .wait_for(
                "[...document.querySelectorAll('.authorship li')].map(li => li.innerText).join(' ').includes('Karim') \
                 && [...document.querySelectorAll('.authorship li')].map(li => li.innerText).join(' ').includes('Sanne')",
            )
            .await?;
        anyhow::Ok(caret)
    }
    .await;
    sanne.close().await.unwrap();
    karim.close().await.unwrap();
    assert_eq!(result.unwrap(), [6, 6], "the caret stays after \"Eerste\"");
}
