//! `strata diff --from SRC --to SRC`: the plan between two schema states.

use strata_core::diff::parse_renames;

use crate::normalise::fixpoint::Probes;

use crate::apply::verify;
use crate::source::Source;
use crate::{Error, Result};

use super::opt::{DiffArgs, Global};
use super::{Context, Outcome, census, say};

pub(super) async fn run(context: &Context, global: &Global, args: DiffArgs) -> Result<Outcome> {
    let project = context.project(global)?;
    let (from_source, to_source) = (Source::parse(&args.from)?, Source::parse(&args.to)?);
    let mut scope = context.scope(&project, &args.schemas);
    // Without --schema or a configured list, declared folders say which schemas are managed.
    if scope == crate::introspect::Scope::AllUserSchemas {
        let mut declared: Vec<String> = from_source
            .declared_schemas()?
            .into_iter()
            .chain(to_source.declared_schemas()?)
            .flatten()
            .collect();
        if !declared.is_empty() {
            declared.sort();
            declared.dedup();
            scope = crate::introspect::Scope::Schemas(declared);
        }
    }
    let needs_scratch = !args.no_verify
        || !matches!(from_source, Source::Database(_))
        || !matches!(to_source, Source::Database(_));
    let server = if needs_scratch {
        Some(context.scratch_server(&project).await?)
    } else {
        None
    };
    let tracking = project.tracking_tables()?;
    let cache = crate::source::cache::Cache::new(&project.root);
    let (from, to) = tokio::try_join!(
        from_source.catalog(&scope, server.as_deref(), &tracking, &cache),
        to_source.catalog(&scope, server.as_deref(), &tracking, &cache)
    )?;
    census::report(
        &project,
        args.strict,
        &[
            (&from_source.to_string(), &from.unmodeled),
            (&to_source.to_string(), &to.unmodeled),
        ],
    )?;
    let renames = parse_renames(&args.renames, &from).map_err(Error::Invalid)?;
    let fixpoint = context.fixpoint(&project);
    // Texts that differ are compared on a database holding one of the two states: one of the
    // sources when it is a database (temporary objects only), else a scratch copy of `to`.
    let live = match (&to_source, &from_source) {
        (Source::Database(url), _) | (_, Source::Database(url)) => {
            let client = crate::postgres::connect(url).await?;
            let version = crate::postgres::server_version(&client).await?;
            Some((client, version))
        }
        _ => None,
    };
    let probes = match (&live, server.as_deref()) {
        (Some((client, version)), _) => Probes::on(client, *version),
        (None, Some(server)) => Probes::scratch(server, &to, &scope),
        (None, None) => unreachable!("two folders always have a scratch server"),
    };
    let plan = fixpoint.diff(&from, &to, &renames, &probes).await;
    probes.close().await?;
    let plan = plan
        .map_err(|e| Error::Invalid(format!("no plan from {from_source} to {to_source}: {e}")))?;
    if let Some(server) = server.filter(|_| !args.no_verify && !plan.is_empty()) {
        verify::verify(&server, &from, &plan, &to, &scope, fixpoint).await?;
    }
    say(plan.to_sql().trim_end());
    super::json::emit(serde_json::json!({
        "from": from_source.to_string(),
        "to": to_source.to_string(),
        "steps": super::json::steps(&plan),
    }));
    Ok(if args.exit_code && !plan.is_empty() {
        Outcome::Found
    } else {
        Outcome::Done
    })
}
