//! [`AppState`]: what every handler shares. `app` builds it; the handlers (`auth`,
//! `session`, `admin`, `routes`) read it.

use tokio::sync::Semaphore;
use voordeur_shared::automerge::ActorId;

use crate::{cache::DocCache, config::Config, events::Events, store::Store};

#[derive(Debug)]
pub struct AppState {
    pub config: Config,
    pub store: Store,
    pub cache: DocCache,
    /// Turns for syncs (`--max-syncs`): a sync works only while it holds one.
    pub syncs: Semaphore,
    /// The actor of the few changes the server writes itself (genesis of new documents,
    /// the demo street).
    pub actor: ActorId,
    /// Documents changed by committed syncs, pushed to open connections (`events`).
    pub events: Events,
}
