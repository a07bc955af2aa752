//! The server's database migrations: one set of SQL files per backend, embedded at build
//! time. The two sets describe the same tables; they differ only where SQLite and
//! PostgreSQL spell types differently.

use sqlx::migrate::Migrator;

/// Migrations for the embedded SQLite default.
pub static SQLITE: Migrator = sqlx::migrate!("./sqlite");

/// Migrations for PostgreSQL.
pub static POSTGRES: Migrator = sqlx::migrate!("./postgres");
