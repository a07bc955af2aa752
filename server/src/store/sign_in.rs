//! Sign-in's throttle and trusted devices: rows only. The policy (what is counted, how
//! long to wait) is `crate::throttle`; this module makes each step one atomic statement,
//! so that several servers on one PostgreSQL, or parallel requests, count exactly.

use sqlx::Row;
use uuid::Uuid;

use super::Store;

/// How long the next attempt waits after `n` attempts counted against a key: nothing for
/// the first `free`, then `base_ms` doubling per attempt, at most `cap_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ladder {
    pub free: i64,
    pub base_ms: i64,
    pub cap_ms: i64,
}

impl Ladder {
    pub fn delay_ms(&self, n: i64) -> i64 {
        if n < self.free {
            return 0;
        }
        let steps = u32::try_from(n - self.free).unwrap_or(u32::MAX).min(40);
        self.base_ms.saturating_mul(1 << steps).min(self.cap_ms)
    }

    /// [`Ladder::delay_ms`] of the SQL expression `n`, as a `CASE` both backends read
    /// (neither shares a power function with the other). Only integer constants go in.
    fn sql(&self, n: &str) -> String {
        let mut arms = Vec::new();
        let mut at = self.free;
        loop {
            let delay = self.delay_ms(at);
            if delay >= self.cap_ms {
                arms.insert(0, format!("WHEN {n} >= {at} THEN {}", self.cap_ms));
                break;
            }
            arms.insert(0, format!("WHEN {n} >= {at} THEN {delay}"));
            at += 1;
        }
        format!("(CASE {} ELSE 0 END)", arms.join(" "))
    }
}

/// What wrong passwords are counted against (see the table `sign_in_throttle`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottleKey {
    /// `pair`, `name` or `device`.
    pub scope: &'static str,
    pub username: String,
    /// The client's address (`pair`), the device token's hash (`device`), or empty.
    pub subject: String,
}

impl Store {
    /// Lets one attempt through on every key, or on none: `Ok(None)` if each key's wait
    /// since its last attempt has passed (each then counts the attempt as pending),
    /// `Ok(Some(ms))`, the longest wait left, otherwise (nothing changes). Rows whose last
    /// attempt is older than `forget_before` are forgotten first.
    pub async fn take_sign_in_turn(
        &self,
        keys: &[(ThrottleKey, Ladder)],
        now: i64,
        forget_before: i64,
    ) -> Result<Option<i64>, sqlx::Error> {
        let _writer = self.writer().await;
        // The sweep is a statement of its own, outside the transaction: two sweeps in
        // transactions that go on to lock rows could wait on each other. A sweep that
        // fails changes nothing that matters; the next one does it.
        if let Err(e) = sqlx::query("DELETE FROM sign_in_throttle WHERE last_ms < $1")
            .bind(forget_before)
            .execute(&self.pool)
            .await
        {
            tracing::warn!(error = %e, "old sign-in counts not swept");
        }
        let mut tx = self.pool.begin().await?;
        let mut wait = 0;
        // Keys in the caller's fixed order (pair before name), so that two transactions on
        // PostgreSQL never wait on each other's rows in a cycle.
        for (key, ladder) in keys {
            let delay = ladder.sql("(sign_in_throttle.failures + sign_in_throttle.pending)");
            // One statement: a new row lets the attempt through; an existing one only if
            // its wait has passed. A row not updated returns nothing.
            let sql = format!(
                "INSERT INTO sign_in_throttle (scope, username, subject, failures, pending, last_ms) \
                 VALUES ($1, $2, $3, 0, 1, $4) \
                 ON CONFLICT (scope, username, subject) DO UPDATE \
                 SET pending = sign_in_throttle.pending + 1, last_ms = $4 \
                 WHERE sign_in_throttle.last_ms + {delay} <= $4 \
                 RETURNING failures"
            );
            let taken = sqlx::query(&sql)
                .bind(key.scope)
                .bind(key.username.as_str())
                .bind(key.subject.as_str())
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?;
            if taken.is_some() {
                continue;
            }
            let row = sqlx::query(
                "SELECT failures, pending, last_ms FROM sign_in_throttle \
                 WHERE scope = $1 AND username = $2 AND subject = $3",
            )
            .bind(key.scope)
            .bind(key.username.as_str())
            .bind(key.subject.as_str())
            .fetch_one(&mut *tx)
            .await?;
            let n = row.try_get::<i64, _>("failures")? + row.try_get::<i64, _>("pending")?;
            let last: i64 = row.try_get("last_ms")?;
            wait = wait.max((last + ladder.delay_ms(n) - now).max(1));
        }
        if wait > 0 {
            tx.rollback().await?;
            return Ok(Some(wait));
        }
        tx.commit().await?;
        Ok(None)
    }

