//! After the knock (issue 12), in the browser: a signal recorded offline by the community
//! builder reaches the one partner it is for, is picked up and closed there, and the
//! builder sees what became of it (never its content elsewhere); a wish for the street is
//! taken on by a partner; an activity planned offline, with residents who offered to help,
//! reaches every partner.

use anyhow::Context;
use voordeur_e2e::{LAPTOP, PHONE, Phone, Server};

async fn page_text(phone: &Phone) -> anyhow::Result<String> {
    phone.eval("document.body.innerText").await
}

/// Opens the follow-up list and waits until it shows.
async fn follow_ups(phone: &Phone) -> anyhow::Result<()> {
    phone.run("location.hash = '#/opvolging';").await?;
    phone
        .wait_for(
            "document.querySelector('ul.follow-ups') || document.querySelector('main p.empty')",
        )
        .await?;
    phone.check_accessibility("the follow-up list").await
}

/// The follow-up line whose text includes `text`, as a JS expression.
fn line(text: &str) -> String {
    format!(
        "[...document.querySelectorAll('li.follow-up')].find(li => li.innerText.includes({text:?}))"
    )
}

/// A signal of `kind` (`care` or `moving`) recorded offline at `door` by Sanne, the
/// municipality's builder, reaches `coordinator`, who picks it up and closes it; Sanne's
/// phone then shows it closed. The municipality's coordinator sees none of it.
async fn a_signal_is_followed_up(
    kind: &str,
    door: &str,
    signal: &str,
    coordinator: &str,
) -> anyhow::Result<()> {
    let mut server = Server::start().await?;
    let url = server.url("/");
    let wish = "Bankjes bij de speeltuin";

    let builder_profile = tempfile::tempdir()?;
    let builder = Phone::open(builder_profile.path(), &url, PHONE).await?;
    let result = async {
        builder.sign_in("sanne").await?;
        builder.wait_synced().await?;
        server.stop().await?;
        builder.open_door(door).await?;
        builder.tap("button[data-outcome=Talked]").await?;
        builder
            .wait_for("document.querySelector('article.visit')")
            .await?;
        builder.type_into("article.visit input.wish", wish).await?;
        builder
            .tap("article.visit form.add-wish button[type=submit]")
            .await?;
        builder
            .choose("article.visit form.add-signal select", kind)
            .await?;
        builder
            .type_into("article.visit input.signal", signal)
            .await?;
        builder
            .tap("article.visit form.add-signal button[type=submit]")
            .await?;
        builder
            .wait_for("document.querySelector('[data-signal-status=New]')")
            .await?;
        server.restart().await?;
        builder.tap("button.sync-now").await?;
        builder.wait_synced().await
    }
    .await;
    result?;

    // The partner's coordinator finds the signal on their list, and the wish offered.
    let profile = tempfile::tempdir()?;
    Phone::session(profile.path(), &url, LAPTOP, async |phone| {
        phone.sign_in(coordinator).await?;
        phone.wait_synced().await?;
        follow_ups(phone).await?;
        phone.wait_for(&format!("!!{}", line(signal))).await?;
        phone
            .wait_for(&format!("{}?.dataset.status === 'New'", line(signal)))
            .await?;
        // The wish no partner has taken on yet is offered: take it on.
        phone
            .wait_for(&format!("!!{}?.querySelector('button.take-on')", line(wish)))
            .await?;
        phone
            .run(&format!("{}.querySelector('button.take-on').click()", line(wish)))
            .await?;
        phone
            .wait_for(&format!("{}?.dataset.status === 'PickedUp'", line(wish)))
            .await?;
        // Pick the signal up, with a note, then close it.
        for (index, status) in [("1", "PickedUp"), ("2", "Closed")] {
            phone
                .run(&format!(
                    "const li = {}; const s = li.querySelector('select'); s.value = '{index}'; \
                     s.dispatchEvent(new Event('change', {{ bubbles: true }})); \
                     const n = li.querySelector('input.note'); n.value = 'Gebeld, afspraak gemaakt'; \
                     n.dispatchEvent(new Event('input', {{ bubbles: true }})); \
                     li.querySelector('button.save').click();",
                    line(signal)
                ))
                .await?;
            // Closed lines leave the open list: show all.
            phone.choose("div.filters select", "all").await?;
            phone
                .wait_for(&format!("{}?.dataset.status === '{status}'", line(signal)))
                .await?;
        }
        phone.wait_synced().await
    })
    .await
    .with_context(|| coordinator.to_string())?;

    // Sanne sees what became of it, on her phone, without reading anything new of it.
    let result = async {
        builder.tap("button.sync-now").await?;
        builder.wait_synced().await?;
        builder.open_door(door).await?;
        builder
            .wait_for(
                "document.querySelector('[data-signal-status]')?.dataset.signalStatus === 'Closed'",
            )
            .await?;
        builder
            .wait_for(
                "document.querySelector('[data-wish-status]')?.dataset.wishStatus === 'PickedUp'",
            )
            .await
    }
    .await;
    builder.close().await?;
    result?;

    // The municipality's coordinator sees the wish, never the signal.
    let profile = tempfile::tempdir()?;
    Phone::session(profile.path(), &url, LAPTOP, async |phone| {
        phone.sign_in("joost").await?;
        phone.wait_synced().await?;
        follow_ups(phone).await?;
        phone.choose("div.filters select", "all").await?;
        let text = page_text(phone).await?;
        assert!(!text.contains(signal), "{text}");
        let signals: u32 = phone
            .eval("document.querySelectorAll('li.follow-up[data-kind=signal]').length")
            .await?;
        assert_eq!(signals, 0);
        phone.open_door(door).await?;
        let text = page_text(phone).await?;
        assert!(!text.contains(signal), "{text}");
        // He reads the street, he does not walk it: no next door, no phone storage.
        phone.goto_walk_list().await?;
        let walking: u32 = phone
            .eval("document.querySelectorAll('a.next, p.storage').length")
            .await?;
        assert_eq!(walking, 0);
        Ok(())
    })
    .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moving_wish_recorded_offline_is_followed_up_by_the_corporation() {
    a_signal_is_followed_up(
        "moving",
        "15",
        "Wil graag kleiner wonen, gelijkvloers.",
        "mirjam",
    )
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_care_need_recorded_offline_is_followed_up_by_the_care_organisation() {
    a_signal_is_followed_up(
        "care",
        "17",
        "Meneer redt het niet meer met de trap.",
        "els",
    )
    .await
    .unwrap();
}

/// Sanne records two residents who offered to help, then plans an activity offline and
/// invites them; after the sync every partner's coordinator sees it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_activity_planned_offline_reaches_every_partner() {
    let mut server = Server::start().await.expect("server starts");
    let url = server.url("/");
    let title = "Koffie op de galerij";
    let profile = tempfile::tempdir().unwrap();
    Phone::session(profile.path(), &url, PHONE, async |phone| {
        phone.sign_in("sanne").await?;
        phone.wait_synced().await?;
        for (door, offer) in [("3", "Schenkt koffie"), ("7", "Kan tafels sjouwen")] {
            phone.open_door(door).await?;
            phone.tap("button[data-outcome=Talked]").await?;
            phone
                .wait_for("document.querySelector('article.visit')")
                .await?;
            phone
                .type_into("article.visit input.contribution", offer)
                .await?;
            // "Ontmoeten" (meeting each other), the fourth theme.
            phone
                .choose("article.visit label.contribution-theme select", "3")
                .await?;
        }
        phone.wait_synced().await?;
        server.stop().await?;
        phone.run("location.hash = '#/activiteiten';").await?;
        phone.tap("a.new-activity").await?;
        phone
            .wait_for("document.querySelector('form.plan')")
            .await?;
        phone.check_accessibility("a new activity").await?;
        phone.type_into("form.plan input.title", title).await?;
        phone
            .run(
                "const d = document.querySelector('form.plan input.date'); d.value = '2026-12-12'; \
                 d.dispatchEvent(new Event('input', { bubbles: true })); \
                 const t = document.querySelector('form.plan input.time'); t.value = '14:30'; \
                 t.dispatchEvent(new Event('input', { bubbles: true }));",
            )
            .await?;
        phone
            .type_into("form.plan input.place", "Galerij Lindenhof")
            .await?;
        phone.tap("form.plan button.save-plan").await?;
        phone
            .wait_for("document.querySelectorAll('li.contributor').length === 2")
            .await?;
        for door in ["3", "7"] {
            phone
                .tap(&format!(
                    "li.contributor[data-number='{door}'] input.invite"
                ))
                .await?;
        }
        phone
            .wait_for(
                "document.querySelectorAll('li.contributor input.invite:checked').length === 2",
            )
            .await?;
        server.restart().await?;
        phone.tap("button.sync-now").await?;
        phone.wait_synced().await
    })
    .await
    .unwrap();

    for coordinator in ["mirjam", "els", "joost"] {
        let profile = tempfile::tempdir().unwrap();
        Phone::session(profile.path(), &url, LAPTOP, async |phone| {
            phone.sign_in(coordinator).await?;
            phone.wait_synced().await?;
            phone.run("location.hash = '#/activiteiten';").await?;
            phone
                .wait_for(&format!(
                    "!!document.querySelector('li.activity[data-title={title:?}]')"
                ))
                .await?;
            let text = page_text(phone).await?;
            assert!(text.contains("2026-12-12 14:30"), "{text}");
            assert!(text.contains("Galerij Lindenhof"), "{text}");
            assert!(text.contains(": 2"), "two invited: {text}");
            Ok(())
        })
        .await
        .unwrap_or_else(|e| panic!("{coordinator}: {e:#}"));
    }
}
