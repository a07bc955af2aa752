//! Takes the screenshots in docs/screenshots: the walk list and the door screen on a phone
//! (360×740) and on a laptop (1280×800), against the demo street with a few visits.
//!
//! `cargo xtask build-app && cargo run -p voordeur-e2e --bin screenshots`

use std::path::PathBuf;

use anyhow::Context;
use voordeur_e2e::{LAPTOP, PHONE, Phone, Server, THE_APP};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots");
    std::fs::create_dir_all(&out)?;
    let server = Server::start().await?;
    let profile = tempfile::tempdir()?;
    let phone = Phone::open(profile.path(), &server.url("/"), PHONE).await?;
    let result = async {
        phone.wait_for_app_sign_in().await?;
        phone.screenshot(&out.join("sign-in-phone.png")).await?;
        phone.sign_in("sanne").await?;
        phone.wait_for("document.querySelector('a.door')").await?;
        for (number, outcome) in [("1", "Talked"), ("3", "NotHome"), ("5", "Refused"), ("7", "Talked")] {
            phone.open_door(number).await?;
            phone.tap(&format!("button[data-outcome={outcome}]")).await?;
            phone.wait_for("document.querySelector('article.visit')").await?;
        }
        phone.open_door("11").await?;
        phone.tap("button[data-outcome=ComeBackLater]").await?;
        phone.run("const d = document.querySelector('.new-visit input[type=date]'); d.value = '2026-12-03'; d.dispatchEvent(new Event('input', { bubbles: true }))").await?;
        phone.tap(".new-visit .row button").await?;
        phone.wait_for("document.querySelector('article.visit')").await?;
        phone.open_door("9").await?;
        phone.tap("button[data-outcome=Talked]").await?;
        phone
            .type_into(
                "article.visit textarea.notes",
                "Woont hier 12 jaar. Mist een plek om buren te ontmoeten; wil helpen met een buurtbarbecue in juni.",
            )
            .await?;
        phone.type_into("article.visit input.wish", "Bankjes bij de speeltuin").await?;
        phone.tap("article.visit form.add-wish button[type=submit]").await?;
        phone.wait_synced().await?;
        phone.run("window.scrollTo(0, 0)").await?;
        phone.screenshot(&out.join("door-phone.png")).await?;
        phone.goto_walk_list().await?;
        phone.run("window.scrollTo(0, 0)").await?;
        phone.screenshot(&out.join("walk-list-phone.png")).await?;
        phone
            .run("document.querySelectorAll('section.building')[1].scrollIntoView()")
            .await?;
        phone.screenshot(&out.join("walk-list-visited-phone.png")).await?;
        anyhow::Ok(())
    }
    .await;
    phone.close().await?;
    result?;
    let laptop_profile = tempfile::tempdir()?;
    let laptop = Phone::open(laptop_profile.path(), &server.url("/"), LAPTOP).await?;
    let result = async {
        laptop.sign_in("joost").await?;
        laptop.wait_synced().await?;
        laptop.screenshot(&out.join("walk-list-laptop.png")).await?;
        laptop.open_door("9").await?;
        laptop.run("window.scrollTo(0, 0)").await?;
        laptop.screenshot(&out.join("door-laptop.png")).await?;
        anyhow::Ok(())
    }
    .await;
    laptop.close().await?;
    result.context("laptop screenshots")?;
    let admin_profile = tempfile::tempdir()?;
    let admin = Phone::open(admin_profile.path(), &server.url("/"), LAPTOP).await?;
    let result = async {
        admin.sign_in("beheer").await?;
        admin
            .wait_for("document.querySelectorAll('ol.audit li').length > 0")
            .await?;
        admin.screenshot(&out.join("admin-laptop.png")).await?;
        anyhow::Ok(())
    }
    .await;
    admin.close().await?;
    result.context("admin screenshots")?;
    refused_sync(&out)
        .await
        .context("refused sync screenshots")?;
    refused_change(&out)
        .await
        .context("refused change screenshots")?;
    conflict(&out).await.context("conflict screenshots")?;
    waiting(&out).await.context("waiting screenshots")?;
    after_the_knock(&out)
        .await
        .context("after the knock screenshots")?;
    erasure(&out).await.context("erasure screenshots")?;
    before_the_app(&out)
        .await
        .context("sign-in before the app screenshots")?;
    println!("screenshots in {}", out.display());
    Ok(())
}

