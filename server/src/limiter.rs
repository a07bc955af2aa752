//! [`SignInLimiter`]: sign-in's rate limit, in memory. After [`MAX_FAILURES_PER_NAME`]
//! wrong passwords for a username, or [`MAX_FAILURES_PER_ADDRESS`] from one address,
//! within [`FAILURE_WINDOW`], further attempts get 429 until the window has passed.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Mutex, PoisonError},
    time::{Duration, Instant},
};

pub const MAX_FAILURES_PER_NAME: u32 = 5;
pub const MAX_FAILURES_PER_ADDRESS: u32 = 30;
pub const FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);

/// Counts failed sign-ins per username and per address.
#[derive(Debug, Default)]
pub struct SignInLimiter {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl SignInLimiter {
    fn keys(username: &str, address: Option<IpAddr>) -> [(String, u32); 2] {
        [
            (format!("name:{username}"), MAX_FAILURES_PER_NAME),
            (
                format!(
                    "addr:{}",
                    address.map(|a| a.to_string()).unwrap_or_default()
                ),
                MAX_FAILURES_PER_ADDRESS,
            ),
        ]
    }

    /// `Err(seconds to wait)` while either limit is reached.
    pub fn check(&self, username: &str, address: Option<IpAddr>) -> Result<(), u64> {
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        failures.retain(|_, (_, since)| now.duration_since(*since) < FAILURE_WINDOW);
        for (key, max) in Self::keys(username, address) {
            if let Some((count, since)) = failures.get(&key)
                && *count >= max
            {
                let left = FAILURE_WINDOW.saturating_sub(now.duration_since(*since));
                return Err(left.as_secs().max(1));
            }
        }
        Ok(())
    }

    pub fn failed(&self, username: &str, address: Option<IpAddr>) {
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        for (key, _) in Self::keys(username, address) {
            failures.entry(key).or_insert((0, Instant::now())).0 += 1;
        }
    }

    pub fn succeeded(&self, username: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        failures.remove(&format!("name:{username}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limiter_stops_guessing_after_five_failures() {
        let limiter = SignInLimiter::default();
        let here = Some(IpAddr::from([127, 0, 0, 1]));
        for _ in 0..MAX_FAILURES_PER_NAME {
            assert!(limiter.check("sanne", here).is_ok());
            limiter.failed("sanne", here);
        }
        assert!(limiter.check("sanne", here).is_err());
        assert!(limiter.check("karim", here).is_ok(), "other names go on");
    }
}
