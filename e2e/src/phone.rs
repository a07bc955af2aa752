//! A browser with a profile of its own, as one person's phone or laptop: Chromium driven
//! over the DevTools protocol (chromiumoxide), nothing downloaded at run time.
//!
//! Tests drive the app the way a person does, by clicking and typing, and read what the
//! screen shows; they read browser storage only to check what it holds.

use std::{path::Path, time::Duration};

use anyhow::{Context, bail};
use chromiumoxide::{
    Browser, BrowserConfig, Page,
    cdp::browser_protocol::{fetch, page::CaptureScreenshotFormat, target::SetAutoAttachParams},
    handler::viewport::Viewport,
    page::ScreenshotParams,
};
use futures::StreamExt;
use serde::de::DeserializeOwned;

use crate::{CHROMIUM_FLAGS, chromium};

/// A screen size.
#[derive(Debug, Clone, Copy)]
pub struct Screen {
    pub width: u32,
    pub height: u32,
    pub mobile: bool,
}

/// The phone the app is made for.
pub const PHONE: Screen = Screen {
    width: 360,
    height: 740,
    mobile: true,
};

/// A coordinator's laptop.
pub const LAPTOP: Screen = Screen {
    width: 1280,
    height: 800,
    mobile: false,
};

/// How long a test waits for the app to reach a state before it fails.
const PATIENCE: Duration = Duration::from_secs(60);

#[derive(Debug)]
pub struct Phone {
    browser: Browser,
    handler: tokio::task::JoinHandle<()>,
    /// The first tab; the phone's methods are its (`Deref`).
    tab: Tab,
}

/// axe-core's rules (of moderate impact, so not in its "serious") that say whether a
/// screen reader's user can move by landmarks and headings: everything inside a
/// landmark, one main, one banner, each landmark told apart, and a first-level heading.
const LANDMARK_RULES: [&str; 7] = [
    "region",
    "landmark-one-main",
    "landmark-no-duplicate-banner",
    "landmark-no-duplicate-main",
    "landmark-unique",
    "landmark-banner-is-top-level",
    "page-has-heading-one",
];

/// One tab of the browser: the app as a person drives it.
#[derive(Debug)]
pub struct Tab {
    pub page: Page,
}

/// The app's code (the wasm, by its hashed name), for [`Tab::hold`]: about four seconds
/// of a first visit on a slow phone's connection.
pub const THE_APP: &str = "*voordeur-app_bg*";

/// Requests held back by [`Tab::hold`].
#[derive(Debug)]
pub struct Held {
    release: tokio::sync::oneshot::Sender<()>,
}

impl Held {
    /// Lets the held requests go on, and every later one that matches.
    pub fn release(self) {
        let _ = self.release.send(());
    }
}

impl std::ops::Deref for Phone {
    type Target = Tab;

    fn deref(&self) -> &Tab {
        &self.tab
    }
}

/// Opens `url` in a new tab of `browser`.
async fn new_tab(browser: &Browser, url: &str) -> anyhow::Result<Tab> {
    let page = browser
        .new_page("about:blank")
        .await
        .context("opening a tab")?;
    // chromiumoxide has the tab pause every worker it starts until the debugger lets it
    // run, and lets service workers go racily: the app's service worker then sometimes
    // never installs. Workers start unpaused and unwatched instead.
    page.execute(
        SetAutoAttachParams::builder()
            .auto_attach(false)
            .wait_for_debugger_on_start(false)
            .flatten(true)
            .build()
            .map_err(anyhow::Error::msg)?,
    )
    .await
    .context("letting workers run")?;
    page.goto(url).await.context("opening the app")?;
    Ok(Tab { page })
}

