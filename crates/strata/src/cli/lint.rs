//! `strata lint`: judges migration files for blocking locks and data loss.
//!
//! Without files it judges the migrations folder: with `--url`, only what is pending on that
//! database (ranked by the tables' sizes there); otherwise every migration. Exit 1 when a
//! finding at error level (or of a `--deny` rule) remains, 2 on bad input.

use serde_json::json;
use strata_core::lint::{Finding, Knowledge, Level, RULES, rule};

use crate::apply::history::compare;
use crate::config::Target as ConfigTarget;
use crate::lint::{Input, lint, sizes};
use crate::{Error, Result};

use super::opt::{Global, LintArgs, LintFormat};
use super::{Context, Outcome, census, json as json_out};

pub(super) async fn run(context: &Context, global: &Global, args: LintArgs) -> Result<Outcome> {
    for id in args.deny.iter().chain(&args.allow) {
        if rule(id).is_none() {
            let ids: Vec<&str> = RULES.iter().map(|r| r.id()).collect();
            return Err(Error::Invalid(format!(
                "no lint rule is called `{id}`; the rules are: {}",
                ids.join(", ")
            )));
        }
    }
    let project = context.project(global)?;
    let client = match args.url.as_deref().filter(|u| !u.is_empty()) {
        Some(url) => {
            let ConfigTarget::Url { url, .. } = project.target(Some(url))? else {
                unreachable!("a URL on the command line is a URL target")
            };
            Some(crate::postgres::connect_with(&url, &project.env).await?)
        }
        None => None,
    };

    let files: Vec<Input> = if args.files.is_empty() {
        let folder = context.migrations(&project)?;
        let migrations = match &client {
            Some(client) => {
                let applied = context.history(&project)?.read(client).await?;
                compare(&folder, &applied).pending
            }
            None => folder.migrations.iter().collect(),
        };
        migrations
            .into_iter()
            .map(|m| Input {
                name: census::folder(&project, &m.path),
                text: m.text.clone(),
            })
            .collect()
    } else {
        args.files
            .iter()
            .map(|path| Input::read(path, path.display().to_string()))
            .collect::<Result<_>>()?
    };

    let catalog = match &client {
        Some(client) => {
            let scope = context.managed_scope(&project);
            Some(context.live_catalog(&project, client, &scope).await?)
        }
        None => None,
    };
    let known = Knowledge {
        catalog: catalog.as_ref(),
        sizes: match &client {
            Some(client) => sizes(client).await?,
            None => Default::default(),
        },
    };
    let mut findings = lint(&files, &known)?;
    findings.retain(|f| !args.allow.iter().any(|a| a == f.rule));
    for finding in &mut findings {
        if args.deny.iter().any(|d| d == finding.rule) {
            finding.level = Level::Error;
        }
    }
    let errors = findings.iter().filter(|f| f.level == Level::Error).count();

    let format = if json_out::on() {
        LintFormat::Json
    } else {
        args.format
    };
    match format {
        LintFormat::Json => {
            let document = json!({
                "files": files.iter().map(|f| f.name.clone()).collect::<Vec<_>>(),
                "findings": findings,
                "errors": errors,
                "warnings": findings.len() - errors,
            });
            if json_out::on() {
                json_out::emit(document);
            } else {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&document).expect("findings serialize")
                );
            }
        }
        LintFormat::Text => {
            for finding in &findings {
                println!("{}", text(finding));
            }
            println!(
                "{} file{} judged: {errors} error{}, {} warning{}",
                files.len(),
                plural(files.len()),
                plural(errors),
                findings.len() - errors,
                plural(findings.len() - errors)
            );
        }
        LintFormat::Github => {
            for finding in &findings {
                println!("{}", github(finding));
            }
        }
    }
    Ok(if errors > 0 {
        Outcome::Found
    } else {
        Outcome::Done
    })
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// `file:line:col: error[rule]: message`, then why and what to write instead.
fn text(finding: &Finding) -> String {
    let mut out = format!(
        "{}:{}:{}: {}[{}]: {}",
        finding.file,
        finding.line,
        finding.column,
        finding.level.as_str(),
        finding.rule,
        finding.message
    );
    if let Some(rows) = finding.rows {
        out.push_str(&format!(" (about {rows} rows)"));
    }
    if let Some(rule) = rule(finding.rule) {
        out.push_str(&format!("\n  why: {}", rule.reason()));
    }
    if let Some(help) = finding.help {
        out.push_str(&format!("\n  instead: {help}"));
    }
    out.push_str(&format!(
        "\n  acknowledge: -- strata:allow {} <reason>",
        finding.rule
    ));
    out
}

/// A GitHub Actions workflow command: the finding as an annotation on the file's line.
fn github(finding: &Finding) -> String {
    let escape_data = |s: &str| {
        s.replace('%', "%25")
            .replace('\r', "%0D")
            .replace('\n', "%0A")
    };
    let escape_property = |s: &str| escape_data(s).replace(':', "%3A").replace(',', "%2C");
    let mut message = finding.message.clone();
    if let Some(help) = finding.help {
        message.push_str(&format!("\nInstead: {help}"));
    }
    format!(
        "::{} file={},line={},col={},title={}::{}",
        finding.level.as_str(),
        escape_property(&finding.file),
        finding.line,
        finding.column,
        escape_property(&format!("strata lint {}", finding.rule)),
        escape_data(&message)
    )
}
