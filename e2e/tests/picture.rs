//! Scenario 3 in the browser, at 1280×800: a coordinator prepares a steering-group
//! meeting. The building picture's colours match what was recorded at the doors, the
//! wishes are grouped by theme, the follow-ups per organisation hide what the coordinator
//! may not read, progress shows per week; the workbook downloaded with one click reads
//! back with the documents' figures; and a visit synced by a phone shows on the open
//! picture without a reload.

use std::time::{Duration, Instant};

use base64::Engine;
use calamine::{Data, Reader, Xlsx};
use voordeur_e2e::{LAPTOP, PHONE, Phone, Server};

/// A wish: its theme (by its index in the door's list) and its text.
type Wish = (&'static str, &'static str);

/// Sanne's round: door number, outcome, and a wish or none.
const ROUND: [(&str, &str, Option<Wish>); 6] = [
    ("1", "Talked", Some(("0", "Meer bomen langs de stoep"))),
    ("3", "Talked", Some(("4", "Een schommel voor de kleintjes"))),
    ("5", "NotHome", None),
    ("7", "Refused", None),
    ("9", "Talked", Some(("0", "Geveltuintjes"))),
    ("11", "NotHome", None),
];

/// The state the picture must show for each door of the round.
fn expected(outcome: &str) -> &'static str {
    match outcome {
        "Talked" => "Talked",
        "NotHome" => "NotHome",
        "Refused" => "Refused",
        _ => "NotYet",
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_coordinator_sees_the_picture_exports_it_and_it_stays_live() {
    let server = Server::start().await.expect("server starts");
    let url = server.url("/");

    // Sanne walks her round and hands a care need on at door 9.
    let sanne_profile = tempfile::tempdir().unwrap();
    let sanne = Phone::open(sanne_profile.path(), &url, PHONE)
        .await
        .unwrap();
    let result = async {
        sanne.sign_in("sanne").await?;
        sanne.wait_synced().await?;
        for (door, outcome, wish) in ROUND {
            sanne.open_door(door).await?;
            sanne
                .tap(&format!("button[data-outcome={outcome}]"))
                .await?;
            sanne
                .wait_for("document.querySelector('article.visit')")
                .await?;
            if let Some((theme, text)) = wish {
                sanne
                    .choose("article.visit form.add-wish select", theme)
                    .await?;
                sanne.type_into("article.visit input.wish", text).await?;
                sanne
                    .tap("article.visit form.add-wish button[type=submit]")
                    .await?;
            }
        }
        sanne.open_door("9").await?;
        sanne
            .type_into("article.visit input.signal", "Hulp nodig bij boodschappen")
            .await?;
        sanne
            .tap("article.visit form.add-signal button[type=submit]")
            .await?;
        sanne.wait_synced().await
    }
    .await;
    result.unwrap();

    let joost_profile = tempfile::tempdir().unwrap();
    let joost = Phone::open(joost_profile.path(), &url, LAPTOP)
        .await
        .unwrap();
    let result = async {
        joost.sign_in("joost").await?;
        joost.wait_synced().await?;
        joost.run("location.hash = '#/beeld';").await?;
        joost
            .wait_for("document.querySelectorAll('a.cell').length === 43")
            .await?;
        joost.check_accessibility("the picture").await?;
        // Every door of the round in its state, the others not yet.
        for (door, outcome, _) in ROUND {
            let state: String = joost
                .eval(&format!(
                    "document.querySelector(\"a.cell[data-number='{door}']\").dataset.state"
                ))
                .await?;
            assert_eq!(state, expected(outcome), "door {door}");
        }
        let not_yet: u32 = joost
            .eval("document.querySelectorAll('a.cell[data-state=NotYet]').length")
            .await?;
        assert_eq!(not_yet, 43 - ROUND.len() as u32);
        // The legend counts, and says each state in words and a mark, not colour alone.
        for (state, count) in [
            ("Talked", 3),
            ("NotHome", 2),
            ("Refused", 1),
            ("NotYet", 37),
        ] {
            let shown: String = joost
                .eval(&format!(
                    "document.querySelector('.legend li[data-state={state}]').dataset.count"
                ))
                .await?;
            assert_eq!(shown, count.to_string(), "{state}");
        }
        // Wishes by theme: two on greenery, one on play.
        let greenery: String = joost
            .eval("document.querySelector('tr[data-theme=Greenery] td.n').innerText")
            .await?;
        assert_eq!(greenery, "2");
        let text: String = joost.eval("document.body.innerText").await?;
        assert!(text.contains("Geveltuintjes"), "{text}");
        // The care organisation's signal: a count a municipality coordinator sees as < 5,
        // never its text.
        assert!(!text.contains("boodschappen"), "{text}");
        let care: String = joost
            .eval("document.querySelector('tr[data-partner=CareOrganisation]').innerText")
            .await?;
        assert!(care.contains("< 5"), "{care}");
        // Progress per week: a row, and the chart.
        let weeks: u32 = joost
            .eval("document.querySelectorAll('table.progress tbody tr').length")
            .await?;
        assert!(weeks >= 1);
        assert!(
            joost
                .eval::<bool>("!!document.querySelector('svg.chart polyline')")
                .await?
        );

        // One click: the workbook, caught as the browser is handed it, read back.
        joost
            .run(
                "window.__files = []; const make = URL.createObjectURL; \
                 URL.createObjectURL = (b) => { window.__files.push(b); return make(b); };",
            )
            .await?;
        joost.tap("button.export-xlsx").await?;
        joost.wait_for("window.__files.length === 1").await?;
        let encoded: String = joost
            .eval(
                "window.__files[0].arrayBuffer().then(b => { let s = ''; \
                 new Uint8Array(b).forEach(x => s += String.fromCharCode(x)); return btoa(s); })",
            )
            .await?;
        let bytes = base64::engine::general_purpose::STANDARD.decode(encoded)?;
        let mut workbook: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes))?;
        let summary = workbook.worksheet_range("Samenvatting")?;
        assert_eq!(summary.get_value((1, 1)), Some(&Data::Float(43.0)), "doors");
        assert_eq!(
            summary.get_value((1, 2)),
            Some(&Data::String("< 5".into())),
            "three talks: a small count"
        );
        assert_eq!(summary.get_value((1, 5)), Some(&Data::Float(3.0)), "wishes");
        let wishes = workbook.worksheet_range("Wensen per thema")?;
        let themes: Vec<String> = (1..wishes.height() as u32)
            .map(|r| {
                wishes
                    .get_value((r, 1))
                    .map(ToString::to_string)
                    .unwrap_or_default()
            })
            .collect();
        assert_eq!(themes, ["groen", "spelen"]);
        assert_eq!(wishes.get_value((1, 2)), Some(&Data::Float(2.0)));
        anyhow::Ok(())
    }
    .await;
    if let Err(e) = result {
        let _ = joost.close().await;
        let _ = sanne.close().await;
        panic!("{e:#}");
    }

    // Live: Sanne talks at door 21; Joost's open picture shows it without a reload.
    let before: u32 = joost
        .eval("performance.getEntriesByType('navigation').length")
        .await
        .unwrap();
    let result = async {
        sanne.open_door("21").await?;
        sanne.tap("button[data-outcome=Talked]").await?;
        let started = Instant::now();
        sanne.wait_synced().await?;
        joost
            .wait_for(
                "document.querySelector(\"a.cell[data-number='21']\")?.dataset.state === 'Talked'",
            )
            .await?;
        let delay = started.elapsed();
        println!("the picture showed the synced visit {delay:?} after the phone recorded it");
        // The poll would take 20 s; the push is what brings it.
        assert!(delay < Duration::from_secs(15), "{delay:?}");
        anyhow::Ok(())
    }
    .await;
    let after: u32 = joost
        .eval("performance.getEntriesByType('navigation').length")
        .await
        .unwrap();
    let _ = joost.close().await;
    let _ = sanne.close().await;
    result.unwrap();
    assert_eq!(before, after, "no reload");
}

