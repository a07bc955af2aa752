//! Sign-in's throttle: guessing gets slow, and no one can lock another person out.
//!
//! Wrong passwords are counted in the database (`sign_in_throttle`, see
//! `crate::store`), so the counts survive a restart and are shared by every server on one
//! PostgreSQL. Each attempt is let through or refused (429 with `Retry-After`) before
//! the password is checked, in one atomic statement per count, and an attempt whose
//! password is still being checked counts as a failure for the next one, so parallel
//! guesses gain nothing. A throttled attempt is neither checked nor counted.
//!
//! - **Per username and client address** ([`PAIR`]): after a few wrong passwords, the
//!   next attempt from that address for that username waits 1 s, then 2 s, 4 s, … at
//!   most 5 minutes. It slows whoever guesses, and only them.
//! - **Per username, from unknown devices** ([`NAME`]): a looser count of all unknown
//!   devices' wrong passwords that slows (at most a minute between attempts) a guesser
//!   who takes a new address for every guess. It never locks out: the wait is short, and
//!   a device that signed in before is not subject to it.
//! - **A device that signed in before** ([`DEVICE`]) gets a device cookie
//!   ([`DEVICE_COOKIE`]: a random token, HttpOnly, SameSite=Strict, Secure over https,
//!   only sent to `/api/session`; the server keeps its SHA-256 with the account). A
//!   sign-in with it is counted only against that device and account: others' wrong
//!   passwords, from any address, never slow it. The cookie is no credential: it lets
//!   no one in without the password, and a new password ends every device's trust.
//!
//! The right password forgets the address's and the device's counts; the per-username
//! count forgets on its own once no attempt came for [`FORGET_AFTER`].

use std::{sync::Arc, time::Duration};

use axum::http::{HeaderMap, header};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use crate::{
    state::AppState,
    store::{Ladder, ThrottleKey},
};

/// Wrong passwords per username and address: 3 free, then 1 s doubling to 5 minutes.
pub const PAIR: Ladder = Ladder {
    free: 3,
    base_ms: 1000,
    cap_ms: 5 * 60 * 1000,
};
/// Wrong passwords per username from all unknown devices: 10 free, then 1 s doubling to
/// a minute (slows a guesser with many addresses; a person on a new device waits at most
/// that long).
pub const NAME: Ladder = Ladder {
    free: 10,
    base_ms: 1000,
    cap_ms: 60 * 1000,
};
/// Wrong passwords on a device that signed in before, for that account: as [`PAIR`].
pub const DEVICE: Ladder = PAIR;
/// Counts with no attempt for this long are forgotten.
pub const FORGET_AFTER: Duration = Duration::from_secs(24 * 3600);
/// How long a device stays trusted after its last successful sign-in.
pub const DEVICE_TRUST: Duration = Duration::from_secs(365 * 24 * 3600);
/// The device cookie's name.
pub const DEVICE_COOKIE: &str = "voordeur_device";

/// The counts an attempt is judged by, in a fixed order (see `Store::take_sign_in_turn`).
#[derive(Debug, Clone)]
pub struct Attempt {
    keys: Vec<(ThrottleKey, Ladder)>,
}

impl Attempt {
    /// An attempt from a device trusted for this account: only its own count.
    pub fn on_trusted_device(username: &str, device_hash: &str) -> Attempt {
        Attempt {
            keys: vec![(key("device", username, device_hash), DEVICE)],
        }
    }

    /// An attempt from anywhere else: the address's count and the username's.
    pub fn from_address(username: &str, address: Option<std::net::IpAddr>) -> Attempt {
        let address = address.map_or_else(|| "unknown".to_string(), |a| a.to_string());
        Attempt {
            keys: vec![
                (key("pair", username, &address), PAIR),
                (key("name", username, ""), NAME),
            ],
        }
    }

    /// Lets the attempt through (a [`Turn`] to settle once the password is checked), or
    /// `Err(seconds to wait)`.
    pub async fn take(self, state: &Arc<AppState>) -> Result<Result<Turn, u64>, sqlx::Error> {
        let now = crate::store::now_ms();
        let forget = i64::try_from(FORGET_AFTER.as_millis()).unwrap_or(i64::MAX);
        let wait_ms = state
            .store
            .take_sign_in_turn(&self.keys, now, now.saturating_sub(forget))
            .await?;
        Ok(match wait_ms {
            None => Ok(Turn {
                state: state.clone(),
                attempt: Some(self),
            }),
            Some(ms) => Err(u64::try_from(ms).unwrap_or(1).div_ceil(1000).max(1)),
        })
    }
}

