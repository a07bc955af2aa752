//! Who is using the phone: signing in (online), the session kept with the local data so
//! the app works offline through a field day, and signing out, which wipes the phone.
//!
//! The server's scheme is described in the server's `auth` module: a bearer token, sent
//! on every API request, that expires after a field day. The token is stored with the
//! rest of the phone's data (see `store` for how that is protected at rest).

use voordeur_shared::api::{ErrorBody, SessionView, SignIn, StreetSummary};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Request, RequestInit, Response};

use crate::state::Session;

/// Why signing in did not work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInError {
    Offline,
    WrongCredentials,
    TooManyAttempts,
    Other(String),
}

/// Reads a JSON value of the API into its type (see `voordeur_shared::api`).
pub fn from_json<T: serde::de::DeserializeOwned>(json: JsValue) -> Option<T> {
    serde_wasm_bindgen::from_value(json).ok()
}

/// The message of an error's JSON body, or the status when the body is no API error (a
/// proxy's page).
pub fn error_message(json: JsValue, status: u16) -> String {
    error_body(json).map_or_else(|| format!("HTTP {status}"), |e| e.message)
}

/// An error's JSON body, if it is one of the API's.
pub fn error_body(json: JsValue) -> Option<ErrorBody> {
    from_json::<ErrorBody>(json)
}

/// A request to the API as `token` (if any), with a JSON body (if any).
pub async fn call(
    method: &str,
    url: &str,
    token: Option<&str>,
    json: Option<&JsValue>,
) -> Result<Response, JsValue> {
    let window = web_sys::window().ok_or(JsValue::NULL)?;
    let init = RequestInit::new();
    init.set_method(method);
    let request = if let Some(json) = json {
        let body = js_sys::JSON::stringify(json)?;
        init.set_body(&body);
        let request = Request::new_with_str_and_init(url, &init)?;
        request.headers().set("content-type", "application/json")?;
        request
    } else {
        Request::new_with_str_and_init(url, &init)?
    };
    if let Some(token) = token {
        request
            .headers()
            .set("authorization", &format!("Bearer {token}"))?;
    }
    JsFuture::from(window.fetch_with_request(&request))
        .await?
        .dyn_into()
}

/// The JSON body of a response.
pub async fn json(response: &Response) -> Result<JsValue, JsValue> {
    JsFuture::from(response.json()?).await
}

pub async fn sign_in(username: &str, password: &str) -> Result<Session, SignInError> {
    let form = SignIn {
        username: username.into(),
        password: password.into(),
    };
    let body = serde_wasm_bindgen::to_value(&form).map_err(|_| SignInError::Offline)?;
    let response = call("POST", "/api/session", None, Some(&body))
        .await
        .map_err(|_| SignInError::Offline)?;
    let json = json(&response).await.unwrap_or(JsValue::NULL);
    match response.status() {
        201 => {
            let view: SessionView = from_json(json)
                .ok_or_else(|| SignInError::Other("the server's answer does not read".into()))?;
            Ok(Session {
                token: view
                    .token
                    .ok_or_else(|| SignInError::Other("the server sent no token".into()))?,
                expires_ms: view.expires_ms,
                person: view.account.into(),
            })
        }
        401 => Err(SignInError::WrongCredentials),
        429 => Err(SignInError::TooManyAttempts),
        status if status >= 500 => Err(SignInError::Offline),
        status => Err(SignInError::Other(error_message(json, status))),
    }
}

/// Ends the session on the server, if it can be reached; the phone forgets it either way.
pub async fn sign_out(token: &str) {
    let _ = call("DELETE", "/api/session", Some(token), None).await;
}

/// The person's streets on the server.
pub async fn streets(token: &str) -> Option<Vec<StreetSummary>> {
    let response = call("GET", "/api/streets", Some(token), None).await.ok()?;
    if !response.ok() {
        return None;
    }
    from_json(json(&response).await.ok()?)
}

/// Where the signals this person handed to other partners stand (`POST /api/handed-on`).
pub async fn handed_on(
    token: &str,
    query: &voordeur_shared::api::HandedOnQuery,
) -> Option<voordeur_shared::api::HandedOn> {
    let body = serde_wasm_bindgen::to_value(query).ok()?;
    let response = call("POST", "/api/handed-on", Some(token), Some(&body))
        .await
        .ok()?;
    if !response.ok() {
        return None;
    }
    from_json(json(&response).await.ok()?)
}

/// Records a resident's request for a door (`POST /api/requests`): carried out on the
/// server at once.
pub async fn ask_request(
    token: &str,
    street: voordeur_shared::uuid::Uuid,
    address: voordeur_shared::uuid::Uuid,
    request: voordeur_shared::erase::Request,
) -> Result<(), String> {
    let asked = voordeur_shared::api::ResidentRequest {
        street,
        address,
        request,
    };
    let body = serde_wasm_bindgen::to_value(&asked).map_err(|e| e.to_string())?;
    let response = call("POST", "/api/requests", Some(token), Some(&body))
        .await
        .map_err(|_| "offline".to_string())?;
    if response.ok() {
        return Ok(());
    }
    let body = json(&response).await.unwrap_or(JsValue::NULL);
    Err(error_message(body, response.status()))
}

/// The picture of `street` (`/api/picture`), `query` adding the period (`&from=…&to=…`).
pub async fn picture(
    token: &str,
    street: voordeur_shared::uuid::Uuid,
    query: &str,
) -> Result<voordeur_shared::report::Picture, String> {
    let url = format!("/api/picture?street={street}{query}");
    let response = call("GET", &url, Some(token), None)
        .await
        .map_err(|_| "offline".to_string())?;
    let body = json(&response).await.unwrap_or(JsValue::NULL);
    if !response.ok() {
        return Err(error_message(body, response.status()));
    }
    from_json(body).ok_or_else(|| "the picture does not read".to_string())
}

/// Downloads `url` (an API file: the report) as `name`, with the session's token.
pub async fn download(token: &str, url: &str, name: &str) -> Result<(), String> {
    let response = call("GET", url, Some(token), None)
        .await
        .map_err(|_| "offline".to_string())?;
    if !response.ok() {
        let body = json(&response).await.unwrap_or(JsValue::NULL);
        return Err(error_message(body, response.status()));
    }
    let blob: web_sys::Blob = JsFuture::from(response.blob().map_err(|_| "no file".to_string())?)
        .await
        .map_err(|_| "no file".to_string())?
        .dyn_into()
        .map_err(|_| "no file".to_string())?;
    let href =
        web_sys::Url::create_object_url_with_blob(&blob).map_err(|_| "no file".to_string())?;
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or_else(|| "no document".to_string())?;
    let link: web_sys::HtmlAnchorElement = document
        .create_element("a")
        .map_err(|_| "no link".to_string())?
        .dyn_into()
        .map_err(|_| "no link".to_string())?;
    link.set_href(&href);
    link.set_download(name);
    link.click();
    let _ = web_sys::Url::revoke_object_url(&href);
    Ok(())
}
