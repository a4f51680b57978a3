//! `rrtf db copy`: move a project between databases (SQLite file <-> PostgreSQL), every table
//! copied with its ids and then verified by row counts and content hashes
//! (`rrtf_store::Store::copy_to`).

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};
use rrtf_store::{Location, Store};
use serde_json::json;

use super::{Bar, Ctx};

#[derive(Debug, Subcommand)]
pub enum DbCmd {
    /// Copy a project into a new database (`rrtf db copy --to postgres://.../team`; `--from`
    /// defaults to --db): every table with its ids, then each table's row count and content
    /// hash compared on both sides. The target must hold no data (`rrtf init` it, or let this
    /// create it).
    Copy(CopyArgs),
}

#[derive(Debug, Args)]
pub struct CopyArgs {
    /// The database to copy (a SQLite file or a postgres:// URL; default: --db / RRTF_DB).
    #[arg(long)]
    pub from: Option<PathBuf>,
    /// The database to copy into (created if missing; must hold no project data).
    #[arg(long)]
    pub to: PathBuf,
}

pub async fn run(ctx: &Ctx, cmd: DbCmd) -> Result<()> {
    match cmd {
        DbCmd::Copy(a) => copy(ctx, a).await,
    }
}

async fn copy(ctx: &Ctx, a: CopyArgs) -> Result<()> {
    let from_path = a.from.clone().unwrap_or_else(|| ctx.db.clone());
    let (from_name, to_name) = (
        Location::parse(&from_path).display(),
        Location::parse(&a.to).display(),
    );
    if Location::parse(&from_path) == Location::parse(&a.to) {
        return Err(super::BadInput(format!(
            "--from and --to are the same database ({from_name}): copy into another one"
        ))
        .into());
    }
    let from = Store::open(&from_path).await?;
    let to = Store::create(&a.to).await?;
    // A spinner with a count: the total is not read up front.
    let mut bar = Bar::new("copying");
    rrtf_pipeline::Counter::start(&mut bar, 0, "copying");
    let copied = from
        .copy_to(&to, &|_, n| rrtf_pipeline::Counter::inc(&bar, n))
        .await;
    bar.finish();
    from.close().await;
    to.close().await;
    let copied = copied?;
    let rows: u64 = copied.iter().map(|t| t.rows).sum();
    ctx.emit(
        || {
            let mut out = format!(
                "copied {from_name} into {to_name}: {rows} rows in {} tables, every table's \
                 count and content hash equal on both sides\n",
                copied.len()
            );
            for t in &copied {
                out.push_str(&format!(
                    "  {:<18} {:>9} rows  sha256 {}\n",
                    t.table,
                    t.rows,
                    &t.sha256[..16]
                ));
            }
            out
        },
        || json!({ "from": from_name, "to": to_name, "rows": rows, "tables": copied }),
    );
    Ok(())
}
