//! The coordinators' picture and the steering group's report (scenario 3), read from the
//! street's documents here, where every partner's documents are
//! (`voordeur_shared::report` computes the figures; this module loads, checks, audits and
//! answers):
//!
//! - `GET /api/picture?street=…&from=…&to=…`: one street's [`Picture`] as JSON, for the
//!   person's own partner: what that partner may not read only as protected counts; with
//!   `&view=report`, every count protected, as the report (the printed page) has it.
//! - `GET /api/report.xlsx?streets=…,…&from=…&to=…&texts=true`: the steering group's
//!   workbook, one sheet per table, every small count of households or people hidden.
//! - `GET /api/report.csv?table=…&streets=…`: one table as CSV.
//!
//! Only streets the person works in; administrators read no resident data. Every picture
//! and report read is in the audit log (`picture`, `report`), by street.

use std::{collections::BTreeMap, collections::BTreeSet, sync::Arc};

use axum::{
    extract::{Query, State, rejection::QueryRejection},
    http::header,
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use uuid::Uuid;
use voordeur_shared::{
    automerge::{AutoCommit, ROOT},
    docs::{self, DocKind, DocumentId},
    model::{Address, IsoDate, Partner},
    report::{self, Documents, Period, Picture, Table, Viewer},
};

use crate::{AppError, auth::Principal, reads, state::AppState, store::Audited};

/// The most streets one report may hold.
pub const MAX_STREETS: usize = 50;

#[derive(Debug, Deserialize)]
pub struct PictureQuery {
    pub street: Uuid,
    pub from: Option<IsoDate>,
    pub to: Option<IsoDate>,
    /// `report`: the figures as the steering group's report has them (every count of
    /// households or people protected), for a page that leaves the partner's view.
    pub view: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct ReportQuery {
    /// Street ids, comma-separated.
    pub streets: String,
    pub from: Option<IsoDate>,
    pub to: Option<IsoDate>,
    /// Include the wishes' texts (the coordinator chooses; never notes or signals).
    #[serde(default)]
    pub texts: bool,
    /// For CSV: which table (`report::TABLES`).
    pub table: Option<String>,
}

fn period(from: Option<IsoDate>, to: Option<IsoDate>) -> Result<Period, AppError> {
    let ms = |d: IsoDate| d.0.midnight().assume_utc().unix_timestamp() * 1000;
    let period = Period {
        from_ms: from.map(ms),
        // The whole last day.
        to_ms: to.map(|d| ms(d) + 24 * 60 * 60 * 1000 - 1),
    };
    if let (Some(from), Some(to)) = (period.from_ms, period.to_ms)
        && from > to
    {
        return Err(AppError::Invalid("the period ends before it starts".into()));
    }
    Ok(period)
}

/// Loads a street's document and every partner's confidential documents of it, from the
/// cache where it holds them at their stored heads.
async fn load(
    state: &AppState,
    street: Uuid,
) -> Result<(AutoCommit, Vec<(Partner, AutoCommit)>), AppError> {
    let mut tx = state.store.begin_read().await?;
    let street_kind = tx.street(street).await?.ok_or(AppError::NotFound)?;
    let found = tx.catalog(&BTreeSet::from([street_kind.id()])).await?;
    if found.is_empty() {
        return Err(AppError::NotFound);
    }
    let street_doc = reads::documents(state, &mut tx, &found)
        .await?
        .remove(&street_kind.id())
        .ok_or(AppError::NotFound)?;
    let addresses: BTreeMap<String, Address> =
        voordeur_shared::autosurgeon::hydrate_prop(&street_doc, ROOT, docs::ADDRESSES.name)
            .map_err(|e| AppError::Internal(e.into()))?;
    let partners: BTreeMap<DocumentId, Partner> = addresses
        .iter()
        .filter_map(|(id, a)| Some((id.parse::<Uuid>().ok()?, a.household_epoch)))
        .flat_map(|(address, epoch)| {
            Partner::ALL.map(|partner| {
                let kind = DocKind::Confidential {
                    street,
                    address,
                    epoch,
                    partner,
                };
                (kind.id(), partner)
            })
        })
        .collect();
    let held = tx.catalog(&partners.keys().copied().collect()).await?;
    let confidential = reads::documents(state, &mut tx, &held)
        .await?
        .into_iter()
        .map(|(id, doc)| (partners[&id], doc))
        .collect();
    Ok((street_doc, confidential))
}

/// The picture of `street` over `period` for `viewer`, read on a blocking thread.
async fn picture(
    state: &AppState,
    street: Uuid,
    period: Period,
    viewer: Viewer,
) -> Result<Picture, AppError> {
    let (street_doc, confidential) = load(state, street).await?;
    let now = crate::store::now_ms();
    tokio::task::spawn_blocking(move || {
        let documents = Documents {
            street: &street_doc,
            confidential: confidential.iter().map(|(p, d)| (*p, d)).collect(),
        };
        Picture::read(&documents, period, viewer, now).map_err(anyhow::Error::from)
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))?
    .map_err(AppError::Internal)
}

/// Checks that the person works in `street`, and records that they read it as `action`.
async fn allow_and_audit(
    state: &AppState,
    principal: &Principal,
    streets: &[Uuid],
    action: &str,
) -> Result<(), AppError> {
    let grant = principal.account.grant();
    if let Some(street) = streets.iter().find(|s| !grant.follows(**s)) {
        return Err(AppError::Forbidden(format!(
            "street {street} is not one you work in"
        )));
    }
    let mut lines = Vec::with_capacity(streets.len());
    for street in streets {
        let kind = state
            .store
            .street(*street)
            .await?
            .ok_or(AppError::NotFound)?;
        lines.push(Audited::read(kind));
    }
    let mut tx = state.store.begin().await?;
    state
        .store
        .audit(&mut tx, principal.account.id.0, action, &lines)
        .await?;
    state.store.commit(tx).await?;
    Ok(())
}

/// `GET /api/picture`.
pub async fn get_picture(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    query: Result<Query<PictureQuery>, QueryRejection>,
) -> Result<axum::Json<Picture>, AppError> {
    let Query(query) = query?;
    let period = period(query.from, query.to)?;
    let viewer = match (
        query.view.as_deref(),
        principal.account.organisation.as_ref(),
    ) {
        (None, Some(organisation)) => Viewer::Partner(organisation.partner),
        (None | Some("report"), _) => Viewer::SteeringGroup,
        (Some(other), _) => {
            return Err(AppError::Invalid(format!(
                "no view {other:?}: only \"report\""
            )));
        }
    };
    allow_and_audit(&state, &principal, &[query.street], "picture").await?;
    Ok(axum::Json(
        picture(&state, query.street, period, viewer).await?,
    ))
}

fn streets_of(query: &ReportQuery) -> Result<Vec<Uuid>, AppError> {
    let streets: Vec<Uuid> = query
        .streets
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            s.trim()
                .parse()
                .map_err(|_| AppError::Invalid(format!("{s:?} is not a street id")))
        })
        .collect::<Result<_, _>>()?;
    if streets.is_empty() || streets.len() > MAX_STREETS {
        return Err(AppError::Invalid(format!(
            "name 1 to {MAX_STREETS} streets"
        )));
    }
    Ok(streets)
}

