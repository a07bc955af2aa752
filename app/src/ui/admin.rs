//! The administrator's page: organisations, streets, accounts and who works where, and the
//! audit log — the same operations as `voordeur-server admin …`, through `/api/admin`.

use leptos::{ev, prelude::*};
use voordeur_shared::{
    access::Role,
    api::{Account, AuditEntry, Organisation, Retained, StreetSummary},
    layout::{ComplexPlan, StreetPlan},
    model::Partner,
};
use wasm_bindgen::JsValue;

use super::{Ui, day, texts};
use crate::{actions::use_actions, session};

/// What the page shows, as read from the server.
#[derive(Debug, Clone, Default, PartialEq)]
struct Overview {
    organisations: Vec<Organisation>,
    streets: Vec<StreetSummary>,
    accounts: Vec<Account>,
    audit: Vec<AuditEntry>,
    /// Households untouched for the retention period (`crate::retention` on the server).
    retained: Vec<Retained>,
}

/// `GET url`, read into its API type.
async fn fetch<T: serde::de::DeserializeOwned>(token: &str, url: &str) -> Result<T, String> {
    let response = session::call("GET", url, Some(token), None)
        .await
        .map_err(|e| format!("{e:?}"))?;
    let json = session::json(&response)
        .await
        .map_err(|e| format!("{e:?}"))?;
    if response.ok() {
        session::from_json(json).ok_or_else(|| format!("{url}: the answer does not read"))
    } else {
        Err(session::error_message(json, response.status()))
    }
}

/// The date of `ms`, as people write it ("30-11-2026").
fn date(ms: i64) -> String {
    let date = js_sys::Date::new(&(ms as f64).into());
    format!(
        "{}-{}-{}",
        date.get_date(),
        date.get_month() + 1,
        date.get_full_year()
    )
}

async fn overview(token: &str) -> Result<Overview, String> {
    Ok(Overview {
        organisations: fetch(token, "/api/admin/organisations").await?,
        streets: fetch(token, "/api/streets").await?,
        accounts: fetch(token, "/api/admin/accounts").await?,
        audit: fetch(token, "/api/admin/audit?limit=100").await?,
        retained: fetch(token, "/api/admin/retention").await?,
    })
}

/// Posts `body` (any serde value) to `url`; the server's message on refusal.
async fn post(token: &str, url: &str, body: JsValue) -> Result<(), String> {
    let response = session::call("POST", url, Some(token), Some(&body))
        .await
        .map_err(|e| format!("{e:?}"))?;
    if response.ok() {
        return Ok(());
    }
    let json = session::json(&response).await.unwrap_or(JsValue::NULL);
    Err(session::error_message(json, response.status()))
}

fn object(fields: &[(&str, JsValue)]) -> JsValue {
    let object = js_sys::Object::new();
    for (name, value) in fields {
        let _ = js_sys::Reflect::set(&object, &JsValue::from_str(name), value);
    }
    object.into()
}

fn plan_json(plan: &StreetPlan) -> JsValue {
    let complexes = js_sys::Array::new();
    for c in &plan.complexes {
        let businesses: js_sys::Array = c.businesses.iter().map(JsValue::from).collect();
        complexes.push(&object(&[
            ("name", c.name.as_str().into()),
            ("floors", c.floors.into()),
            ("doors_per_floor", c.doors_per_floor.into()),
            ("first_number", c.first_number.into()),
            ("businesses", businesses.into()),
        ]));
    }
    object(&[
        ("name", plan.name.as_str().into()),
        ("complexes", complexes.into()),
    ])
}

fn input(signal: RwSignal<String>) -> impl Fn(ev::Event) + Copy {
    move |ev| signal.set(event_target_value(&ev))
}

