//! Scenario 2 (../shared/BRIEF.md): the builder and a coach edit the same door's notes
//! while both are offline. After both sync, both texts are in the notes, on both phones,
//! and a coordinator on a laptop sees the merged result.

use voordeur_e2e::{LAPTOP, PHONE, Phone, Server};

const NOTES: &str = "article.visit textarea.notes";
const DOOR: &str = "13";
const FIRST: &str = "Eerste gesprek.";
const BUILDER: &str = " Fatima: wil een moestuin.";
const COACH: &str = " Kees: hulp bij formulieren.";

async fn notes(phone: &Phone) -> anyhow::Result<String> {
    phone
        .eval(&format!("document.querySelector({NOTES:?}).value"))
        .await
}

async fn wait_for_both_texts(phone: &Phone) -> anyhow::Result<String> {
    phone
        .wait_for(&format!(
            "document.querySelector({NOTES:?}).value.includes({BUILDER:?}) \
             && document.querySelector({NOTES:?}).value.includes({COACH:?})"
        ))
        .await?;
    notes(phone).await
}

async fn sign_in(phone: &Phone, username: &str) -> anyhow::Result<()> {
    phone.sign_in(username).await?;
    phone.wait_synced().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_people_edit_the_same_notes_offline_and_both_texts_survive() {
    let mut server = Server::start().await.expect("server starts");
    let (a, b, c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let builder = Phone::open(a.path(), &server.url("/"), PHONE)
        .await
        .unwrap();
    let coach = Phone::open(b.path(), &server.url("/"), PHONE)
        .await
        .unwrap();

    let result = async {
        sign_in(&builder, "sanne").await?;
        builder.open_door(DOOR).await?;
        builder.tap("button[data-outcome=Talked]").await?;
        builder.type_into(NOTES, FIRST).await?;
        builder.wait_synced().await?;

        sign_in(&coach, "karim").await?;
        coach.open_door(DOOR).await?;
        coach
            .wait_for(&format!(
                "document.querySelector({NOTES:?}).value === {FIRST:?}"
            ))
            .await?;

        server.stop().await?;
        builder.type_into(NOTES, BUILDER).await?;
        coach.type_into(NOTES, COACH).await?;
        for phone in [&builder, &coach] {
            phone
                .wait_for("document.querySelector('[data-sync=offline]')")
                .await?;
        }

        server.restart().await?;
        let on_builder = wait_for_both_texts(&builder).await?;
        let on_coach = wait_for_both_texts(&coach).await?;
        builder.wait_synced().await?;
        coach.wait_synced().await?;
        anyhow::Ok((on_builder, on_coach))
    }
    .await;
    builder.close().await.unwrap();
    coach.close().await.unwrap();
    let (on_builder, on_coach) = result.unwrap();
    assert_eq!(on_builder, on_coach, "both phones hold the same notes");
    assert!(on_builder.starts_with(FIRST), "{on_builder}");

    let coordinator = Phone::open(c.path(), &server.url("/"), LAPTOP)
        .await
        .unwrap();
    let seen = async {
        sign_in(&coordinator, "joost").await?;
        coordinator.open_door(DOOR).await?;
        wait_for_both_texts(&coordinator).await
    }
    .await;
    coordinator.close().await.unwrap();
    assert_eq!(
        seen.unwrap(),
        on_builder,
        "the coordinator sees the merged notes"
    );
}
