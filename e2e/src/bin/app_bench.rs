//! The field app's figures (docs/benchmarks.md): what a phone downloads (first visit, and
//! after an update), a first visit on a slow phone (Lighthouse's mobile profile) to the
//! sign-in screen, the time from navigation to usable without network (empty store, and
//! 10,000 visits stored; also with the CPU slowed 4×), the
//! time from a keystroke in the notes to the change being in browser storage, and the
//! coordinators' picture of that street on a laptop (asked for until drawn).
//!
//! `cargo xtask build-app && cargo run --release -p voordeur-e2e --bin app_bench`
//!
//! "Usable" is two marks the app sets: `voordeur-shell`, the walk list drawn from the
//! stored copy, and `voordeur-ready`, every document the screens need loaded (a door opens
//! at once). Both are measured from navigation start, offline (the server stopped), the
//! app coming from its service worker.

use std::time::Instant;

use anyhow::Context;
use chromiumoxide::cdp::browser_protocol::{
    emulation::SetCpuThrottlingRateParams,
    network::{self, EmulateNetworkConditionsByRuleParams, NetworkConditions},
};
use voordeur_e2e::{LAPTOP, PHONE, Phone, Server, app_dir};
use voordeur_shared::{
    demo,
    model::{Outcome, Theme},
    record::VisitRecord,
    sync::{client::Replica, wire},
    walk::WalkList,
};

const VISITS: usize = 10_000;
const BATCH: usize = 500;
const RELOADS: usize = 7;
const KEYSTROKES: usize = 200;

/// Bytes as a phone downloads them: the size of the Brotli copy the server sends, or of
/// the file itself where there is none (images, the shell).
fn sent(path: &std::path::Path) -> anyhow::Result<u64> {
    let mut brotli = path.as_os_str().to_owned();
    brotli.push(".br");
    let sent = std::fs::metadata(&brotli).or_else(|_| std::fs::metadata(path));
    Ok(sent.with_context(|| format!("{path:?}"))?.len())
}

/// What a phone downloads from `app/dist` as built: on a first visit (the service worker
/// keeps every file of the app), and after an update of the app's code (the wasm, its JS
/// glue and `start.js` get new names; the page and the service worker name them).
fn sizes() -> anyhow::Result<()> {
    println!("## Transfer size (app/dist, as the server sends it to a browser taking Brotli)");
    let mut files: Vec<_> = std::fs::read_dir(app_dir())?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    files.retain(|p| !p.extension().is_some_and(|e| e == "br" || e == "gz"));
    files.sort();
    let (mut first, mut update) = (0, 0);
    for path in &files {
        let name = path.file_name().context("a name")?.to_string_lossy();
        let raw = std::fs::metadata(path)?.len();
        let sent = sent(path)?;
        println!("{name}: {raw} B, sent {sent} B");
        first += sent;
        let code = ["voordeur-app", "start.", "index.html", "sw.js"];
        if code.iter().any(|c| name.starts_with(c)) {
            update += sent;
        }
    }
    println!(
        "first visit: {first} B ({:.1} KiB); after an update of the code: {update} B ({:.1} KiB)",
        first as f64 / 1024.0,
        update as f64 / 1024.0
    );
    Ok(())
}

async fn sync(
    http: &reqwest::Client,
    server: &Server,
    token: &str,
    replica: &mut Replica,
) -> anyhow::Result<()> {
    for _ in 0..4 {
        let body = wire::encode_request(&replica.request());
        let bytes = http
            .post(server.url("/api/sync"))
            .bearer_auth(token)
            .header("content-type", wire::CONTENT_TYPE)
            .body(body)
            .send()
            .await?
            .error_for_status()?
            .bytes()
            .await?;
        let received = replica.receive(wire::decode_response(&bytes, 1 << 30)?);
        anyhow::ensure!(received.rejected.is_empty(), "{received:?}");
        if !received.again {
            return Ok(());
        }
    }
    Ok(())
}

