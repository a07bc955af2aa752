//! Voordeur's shared core: the domain model, the Automerge documents a street's work lives
//! in, and the sync protocol that moves them between devices and the server.
//!
//! This crate does no IO and knows nothing of axum, sqlx or the browser; it compiles for
//! native targets and for `wasm32-unknown-unknown`.

pub mod access;
pub mod activity;
pub mod api;
pub mod demo;
pub mod docs;
pub mod door;
pub mod erase;
pub mod follow_up;
pub mod ids;
pub mod layout;
pub mod model;
pub mod record;
pub mod report;
pub mod sync;
pub mod walk;

pub use automerge;
pub use autosurgeon;
pub use uuid;
