//! The server's configuration: one typed struct, from flags or environment variables.

use std::{net::SocketAddr, path::PathBuf};

/// Largest JSON request body (sign-in, the administrator's forms).
pub const JSON_BODY_LIMIT: usize = 64 * 1024;

#[derive(Debug, Clone, clap::Args)]
pub struct Config {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "VOORDEUR_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Directory for the embedded SQLite database (created if missing).
    #[arg(long, env = "VOORDEUR_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,

    /// Database URL: `postgres://…` for PostgreSQL; by default a SQLite file in the data
    /// directory.
    #[arg(long, env = "VOORDEUR_DATABASE_URL")]
    pub database_url: Option<String>,

    /// Largest sync request body accepted, in bytes (as sent, compressed).
    #[arg(long, env = "VOORDEUR_BODY_LIMIT", default_value_t = 8 * 1024 * 1024)]
    pub body_limit: usize,

    /// Directory with the built field app (index.html, js, wasm).
    #[arg(long, env = "VOORDEUR_APP_DIR", default_value = "app/dist")]
    pub app_dir: PathBuf,

    /// How long a session lasts after signing in, in hours (a field day, with margin).
    #[arg(long, env = "VOORDEUR_SESSION_HOURS", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=24 * 30))]
    pub session_hours: u32,

    /// Create the demo street, organisations and accounts if the database lacks them.
    #[arg(long, env = "VOORDEUR_DEMO")]
    pub demo: bool,

    /// A reverse proxy whose forwarded headers (`Forwarded`, `X-Forwarded-For`,
    /// `X-Forwarded-Proto`) are believed: an address or a CIDR network; repeat the flag,
    /// or separate with commas in the environment. Without it those headers are ignored
    /// and the socket's peer is the client (see `crate::client`).
    #[arg(long = "trusted-proxy", env = "VOORDEUR_TRUSTED_PROXIES", value_delimiter = ',', value_parser = crate::client::parse_trusted_proxy)]
    pub trusted_proxies: Vec<ipnet::IpNet>,

    /// A household's data that no one touched for this many months is erased (see
    /// `crate::retention`), once the administrator has had the list for the notice period.
    #[arg(long, env = "VOORDEUR_RETENTION_MONTHS", default_value_t = 12)]
    pub retention_months: u32,

    /// How many days the administrator has the retention list before its doors are erased.
    #[arg(long, env = "VOORDEUR_RETENTION_NOTICE_DAYS", default_value_t = 14)]
    pub retention_notice_days: u32,

    /// Memory for parsed documents kept between syncs, in MiB (`crate::cache`): the
    /// least recently used go when it is full. A street takes about 1 MiB per 1,000 visits.
    #[arg(long, env = "VOORDEUR_CACHE_MIB", default_value_t = 256)]
    pub cache_mib: usize,

    /// Syncs worked on at once; more wait their turn, first come first served. With the
    /// cache, this bounds the server's memory: each sync in work holds the documents it
    /// reads and writes, a waiting one only its request (`--body-limit` at most). The
    /// default is four per core.
    #[arg(long, env = "VOORDEUR_MAX_SYNCS", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_syncs: Option<u32>,

    /// Log as JSON lines.
    #[arg(long, env = "VOORDEUR_LOG_JSON")]
    pub log_json: bool,
}

impl Config {
    /// The database URL in force: the configured one, or the SQLite file in the data dir.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("voordeur.db").display()
            ),
        }
    }

    /// Largest sync request after decompression.
    pub fn max_inflated(&self) -> usize {
        self.body_limit.saturating_mul(8)
    }
}

/// `url` with any password replaced, for logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_never_reach_the_logs() {
        assert_eq!(
            redact("postgres://voordeur:geheim@db:5432/voordeur"),
            "postgres://voordeur:***@db:5432/voordeur"
        );
        assert_eq!(
            redact("postgres://postgres@127.0.0.1/x"),
            "postgres://postgres@127.0.0.1/x"
        );
        assert_eq!(
            redact("sqlite://data/voordeur.db?mode=rwc"),
            "sqlite://data/voordeur.db?mode=rwc"
        );
    }
}