/// A coordinator who works in two streets sees both side by side, each with its own
/// buildings, whichever street the walk list follows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_coordinator_of_two_streets_sees_them_side_by_side() {
    let server = Server::start().await.expect("server starts");
    server
        .add_street("Eikenlaan", &["joost"])
        .await
        .expect("a second street");
    let profile = tempfile::tempdir().unwrap();
    Phone::session(profile.path(), &server.url("/"), LAPTOP, async |phone| {
        phone.sign_in("joost").await?;
        phone
            .wait_for("document.querySelectorAll('.streets button').length === 2")
            .await?;
        phone
            .run("[...document.querySelectorAll('.streets button')].find(b => b.innerText === 'Lindenstraat').click()")
            .await?;
        phone.wait_synced().await?;
        phone.run("location.hash = '#/beeld';").await?;
        phone
            .wait_for("document.querySelectorAll('section.street-picture').length === 2")
            .await?;
        let doors: Vec<u32> = phone
            .eval(
                "[...document.querySelectorAll('section.street-picture')]\
                 .map(s => s.querySelectorAll('a.cell').length).sort((a, b) => a - b)",
            )
            .await?;
        // Eikenlaan's one block of 2 floors × 4 doors, and the demo street's 43.
        assert_eq!(doors, [8, 43]);
        let side_by_side: bool = phone
            .eval(
                "(() => { const [a, b] = document.querySelectorAll('section.street-picture'); \
                   return a.getBoundingClientRect().top === b.getBoundingClientRect().top; })()",
            )
            .await?;
        assert!(side_by_side, "the two streets stand next to each other at 1280 px");
        Ok(())
    })
    .await
    .unwrap();
}
