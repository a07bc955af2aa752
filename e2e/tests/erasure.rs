//! A resident asks to be forgotten (issue 14), in the browser: Sanne recorded the household
//! with a name and notes; Karim's phone holds it and, offline, adds to its notes and
//! records door 15, then is closed; Mirjam, the corporation's coordinator, records
//! the erasure at the door on her laptop. At the next sync Sanne's phone shows neither
//! the name nor the notes and tells her the household was erased; Karim's phone comes
//! back, tells him his unsent note was not kept, and his other door arrives.

use voordeur_e2e::{LAPTOP, PHONE, Phone, Server};

const DOOR: &str = "13";
const OTHER: &str = "15";
const NAME: &str = "Johanna Vlinderhaag";
const NOTES: &str = "Praatte over de tuin ZWALUW-7731.";

async fn page_text(phone: &Phone) -> anyhow::Result<String> {
    phone.eval("document.body.innerText").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erasure_reaches_every_phone_and_the_other_work_goes_through() {
    let mut server = Server::start().await.expect("server starts");
    let url = server.url("/");
    let visits_before = server.visits().await.unwrap();

    // Sanne records the household at door 13, with the resident's name.
    let sanne_profile = tempfile::tempdir().unwrap();
    Phone::session(sanne_profile.path(), &url, PHONE, async |phone| {
        phone.sign_in("sanne").await?;
        phone.wait_synced().await?;
        phone.open_door(DOOR).await?;
        phone.tap("button[data-outcome=Talked]").await?;
        phone
            .type_into("article.visit textarea.notes", NOTES)
            .await?;
        phone.tap("button[data-consent=Given]").await?;
        phone.type_into("input.resident-name", NAME).await?;
        phone.tap("button[data-consent=Given]").await?;
        phone.wait_synced().await
    })
    .await
    .unwrap();

    // Karim's phone holds it; offline, he adds to its notes and records door 15.
    let karim_profile = tempfile::tempdir().unwrap();
    Phone::session(karim_profile.path(), &url, PHONE, async |phone| {
        phone.sign_in("karim").await?;
        phone.wait_synced().await?;
        phone.open_door(DOOR).await?;
        phone
            .wait_for(&format!(
                "document.querySelector('article.visit textarea.notes').value === {NOTES:?}"
            ))
            .await?;
        server.stop().await?;
        phone
            .type_into("article.visit textarea.notes", " ONVERZONDEN")
            .await?;
        phone.open_door(OTHER).await?;
        phone.tap("button[data-outcome=NotHome]").await?;
        phone
            .wait_for("document.querySelector('article.visit')")
            .await
    })
    .await
    .unwrap();
    server.restart().await.unwrap();

    // Mirjam records the erasure at the door.
    let mirjam_profile = tempfile::tempdir().unwrap();
    Phone::session(mirjam_profile.path(), &url, LAPTOP, async |phone| {
        phone.sign_in("mirjam").await?;
        phone.wait_synced().await?;
        phone.open_door(DOOR).await?;
        phone
            .wait_for("document.querySelector('.resident-request')")
            .await?;
        phone.tap(".resident-request button.danger").await?;
        phone
            .tap(".resident-request .confirm button.danger")
            .await?;
        phone
            .wait_for(
                "document.querySelector('.resident-request [role=status]') \
                 && document.querySelector('.notice.erased')",
            )
            .await?;
        let text = page_text(phone).await?;
        assert!(!text.contains(NAME) && !text.contains("ZWALUW"), "{text}");
        Ok(())
    })
    .await
    .unwrap();

    // Sanne's phone: the notice, and nothing of the household at the door.
    Phone::session(sanne_profile.path(), &url, PHONE, async |phone| {
        phone.wait_synced().await?;
        phone
            .wait_for("document.querySelector('.notice.erased')")
            .await?;
        phone.check_accessibility("an erasure's notice").await?;
        let notice: String = phone
            .eval("document.querySelector('.notice.erased').innerText")
            .await?;
        assert!(
            notice.contains("gewist") && notice.contains(DOOR),
            "{notice}"
        );
        assert!(!notice.contains("niet bewaard"), "{notice}");
        phone.open_door(DOOR).await?;
        let text = page_text(phone).await?;
        assert!(!text.contains(NAME) && !text.contains("ZWALUW"), "{text}");
        phone.tap(".notice.erased button").await?;
        phone
            .wait_for("!document.querySelector('.notice.erased')")
            .await
    })
    .await
    .unwrap();

    // Karim comes back: told his note was not kept; door 15 goes through.
    Phone::session(karim_profile.path(), &url, PHONE, async |phone| {
        phone.wait_synced().await?;
        phone
            .wait_for("document.querySelector('.notice.erased')")
            .await?;
        let notice: String = phone
            .eval("document.querySelector('.notice.erased').innerText")
            .await?;
        assert!(notice.contains("niet bewaard"), "{notice}");
        phone.open_door(DOOR).await?;
        let text = page_text(phone).await?;
        assert!(
            !text.contains(NAME) && !text.contains("ZWALUW") && !text.contains("ONVERZONDEN"),
            "{text}"
        );
        Ok(())
    })
    .await
    .unwrap();
    // Door 15's visit arrived; door 13's visit is kept only as a week's count.
    assert_eq!(server.visits().await.unwrap(), visits_before + 2);
}
