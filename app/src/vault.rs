//! The phone's copy, encrypted at rest.
//!
//! Every value the app keeps about residents — documents, their metas, walk lists, the
//! session — is sealed with AES-256-GCM under a random *data key* before it goes into
//! local storage, and the names of the keys hold no document id, only a pseudonym (the id
//! enciphered with a second random key). The data key itself is stored only wrapped by a
//! key-encryption key derived from the person's password (PBKDF2, see `static/vault.js`),
//! a non-extractable WebCrypto key kept in IndexedDB for as long as the session lasts.
//! When the session expires or the person signs out the key-encryption key is dropped:
//! what is left on the phone is ciphertext that only the password opens again.
//!
//! Local storage is synchronous and WebCrypto is not, so the data key is unwrapped once,
//! at start or sign-in, and the sealing itself is done here, in Rust.

use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use js_sys::{Promise, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::{
    error::AppError,
    state::cipher::{Cipher, random},
};

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = voordeurVault, js_name = derive)]
    fn kek_derive(password: &str, salt: &Uint8Array) -> Promise;
    #[wasm_bindgen(js_namespace = voordeurVault, js_name = present)]
    fn kek_present() -> Promise;
    #[wasm_bindgen(js_namespace = voordeurVault, js_name = wrap)]
    fn kek_wrap(bytes: &Uint8Array) -> Promise;
    #[wasm_bindgen(js_namespace = voordeurVault, js_name = unwrap)]
    fn kek_unwrap(bytes: &Uint8Array) -> Promise;
    #[wasm_bindgen(js_namespace = voordeurVault, js_name = forget)]
    fn kek_forget() -> Promise;
}

/// Where the salt and the wrapped data key are kept (both useless without the password).
const SALT: &str = "vd.salt";
const WRAPPED: &str = "vd.key";

async fn wait(promise: Promise) -> Result<JsValue, VaultError> {
    JsFuture::from(promise)
        .await
        .map_err(|e| VaultError(format!("{e:?}")))
}

/// The browser's crypto or IndexedDB failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the phone's key store failed: {0}")]
pub struct VaultError(String);

impl From<VaultError> for AppError {
    fn from(e: VaultError) -> Self {
        AppError::KeyStore(e.0)
    }
}

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

fn stored(key: &str) -> Option<Vec<u8>> {
    let text = local_storage()?.get_item(key).ok()??;
    BASE64.decode(text).ok()
}

fn store(key: &str, bytes: &[u8]) -> Result<(), VaultError> {
    local_storage()
        .ok_or_else(|| VaultError("no local storage".into()))?
        .set_item(key, &BASE64.encode(bytes))
        .map_err(|e| VaultError(format!("{e:?}")))
}

/// The data key, unwrapped with the kept key-encryption key.
async fn data_key() -> Option<[u8; 64]> {
    let wrapped = stored(WRAPPED)?;
    let key = wait(kek_unwrap(&Uint8Array::from(wrapped.as_slice())))
        .await
        .ok()?;
    Uint8Array::new(&key).to_vec().try_into().ok()
}

/// Opens the phone's data with the key kept since sign-in; `None` if there is none (a
/// first start, or the session ended): then only signing in opens it.
pub async fn unlock() -> Option<Cipher> {
    let present = wait(kek_present()).await.ok()?.as_bool() == Some(true);
    if !present {
        return None;
    }
    data_key().await.map(|key| Cipher::new(&key))
}

/// Opens (or, on a phone with no data of this person, makes) the data key at sign-in,
/// with the password just typed. Returns the cipher and whether the data already on the
/// phone could be opened (if not, the caller wipes it: it is sealed with a key that
/// nobody holds any more).
pub async fn unlock_with(password: &str) -> Result<(Cipher, bool), VaultError> {
    // A key still kept (an administrator changed the password mid-session) opens the
    // data; it is then wrapped anew under the new password.
    let mut key = if wait(kek_present()).await?.as_bool() == Some(true) {
        data_key().await
    } else {
        None
    };
    let salt = match stored(SALT) {
        Some(salt) => salt,
        None => {
            let salt: [u8; 16] = random();
            store(SALT, &salt)?;
            salt.to_vec()
        }
    };
    wait(kek_derive(password, &Uint8Array::from(salt.as_slice()))).await?;
    if key.is_none() {
        key = data_key().await;
    }
    let opened = key.is_some() || stored(WRAPPED).is_none();
    let key = key.unwrap_or_else(random::<64>);
    let wrapped = wait(kek_wrap(&Uint8Array::from(key.as_slice()))).await?;
    store(WRAPPED, &Uint8Array::new(&wrapped).to_vec())?;
    Ok((Cipher::new(&key), opened))
}

/// Drops the key-encryption key: the data stays sealed until the next sign-in.
pub async fn forget() {
    let _ = wait(kek_forget()).await;
}