/// An attempt let through, pending until settled: [`Turn::failed`] or
/// [`Turn::succeeded`]. If the request is dropped first (the client went away, or the
/// check failed), the attempt stops pending without counting as a failure: no one
/// learned anything from it, and a phone on a bad connection is not slowed for it.
#[derive(Debug)]
pub struct Turn {
    state: Arc<AppState>,
    attempt: Option<Attempt>,
}

impl Turn {
    /// Counts a wrong password.
    pub async fn failed(mut self) -> Result<(), sqlx::Error> {
        let Some(attempt) = self.attempt.take() else {
            return Ok(());
        };
        for (key, _) in &attempt.keys {
            self.state.store.settle_sign_in(key, true).await?;
        }
        Ok(())
    }

    /// The right password: the address's and the device's counts are forgotten; the
    /// username's is kept (a guesser elsewhere goes on being slowed).
    pub async fn succeeded(mut self) -> Result<(), sqlx::Error> {
        let Some(attempt) = self.attempt.take() else {
            return Ok(());
        };
        for (key, _) in &attempt.keys {
            if key.scope == "name" {
                self.state.store.settle_sign_in(key, false).await?;
            } else {
                self.state.store.forget_sign_in(key).await?;
            }
        }
        Ok(())
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        let Some(attempt) = self.attempt.take() else {
            return;
        };
        let state = self.state.clone();
        // Dropped with the request's future: finish on a task of its own.
        tokio::spawn(async move {
            for (key, _) in &attempt.keys {
                if let Err(e) = state.store.settle_sign_in(key, false).await {
                    tracing::warn!(error = %e, "a dropped sign-in attempt stays pending");
                }
            }
        });
    }
}

fn key(scope: &'static str, username: &str, subject: &str) -> ThrottleKey {
    ThrottleKey {
        scope,
        username: username.to_string(),
        subject: subject.to_string(),
    }
}

/// The device token in the request's cookies, if one is there and well-formed (43
/// base64url characters, as `auth::new_token` makes them).
pub fn device_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .into_iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(name, _)| *name == DEVICE_COOKIE)
        .map(|(_, value)| value.trim().trim_matches('"'))
        .find(|value| {
            value.len() == 43
                && URL_SAFE_NO_PAD
                    .decode(value)
                    .is_ok_and(|bytes| bytes.len() == 32)
        })
        .map(str::to_string)
}

/// The `Set-Cookie` value that keeps `token` on the device.
pub fn device_cookie(token: &str, https: bool) -> String {
    format!(
        "{DEVICE_COOKIE}={token}; Path=/api/session; Max-Age={}; HttpOnly; SameSite=Strict{}",
        DEVICE_TRUST.as_secs(),
        if https { "; Secure" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_device_cookie_is_read_only_when_well_formed() {
        let (token, _) = crate::auth::new_token();
        let mut headers = HeaderMap::new();
        headers.append(
            header::COOKIE,
            format!("other=1; {DEVICE_COOKIE}={token}")
                .parse()
                .expect("value"),
        );
        assert_eq!(device_token(&headers), Some(token.clone()));
        let mut forged = HeaderMap::new();
        forged.append(
            header::COOKIE,
            format!("{DEVICE_COOKIE}=short").parse().expect("value"),
        );
        assert_eq!(device_token(&forged), None);
        assert_eq!(device_token(&HeaderMap::new()), None);
    }

    #[test]
    fn the_device_cookie_is_http_only_strict_and_secure_over_https() {
        let cookie = device_cookie("t", true);
        for part in [
            "voordeur_device=t",
            "HttpOnly",
            "SameSite=Strict",
            "Secure",
            "Path=/api/session",
        ] {
            assert!(cookie.contains(part), "{cookie}");
        }
        assert!(!device_cookie("t", false).contains("Secure"));
    }
}
