//! The JSON of the field API (`/api/session`, `/api/streets` and every error body),
//! defined once: the server writes these types and the app reads them, both through serde.

use std::collections::BTreeSet;

use uuid::Uuid;

use crate::{
    access::{Grant, Role},
    ids::{AccountId, StreetId},
    model::Partner,
};

/// One partner organisation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Organisation {
    pub id: Uuid,
    pub name: String,
    pub partner: Partner,
}

/// One person's account, as the API shows it (never with its password hash).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Account {
    pub id: AccountId,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub organisation: Option<Organisation>,
    /// The streets the person works in.
    pub streets: BTreeSet<StreetId>,
}

impl Account {
    /// What the person may see and change.
    pub fn grant(&self) -> Grant {
        Grant {
            role: self.role,
            partner: self.organisation.as_ref().map(|o| o.partner),
            streets: self.streets.iter().map(|s| s.0).collect(),
        }
    }
}

/// `POST /api/session`'s body.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SignIn {
    pub username: String,
    pub password: String,
}

/// A session: `POST /api/session` (201, with the token: it is sent only then) and
/// `GET /api/session` (without).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SessionView {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    pub expires_ms: i64,
    pub account: Account,
}

/// One of `GET /api/streets`: a street the person works in.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StreetSummary {
    pub id: StreetId,
    pub name: String,
    pub addresses: usize,
    pub visits: usize,
}

/// Every error's body: a stable code to branch on and a message for people.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ErrorBody {
    pub error: String,
    pub message: String,
}

/// One line of the audit log (`GET /api/admin/audit`): who read or changed which document.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuditEntry {
    pub at_ms: i64,
    pub account: Uuid,
    /// The account's username (`None` if the account is gone).
    pub username: Option<String>,
    /// `read` (the server sent the document's content), `change`, or `picture` / `report`
    /// (the person read the coordinators' picture or the steering group's report of the
    /// street: one line per street).
    pub action: String,
    pub document: String,
    pub street: Uuid,
    pub kind: String,
    pub address: Option<Uuid>,
    pub partner: Option<String>,
    /// For a change: who wrote it, which need not be who sent it (`None` for a read).
    #[serde(default)]
    pub author: Option<ChangeAuthor>,
}

/// The author of a change in the audit log.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChangeAuthor {
    /// The Automerge actor that wrote the change (hex).
    pub actor: String,
    /// The account that first brought that actor to the server.
    pub account: Uuid,
    pub username: Option<String>,
}

/// `POST /api/handed-on`'s body: confidential documents of other partners the person
/// handed signals to (they may add signals there, never read them).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HandedOnQuery {
    pub documents: Vec<crate::docs::DocumentId>,
}

/// `POST /api/handed-on`'s answer: where each signal the person handed on stands. Never
/// what a signal says, nor anything of signals others wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HandedOn {
    pub signals: Vec<HandedOnSignal>,
}

/// One signal the person handed on, as its partner follows it up.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HandedOnSignal {
    pub document: crate::docs::DocumentId,
    /// The signal's id in that document.
    pub signal: String,
    pub status: crate::model::FollowUpStatus,
    /// When its status last moved.
    pub moved_ms: Option<i64>,
}

/// A resident's request for a door, as a coordinator records it (`POST /api/requests`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ResidentRequest {
    pub street: Uuid,
    pub address: Uuid,
    pub request: crate::erase::Request,
}

/// A door on the retention list (`GET /api/admin/retention`): its household untouched for
/// the retention period, erased a notice period after an administrator first saw it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Retained {
    pub street: Uuid,
    pub street_name: String,
    pub address: Uuid,
    /// The door, as on the walk list ("Lindenhof 12").
    pub door: String,
    pub touched_ms: i64,
    pub listed_ms: i64,
    pub seen_ms: Option<i64>,
    pub erase_after_ms: Option<i64>,
}
