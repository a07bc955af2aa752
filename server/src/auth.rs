//! Who is asking: sign-in, sessions and the [`Principal`] every API request carries.
//!
//! # The session scheme
//!
//! Signing in (`POST /api/session` with a username and password) returns a bearer token:
//! 32 random bytes, base64url. The app keeps it with its local data and sends it as
//! `Authorization: Bearer <token>` on every API request. The server stores only the
//! token's SHA-256, with the account and an absolute expiry (`--session-hours`, 16 by
//! default: a field day with margin); signing out (`DELETE /api/session`) or a new
//! password ends it. The session is never a cookie, so a page on another site cannot make
//! a browser send the token: requests are CSRF-safe by construction. (The one cookie, the
//! device cookie of `crate::throttle`, goes only to `/api/session` and lets no one in: it
//! only keeps others' wrong passwords from slowing a device that signed in before.)
//!
//! Sign-in is throttled in the database (see `crate::throttle`): wrong passwords make
//! the next attempt from the same address wait longer and longer, without locking anyone
//! else out. Passwords and tokens never reach the logs: nothing here logs them, and the
//! request log records methods and paths only.

use std::sync::Arc;

use axum::{
    extract::FromRequestParts,
    http::{header, request::Parts},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::{AppError, state::AppState, store::Account};

/// A new session token and the hash the server stores of it.
pub fn new_token() -> (String, String) {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = token_hash(&token);
    (token, hash)
}

pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The signed-in person making a request.
#[derive(Debug, Clone)]
pub struct Principal {
    pub account: Account,
    pub token_hash: String,
    pub expires_ms: i64,
}

impl FromRequestParts<Arc<AppState>> for Principal {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(AppError::Unauthenticated {
                code: "unauthenticated",
                message: "sign in first",
            })?;
        let hash = token_hash(token.trim());
        let (account, expires_ms) =
            state
                .store
                .session(&hash)
                .await?
                .ok_or(AppError::Unauthenticated {
                    code: "unauthenticated",
                    message: "this session is unknown or has ended; sign in again",
                })?;
        if expires_ms <= crate::store::now_ms() {
            return Err(AppError::Unauthenticated {
                code: "session_expired",
                message: "this session has expired; sign in again",
            });
        }
        Ok(Principal {
            account,
            token_hash: hash,
            expires_ms,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_stored_only_as_a_hash() {
        let (a, hash_a) = new_token();
        let (b, _) = new_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(hash_a, token_hash(&a));
        assert!(!hash_a.contains(&a));
    }
}
