//! The command line: `voordeur-server` serves; `voordeur-server admin …` sets up
//! organisations, accounts and streets in the configured database, without a running
//! server. Passwords are read from standard input (one line), never from arguments, which
//! other users of the machine can see and shells keep in their history.

use std::io::BufRead;

use anyhow::Context;
use clap::{Parser, Subcommand};
use uuid::Uuid;
use voordeur_shared::{
    access::Role,
    layout::{ComplexPlan, StreetPlan},
    model::{Partner, Street},
};

use crate::{
    Config,
    people::{self, AccountForm},
    store::Store,
};

#[derive(Debug, Parser)]
#[command(name = "voordeur-server", version, about = "Voordeur's sync server")]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API and the field app (what happens without a command).
    Serve,
    /// Set up organisations, accounts and streets.
    #[command(subcommand)]
    Admin(AdminCommand),
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Add a partner organisation.
    AddOrganisation {
        #[arg(long)]
        name: String,
        /// corporation, care_organisation or municipality
        #[arg(long, value_parser = parse_partner)]
        partner: Partner,
    },
    /// Add an account; its password is read from standard input.
    AddAccount {
        #[arg(long)]
        username: String,
        #[arg(long)]
        name: String,
        /// community_builder, coach, coordinator or administrator
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// The organisation's name (not for an administrator).
        #[arg(long)]
        organisation: Option<String>,
    },
    /// Set an account's password (read from standard input); ends its sessions.
    SetPassword {
        #[arg(long)]
        username: String,
    },
    /// Add a street: `--complex NAME:FLOORSxDOORS:FIRST[:BUSINESS,…]`, once per complex.
    AddStreet {
        #[arg(long)]
        name: String,
        #[arg(long = "complex", required = true)]
        complexes: Vec<ComplexPlan>,
    },
    /// Let a person work in a street.
    Assign {
        #[arg(long)]
        username: String,
        #[arg(long)]
        street: Uuid,
    },
    /// Take a person off a street.
    Unassign {
        #[arg(long)]
        username: String,
        #[arg(long)]
        street: Uuid,
    },
    /// List organisations, accounts and streets.
    List,
    /// Show the latest reads and changes of residents' data.
    Audit {
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
}

fn parse_partner(s: &str) -> Result<Partner, String> {
    Partner::from_label(s).ok_or_else(|| {
        let all: Vec<&str> = Partner::ALL.iter().map(|p| p.label()).collect();
        format!("one of {}", all.join(", "))
    })
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::from_label(s).ok_or_else(|| {
        let all: Vec<&str> = Role::ALL.iter().map(|r| r.label()).collect();
        format!("one of {}", all.join(", "))
    })
}

fn read_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("failed to read the password from standard input")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// Runs one administrator's command against the configured database.
pub async fn admin(config: &Config, command: AdminCommand) -> anyhow::Result<()> {
    if config.database_url.is_none() {
        std::fs::create_dir_all(&config.data_dir)?;
    }
    let store = Store::connect(&config.database_url()).await?;
    let result = run(&store, command).await;
    store.close().await;
    result
}

async fn run(store: &Store, command: AdminCommand) -> anyhow::Result<()> {
    match command {
        AdminCommand::AddOrganisation { name, partner } => {
            let o = people::create_organisation(store, &name, partner).await?;
            println!("organisation {} ({}) {}", o.name, o.partner.label(), o.id);
        }
        AdminCommand::AddAccount {
            username,
            name,
            role,
            organisation,
        } => {
            let form = AccountForm {
                username,
                display_name: name,
                role,
                organisation,
                password: read_password()?,
            };
            let a = people::create_account(store, form).await?;
            println!("account {} ({}) {}", a.username, a.role.label(), a.id);
        }
        AdminCommand::SetPassword { username } => {
            people::set_password(store, &username, read_password()?).await?;
            println!("password of {username} set; its sessions have ended");
        }
        AdminCommand::AddStreet { name, complexes } => {
            let street = people::create_street(store, &StreetPlan { name, complexes }).await?;
            println!("street {street}");
        }
        AdminCommand::Assign { username, street } => {
            people::assign(store, &username, street).await?;
            println!("{username} works in street {street}");
        }
        AdminCommand::Unassign { username, street } => {
            people::unassign(store, &username, street).await?;
            println!("{username} no longer works in street {street}");
        }
        AdminCommand::List => list(store).await?,
        AdminCommand::Audit { limit } => {
            for e in store.audit_log(limit.clamp(1, 100_000)).await? {
                // A change another account wrote (a replay) names its author.
                let author = match e.author {
                    Some(a) if a.account != e.account => format!(
                        " written-by {} (actor {})",
                        a.username.unwrap_or_else(|| a.account.to_string()),
                        a.actor
                    ),
                    _ => String::new(),
                };
                println!(
                    "{} {} {} {} {} {}{author}",
                    e.at_ms,
                    e.username.unwrap_or_else(|| e.account.to_string()),
                    e.action,
                    e.kind,
                    e.document,
                    e.partner.unwrap_or_default()
                );
            }
        }
    }
    Ok(())
}

async fn list(store: &Store) -> anyhow::Result<()> {
    println!("organisations:");
    for o in store.organisations().await? {
        println!("  {} ({}) {}", o.name, o.partner.label(), o.id);
    }
    println!("streets:");
    for (id, doc) in store.streets(None).await? {
        let street: Street = voordeur_shared::docs::read(&doc)?;
        println!("  {} {id} ({} doors)", street.name, street.addresses.len());
    }
    println!("accounts:");
    for a in store.accounts().await? {
        let organisation = a.organisation.map(|o| o.name).unwrap_or_default();
        let streets: Vec<String> = a.streets.iter().map(ToString::to_string).collect();
        println!(
            "  {} ({}, {organisation}) streets: {}",
            a.username,
            a.role.label(),
            streets.join(" ")
        );
    }
    Ok(())
}
