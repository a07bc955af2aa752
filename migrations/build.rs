//! `sqlx::migrate!` reads the SQL files at build time but cannot tell Cargo to watch
//! them: without this, a new migration is left out until something else rebuilds the
//! crate.

fn main() {
    println!("cargo:rerun-if-changed=sqlite");
    println!("cargo:rerun-if-changed=postgres");
}
