//! `/api/session`: sign in, who am I, sign out (the scheme is described in `auth`).

use std::{
    sync::{Arc, OnceLock},
    time::Duration,
};

use axum::{Json, extract::State, http::StatusCode};

use voordeur_shared::api::{SessionView, SignIn};

use crate::{
    AppError,
    auth::{ClientAddress, Principal, new_token},
    people::{self, MAX_PASSWORD_CHARS},
    state::AppState,
    store::now_ms,
};

/// A hash to verify against when the username is unknown, so that a wrong username takes
/// as long as a wrong password and does not tell which accounts exist.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| people::hash_password("no account has this password").unwrap_or_default())
}

pub async fn sign_in(
    State(state): State<Arc<AppState>>,
    ClientAddress(address): ClientAddress,
    body: Result<Json<SignIn>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<SessionView>), AppError> {
    let Json(SignIn { username, password }) = body?;
    let username = username.trim().to_lowercase();
    if username.len() > 64 || password.chars().count() > MAX_PASSWORD_CHARS {
        return Err(AppError::Invalid(
            "username or password is longer than any account's".into(),
        ));
    }
    state
        .limiter
        .check(&username, address)
        .map_err(|retry_after_s| AppError::TooManyAttempts { retry_after_s })?;
    let found = state.store.account_by_username(&username).await?;
    let hash = found
        .as_ref()
        .map_or_else(|| decoy_hash().to_string(), |(_, hash)| hash.clone());
    let matches = tokio::task::spawn_blocking(move || people::verify_password(&hash, &password))
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    let account = match found {
        Some((account, _)) if matches => account,
        _ => {
            state.limiter.failed(&username, address);
            tracing::info!(username = %username, "sign-in failed");
            return Err(AppError::Unauthenticated {
                code: "wrong_credentials",
                message: "wrong username or password",
            });
        }
    };
    state.limiter.succeeded(&username);
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
