//! `/api/admin/…`: what an administrator sets up — organisations, accounts, streets, who
//! works where — and the audit log. The same operations as `voordeur-server admin …`
//! (both go through `crate::people`); every endpoint needs an administrator's session.

use std::sync::Arc;

use axum::{
    Json,
    extract::{
        Path, Query, State,
        rejection::{JsonRejection, PathRejection, QueryRejection},
    },
    http::StatusCode,
};
use uuid::Uuid;
use voordeur_shared::{access::Role, layout::StreetPlan, model::Partner};

use crate::{
    AppError,
    auth::Principal,
    people::{self, AccountForm},
    state::AppState,
    store::{Account, AuditEntry, Organisation},
};

/// A signed-in administrator.
#[derive(Debug)]
pub struct Admin(pub Principal);

impl axum::extract::FromRequestParts<Arc<AppState>> for Admin {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let principal = Principal::from_request_parts(parts, state).await?;
        if principal.account.role != Role::Administrator {
            return Err(AppError::Forbidden(
                "only administrators set things up".into(),
            ));
        }
        Ok(Admin(principal))
    }
}

type Body<T> = Result<Json<T>, JsonRejection>;

#[derive(Debug, serde::Deserialize)]
pub struct OrganisationForm {
    pub name: String,
    pub partner: Partner,
}

pub async fn organisations(
    State(state): State<Arc<AppState>>,
    _: Admin,
) -> Result<Json<Vec<Organisation>>, AppError> {
    Ok(Json(state.store.organisations().await?))
}

pub async fn add_organisation(
    State(state): State<Arc<AppState>>,
    Admin(admin): Admin,
    body: Body<OrganisationForm>,
) -> Result<(StatusCode, Json<Organisation>), AppError> {
    let Json(form) = body?;
    let organisation = people::create_organisation(&state.store, &form.name, form.partner).await?;
    tracing::info!(by = %admin.account.id, organisation = %organisation.id, "organisation created");
    Ok((StatusCode::CREATED, Json(organisation)))
}

pub async fn accounts(
    State(state): State<Arc<AppState>>,
    _: Admin,
) -> Result<Json<Vec<Account>>, AppError> {
    Ok(Json(state.store.accounts().await?))
}

pub async fn add_account(
    State(state): State<Arc<AppState>>,
    Admin(admin): Admin,
    body: Body<AccountForm>,
) -> Result<(StatusCode, Json<Account>), AppError> {
    let Json(form) = body?;
    let account = people::create_account(&state.store, form).await?;
    tracing::info!(by = %admin.account.id, account = %account.id, "account created");
    Ok((StatusCode::CREATED, Json(account)))
}

#[derive(Debug, serde::Deserialize)]
pub struct PasswordForm {
    pub password: String,
}

pub async fn set_password(
    State(state): State<Arc<AppState>>,
    Admin(admin): Admin,
    path: Result<Path<String>, PathRejection>,
    body: Body<PasswordForm>,
) -> Result<StatusCode, AppError> {
    let Path(username) = path?;
    let Json(form) = body?;
    people::set_password(&state.store, &username, form.password).await?;
    tracing::info!(by = %admin.account.id, username = %username, "password set");
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, serde::Deserialize)]
pub struct StreetForm {
    pub street: Uuid,
}

pub async fn assign(
    State(state): State<Arc<AppState>>,
    Admin(admin): Admin,
    path: Result<Path<String>, PathRejection>,
    body: Body<StreetForm>,
) -> Result<Json<Account>, AppError> {
    let Path(username) = path?;
    let Json(form) = body?;
    let account = people::assign(&state.store, &username, form.street).await?;
    tracing::info!(by = %admin.account.id, account = %account.id, street = %form.street, "assigned");
    Ok(Json(account))
}

pub async fn unassign(
    State(state): State<Arc<AppState>>,
    Admin(admin): Admin,
    path: Result<Path<(String, Uuid)>, PathRejection>,
) -> Result<Json<Account>, AppError> {
    let Path((username, street)) = path?;
    let account = people::unassign(&state.store, &username, street).await?;
    tracing::info!(by = %admin.account.id, account = %account.id, street = %street, "unassigned");
    Ok(Json(account))
}

#[derive(Debug, serde::Serialize)]
pub struct CreatedStreet {
    pub id: Uuid,
}

pub async fn add_street(
    State(state): State<Arc<AppState>>,
    Admin(admin): Admin,
    body: Body<StreetPlan>,
) -> Result<(StatusCode, Json<CreatedStreet>), AppError> {
    let Json(plan) = body?;
    let id = people::create_street(&state.store, &plan).await?;
    tracing::info!(by = %admin.account.id, street = %id, "street created");
    Ok((StatusCode::CREATED, Json(CreatedStreet { id })))
}

#[derive(Debug, serde::Deserialize)]
pub struct AuditQuery {
    pub limit: Option<i64>,
}

pub async fn audit(
    State(state): State<Arc<AppState>>,
    _: Admin,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Json<Vec<AuditEntry>>, AppError> {
    let Query(query) = query?;
    let limit = query.limit.unwrap_or(200).clamp(1, 10_000);
    Ok(Json(state.store.audit_log(limit).await?))
}
