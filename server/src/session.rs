//! `/api/session`: sign in, who am I, sign out (the scheme is described in `auth`,
//! sign-in's throttle and the device cookie in `throttle`).

use std::{
    sync::{Arc, OnceLock},
    time::Duration,
};

use axum::{
    Json,
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{AppendHeaders, IntoResponse},
};

use voordeur_shared::api::{SessionView, SignIn};

use crate::{
    AppError,
    auth::{Principal, new_token, token_hash},
    client::Client,
    people::{self, MAX_PASSWORD_CHARS},
    state::AppState,
    store::now_ms,
    throttle::{Attempt, DEVICE_TRUST, device_cookie, device_token},
};

/// A hash to verify against when the username is unknown, so that a wrong username takes
/// as long as a wrong password and does not tell which accounts exist.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| people::hash_password("no account has this password").unwrap_or_default())
}

/// `POST /api/session`: checks the password (after `crate::throttle` lets the attempt
/// through), opens a session and trusts the device (the device cookie) for this account.
pub async fn sign_in(
    State(state): State<Arc<AppState>>,
    client: Client,
    headers: HeaderMap,
    body: Result<Json<SignIn>, axum::extract::rejection::JsonRejection>,
) -> Result<impl IntoResponse, AppError> {
    let Json(SignIn { username, password }) = body?;
    let username = username.trim().to_lowercase();
    if username.len() > 64 || password.chars().count() > MAX_PASSWORD_CHARS {
        return Err(AppError::Invalid(
            "username or password is longer than any account's".into(),
        ));
    }
    let now = now_ms();
    let found = state.store.account_by_username(&username).await?;
    // A device cookie counts only for an account it signed in as before.
    let device = match device_token(&headers) {
        Some(token) => {
            let hash = token_hash(&token);
            let accounts = state.store.trusted_device(&hash, now).await?;
            Some((token, hash, accounts))
        }
        None => None,
    };
    let trusted = match (&found, &device) {
        (Some((account, _)), Some((_, hash, accounts))) if accounts.contains(&account.id.0) => {
            Some(hash.as_str())
        }
        _ => None,
    };
    let attempt = match trusted {
        Some(hash) => Attempt::on_trusted_device(&username, hash),
        None => Attempt::from_address(&username, client.address),
    };
    let turn = match attempt.take(&state).await? {
        Ok(turn) => turn,
        Err(retry_after_s) => {
            tracing::info!(username = %username, retry_after_s, "sign-in throttled");
            return Err(AppError::TooManyAttempts { retry_after_s });
        }
    };
    let hash = found
        .as_ref()
        .map_or_else(|| decoy_hash().to_string(), |(_, hash)| hash.clone());
    let matches = tokio::task::spawn_blocking(move || people::verify_password(&hash, &password))
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    let account = match found {
        Some((account, _)) if matches => account,
        _ => {
            turn.failed().await?;
            tracing::info!(username = %username, "sign-in failed");
            return Err(AppError::Unauthenticated {
                code: "wrong_credentials",
                message: "wrong username or password",
            });
        }
    };
    turn.succeeded().await?;
    // Keep the device's token if the server issued it (for this or another account on
    // the same browser); a token the server does not know is never adopted.
    let device_token = match device {
        Some((token, hash, accounts)) if !accounts.is_empty() => (token, hash),
        _ => new_token(),
    };
    let trust_until =
        now.saturating_add(i64::try_from(DEVICE_TRUST.as_millis()).unwrap_or(i64::MAX / 2));
    state
        .store
        .trust_device(&device_token.1, account.id.0, now, trust_until)
        .await?;
    let (token, token_hash) = new_token();
    let lifetime = Duration::from_secs(u64::from(state.config.session_hours) * 3600);
    let expires_ms = now_ms() + i64::try_from(lifetime.as_millis()).unwrap_or(i64::MAX / 2);
    state
        .store
        .create_session(&token_hash, account.id.0, expires_ms)
        .await?;
    tracing::info!(account = %account.id, "signed in");
    Ok((
        StatusCode::CREATED,
        AppendHeaders([(
            header::SET_COOKIE,
            device_cookie(&device_token.0, client.https),
        )]),
        Json(SessionView {
            token: Some(token),
            expires_ms,
            account,
        }),
    ))
}

pub async fn current(principal: Principal) -> Json<SessionView> {
    Json(SessionView {
        token: None,
        expires_ms: principal.expires_ms,
        account: principal.account,
    })
}

pub async fn sign_out(
    State(state): State<Arc<AppState>>,
    principal: Principal,
) -> Result<StatusCode, AppError> {
    state.store.delete_session(&principal.token_hash).await?;
    tracing::info!(account = %principal.account.id, "signed out");
    Ok(StatusCode::NO_CONTENT)
}
