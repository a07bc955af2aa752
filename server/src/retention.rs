//! Retention (ASVS 14.2.7): a household's data that no one has touched for a configured
//! period (`--retention-months`, 12 by default) is erased, as a resident's erasure is
//! (`Store::carry_out`), once the administrator has had the list in front of them for a
//! notice period (`--retention-notice-days`, 14 by default).
//!
//! A household was touched when the latest of these happened: a visit at its door (the
//! street document), a change to one of its documents (the audit log's `change` lines),
//! its documents' creation. [`sweep`] keeps the list (`retention`: the door, when it was
//! last touched, since when it is listed, when an administrator first saw it): a door
//! touched again leaves it; a door the administrator saw longer ago than the notice period
//! is erased, the register naming no account as who asked (the nil id: the retention
//! period). It runs every hour and before the list is shown.
//!
//! `GET /api/admin/retention` (administrators): the list, swept first; showing it is
//! what starts each listed door's notice period.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use axum::{Json, extract::State};
use sqlx::Row;
use uuid::Uuid;
use voordeur_shared::{access::Role, api::Retained, docs, erase::Request, model::Street};

use crate::{
    AppError,
    auth::Principal,
    state::AppState,
    store::{Store, now_ms},
};

const DAY_MS: i64 = 86_400_000;
/// A month, as the retention period counts it: a twelfth of a year of 365.25 days.
const MONTH_MS: i64 = 2_629_800_000;
/// How often the sweep runs by itself.
pub const SWEEP_EVERY: Duration = Duration::from_secs(3600);

/// What one sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Swept {
    pub listed: usize,
    pub erased: usize,
}

/// Lists the households untouched for the retention period and erases those whose notice
/// period has passed.
pub async fn sweep(state: &AppState) -> Result<Swept, AppError> {
    // One sweep at a time: two would erase a door twice.
    static SWEEPING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _one = SWEEPING.lock().await;
    let now = now_ms();
    let config = &state.config;
    let untouched_since = now - i64::from(config.retention_months) * MONTH_MS;
    let notice = i64::from(config.retention_notice_days) * DAY_MS;
    let store = &state.store;
    let mut due = BTreeMap::new();
    for (street, doc) in store.streets(None).await? {
        let read: Street = docs::read(&doc).map_err(|e| AppError::Internal(e.into()))?;
        for (address, touched) in touched(store, street, &read).await? {
            if touched < untouched_since {
                due.insert((street, address), touched);
            }
        }
    }
    let mut swept = Swept::default();
    let listed = list(store).await?;
    for row in &listed {
        if !due.contains_key(&(row.street, row.address)) {
            unlist(store, row.street, row.address).await?;
        }
    }
    for ((street, address), touched) in &due {
        let known = listed
            .iter()
            .find(|r| r.street == *street && r.address == *address);
        match known {
            None => {
                sqlx::query(
                    "INSERT INTO retention (street_id, address_id, touched_ms, listed_ms) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                )
                .bind(street.to_string())
                .bind(address.to_string())
                .bind(*touched)
                .bind(now)
                .execute(store.pool())
                .await?;
                swept.listed += 1;
            }
            Some(row) if row.seen_ms.is_some_and(|seen| seen + notice <= now) => {
                let carried = store
                    .carry_out(
                        Request::Erasure,
                        *street,
                        *address,
                        Uuid::nil(),
                        &state.actor,
                    )
                    .await?;
                state.cache.erase(&carried.dropped);
                state.events.erased(&carried.dropped).await;
                state.events.changed(carried.written).await;
                unlist(store, *street, *address).await?;
                tracing::info!(%street, %address, "household erased: its retention period passed");
                swept.erased += 1;
            }
            Some(_) => {}
        }
    }
    Ok(swept)
}

/// When each door of `street` with household documents was last touched.
async fn touched(
    store: &Store,
    street: Uuid,
    read: &Street,
) -> Result<BTreeMap<Uuid, i64>, AppError> {
    let mut touched: BTreeMap<Uuid, i64> = BTreeMap::new();
    let rows = sqlx::query(
        "SELECT address_id, epoch, MAX(created_ms) AS created FROM documents \
         WHERE street_id = $1 AND kind <> 'street' GROUP BY address_id, epoch",
    )
    .bind(street.to_string())
    .fetch_all(store.pool())
    .await?;
    for row in &rows {
        let address: Uuid = row
            .try_get::<String, _>("address_id")?
            .parse()
            .map_err(|e: uuid::Error| AppError::Internal(e.into()))?;
        let epoch: i64 = row.try_get("epoch")?;
        // Documents of an earlier epoch are not the household's any more.
        let current = read
            .addresses
            .get(&address.to_string())
            .is_some_and(|a| i64::from(a.household_epoch) == epoch);
        if current {
            touched.insert(address, row.try_get("created")?);
        }
    }
    let changes = sqlx::query(
        "SELECT address_id, MAX(at_ms) AS at FROM audit_log \
         WHERE action = 'change' AND street_id = $1 AND address_id IS NOT NULL GROUP BY address_id",
    )
    .bind(street.to_string())
    .fetch_all(store.pool())
    .await?;
    for row in &changes {
        let Ok(address) = row.try_get::<String, _>("address_id")?.parse::<Uuid>() else {
            continue;
        };
        if let Some(t) = touched.get_mut(&address) {
            *t = (*t).max(row.try_get("at")?);
        }
    }
    for visit in read.visits.values() {
        if let Ok(address) = visit.address.parse::<Uuid>()
            && let Some(t) = touched.get_mut(&address)
        {
            *t = (*t).max(visit.at_ms);
        }
    }
    Ok(touched)
}

async fn list(store: &Store) -> Result<Vec<Retained>, AppError> {
    let rows = sqlx::query(
        "SELECT street_id, address_id, touched_ms, listed_ms, seen_ms FROM retention \
         ORDER BY touched_ms, street_id, address_id",
    )
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|row| {
            let uuid = |column: &str| -> Result<Uuid, AppError> {
                row.try_get::<String, _>(column)?
                    .parse()
                    .map_err(|e: uuid::Error| AppError::Internal(e.into()))
            };
            Ok(Retained {
                street: uuid("street_id")?,
                street_name: String::new(),
                address: uuid("address_id")?,
                door: String::new(),
                touched_ms: row.try_get("touched_ms")?,
                listed_ms: row.try_get("listed_ms")?,
                seen_ms: row.try_get("seen_ms")?,
                erase_after_ms: None,
            })
        })
        .collect()
}