/// Fails on any serious or critical accessibility violation axe-core finds on the page
/// as it is (`Tab::check_accessibility`).
async fn axe(phone: &Phone, name: &str) -> anyhow::Result<()> {
    phone.check_accessibility(name).await?;
    println!("axe {name}: no serious or critical violations");
    Ok(())
}

/// The page's own sign-in form on a first visit, before the app's code has arrived (held
/// back here), with a name typed and sign in pressed, on a phone and on a laptop.
async fn before_the_app(out: &std::path::Path) -> anyhow::Result<()> {
    let server = Server::start().await?;
    for (screen, name) in [(PHONE, "phone"), (LAPTOP, "laptop")] {
        let profile = tempfile::tempdir()?;
        let phone = Phone::open(profile.path(), "about:blank", screen).await?;
        let result = async {
            let held = phone.hold(THE_APP).await?;
            phone.page.goto(server.url("/")).await?;
            phone.type_into("input[name=username]", "sanne").await?;
            phone
                .type_into("input[name=password]", "wachtwoord")
                .await?;
            phone.tap("form.sign-in button[type=submit]").await?;
            axe(&phone, &format!("sign-in before the app, {name}")).await?;
            phone
                .screenshot(&out.join(format!("sign-in-before-the-app-{name}.png")))
                .await?;
            held.release();
            anyhow::Ok(())
        }
        .await;
        phone.close().await?;
        result?;
    }
    Ok(())
}

/// A sync the server refuses (notes over a small body limit), as the problem bar tells it,
/// on a phone and on a laptop.
async fn refused_sync(out: &std::path::Path) -> anyhow::Result<()> {
    let server = Server::start_with_body_limit(2_000).await?;
    // Notes that do not compress below the limit.
    let alphabet: Vec<char> = ('a'..='z').chain('0'..='9').collect();
    let mut seed: u64 = 7;
    let notes: String = (0..6000)
        .map(|_| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            alphabet[(seed >> 33) as usize % alphabet.len()]
        })
        .collect();
    for (screen, name) in [
        (PHONE, "refused-sync-phone.png"),
        (LAPTOP, "refused-sync-laptop.png"),
    ] {
        let profile = tempfile::tempdir()?;
        let phone = Phone::open(profile.path(), &server.url("/"), screen).await?;
        let result = async {
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
            phone.run("window.scrollTo(0, 0)").await?;
            phone.screenshot(&out.join(name)).await?;
            axe(&phone, name).await?;
            anyhow::Ok(())
        }
        .await;
        phone.close().await?;
        result?;
    }
    Ok(())
}

/// One refused document (issue 11): a builder follows two streets, records a visit in each
/// without signal, and is taken off the second meanwhile; back in signal, the door of the
/// second street says what was refused and what to do, on a phone and on a laptop.
async fn refused_change(out: &std::path::Path) -> anyhow::Result<()> {
    let choose_street = async |phone: &Phone, name: &str| -> anyhow::Result<()> {
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
    };
    for (screen, name) in [
        (PHONE, "refused-change-phone.png"),
        (LAPTOP, "refused-change-laptop.png"),
    ] {
        let mut server = Server::start().await?;
        let second = server.add_street("Eikenlaan", &["sanne"]).await?;
        let profile = tempfile::tempdir()?;
        let phone = Phone::open(profile.path(), &server.url("/"), screen).await?;
        let result = async {
            phone.sign_in("sanne").await?;
            choose_street(&phone, "Eikenlaan").await?;
            phone.wait_synced().await?;
            phone.goto_walk_list().await?;
            phone.tap("button.switch-street").await?;
            choose_street(&phone, "Lindenstraat").await?;
            phone.wait_synced().await?;
            server.stop().await?;
            phone.open_door("1A").await?;
            phone.tap("button[data-outcome=Talked]").await?;
            phone
                .wait_for("document.querySelector('article.visit')")
                .await?;
            phone.goto_walk_list().await?;
            phone.tap("button.switch-street").await?;
            choose_street(&phone, "Eikenlaan").await?;
            phone.open_door("1").await?;
            phone.tap("button[data-outcome=Talked]").await?;
            phone
                .type_into(
                    "article.visit textarea.notes",
                    "Wil graag een bankje bij de ingang.",
                )
                .await?;
            server.unassign("sanne", second).await?;
            server.restart().await?;
            phone.tap("button.sync-now").await?;
            phone.wait_for("document.querySelector('.refusal')").await?;
            phone.wait_synced().await?;
            phone.run("window.scrollTo(0, 0)").await?;
            phone.screenshot(&out.join(name)).await?;
            axe(&phone, name).await?;
            anyhow::Ok(())
        }
        .await;
        phone.close().await?;
        result?;
    }
    Ok(())
}

