//! The server's tests, over real HTTP against a real database: each test runs on SQLite
//! and on PostgreSQL.

// Test helpers unwrap: a panic is a failing test that names what broke.
#![allow(clippy::unwrap_used)]

mod access;
mod accounts;
mod bad_input;
mod erasure;
mod handed_on;
mod health;
mod helpers;
mod hostile;
mod names;
mod refused;
mod report;
mod responses;
mod sign_in;
mod storage;
mod sync;
mod write_rules;