    /// Settles an attempt let through on `key`: a wrong password counts as a failure;
    /// a right one only ends the pending attempt.
    pub async fn settle_sign_in(&self, key: &ThrottleKey, failed: bool) -> Result<(), sqlx::Error> {
        let _writer = self.writer().await;
        sqlx::query(
            "UPDATE sign_in_throttle SET failures = failures + $1, \
             pending = CASE WHEN pending > 0 THEN pending - 1 ELSE 0 END \
             WHERE scope = $2 AND username = $3 AND subject = $4",
        )
        .bind(i64::from(failed))
        .bind(key.scope)
        .bind(key.username.as_str())
        .bind(key.subject.as_str())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Forgets what was counted against `key` (after the right password).
    pub async fn forget_sign_in(&self, key: &ThrottleKey) -> Result<(), sqlx::Error> {
        let _writer = self.writer().await;
        sqlx::query(
            "DELETE FROM sign_in_throttle WHERE scope = $1 AND username = $2 AND subject = $3",
        )
        .bind(key.scope)
        .bind(key.username.as_str())
        .bind(key.subject.as_str())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The accounts a device token (by its hash) is trusted for, while unexpired.
    pub async fn trusted_device(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Vec<Uuid>, sqlx::Error> {
        sqlx::query(
            "SELECT account_id FROM trusted_devices WHERE token_hash = $1 AND expires_ms > $2",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| super::people::uuid_of(row, "account_id"))
        .collect()
    }

    /// Trusts the device `token_hash` for `account` until `expires_ms` (again: renews).
    pub async fn trust_device(
        &self,
        token_hash: &str,
        account: Uuid,
        now: i64,
        expires_ms: i64,
    ) -> Result<(), sqlx::Error> {
        let _writer = self.writer().await;
        // Sweep expired devices while here (they exempt no one anyway), in a statement of
        // its own, as in `take_sign_in_turn`.
        if let Err(e) = sqlx::query("DELETE FROM trusted_devices WHERE expires_ms <= $1")
            .bind(now)
            .execute(&self.pool)
            .await
        {
            tracing::warn!(error = %e, "expired devices not swept");
        }
        sqlx::query(
            "INSERT INTO trusted_devices (token_hash, account_id, created_ms, expires_ms) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (token_hash, account_id) DO UPDATE SET expires_ms = $4",
        )
        .bind(token_hash)
        .bind(account.to_string())
        .bind(now)
        .bind(expires_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::Ladder;

    #[test]
    fn the_ladder_doubles_after_the_free_attempts_up_to_its_cap() {
        let ladder = Ladder {
            free: 3,
            base_ms: 1000,
            cap_ms: 300_000,
        };
        let delays: Vec<i64> = (0..14).map(|n| ladder.delay_ms(n)).collect();
        assert_eq!(
            delays,
            [
                0, 0, 0, 1000, 2000, 4000, 8000, 16_000, 32_000, 64_000, 128_000, 256_000, 300_000,
                300_000
            ]
        );
        assert_eq!(ladder.delay_ms(i64::MAX), 300_000);
        let sql = ladder.sql("n");
        assert!(sql.starts_with("(CASE WHEN n >= 12 THEN 300000 WHEN n >= 11 THEN 256000"));
        assert!(sql.ends_with("WHEN n >= 3 THEN 1000 ELSE 0 END)"), "{sql}");
    }
}
