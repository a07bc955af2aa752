//! A resident's requests: consent withdrawn, erasure, and access to what is held.
//!
//! - `POST /api/requests` (`{"street", "address", "request": "consent_withdrawn" |
//!   "erasure"}`): a coordinator of the street, of any partner (a resident may tell any
//!   of the three), or an administrator records the request; it is carried out at once
//!   (`Store::carry_out`: documents made anew or deleted, registered, scrubbed from the
//!   database files), the caches forget the documents, and open apps are told.
//! - `GET /api/requests?street=…`: the register for a street: which door, which request,
//!   when, who asked; never content.
//! - `GET /api/access-request?street=…&address=…[&format=html]` (GDPR art. 15): everything
//!   the coordinator's organisation holds about the household at that door, as JSON or as
//!   a page to print, audited (`access_export`). Another partner's confidential document
//!   is named, not shown: a care signal stays inside the care organisation, so the
//!   resident asks each partner for its own.
//!
//! Who asked and when is in the register and the audit log (`asked_erasure`,
//! `asked_consent_withdrawn`, `carried_out`), with the door, never the content.

use std::{collections::BTreeSet, sync::Arc};

use axum::{
    Json,
    extract::{Query, State, rejection::JsonRejection},
    http::{StatusCode, header},
    response::{Html, IntoResponse, Response},
};
use serde_json::{Value as JsonValue, json};
use uuid::Uuid;
use voordeur_shared::{
    access::Role,
    api::ResidentRequest,
    automerge::{AutoCommit, AutoSerde},
    docs::{self, DocKind},
    erase,
    model::{Address, Partner, Street},
};

use crate::{
    AppError,
    auth::Principal,
    state::AppState,
    store::{Audited, Erasure},
};

/// Who may record a resident's request for a door of `street`, and ask what is held:
/// the street's coordinators (of any partner) and administrators.
fn may_act(principal: &Principal, street: Uuid) -> Result<(), AppError> {
    let account = &principal.account;
    match account.role {
        Role::Administrator => Ok(()),
        Role::Coordinator if account.grant().follows(street) => Ok(()),
        _ => Err(AppError::Forbidden(
            "only a coordinator of the street or an administrator records a resident's request"
                .into(),
        )),
    }
}

/// The street's document and the door's entry in it.
async fn door(
    state: &AppState,
    street: Uuid,
    address: Uuid,
) -> Result<(DocKind, AutoCommit, Address), AppError> {
    let kind = state
        .store
        .street(street)
        .await?
        .ok_or(AppError::NotFound)?;
    let doc = state
        .store
        .stored(&BTreeSet::from([kind.id()]))
        .await?
        .remove(&kind.id())
        .ok_or(AppError::NotFound)?;
    let entry = docs::get_entry(&doc, docs::ADDRESSES, &address.to_string())
        .map_err(|e| AppError::Internal(e.into()))?
        .ok_or_else(|| AppError::Invalid(format!("street {street} has no address {address}")))?;
    Ok((kind, doc, entry))
}

/// `POST /api/requests`.
pub async fn ask(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    body: Result<Json<ResidentRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<Erasure>), AppError> {
    let Json(asked) = body?;
    may_act(&principal, asked.street)?;
    door(&state, asked.street, asked.address).await?;
    let carried = state
        .store
        .carry_out(
            asked.request,
            asked.street,
            asked.address,
            principal.account.id.0,
            &state.actor,
        )
        .await?;
    state.cache.erase(&carried.dropped);
    state.events.erased(&carried.dropped).await;
    state.events.changed(carried.written).await;
    tracing::info!(
        request = asked.request.label(),
        street = %asked.street,
        address = %asked.address,
        documents = carried.dropped.len(),
        "resident's request carried out"
    );
    Ok((StatusCode::CREATED, Json(carried.erasure)))
}

#[derive(Debug, serde::Deserialize)]
pub struct StreetQuery {
    pub street: Uuid,
}

/// `GET /api/requests?street=…`.
pub async fn register(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    Query(query): Query<StreetQuery>,
) -> Result<Json<Vec<Erasure>>, AppError> {
    may_act(&principal, query.street)?;
    Ok(Json(
        state
            .store
            .erasures(&BTreeSet::from([query.street]))
            .await?,
    ))
}

#[derive(Debug, serde::Deserialize)]
pub struct DoorQuery {
    pub street: Uuid,
    pub address: Uuid,
    #[serde(default)]
    pub format: Option<String>,
}