/// Work waiting without signal, as the status bar counts it, on a phone and on a laptop.
async fn waiting(out: &std::path::Path) -> anyhow::Result<()> {
    for (screen, name) in [(PHONE, "waiting-phone.png"), (LAPTOP, "waiting-laptop.png")] {
        let mut server = Server::start().await?;
        let profile = tempfile::tempdir()?;
        let phone = Phone::open(profile.path(), &server.url("/"), screen).await?;
        let result = async {
            phone.sign_in("sanne").await?;
            phone.wait_synced().await?;
            server.stop().await?;
            for (number, notes) in [
                ("1", Some("Wil meedoen met de moestuin.")),
                ("3", Some("Vraagt naar de planning van de renovatie.")),
                ("5", None),
            ] {
                phone.open_door(number).await?;
                phone.tap("button[data-outcome=Talked]").await?;
                if let Some(notes) = notes {
                    phone
                        .type_into("article.visit textarea.notes", notes)
                        .await?;
                }
            }
            phone.goto_walk_list().await?;
            phone
                .wait_for("document.querySelector('[data-sync=offline]')")
                .await?;
            phone.run("window.scrollTo(0, 0)").await?;
            phone.screenshot(&out.join(name)).await?;
            axe(&phone, name).await?;
            anyhow::Ok(())
        }
        .await;
        phone.close().await?;
        result?;
    }
    Ok(())
}

/// Two people at one door with no signal answer the consent question differently and
/// write different contributions: the door shows both answers with whose they are, on the
/// phone (with one tap to settle) and on a coordinator's laptop (read only). Karim's notes
/// beside Sanne's show who wrote which part.
async fn conflict(out: &std::path::Path) -> anyhow::Result<()> {
    let mut server = Server::start().await?;
    let profiles = [
        tempfile::tempdir()?,
        tempfile::tempdir()?,
        tempfile::tempdir()?,
    ];
    let sanne = Phone::open(profiles[0].path(), &server.url("/"), PHONE).await?;
    let karim = Phone::open(profiles[1].path(), &server.url("/"), PHONE).await?;
    let result = async {
        for (phone, who) in [(&sanne, "sanne"), (&karim, "karim")] {
            phone.sign_in(who).await?;
            phone.wait_synced().await?;
        }
        sanne.open_door("19").await?;
        sanne.tap("button[data-outcome=Talked]").await?;
        sanne
            .type_into(
                "article.visit textarea.notes",
                "Woont hier sinds de zomer. Kent nog weinig buren.",
            )
            .await?;
        sanne.wait_synced().await?;
        karim.open_door("19").await?;
        karim
            .wait_for("document.querySelector('article.visit textarea.notes').value.length > 0")
            .await?;
        server.stop().await?;
        sanne.tap("button[data-consent=Given]").await?;
        sanne
            .type_into("input.resident-name", "Mevrouw El Amrani")
            .await?;
        sanne.tap("button[data-consent=Given]").await?;
        sanne
            .type_into(
                "article.visit input.contribution",
                "Koken voor de buurtbarbecue",
            )
            .await?;
        karim.tap("button[data-consent=Refused]").await?;
        karim
            .type_into("article.visit input.contribution", "Helpen bij de moestuin")
            .await?;
        karim
            .type_into(
                "article.visit textarea.notes",
                " Zoon helpt met de post; belt terug.",
            )
            .await?;
        server.restart().await?;
        for phone in [&sanne, &karim] {
            phone.wait_synced().await?;
        }
        sanne
            .wait_for("document.querySelectorAll('.conflicts .candidates li').length >= 4")
            .await?;
        sanne
            .run("document.querySelector('.conflicts').scrollIntoView()")
            .await?;
        sanne.screenshot(&out.join("conflict-phone.png")).await?;
        axe(&sanne, "conflict-phone.png").await?;
        sanne
            .wait_for("document.querySelectorAll('.authorship li').length >= 2")
            .await?;
        sanne
            .run("document.querySelector('.authorship').scrollIntoView({block: 'center'})")
            .await?;
        sanne
            .screenshot(&out.join("notes-by-author-phone.png"))
            .await?;
        anyhow::Ok(())
    }
    .await;
    sanne.close().await?;
    karim.close().await?;
    result?;
    let laptop = Phone::open(profiles[2].path(), &server.url("/"), LAPTOP).await?;
    let result = async {
        laptop.sign_in("joost").await?;
        laptop.wait_synced().await?;
        laptop.open_door("19").await?;
        laptop
            .wait_for("document.querySelector('.conflicts')")
            .await?;
        laptop.run("window.scrollTo(0, 0)").await?;
        laptop.screenshot(&out.join("conflict-laptop.png")).await?;
        axe(&laptop, "conflict-laptop.png").await?;
        anyhow::Ok(())
    }
    .await;
    laptop.close().await?;
    result
}