async fn unlist(store: &Store, street: Uuid, address: Uuid) -> Result<(), AppError> {
    sqlx::query("DELETE FROM retention WHERE street_id = $1 AND address_id = $2")
        .bind(street.to_string())
        .bind(address.to_string())
        .execute(store.pool())
        .await?;
    Ok(())
}

/// `GET /api/admin/retention`: the list, swept first; this showing starts the notice
/// period of every door on it not seen before.
pub async fn listed(
    State(state): State<Arc<AppState>>,
    principal: Principal,
) -> Result<Json<Vec<Retained>>, AppError> {
    if principal.account.role != Role::Administrator {
        return Err(AppError::Forbidden("for administrators".into()));
    }
    sweep(&state).await?;
    let now = now_ms();
    sqlx::query("UPDATE retention SET seen_ms = $1 WHERE seen_ms IS NULL")
        .bind(now)
        .execute(state.store.pool())
        .await?;
    let notice = i64::from(state.config.retention_notice_days) * DAY_MS;
    let streets: BTreeMap<Uuid, Street> = state
        .store
        .streets(None)
        .await?
        .into_iter()
        .filter_map(|(id, doc)| Some((id, docs::read(&doc).ok()?)))
        .collect();
    let mut listed = list(&state.store).await?;
    for row in &mut listed {
        if let Some(street) = streets.get(&row.street) {
            row.street_name = street.name.clone();
            row.door = street
                .addresses
                .get(&row.address.to_string())
                .map(|a| {
                    let building = street
                        .complexes
                        .get(&a.complex)
                        .map(|c| c.name.as_str())
                        .unwrap_or_default();
                    format!("{building} {}", a.number).trim().to_string()
                })
                .unwrap_or_default();
        }
        row.erase_after_ms = row.seen_ms.map(|seen| seen + notice);
    }
    Ok(Json(listed))
}

/// Sweeps every [`SWEEP_EVERY`] until the server stops.
pub async fn every_hour(state: Arc<AppState>) {
    let mut tick = tokio::time::interval(SWEEP_EVERY);
    loop {
        tick.tick().await;
        match sweep(&state).await {
            Ok(swept) if swept.listed + swept.erased > 0 => {
                tracing::info!(
                    listed = swept.listed,
                    erased = swept.erased,
                    "retention swept"
                )
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "retention sweep failed"),
        }
    }
}