/// `GET /api/access-request?street=…&address=…[&format=html]`.
pub async fn access_request(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    Query(query): Query<DoorQuery>,
) -> Result<Response, AppError> {
    let account = &principal.account;
    if account.role != Role::Coordinator || !account.grant().follows(query.street) {
        return Err(AppError::Forbidden(
            "only a coordinator of the street exports what is held about a household".into(),
        ));
    }
    let partner = account
        .organisation
        .as_ref()
        .map(|o| o.partner)
        .ok_or_else(|| AppError::Forbidden("a coordinator of no organisation".into()))?;
    let (_, street_doc, entry) = door(&state, query.street, query.address).await?;
    let kinds = erase::household_kinds(query.street, query.address, entry.household_epoch);
    let held = state
        .store
        .stored(&kinds.iter().map(DocKind::id).collect())
        .await?;
    let requests: Vec<Erasure> = state
        .store
        .erasures(&BTreeSet::from([query.street]))
        .await?
        .into_iter()
        .filter(|e| e.address == query.address)
        .collect();
    let mut export = street_part(&street_doc, query.address)?;
    let mut elsewhere = Vec::new();
    for kind in &kinds {
        let Some(doc) = held.get(&kind.id()) else {
            continue;
        };
        match kind {
            DocKind::Household { .. } => {
                export["household"] = serde_json::to_value(AutoSerde::from(doc))
                    .map_err(|e| AppError::Internal(e.into()))?;
            }
            DocKind::Confidential { partner: p, .. } if *p == partner => {
                export["confidential"] = serde_json::to_value(AutoSerde::from(doc))
                    .map_err(|e| AppError::Internal(e.into()))?;
            }
            DocKind::Confidential { partner: p, .. } => elsewhere.push(p.label()),
            DocKind::Street { .. } => {}
        }
    }
    export["held_by_other_partners"] = json!(elsewhere);
    export["requests"] =
        serde_json::to_value(&requests).map_err(|e| AppError::Internal(e.into()))?;
    export["exported_by"] = json!(account.display_name);
    export["exported_for"] = json!(partner.label());
    export["exported_ms"] = json!(crate::store::now_ms());
    let line = Audited::read(kinds[0]);
    let mut tx = state.store.begin().await?;
    state
        .store
        .audit(&mut tx, account.id.0, "access_export", &[line])
        .await?;
    state.store.commit(tx).await?;
    if query.format.as_deref() == Some("html") {
        return Ok(Html(page(&export)).into_response());
    }
    let name = format!("inzage-{}.json", query.address);
    Ok((
        [(
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        )],
        Json(export),
    )
        .into_response())
}

/// What the street document holds about the door: the address, the visits there, the
/// wishes raised at them with every partner's follow-up, invitations to activities.
fn street_part(doc: &AutoCommit, address: Uuid) -> Result<JsonValue, AppError> {
    let street: Street = docs::read(doc).map_err(|e| AppError::Internal(e.into()))?;
    let amendments = docs::amendments(doc).map_err(|e| AppError::Internal(e.into()))?;
    let id = address.to_string();
    let entry = street.addresses.get(&id).ok_or(AppError::NotFound)?;
    let building = street
        .complexes
        .get(&entry.complex)
        .map(|c| c.name.clone())
        .unwrap_or_default();
    let visits: Vec<(&String, _)> = street.visits_at(&id).collect();
    let visit_ids: BTreeSet<&String> = visits.iter().map(|(v, _)| *v).collect();
    let wishes: Vec<JsonValue> = street
        .wishes
        .iter()
        .filter(|(_, w)| visit_ids.contains(&w.visit))
        .map(|(wish_id, w)| {
            let follow_ups: Vec<JsonValue> = Partner::ALL
                .iter()
                .filter_map(|p| {
                    let f = amendments.follow_ups.get(p)?.get(wish_id)?;
                    Some(json!({
                        "partner": p.label(), "status": format!("{:?}", f.status),
                        "note": f.note, "by": f.by, "at_ms": f.at_ms,
                    }))
                })
                .collect();
            json!({
                "id": wish_id, "visit": w.visit, "theme": format!("{:?}", w.theme),
                "text": w.text, "follow_ups": follow_ups,
            })
        })
        .collect();
    let invitations: Vec<JsonValue> = amendments
        .activities
        .iter()
        .filter_map(|(activity_id, a)| {
            let invited = a.invited.get(&id)?;
            Some(json!({
                "activity": activity_id, "title": a.title, "date": a.date.to_string(),
                "invited_by": invited.by, "at_ms": invited.at_ms,
            }))
        })
        .collect();
    Ok(json!({
        "street": street.name,
        "address": { "id": id, "building": building, "number": entry.number },
        "visits": visits.iter().map(|(visit_id, v)| json!({
            "id": visit_id, "at_ms": v.at_ms, "by": v.author,
            "outcome": format!("{:?}", v.outcome),
            "return_on": v.return_on.as_ref().map(ToString::to_string),
        })).collect::<Vec<_>>(),
        "wishes": wishes,
        "invitations": invitations,
    }))
}

/// The export as a page to read and print: every field under its name.
fn page(export: &JsonValue) -> String {
    fn escape(text: &str) -> String {
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    }
    fn render(value: &JsonValue, out: &mut String) {
        match value {
            JsonValue::Object(map) => {
                out.push_str("<dl>");
                for (key, value) in map {
                    out.push_str(&format!("<dt>{}</dt><dd>", escape(key)));
                    render(value, out);
                    out.push_str("</dd>");
                }
                out.push_str("</dl>");
            }
            JsonValue::Array(items) if items.is_empty() => out.push('—'),
            JsonValue::Array(items) => {
                out.push_str("<ul>");
                for item in items {
                    out.push_str("<li>");
                    render(item, out);
                    out.push_str("</li>");
                }
                out.push_str("</ul>");
            }
            JsonValue::String(text) => out.push_str(&escape(text)),
            JsonValue::Null => out.push('—'),
            other => out.push_str(&escape(&other.to_string())),
        }
    }
    let mut body = String::new();
    render(export, &mut body);
    let door = format!(
        "{} {} {}",
        export["street"].as_str().unwrap_or_default(),
        export["address"]["building"].as_str().unwrap_or_default(),
        export["address"]["number"].as_str().unwrap_or_default()
    );
    format!(
        "<!doctype html><html lang=\"nl\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Inzage: {door}</title></head><body><main><h1>Inzage: wat wij vastleggen over {door}</h1>\
         <p>Alles wat deze organisatie bewaart over het huishouden op dit adres (AVG artikel 15).</p>\
         {body}</main></body></html>",
        door = escape(&door)
    )
}
