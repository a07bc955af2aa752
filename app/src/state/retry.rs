//! When the sync loop (`crate::sync`) tries again, decided without a browser so that it
//! is tested natively.
//!
//! Unreachable is not refused. While the server cannot be reached (no network, or a 5xx:
//! the server is there but unwell) the phone tries again soon, with pauses doubling from
//! 2 s to 30 s, and at once after every change. When the server *refuses* a sync (a 4xx:
//! the request is too large, damaged, or not the person's to make), the same request would
//! be refused again: the work stays stored, the person is told, and the phone asks again
//! only after long pauses (1 minute doubling to 30) or when the person taps "sync now" or
//! the browser comes back online. Changes made meanwhile do not wake it: a person typing
//! notes would otherwise send the refused request at every pause in their typing.
//!
//! One document the server refuses is not a refused sync: the response is a 200, the
//! other documents synced, and that document's changes are set aside (`state::aside`).

use std::time::Duration;

/// Why the sync loop wakes before its pause is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// Something changed on the phone.
    Changed,
    /// The person asked, or the browser came back online.
    Now,
}

/// How one sync attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    Synced,
    /// No answer, a 5xx, or the session ended: try again soon.
    Unreachable,
    /// The server refused the request (a 4xx other than an ended session).
    Refused,
}

/// The pauses between sync attempts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retry {
    next_unreachable: Duration,
    next_refused: Duration,
    refused: bool,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            next_unreachable: Retry::UNREACHABLE_FIRST,
            next_refused: Retry::REFUSED_FIRST,
            refused: false,
        }
    }
}

impl Retry {
    /// How often an idle, synced phone asks the server for others' changes.
    pub const POLL: Duration = Duration::from_secs(20);
    pub const UNREACHABLE_FIRST: Duration = Duration::from_secs(2);
    pub const UNREACHABLE_MAX: Duration = Duration::from_secs(30);
    pub const REFUSED_FIRST: Duration = Duration::from_secs(60);
    pub const REFUSED_MAX: Duration = Duration::from_secs(30 * 60);

    /// The pause after `attempt`.
    pub fn after(&mut self, attempt: Attempt) -> Duration {
        self.refused = attempt == Attempt::Refused;
        match attempt {
            Attempt::Synced => {
                *self = Retry::default();
                Retry::POLL
            }
            Attempt::Unreachable => {
                let pause = self.next_unreachable;
                self.next_unreachable = (pause * 2).min(Retry::UNREACHABLE_MAX);
                pause
            }
            Attempt::Refused => {
                let pause = self.next_refused;
                self.next_refused = (pause * 2).min(Retry::REFUSED_MAX);
                pause
            }
        }
    }

    /// Whether `wake` ends the current pause: after a refusal, only the person's asking
    /// (or the network coming back) does.
    pub fn wakes(&self, wake: Wake) -> bool {
        !self.refused || wake == Wake::Now
    }
}