impl Phone {
    /// Opens `url` in Chromium with the profile in `profile` (created if empty).
    pub async fn open(profile: &Path, url: &str, screen: Screen) -> anyhow::Result<Phone> {
        let config = BrowserConfig::builder()
            .chrome_executable(chromium()?)
            .user_data_dir(profile)
            .args(
                CHROMIUM_FLAGS
                    .iter()
                    .map(|flag| flag.trim_start_matches("--")),
            )
            .window_size(screen.width, screen.height)
            .viewport(Viewport {
                width: screen.width,
                height: screen.height,
                device_scale_factor: Some(1.0),
                emulating_mobile: screen.mobile,
                is_landscape: false,
                has_touch: screen.mobile,
            })
            .launch_timeout(Duration::from_secs(30))
            .build()
            .map_err(anyhow::Error::msg)?;
        let (browser, mut events) = Browser::launch(config)
            .await
            .map_err(|e| anyhow::anyhow!("Chromium did not start: {e:?}"))?;
        let handler = tokio::spawn(async move { while events.next().await.is_some() {} });
        let tab = new_tab(&browser, url).await?;
        Ok(Phone {
            browser,
            handler,
            tab,
        })
    }

    /// Opens `url` in another tab of the same browser: the same profile, so the same
    /// storage, as a second tab or window of the app on one phone.
    pub async fn open_tab(&self, url: &str) -> anyhow::Result<Tab> {
        new_tab(&self.browser, url).await
    }

    /// Opens a browser, runs `body` with it, and closes the browser whatever `body`
    /// returned. (A panic in `body` drops the browser, which kills Chromium too.)
    pub async fn session<T>(
        profile: &Path,
        url: &str,
        screen: Screen,
        body: impl AsyncFnOnce(&Phone) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        let phone = Phone::open(profile, url, screen).await?;
        let result = body(&phone).await;
        phone.close().await?;
        result
    }

    /// Closes the browser as a person does: the profile stays on disk.
    pub async fn close(mut self) -> anyhow::Result<()> {
        let closed = self.browser.close().await;
        let _ = tokio::time::timeout(Duration::from_secs(10), self.browser.wait()).await;
        if closed.is_err() {
            let _ = self.browser.kill().await;
        }
        self.handler.abort();
        Ok(())
    }
}

impl Tab {
    /// Runs `script` (an expression; promises are awaited) and returns its value.
    pub async fn eval<T: DeserializeOwned>(&self, script: &str) -> anyhow::Result<T> {
        let result = self
            .page
            .evaluate(script)
            .await
            .with_context(|| format!("evaluating {script}"))?;
        result
            .into_value()
            .with_context(|| format!("reading the value of {script}"))
    }

    /// Runs `statements` for their effect.
    pub async fn run(&self, statements: &str) -> anyhow::Result<()> {
        self.eval::<bool>(&format!("(() => {{ {statements}; return true; }})()"))
            .await
            .map(drop)
    }

    /// Sets the `<select>` at `select` to `value` as a person choosing an option does.
    pub async fn choose(&self, select: &str, value: &str) -> anyhow::Result<()> {
        self.run(&format!(
            "const s = document.querySelector({select:?}); s.value = {value:?}; \
             s.dispatchEvent(new Event('change', {{ bubbles: true }}));"
        ))
        .await
    }