/// Puts `VISITS` visits with notes on the server, as several phones would have.
async fn seed(server: &Server) -> anyhow::Result<()> {
    let started = Instant::now();
    let http = reqwest::Client::new();
    let token = server.sign_in("karim").await?;
    let mut phone = Replica::new(voordeur_shared::docs::new_actor());
    phone.follow(demo::street_id());
    sync(&http, server, &token, &mut phone).await?;
    let street = voordeur_shared::docs::DocKind::Street {
        street: demo::street_id(),
        epoch: 0,
    };
    let addresses: Vec<uuid::Uuid> = {
        let doc = &phone.get(&street.id()).context("street")?.doc;
        let street: voordeur_shared::model::Street = voordeur_shared::docs::read(doc)?;
        WalkList::of(&street).doors().map(|d| d.id.0).collect()
    };
    let outcomes = [
        Outcome::NotHome,
        Outcome::Talked,
        Outcome::Refused,
        Outcome::Talked,
    ];
    for i in 0..VISITS {
        VisitRecord {
            street: demo::street_id(),
            address: addresses[i % addresses.len()],
            author: "Bench".into(),
            at_ms: 1_700_000_000_000 + i as i64 * 60_000,
            outcome: outcomes[i % outcomes.len()],
            return_on: None,
            notes: format!(
                "Gesprek {i}: bewoner woont hier sinds lang, vertelt over de buurt, de galerij \
                 en de speeltuin; wil graag meedenken over groen en ontmoeten. Afgesproken \
                 om na de zomer terug te komen met nieuws over de plannen."
            ),
            contribution: String::new(),
            // A wish at every fifth visit: 2,000 for the picture to group by theme.
            wishes: if i % 5 == 0 {
                vec![(Theme::ALL[i % Theme::ALL.len()], format!("Wens {i}"))]
            } else {
                Vec::new()
            },
            signals: Vec::new(),
        }
        .record(&mut phone)?;
        if (i + 1) % BATCH == 0 {
            sync(&http, server, &token, &mut phone).await?;
        }
    }
    sync(&http, server, &token, &mut phone).await?;
    println!(
        "seeded {VISITS} visits at {} doors in {:.1} s",
        addresses.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Reloads the app `RELOADS` times; the median of each mark, in ms after navigation start.
async fn startup(phone: &Phone) -> anyhow::Result<(f64, f64)> {
    let mut shell = Vec::new();
    let mut ready = Vec::new();
    for _ in 0..RELOADS {
        phone.reload().await?;
        phone
            .wait_for("performance.getEntriesByName('voordeur-ready').length > 0")
            .await?;
        let marks: (f64, f64) = phone
            .eval(
                "[performance.getEntriesByName('voordeur-shell')[0].startTime, \
                  performance.getEntriesByName('voordeur-ready')[0].startTime]",
            )
            .await?;
        shell.push(marks.0);
        ready.push(marks.1);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!("  shell marks {shell:.0?}, ready marks {ready:.0?}");
    let split: Vec<f64> = phone
        .eval(
            "['voordeur-shell', 'voordeur-loaded', 'voordeur-walk', 'voordeur-ready']\
               .map(m => performance.getEntriesByName(m).map(e => e.startTime).pop() ?? -1)",
        )
        .await?;
    println!(
        "  last reload: shell, documents loaded, walk list made (-1: stored one current), ready: {split:.0?} ms"
    );
    Ok((median(&mut shell), median(&mut ready)))
}

async fn keystrokes(phone: &Phone) -> anyhow::Result<()> {
    phone.goto_walk_list().await?;
    phone.tap("a.door[data-number='13']").await?;
    phone
        .wait_for("document.querySelector('article.visit textarea.notes')")
        .await?;
    let visits: usize = phone
        .eval("document.querySelectorAll('article.visit').length")
        .await?;
    let keys_before: usize = phone.eval("localStorage.length").await?;
    let mut times: Vec<f64> = phone
        .eval(&format!(
            "(() => {{ const ta = document.querySelector('article.visit textarea.notes'); \
               const times = []; \
               for (let i = 0; i < {KEYSTROKES}; i++) {{ \
                 const t0 = performance.now(); \
                 ta.value += 'x'; \
                 ta.dispatchEvent(new InputEvent('input', {{ bubbles: true, data: 'x', inputType: 'insertText' }})); \
                 times.push(performance.now() - t0); \
               }} \
               return times; }})()"
        ))
        .await?;
    let keys_after: usize = phone.eval("localStorage.length").await?;
    anyhow::ensure!(
        keys_after > keys_before,
        "typing stored nothing ({keys_before} keys before, {keys_after} after)"
    );
    times.sort_by(f64::total_cmp);
    let at = |q: f64| times[((times.len() - 1) as f64 * q) as usize];
    let mut taps: Vec<f64> = Vec::new();
    for _ in 0..5 {
        taps.push(
            phone
                .eval(
                    "(() => { const t0 = performance.now(); \
                       document.querySelector('button[data-outcome=NotHome]').click(); \
                       return performance.now() - t0; })()",
                )
                .await?,
        );
    }
    println!(
        "tap on an outcome -> visit recorded, stored, walk list updated ({VISITS} visits): {taps:.0?} ms"
    );
    let steps: Vec<f64> = phone
        .eval(
            "['record-start', 'record-made', 'record-street-stored', 'record-household-stored', \
              'record-shown', 'record-counted']\
               .map(m => performance.getEntriesByName(m).map(e => e.startTime).pop() ?? -1)",
        )
        .await?;
    let steps: Vec<f64> = steps.windows(2).map(|w| w[1] - w[0]).collect();
    println!(
        "  last tap, ms: recorded {:.1}, street stored {:.1}, household stored {:.1}, \
         walk list and screen {:.1}, unsynced counted {:.1}",
        steps[0], steps[1], steps[2], steps[3], steps[4]
    );
    println!(
        "keystroke -> stored, door with {visits} visits, {KEYSTROKES} keystrokes: \
         p50 {:.2} ms, p95 {:.2} ms, max {:.2} ms",
        at(0.5),
        at(0.95),
        at(1.0)
    );
    Ok(())
}

/// The coordinators' picture of the street on a laptop, after sign-in: from asking for it
/// to every door drawn (the server reads the street's documents and counts; the app draws
/// the buildings, the wishes, the follow-ups and the weeks). The median of 5.
async fn picture(server: &Server) -> anyhow::Result<()> {
    let profile = tempfile::tempdir()?;
    let laptop = Phone::open(profile.path(), &server.url("/"), LAPTOP).await?;
    let result = async {
        laptop.sign_in("joost").await?;
        laptop.wait_synced().await?;
        let mut times = Vec::new();
        for _ in 0..5 {
            laptop.run("location.hash = '#/';").await?;
            laptop.wait_for("document.querySelector('a.door')").await?;
            let ms: f64 = laptop
                .eval(
                    "(async () => { const t0 = performance.now(); location.hash = '#/beeld'; \
                     while (document.querySelectorAll('a.cell').length !== 43 \
                            || !document.querySelector('table.progress tbody tr')) \
                       await new Promise(r => setTimeout(r, 2)); \
                     return performance.now() - t0; })()",
                )
                .await?;
            times.push(ms);
        }
        times.sort_by(f64::total_cmp);
        println!(
            "## The coordinators' picture, laptop, desktop Chromium\n\
             street of {VISITS} visits: drawn {:.0} ms after asking (median of 5; slowest {:.0} ms)",
            times[2], times[4]
        );
        anyhow::Ok(())
    }
    .await;
    laptop.close().await?;
    result
}

/// Lighthouse's mobile profile: the CPU slowed 4×, and (for a first visit) a network of
/// 150 ms round trips, 1.6 Mbit/s down and 750 kbit/s up.
const SLOW_CPU: f64 = 4.0;
const SLOW_RTT_MS: f64 = 150.0;
const SLOW_DOWN: f64 = 1_600_000.0 / 8.0;
const SLOW_UP: f64 = 750_000.0 / 8.0;

async fn slow_cpu(phone: &Phone, rate: f64) -> anyhow::Result<()> {
    phone
        .page
        .execute(SetCpuThrottlingRateParams::new(rate))
        .await?;
    Ok(())
}

/// A first visit on the slow profile, from a browser that never saw the app: until a
/// sign-in form can be used (the page's own, drawn before the app has arrived), until the
/// app's sign-in screen has taken over (signing in can complete), both noted by an
/// observer the page gets before anything else, and the bytes the browser fetched
/// (`transferSize`, headers included).
async fn first_visit_on_a_slow_phone(server: &Server) -> anyhow::Result<()> {
    let profile = tempfile::tempdir()?;
    let phone = Phone::open(profile.path(), "about:blank", PHONE).await?;
    let result = async {
        slow_cpu(&phone, SLOW_CPU).await?;
        phone.page.execute(network::EnableParams::default()).await?;
        phone
            .page
            .execute(EmulateNetworkConditionsByRuleParams::new(
                false,
                // An empty pattern: every request.
                vec![NetworkConditions::new("", SLOW_RTT_MS, SLOW_DOWN, SLOW_UP)],
            ))
            .await?;
        phone
            .page
            .evaluate_on_new_document(
                "new MutationObserver((_, observer) => { \
                   const form = document.querySelector('form.sign-in'); \
                   if (form && window.__form === undefined) window.__form = performance.now(); \
                   if (form && !document.getElementById('boot')) { \
                     window.__app = performance.now(); observer.disconnect(); } \
                 }).observe(document, { childList: true, subtree: true });",
            )
            .await?;
        phone.page.goto(server.url("/")).await?;
        phone.wait_for("window.__app !== undefined").await?;
        let form: f64 = phone.eval("window.__form").await?;
        let app: f64 = phone.eval("window.__app").await?;
        let fetched: Vec<(String, f64, f64)> = phone
            .eval(
                "performance.getEntriesByType('resource').concat(performance.getEntriesByType('navigation')) \
                   .map(e => [new URL(e.name).pathname, e.transferSize, e.decodedBodySize])",
            )
            .await?;
        let (sent, decoded) = fetched
            .iter()
            .fold((0.0, 0.0), |(s, d), (_, sent, decoded)| (s + sent, d + decoded));
        println!(
            "## First visit, slow phone (CPU ÷{SLOW_CPU}, {SLOW_RTT_MS} ms round trip, 1.6 Mbit/s)\n\
             sign-in form usable (typing) at {form:.0} ms: the page's own, before the app; \
             the app's sign-in screen (signing in completes) at {app:.0} ms; the page fetched {} \
             files, {sent:.0} B over the network ({decoded:.0} B decoded)",
            fetched.len()
        );
        anyhow::Ok(())
    }
    .await;
    phone.close().await?;
    result
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    sizes()?;
    let mut server = Server::start().await?;
    first_visit_on_a_slow_phone(&server).await?;
    seed(&server).await?;
    picture(&server).await?;
    let profile = tempfile::tempdir()?;
    let phone = Phone::open(profile.path(), &server.url("/"), PHONE).await?;
    let result = async {
        phone.sign_in("sanne").await?;
        let started = Instant::now();
        phone.wait_synced().await?;
        println!(
            "first start online: street with {VISITS} visits fetched and stored in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        phone
            .eval::<bool>("navigator.serviceWorker.ready.then(r => !!r.active)")
            .await?;
        let stored: (usize, usize) = phone
            .eval(
                "(() => { let chars = 0; for (let i = 0; i < localStorage.length; i++) { \
                   const k = localStorage.key(i); chars += k.length + localStorage.getItem(k).length; } \
                   return [localStorage.length, chars]; })()",
            )
            .await?;
        println!("stored: {} keys, {} characters", stored.0, stored.1);
        server.stop().await?;
        println!("## Navigation to usable, offline, desktop Chromium (median of {RELOADS})");
        let (shell, ready) = startup(&phone).await?;
        println!("{VISITS} visits stored: walk list shown at {shell:.0} ms, ready at {ready:.0} ms");
        slow_cpu(&phone, SLOW_CPU).await?;
        println!("## The same, the CPU slowed {SLOW_CPU}× (Lighthouse's mobile profile)");
        let (shell, ready) = startup(&phone).await?;
        println!("{VISITS} visits stored: walk list shown at {shell:.0} ms, ready at {ready:.0} ms");
        slow_cpu(&phone, 1.0).await?;
        keystrokes(&phone).await?;
        phone.run("localStorage.clear()").await?;
        let (shell, ready) = startup(&phone).await?;
        println!("empty store: shell at {shell:.0} ms, ready at {ready:.0} ms");
        anyhow::Ok(())
    }
    .await;
    phone.close().await?;
    result
}
