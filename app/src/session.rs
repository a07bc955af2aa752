//! Who is using the phone: signing in (online), the session kept with the local data so
//! the app works offline through a field day, and signing out, which wipes the phone.
//!
//! The server's scheme is described in the server's `auth` module: a bearer token, sent
//! on every API request, that expires after a field day. The token is stored with the
//! rest of the phone's data (see `store` for how that is protected at rest).

use serde::{Deserialize, Serialize};
use voordeur_shared::{
    access::{Grant, Role},
    model::Partner,
    uuid::Uuid,
};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Request, RequestInit, Response};

/// The signed-in person, as the server described them at sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub partner: Option<Partner>,
    pub streets: Vec<Uuid>,
}

impl Person {
    pub fn grant(&self) -> Grant {
        Grant {
            role: self.role,
            partner: self.partner,
            streets: self.streets.iter().copied().collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub token: String,
    pub expires_ms: i64,
    pub person: Person,
}

impl Session {
    pub fn expired(&self) -> bool {
        (self.expires_ms as f64) <= js_sys::Date::now()
    }
}

/// Why signing in did not work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInError {
    Offline,
    WrongCredentials,
    TooManyAttempts,
    Other(String),
}

fn get(object: &JsValue, name: &str) -> JsValue {
    js_sys::Reflect::get(object, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
}

pub fn text(object: &JsValue, name: &str) -> Option<String> {
    get(object, name).as_string()
}

/// Reads the server's session JSON (`{token, expires_ms, account}`).
fn session_of(json: &JsValue) -> Option<Session> {
    let account = get(json, "account");
    let organisation = get(&account, "organisation");
    let partner = text(&organisation, "partner").and_then(|p| Partner::from_label(&p));
    let streets = js_sys::Array::from(&get(&account, "streets"))
        .iter()
        .filter_map(|s| s.as_string()?.parse().ok())
        .collect();
    Some(Session {
        token: text(json, "token")?,
        expires_ms: get(json, "expires_ms").as_f64()? as i64,
        person: Person {
            id: text(&account, "id")?,
            username: text(&account, "username")?,
            display_name: text(&account, "display_name")?,
            role: Role::from_label(&text(&account, "role")?)?,
            partner,
            streets,
        },
    })
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
    let body = js_sys::Object::new();
    let set = |k: &str, v: &str| js_sys::Reflect::set(&body, &k.into(), &v.into());
    set("username", username).map_err(|_| SignInError::Offline)?;
    set("password", password).map_err(|_| SignInError::Offline)?;
    let response = call("POST", "/api/session", None, Some(&body))
        .await
        .map_err(|_| SignInError::Offline)?;
    let json = json(&response).await.unwrap_or(JsValue::NULL);
    match response.status() {
        201 => session_of(&json).ok_or_else(|| SignInError::Other("?".into())),
        401 => Err(SignInError::WrongCredentials),
        429 => Err(SignInError::TooManyAttempts),
        status if status >= 500 => Err(SignInError::Offline),
        status => Err(SignInError::Other(
            text(&json, "message").unwrap_or_else(|| format!("HTTP {status}")),
        )),
    }
}

/// Ends the session on the server, if it can be reached; the phone forgets it either way.
pub async fn sign_out(token: &str) {
    let _ = call("DELETE", "/api/session", Some(token), None).await;
}

/// The person's streets on the server as (id, name).
pub async fn streets(token: &str) -> Option<Vec<(String, String)>> {
    let response = call("GET", "/api/streets", Some(token), None).await.ok()?;
    if !response.ok() {
        return None;
    }
    let list: js_sys::Array = json(&response).await.ok()?.dyn_into().ok()?;
    Some(
        list.iter()
            .filter_map(|s| Some((text(&s, "id")?, text(&s, "name")?)))
            .collect(),
    )
}