    /// Waits until `condition` (a JS expression) is true, up to a minute.
    pub async fn wait_for(&self, condition: &str) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let script = format!(
                "(() => {{ try {{ return !!({condition}); }} catch (e) {{ return false; }} }})()"
            );
            if self.eval::<bool>(&script).await.unwrap_or(false) {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                let status = self.status().await.unwrap_or_default();
                let page: String = self
                    .eval("(location.hash + ' | ' + document.body.innerText).slice(0, 600)")
                    .await
                    .unwrap_or_default();
                bail!(
                    "waited {PATIENCE:?} for `{condition}`; the status bar says {status:?}; \
                     the page: {page:?}"
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// What the status bar says.
    pub async fn status(&self) -> anyhow::Result<String> {
        self.eval("document.querySelector('.status .sync')?.innerText ?? ''")
            .await
    }

    /// Waits until the app says everything is synced.
    pub async fn wait_synced(&self) -> anyhow::Result<()> {
        self.wait_for(
            "document.querySelector('[data-sync=synced]') \
             && document.querySelector('[data-unsynced]').dataset.unsynced === '0'",
        )
        .await
    }

    /// Clicks the first element matching `selector`, as a tap. The tab comes to the front
    /// first: a tab behind another takes no input.
    pub async fn tap(&self, selector: &str) -> anyhow::Result<()> {
        self.wait_for(&format!("document.querySelector({selector:?})"))
            .await?;
        self.page
            .bring_to_front()
            .await
            .context("bringing the tab to the front")?;
        // What is folded away is unfolded first, by a tap on its fold's summary, as a
        // person would.
        let folded: bool = self
            .eval(&format!(
                "(() => {{ const fold = document.querySelector({selector:?}) \
                   .closest('details:not([open])'); \
                 if (!fold) return false; \
                 fold.querySelector(':scope > summary').dataset.tapToUnfold = ''; \
                 return true; }})()"
            ))
            .await?;
        if folded {
            let summary = "summary[data-tap-to-unfold]";
            self.run(&format!(
                "document.querySelector({summary:?}).scrollIntoView({{ block: 'center' }})"
            ))
            .await?;
            self.page.find_element(summary).await?.click().await?;
            self.run(&format!(
                "delete document.querySelector({summary:?}).dataset.tapToUnfold"
            ))
            .await?;
        }
        // In the middle of the screen, as a person scrolls to what they tap: not under the
        // status bar, which stays on top and grows with what it has to say.
        self.run(&format!(
            "document.querySelector({selector:?}).scrollIntoView({{ block: 'center' }})"
        ))
        .await?;
        self.page
            .find_element(selector)
            .await?
            .click()
            .await
            .with_context(|| format!("tapping {selector}"))?;
        Ok(())
    }

    /// Types `text` into the field matching `selector`, key by key, after what is there.
    pub async fn type_into(&self, selector: &str, text: &str) -> anyhow::Result<()> {
        self.tap(selector).await?;
        // The caret goes to the end, as when a person taps below the last line.
        self.run(&format!(
            "const e = document.querySelector({selector:?}); \
             e.setSelectionRange(e.value.length, e.value.length);"
        ))
        .await?;
        self.page
            .find_element(selector)
            .await?
            .type_str(text)
            .await
            .with_context(|| format!("typing into {selector}"))?;
        Ok(())
    }

    /// Types `text` into the field matching `selector` at character `at` (the end if
    /// `None`), key by key.
    pub async fn type_at(
        &self,
        selector: &str,
        at: Option<usize>,
        text: &str,
    ) -> anyhow::Result<()> {
        self.tap(selector).await?;
        let at = at.map_or("e.value.length".to_string(), |at| at.to_string());
        self.run(&format!(
            "const e = document.querySelector({selector:?}); e.setSelectionRange({at}, {at});"
        ))
        .await?;
        self.page
            .find_element(selector)
            .await?
            .type_str(text)
            .await
            .with_context(|| format!("typing into {selector}"))?;
        Ok(())
    }

    /// Runs axe-core on the screen as it is, and fails on any serious or critical
    /// violation, or any of [`LANDMARK_RULES`] (what a screen reader's user moves by),
    /// naming `screen` and the elements. Its `axe.min.js` is the one
    /// `VOORDEUR_AXE` names, else the one `cargo xtask test` installs under `target/`.
    pub async fn check_accessibility(&self, screen: &str) -> anyhow::Result<()> {
        let installed = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../target/tools/node_modules/axe-core/axe.min.js");
        let path = std::env::var_os("VOORDEUR_AXE")
            .map(std::path::PathBuf::from)
            .or_else(|| installed.exists().then_some(installed))
            .context("axe-core is missing: `cargo xtask test` installs it, or set VOORDEUR_AXE to its axe.min.js")?;
        if !self.eval::<bool>("typeof axe === 'object'").await? {
            let source = std::fs::read_to_string(&path)
                .with_context(|| format!("reading axe-core at {path:?}"))?;
            self.run(&source).await?;
        }
        let violations: Vec<String> = self
            .eval(
                &format!(
                    "axe.run().then(r => r.violations \
                       .filter(v => v.impact === 'serious' || v.impact === 'critical' \
                         || {LANDMARK_RULES:?}.includes(v.id)) \
                       .map(v => `${{v.id}} (${{v.impact}}): ${{v.nodes.map(n => n.target).join(' ')}}`))"
                ),
            )
            .await?;
        if !violations.is_empty() {
            bail!("axe-core on {screen}: {violations:#?}");
        }
        Ok(())
    }

    /// Waits for the app's own sign-in screen: the page's form shown before the app
    /// arrived (`#boot`, see app/src/boot.rs) has been taken over.
    pub async fn wait_for_app_sign_in(&self) -> anyhow::Result<()> {
        self.wait_for("document.querySelector('form.sign-in') && !document.getElementById('boot')")
            .await
    }

    /// Signs in on the sign-in screen as a demo person (see `voordeur_shared::demo`);
    /// both the sign-in screen and the one after it are checked for accessibility.
    pub async fn sign_in(&self, username: &str) -> anyhow::Result<()> {
        self.wait_for_app_sign_in().await?;
        self.check_accessibility("the sign-in screen").await?;
        self.type_into("input[name=username]", username).await?;
        self.type_into("input[name=password]", voordeur_shared::demo::PASSWORD)
            .await?;
        self.tap("form.sign-in button[type=submit]").await?;
        self.wait_for("!document.querySelector('form.sign-in')")
            .await?;
        // The first screen is there once it has its heading (before it, the street loads).
        self.wait_for("document.querySelector('main h1')").await?;
        self.check_accessibility(&format!("{username}'s first screen"))
            .await
    }

    /// Opens the door with house number `number` from the walk list; the walk list and
    /// the door screen are checked for accessibility.
    pub async fn open_door(&self, number: &str) -> anyhow::Result<()> {
        self.goto_walk_list().await?;
        self.check_accessibility("the walk list").await?;
        self.tap(&format!("a.door[data-number='{number}']")).await?;
        self.wait_for("document.querySelector('section.visits')")
            .await?;
        self.check_accessibility(&format!("door {number}")).await
    }

    pub async fn goto_walk_list(&self) -> anyhow::Result<()> {
        self.run("location.hash = '#/';").await?;
        self.wait_for("document.querySelector('a.door')").await
    }

    /// Holds back every request of this tab whose URL matches `pattern` (`*` any
    /// characters), as a slow connection would, until [`Held::release`].
    pub async fn hold(&self, pattern: &str) -> anyhow::Result<Held> {
        let mut paused = self
            .page
            .event_listener::<fetch::EventRequestPaused>()
            .await?;
        self.page
            .execute(
                fetch::EnableParams::builder()
                    .pattern(
                        fetch::RequestPattern::builder()
                            .url_pattern(pattern)
                            .build(),
                    )
                    .build(),
            )
            .await?;
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        let page = self.page.clone();
        // Until the tab closes, the task continues what it no longer holds.
        tokio::spawn(async move {
            let mut held = Vec::new();
            tokio::pin!(released);
            loop {
                tokio::select! {
                    event = paused.next() => match event {
                        Some(event) => held.push(event.request_id.clone()),
                        None => return,
                    },
                    _ = &mut released => break,
                }
            }
            for id in held {
                let _ = page.execute(fetch::ContinueRequestParams::new(id)).await;
            }
            while let Some(event) = paused.next().await {
                let continued = fetch::ContinueRequestParams::new(event.request_id.clone());
                let _ = page.execute(continued).await;
            }
        });
        Ok(Held { release })
    }

    pub async fn reload(&self) -> anyhow::Result<()> {
        self.page.reload().await.context("reloading")?;
        Ok(())
    }

    pub async fn screenshot(&self, path: &Path) -> anyhow::Result<()> {
        self.page
            .save_screenshot(
                ScreenshotParams::builder()
                    .format(CaptureScreenshotFormat::Png)
                    .build(),
                path,
            )
            .await
            .with_context(|| format!("saving a screenshot to {}", path.display()))?;
        Ok(())
    }
}