async fn report_tables(
    state: &AppState,
    principal: &Principal,
    query: &ReportQuery,
) -> Result<Vec<Table>, AppError> {
    let streets = streets_of(query)?;
    let period = period(query.from, query.to)?;
    allow_and_audit(state, principal, &streets, "report").await?;
    let mut pictures = Vec::with_capacity(streets.len());
    for street in streets {
        pictures.push(picture(state, street, period, Viewer::SteeringGroup).await?);
    }
    Ok(report::tables(&pictures, query.texts))
}

/// `GET /api/report.xlsx`: the steering group's workbook.
pub async fn get_xlsx(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    query: Result<Query<ReportQuery>, QueryRejection>,
) -> Result<Response, AppError> {
    let Query(query) = query?;
    let tables = report_tables(&state, &principal, &query).await?;
    let bytes = tokio::task::spawn_blocking(move || workbook(&tables))
        .await
        .map_err(|e| AppError::Internal(e.into()))?
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"voordeur-regiegroep.xlsx\"",
            ),
        ],
        bytes,
    )
        .into_response())
}

/// `GET /api/report.csv?table=…`: one table of the report.
pub async fn get_csv(
    State(state): State<Arc<AppState>>,
    principal: Principal,
    query: Result<Query<ReportQuery>, QueryRejection>,
) -> Result<Response, AppError> {
    let Query(query) = query?;
    let name = query.table.clone().unwrap_or_default();
    if !report::TABLES.contains(&name.as_str()) {
        return Err(AppError::Invalid(format!(
            "table must be one of {}",
            report::TABLES.join(", ")
        )));
    }
    let tables = report_tables(&state, &principal, &query).await?;
    let table = tables
        .iter()
        .find(|t| t.name == name)
        .ok_or(AppError::NotFound)?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"voordeur-{name}.csv\""),
            ),
        ],
        report::csv(table),
    )
        .into_response())
}

/// The tables as a workbook: a sheet each, a header row in bold, hidden counts as "< 5".
pub fn workbook(tables: &[Table]) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{Format, Workbook};
    use voordeur_shared::report::{Cell, Count};
    let mut workbook = Workbook::new();
    let bold = Format::new().set_bold();
    for table in tables {
        let sheet = workbook.add_worksheet();
        sheet.set_name(table.title)?;
        for (col, name) in table.header.iter().enumerate() {
            sheet.write_string_with_format(0, col as u16, *name, &bold)?;
        }
        for (row, cells) in table.rows.iter().enumerate() {
            let row = row as u32 + 1;
            for (col, cell) in cells.iter().enumerate() {
                let col = col as u16;
                match cell {
                    Cell::Text(text) => sheet.write_string(row, col, text)?,
                    Cell::Number(n) => sheet.write_number(row, col, *n as f64)?,
                    Cell::Count(Count::Exact(n) | Count::Rounded(n)) => {
                        sheet.write_number(row, col, f64::from(*n))?
                    }
                    Cell::Count(Count::Small) => sheet.write_string(row, col, "< 5")?,
                };
            }
        }
        sheet.autofit();
    }
    workbook.save_to_buffer()
}