/// Sets a date or time input.
fn enter(selector: &str, value: &str) -> String {
    format!(
        "const i = document.querySelector({selector:?}); i.value = {value:?}; \
         i.dispatchEvent(new Event('input', {{ bubbles: true }}));"
    )
}

/// After the knock (issue 12): where to go today, an activity with its helpers, a
/// coordinator's follow-ups, and a door that shows what became of what was handed on; each
/// on a phone and on a laptop.
async fn after_the_knock(out: &std::path::Path) -> anyhow::Result<()> {
    let server = Server::start().await?;
    let url = server.url("/");
    let shot = async |phone: &Phone, name: &str| -> anyhow::Result<()> {
        phone.run("window.scrollTo(0, 0)").await?;
        phone.screenshot(&out.join(name)).await?;
        axe(phone, name).await
    };
    // Sanne walks the street: a return planned, helpers, a wish and a moving wish.
    let profile = tempfile::tempdir()?;
    let sanne = Phone::open(profile.path(), &url, PHONE).await?;
    let result = async {
        sanne.sign_in("sanne").await?;
        sanne.wait_synced().await?;
        for (door, date) in [("1", "2026-11-25"), ("9", "2026-11-30")] {
            sanne.open_door(door).await?;
            sanne.tap("button[data-outcome=ComeBackLater]").await?;
            sanne.run(&enter(".new-visit input[type=date]", date)).await?;
            sanne.tap(".new-visit .row button").await?;
            sanne.wait_for("document.querySelector('article.visit')").await?;
        }
        for (door, offer, name) in [
            ("3", "Schenkt koffie bij bijeenkomsten", "Fatima Yilmaz"),
            ("7", "Kan tafels en stoelen sjouwen", ""),
        ] {
            sanne.open_door(door).await?;
            sanne.tap("button[data-outcome=Talked]").await?;
            sanne.wait_for("document.querySelector('article.visit')").await?;
            sanne.type_into("article.visit input.contribution", offer).await?;
            sanne
                .choose("article.visit label.contribution-theme select", "3")
                .await?;
            if !name.is_empty() {
                sanne.tap("button[data-consent=Given]").await?;
                sanne.type_into("input.resident-name", name).await?;
                sanne.run("document.querySelector('input.resident-name').dispatchEvent(new Event('change', { bubbles: true }))").await?;
            }
        }
        sanne.open_door("5").await?;
        sanne.tap("button[data-outcome=Talked]").await?;
        sanne.wait_for("document.querySelector('article.visit')").await?;
        sanne.type_into("article.visit input.wish", "Bankjes bij de speeltuin").await?;
        sanne.tap("article.visit form.add-wish button[type=submit]").await?;
        sanne
            .choose("article.visit form.add-signal select", "moving")
            .await?;
        sanne
            .type_into("article.visit input.signal", "Wil graag gelijkvloers wonen (slechte knie)")
            .await?;
        sanne
            .tap("article.visit form.add-signal button[type=submit]")
            .await?;
        sanne.wait_synced().await?;
        sanne.goto_walk_list().await?;
        shot(&sanne, "today-phone.png").await?;
        sanne.run("location.hash = '#/activiteiten';").await?;
        sanne.tap("a.new-activity").await?;
        sanne.type_into("form.plan input.title", "Koffie op de galerij").await?;
        sanne.run(&enter("form.plan input.date", "2026-12-12")).await?;
        sanne.run(&enter("form.plan input.time", "14:30")).await?;
        sanne.type_into("form.plan input.place", "Galerij Lindenhof, 2e verdieping").await?;
        sanne.tap("form.plan button.save-plan").await?;
        sanne
            .wait_for("document.querySelectorAll('li.contributor').length === 2")
            .await?;
        for door in ["3", "7"] {
            sanne
                .tap(&format!("li.contributor[data-number='{door}'] input.invite"))
                .await?;
        }
        sanne.wait_synced().await?;
        shot(&sanne, "activity-phone.png").await?;
        sanne
            .run("document.querySelector('section.invitations').scrollIntoView()")
            .await?;
        sanne.screenshot(&out.join("activity-invitations-phone.png")).await?;
        sanne.run("location.hash = '#/activiteiten';").await?;
        sanne.wait_for("document.querySelector('li.activity')").await?;
        shot(&sanne, "activities-phone.png").await?;
        anyhow::Ok(())
    }
    .await;
    if result.is_err() {
        sanne.close().await?;
        return result.context("Sanne's walk");
    }
    // Mirjam, the corporation's coordinator, follows up: on a laptop, then a phone.
    for (screen, name, acts) in [
        (LAPTOP, "follow-ups-laptop.png", true),
        (PHONE, "follow-ups-phone.png", false),
    ] {
        let profile = tempfile::tempdir()?;
        let mirjam = Phone::open(profile.path(), &url, screen).await?;
        let result = async {
            mirjam.sign_in("mirjam").await?;
            mirjam.wait_synced().await?;
            mirjam.run("location.hash = '#/opvolging';").await?;
            mirjam.wait_for("document.querySelector('li.follow-up')").await?;
            if acts {
                mirjam.tap("li.follow-up[data-kind=signal] select").await?;
                mirjam
                    .choose("li.follow-up[data-kind=signal] select", "1")
                    .await?;
                mirjam
                    .type_into("li.follow-up[data-kind=signal] input.note", "Gebeld; bezichtiging in januari")
                    .await?;
                mirjam.tap("li.follow-up[data-kind=signal] button.save").await?;
                mirjam
                    .wait_for("document.querySelector('li.follow-up[data-kind=signal][data-status=PickedUp]')")
                    .await?;
                mirjam.wait_synced().await?;
            }
            shot(&mirjam, name).await
        }
        .await;
        mirjam.close().await?;
        result?;
    }
    // What became of it, on Sanne's phone.
    let result = async {
        sanne.tap("button.sync-now").await?;
        sanne.wait_synced().await?;
        sanne.open_door("5").await?;
        sanne
            .wait_for("document.querySelector('[data-signal-status=PickedUp]')")
            .await?;
        sanne
            .run("document.querySelector('ul.wishes').scrollIntoView({ block: 'center' })")
            .await?;
        sanne.screenshot(&out.join("handed-on-phone.png")).await?;
        axe(&sanne, "handed-on-phone.png").await
    }
    .await;
    sanne.close().await?;
    result?;
    // Els, the care organisation's coordinator, reads the activities on a laptop; Karim,
    // its coach, sees the client status at a door.
    let profile = tempfile::tempdir()?;
    let els = Phone::open(profile.path(), &url, LAPTOP).await?;
    let result = async {
        els.sign_in("els").await?;
        els.wait_synced().await?;
        els.run("location.hash = '#/activiteiten';").await?;
        els.wait_for("document.querySelector('li.activity')")
            .await?;
        shot(&els, "activities-laptop.png").await?;
        els.tap("li.activity a").await?;
        els.wait_for("document.querySelector('section.invitations li.contributor')")
            .await?;
        shot(&els, "activity-laptop.png").await
    }
    .await;
    els.close().await?;
    result?;
    let profile = tempfile::tempdir()?;
    let karim = Phone::open(profile.path(), &url, LAPTOP).await?;
    let result = async {
        karim.sign_in("karim").await?;
        karim.wait_synced().await?;
        shot(&karim, "today-laptop.png").await?;
        karim.open_door("3").await?;
        karim.choose("section.client-status select", "1").await?;
        karim.tap("section.client-status button").await?;
        karim
            .wait_for("document.querySelector('[data-client-status=TemporaryCareContract]')")
            .await?;
        karim
            .run("document.querySelector('section.client-status').scrollIntoView({ block: 'center' })")
            .await?;
        karim.screenshot(&out.join("client-status-laptop.png")).await?;
        axe(&karim, "client-status-laptop.png").await
    }
    .await;
    karim.close().await?;
    result?;
    // Joost, the municipality's coordinator, prepares the steering group's meeting.
    for (screen, name) in [(LAPTOP, "picture-laptop.png"), (PHONE, "picture-phone.png")] {
        let profile = tempfile::tempdir()?;
        let joost = Phone::open(profile.path(), &url, screen).await?;
        let result = async {
            joost.sign_in("joost").await?;
            joost.wait_synced().await?;
            joost.run("location.hash = '#/beeld';").await?;
            joost
                .wait_for("document.querySelectorAll('a.cell').length === 43")
                .await?;
            shot(&joost, name).await?;
            if name == "picture-laptop.png" {
                joost
                    .run("document.querySelector('table.wishes-by-theme').scrollIntoView()")
                    .await?;
                joost
                    .screenshot(&out.join("picture-tables-laptop.png"))
                    .await?;
            }
            anyhow::Ok(())
        }
        .await;
        joost.close().await?;
        result?;
    }
    Ok(())
}

