//! A user opens the app in a browser: the server serves the field app, and the WebAssembly
//! app starts and draws its page (the shell alone has no heading).

use std::time::Duration;

use voordeur_e2e::{Server, dump_dom};

#[tokio::test]
async fn the_field_app_starts_in_headless_chromium() {
    let server = Server::start().await.expect("server starts");
    let dom = dump_dom(&server.url("/"), Duration::from_secs(10))
        .await
        .expect("Chromium renders the page");
    assert!(
        dom.contains("<h1>Voordeur</h1>"),
        "the wasm app did not mount; the page was:\n{dom}"
    );
    assert!(dom.contains("De veldapp voor buurtwerk"), "{dom}");
}

#[tokio::test]
async fn a_deep_link_gets_the_app_shell() {
    let server = Server::start().await.expect("server starts");
    let dom = dump_dom(&server.url("/straat/lindenstraat"), Duration::from_secs(10))
        .await
        .expect("Chromium renders the page");
    assert!(dom.contains("<h1>Voordeur</h1>"), "{dom}");
}
