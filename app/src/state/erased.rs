//! Households erased at a resident's request, as this phone tells the person of them.
//!
//! At a sync the server answers a document it erased `Gone` (`voordeur_shared::erase`);
//! the replica drops it, unsent changes included, and carries over to the document made
//! anew what did not touch what was erased. The person is told once per door and request,
//! in plain words, whether unsent work of theirs for that household was not kept; the
//! notice stays (sealed in storage, `vd.erased`) until they close it.

use voordeur_shared::{erase::Request, ids::AddressId};

/// One door's household erased (or its name, after consent was withdrawn).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Erased {
    pub address: AddressId,
    /// The door, as the person knows it ("Lindenhof 1A").
    pub door: String,
    pub request: Request,
    /// When the request was carried out.
    pub at_ms: i64,
    /// Unsent work of this phone for the household was not kept.
    pub lost_unsent: bool,
}

impl Erased {
    /// Adds `later`, about the same door and request, to this notice.
    pub fn add(&mut self, later: &Erased) {
        self.lost_unsent |= later.lost_unsent;
        self.at_ms = self.at_ms.max(later.at_ms);
    }

    pub fn same(&self, other: &Erased) -> bool {
        self.address == other.address && self.request == other.request
    }
}