/// A resident's request at the door, as the corporation's coordinator records it (laptop
/// and phone), and the notice on the builder's phone afterwards.
async fn erasure(out: &std::path::Path) -> anyhow::Result<()> {
    let server = Server::start().await?;
    let url = server.url("/");
    let sanne_profile = tempfile::tempdir()?;
    Phone::session(sanne_profile.path(), &url, PHONE, async |sanne| {
        sanne.sign_in("sanne").await?;
        sanne.wait_synced().await?;
        for door in ["9", "13"] {
            sanne.open_door(door).await?;
            sanne.tap("button[data-outcome=Talked]").await?;
            sanne
                .type_into("article.visit textarea.notes", "Praatte over de tuin.")
                .await?;
            sanne.tap("button[data-consent=Given]").await?;
            sanne
                .type_into("input.resident-name", "Mevrouw Jansen")
                .await?;
            sanne.tap("button[data-consent=Given]").await?;
        }
        sanne.wait_synced().await
    })
    .await?;
    for (screen, name, door) in [
        (LAPTOP, "resident-request-laptop.png", "9"),
        (PHONE, "resident-request-phone.png", "13"),
    ] {
        let profile = tempfile::tempdir()?;
        Phone::session(profile.path(), &url, screen, async |mirjam| {
            mirjam.sign_in("mirjam").await?;
            mirjam.wait_synced().await?;
            mirjam.open_door(door).await?;
            mirjam.tap(".resident-request button.danger").await?;
            mirjam
                .run("document.querySelector('.resident-request').scrollIntoView()")
                .await?;
            mirjam.screenshot(&out.join(name)).await?;
            axe(mirjam, name).await?;
            mirjam
                .tap(".resident-request .confirm button.danger")
                .await?;
            mirjam
                .wait_for("document.querySelector('.resident-request [role=status]')")
                .await
        })
        .await?;
    }
    Phone::session(sanne_profile.path(), &url, PHONE, async |sanne| {
        sanne.wait_synced().await?;
        sanne
            .wait_for("document.querySelector('.notice.erased')")
            .await?;
        sanne.run("window.scrollTo(0, 0)").await?;
        sanne.screenshot(&out.join("erased-phone.png")).await?;
        axe(sanne, "erased-phone.png").await
    })
    .await
}
