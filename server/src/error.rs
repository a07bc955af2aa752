//! The one error type of the HTTP layer. Every error leaves as JSON,
//! `{"error": "<code>", "message": "<what went wrong>"}`, with a 4xx status for bad input
//! and a generic 500 (the detail only in the log) for faults of the server.

use axum::{
    Json,
    extract::rejection::{BytesRejection, JsonRejection, PathRejection, QueryRejection},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use voordeur_shared::sync::{SyncError, wire::WireError};

use crate::{exchange::ExchangeError, store::StoreError};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Sync(#[from] SyncError),
    #[error(transparent)]
    Wire(#[from] WireError),
    #[error("request body is larger than the limit of {limit} bytes")]
    TooLarge { limit: usize },
    #[error("request could not be read: {0}")]
    BadBody(String),
    #[error("content type must be {expected}")]
    UnsupportedMediaType { expected: &'static str },
    #[error("no such resource")]
    NotFound,
    #[error("this method is not allowed here")]
    MethodNotAllowed,
    #[error("another request changed the same documents at the same moment; retry")]
    Contended,
    #[error("{message}")]
    Unauthenticated {
        code: &'static str,
        message: &'static str,
    },
    #[error("not allowed: {0}")]
    Forbidden(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    #[error("too many failed sign-ins; try again in {retry_after_s} seconds")]
    TooManyAttempts { retry_after_s: u64 },
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e
            && db.is_unique_violation()
        {
            return AppError::Contended;
        }
        AppError::Internal(anyhow::Error::new(e).context("database error"))
    }
}

impl From<BytesRejection> for AppError {
    fn from(rejection: BytesRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            // The limit itself is filled in by the handler, which knows the configuration.
            AppError::TooLarge { limit: 0 }
        } else {
            AppError::BadBody(rejection.body_text())
        }
    }
}

impl From<ExchangeError> for AppError {
    fn from(e: ExchangeError) -> Self {
        match e {
            ExchangeError::Refused(e) => AppError::Sync(e),
            ExchangeError::Store(e) => e.into(),
            ExchangeError::Worker(e) => AppError::Internal(e.into()),
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Contended => AppError::Contended,
            StoreError::Other(e) => AppError::Internal(e),
        }
    }
}

impl From<PathRejection> for AppError {
    fn from(rejection: PathRejection) -> Self {
        AppError::BadBody(rejection.body_text())
    }
}

impl From<QueryRejection> for AppError {
    fn from(rejection: QueryRejection) -> Self {
        AppError::BadBody(rejection.body_text())
    }
}

impl From<JsonRejection> for AppError {
    fn from(rejection: JsonRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::TooLarge {
                limit: crate::config::JSON_BODY_LIMIT,
            }
        } else {
            AppError::BadBody(rejection.body_text())
        }
    }
}

impl AppError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            AppError::Sync(e) => {
                let status = match e {
                    SyncError::Malformed(_)
                    | SyncError::DuplicateDocument(_)
                    | SyncError::BadChanges { .. }
                    | SyncError::Damaged(_) => StatusCode::BAD_REQUEST,
                    SyncError::UnknownStreet(_) | SyncError::UnknownDocument(_) => {
                        StatusCode::NOT_FOUND
                    }
                    SyncError::KindMismatch { .. } | SyncError::SchemaViolation { .. } => {
                        StatusCode::UNPROCESSABLE_ENTITY
                    }
                    SyncError::Forbidden(_) => StatusCode::FORBIDDEN,
                };
                (status, e.code())
            }
            AppError::Wire(WireError::TooLarge { .. }) | AppError::TooLarge { .. } => {
                (StatusCode::PAYLOAD_TOO_LARGE, "too_large")
            }
            AppError::Wire(WireError::BadChanges { .. }) => {
                (StatusCode::BAD_REQUEST, "bad_changes")
            }
            AppError::Wire(_) => (StatusCode::BAD_REQUEST, "malformed"),
            AppError::BadBody(_) => (StatusCode::BAD_REQUEST, "bad_body"),
            AppError::UnsupportedMediaType { .. } => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            AppError::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            AppError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            AppError::Contended => (StatusCode::SERVICE_UNAVAILABLE, "contended"),
            AppError::Unauthenticated { code, .. } => (StatusCode::UNAUTHORIZED, code),
            AppError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            AppError::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            AppError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            AppError::TooManyAttempts { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts")
            }
            AppError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if let AppError::Internal(e) = &self {
            tracing::error!(error = format!("{e:#}"), "request failed");
        } else {
            tracing::info!(%status, code, message = %self, "request refused");
        }
        let body = voordeur_shared::api::ErrorBody {
            error: code.to_string(),
            message: self.to_string(),
        };
        let mut response = (status, Json(body)).into_response();
        if let AppError::TooManyAttempts { retry_after_s } = self {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                header::HeaderValue::from(retry_after_s),
            );
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}