#[component]
pub fn AdminScreen(ui: Ui) -> impl IntoView {
    let actions = use_actions();
    let token = move || actions.token().unwrap_or_default();
    let t = texts(ui);
    let data = RwSignal::new(Overview::default());
    let message: RwSignal<Option<String>> = RwSignal::new(None);
    let reload = move || {
        leptos::task::spawn_local(async move {
            match overview(&token()).await {
                Ok(overview) => data.set(overview),
                Err(e) => message.set(Some(e)),
            }
        });
    };
    reload();
    let submit = move |url: &'static str, body: Result<JsValue, String>| {
        leptos::task::spawn_local(async move {
            let result = match body {
                Ok(body) => post(&token(), url, body).await,
                Err(e) => Err(e),
            };
            message.set(Some(match result {
                Ok(()) => texts(ui).saved.to_string(),
                Err(e) => e,
            }));
            reload();
        });
    };

    let org_name = RwSignal::new(String::new());
    let org_partner = RwSignal::new(Partner::Corporation.label().to_string());
    let add_org = move |ev: ev::SubmitEvent| {
        ev.prevent_default();
        let body = object(&[
            ("name", org_name.get_untracked().into()),
            ("partner", org_partner.get_untracked().into()),
        ]);
        submit("/api/admin/organisations", Ok(body));
    };

    let street_name = RwSignal::new(String::new());
    let complexes = RwSignal::new(String::new());
    let add_street = move |ev: ev::SubmitEvent| {
        ev.prevent_default();
        let parsed: Result<Vec<ComplexPlan>, String> = complexes
            .get_untracked()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                l.parse()
                    .map_err(|e: voordeur_shared::layout::PlanError| e.to_string())
            })
            .collect();
        let body = parsed.map(|complexes| {
            plan_json(&StreetPlan {
                name: street_name.get_untracked(),
                complexes,
            })
        });
        submit("/api/admin/streets", body);
    };

    let username = RwSignal::new(String::new());
    let display_name = RwSignal::new(String::new());
    let role = RwSignal::new(Role::CommunityBuilder.label().to_string());
    let organisation = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let add_account = move |ev: ev::SubmitEvent| {
        ev.prevent_default();
        let organisation = organisation.get_untracked();
        let body = object(&[
            ("username", username.get_untracked().into()),
            ("display_name", display_name.get_untracked().into()),
            ("role", role.get_untracked().into()),
            (
                "organisation",
                if organisation.is_empty() {
                    JsValue::NULL
                } else {
                    organisation.into()
                },
            ),
            ("password", password.get_untracked().into()),
        ]);
        password.set(String::new());
        submit("/api/admin/accounts", Ok(body));
    };

    let assign_user = RwSignal::new(String::new());
    let assign_street = RwSignal::new(String::new());
    let assign = move |ev: ev::SubmitEvent| {
        ev.prevent_default();
        let url = format!(
            "/api/admin/accounts/{}/streets",
            assign_user.get_untracked()
        );
        let body = object(&[("street", assign_street.get_untracked().into())]);
        leptos::task::spawn_local(async move {
            let result = post(&token(), &url, body).await;
            message.set(Some(match result {
                Ok(()) => texts(ui).saved.to_string(),
                Err(e) => e,
            }));
            reload();
        });
    };

    let partner_options = move || {
        Partner::ALL
            .iter()
            .zip(texts(ui).partners)
            .map(|(p, name)| view! { <option value=p.label()>{name}</option> })
            .collect_view()
    };
    view! {
        <section class="admin">
            <h1>{t.admin_title}</h1>
            {move || message.get().map(|m| view! { <p class="notice" role="status">{m}</p> })}

            <h2>{t.organisations}</h2>
            <ul class="organisations">
                {move || data.get().organisations.into_iter().map(|o| {
                    let partner = Partner::ALL
                        .iter()
                        .position(|p| *p == o.partner)
                        .map_or("", |i| texts(ui).partners[i]);
                    view! { <li>{o.name}" · "{partner}</li> }
                }).collect_view()}
            </ul>
            <form class="card add-organisation" on:submit=add_org>
                <label>{t.name}<input name="org-name" prop:value=move || org_name.get() on:input=input(org_name) /></label>
                <label>{t.partner}<select name="org-partner" on:change=input(org_partner)>{partner_options}</select></label>
                <button type="submit">{t.add}</button>
            </form>

            <h2>{t.streets}</h2>
            <ul class="streets-list">
                {move || data.get().streets.into_iter().map(|street| view! {
                    <li>{street.name}" · "<small>{street.id.to_string()}</small></li>
                }).collect_view()}
            </ul>
            <form class="card add-street" on:submit=add_street>
                <label>{t.name}<input name="street-name" prop:value=move || street_name.get() on:input=input(street_name) /></label>
                <label>{t.complexes}
                    <textarea name="complexes" rows="3" placeholder="Lindenhof:4x5:1:1A,1B"
                        prop:value=move || complexes.get() on:input=input(complexes)></textarea>
                </label>
                <small>{t.complexes_hint}</small>
                <button type="submit">{t.add}</button>
            </form>

            <h2>{t.accounts}</h2>
            <ul class="accounts">
                {move || data.get().accounts.into_iter().map(|a| {
                    let role = Role::ALL
                        .iter()
                        .position(|r| *r == a.role)
                        .map_or("", |i| texts(ui).roles[i]);
                    let org = a.organisation.map(|o| o.name).unwrap_or_default();
                    let streets =
                        format!("{} {}", a.streets.len(), texts(ui).streets.to_lowercase());
                    view! {
                        <li data-username=a.username.clone()>
                            <strong>{a.username.clone()}</strong>" · "{a.display_name}" · "{role}" · "{org}" · "{streets}
                        </li>
                    }
                }).collect_view()}
            </ul>
            <form class="card add-account" on:submit=add_account>
                <label>{t.username}<input name="new-username" autocapitalize="none" prop:value=move || username.get() on:input=input(username) /></label>
                <label>{t.name}<input name="new-display-name" prop:value=move || display_name.get() on:input=input(display_name) /></label>
                <label>{t.role}
                    <select name="new-role" on:change=input(role)>
                        {Role::ALL.iter().zip(t.roles).map(|(r, name)| view! { <option value=r.label()>{name}</option> }).collect_view()}
                    </select>
                </label>
                <label>{t.organisation}
                    <select name="new-organisation" on:change=input(organisation)>
                        <option value="">"—"</option>
                        {move || data.get().organisations.into_iter().map(|o| {
                            let name = o.name;
                            view! { <option value=name.clone()>{name.clone()}</option> }
                        }).collect_view()}
                    </select>
                </label>
                <label>{t.password}<input name="new-password" type="password" autocomplete="new-password"
                    prop:value=move || password.get() on:input=input(password) /></label>
                <button type="submit">{t.add}</button>
            </form>
            <form class="card assign" on:submit=assign>
                <h3>{t.assign}</h3>
                <label>{t.username}
                    <select name="assign-user" on:change=input(assign_user)>
                        <option value="">"—"</option>
                        {move || data.get().accounts.into_iter().map(|a| {
                            let user = a.username;
                            view! { <option value=user.clone()>{user.clone()}</option> }
                        }).collect_view()}
                    </select>
                </label>
                <label>{t.street}
                    <select name="assign-street" on:change=input(assign_street)>
                        <option value="">"—"</option>
                        {move || data.get().streets.into_iter().map(|street| view! {
                            <option value=street.id.to_string()>{street.name}</option>
                        }).collect_view()}
                    </select>
                </label>
                <button type="submit">{t.assign}</button>
            </form>

            <h2>{t.retention}</h2>
            <p class="hint">{t.retention_explain}</p>
            <ul class="retention">
                {move || {
                    let retained = data.get().retained;
                    if retained.is_empty() {
                        return view! { <li class="empty">{t.retention_none}</li> }.into_any();
                    }
                    retained.into_iter().map(|r| {
                        let when = r.erase_after_ms.map(date).unwrap_or_default();
                        let line = format!(
                            "{} ({}) · {} {} · {} {when}",
                            r.door, r.street_name, t.retention_touched, date(r.touched_ms),
                            t.retention_erased_after,
                        );
                        view! { <li>{line}</li> }
                    }).collect_view().into_any()
                }}
            </ul>

            <h2>{t.audit_log}</h2>
            <ol class="audit">
                {move || data.get().audit.into_iter().map(|e| {
                    let who = e.username.unwrap_or_else(|| e.account.to_string());
                    let line = format!("{} · {who} · {} {} · {}", day(e.at_ms), e.action, e.kind, e.document);
                    view! { <li>{line}</li> }
                }).collect_view()}
            </ol>
        </section>
    }
}
