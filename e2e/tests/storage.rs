//! Browser storage running full: the app warns before the quota, a change that does not
//! fit is shown as not kept, and nothing stored before is damaged.

use voordeur_e2e::{PHONE, Phone, Server};

const NOTES: &str = "article.visit textarea.notes";

/// Fills the origin's local storage with other data until nothing more fits.
const FILL: &str = "(() => { let n = 0; let size = 1 << 20; \
    while (size >= 16) { try { localStorage.setItem('junk' + n, 'x'.repeat(size)); n++; } \
    catch (e) { size = size >> 1; } } return n; })()";

const EMPTY: &str = "for (const key of Object.keys(localStorage)) \
    { if (key.startsWith('junk')) localStorage.removeItem(key); }";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_storage_is_announced_and_damages_nothing() {
    let server = Server::start().await.expect("server starts");
    let profile = tempfile::tempdir().unwrap();
    Phone::session(profile.path(), &server.url("/"), PHONE, async |phone| {
        phone.sign_in("sanne").await?;
        phone.wait_synced().await?;
        phone.open_door("21").await?;
        phone.tap("button[data-outcome=Talked]").await?;
        phone.type_into(NOTES, "Bewaard voor het vollopen.").await?;

        let filled: u32 = phone.eval(FILL).await?;
        assert!(filled > 0, "nothing filled");
        phone.reload().await?;
        phone
            .wait_for("document.querySelector('.problem')?.innerText.includes('raakt vol')")
            .await?;

        phone.open_door("23").await?;
        phone.tap("button[data-outcome=Talked]").await?;
        phone
            .wait_for(
                "[...document.querySelectorAll('.problem')].some(p => p.innerText.includes('Opslag vol'))",
            )
            .await?;

        phone.run(EMPTY).await?;
        phone.reload().await?;
        phone.open_door("21").await?;
        phone
            .wait_for(&format!("document.querySelector({NOTES:?})"))
            .await?;
        let kept: String = phone
            .eval(&format!("document.querySelector({NOTES:?}).value"))
            .await?;
        assert_eq!(kept, "Bewaard voor het vollopen.");
        Ok(())
    })
    .await
    .unwrap();
}
