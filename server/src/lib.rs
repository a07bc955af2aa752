//! Voordeur's server: an axum application that stores a street's Automerge documents in
//! SQLite (the default) or PostgreSQL, answers the sync protocol of `voordeur-shared`, and
//! serves the built field app.
//!
//! The server never trusts a client's document: every change it receives is checked
//! against the schema before it is stored (`voordeur_shared::sync::server::serve`, called
//! by [`exchange::run`]).

mod admin;
mod app;
pub mod auth;
pub mod cache;
pub mod cli;
pub mod client;
mod config;
mod erasure;
mod error;
mod events;
pub mod exchange;
mod handed_on;
pub mod people;
mod reads;
pub mod report;
mod retention;
mod routes;
mod session;
mod state;
pub mod store;
pub mod telemetry;
pub mod throttle;

pub use app::{Application, CONTENT_SECURITY_POLICY, router};
pub use config::Config;
pub use error::AppError;
