//! `strata diff --from SRC --to SRC`: the plan between two schema states.

use strata_core::diff::{Rename, diff};

use crate::source::Source;
use crate::{Error, Result, verify};

use super::opt::{DiffArgs, Global};
use super::{Context, Outcome, say};

pub(super) async fn run(context: &Context, global: &Global, args: DiffArgs) -> Result<Outcome> {
    let project = context.project(global)?;
    let scope = context.scope(&project, &args.schemas);
    let (from_source, to_source) = (Source::parse(&args.from)?, Source::parse(&args.to)?);
    let (from, to) = tokio::try_join!(from_source.catalog(&scope), to_source.catalog(&scope))?;
    let renames = args
        .renames
        .iter()
        .map(|r| Rename::parse(r, &from).map_err(Error::Invalid))
        .collect::<Result<Vec<_>>>()?;
    let plan = diff(&from, &to, &renames)
        .map_err(|e| Error::Invalid(format!("no plan from {from_source} to {to_source}: {e}")))?;
    if !args.no_verify && !plan.is_empty() {
        let server = context.scratch_server(&project).await?;
        verify::verify(&server, &from, &plan, &to, &scope).await?;
    }
    say(plan.to_sql().trim_end());
    Ok(if args.exit_code && !plan.is_empty() {
        Outcome::Found
    } else {
        Outcome::Done
    })
}
