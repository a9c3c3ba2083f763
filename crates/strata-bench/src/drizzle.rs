//! Drizzle Kit, the baseline the commands are compared with: installed from npm into
//! `target/bench-npm` (once; later runs reuse it) when Node.js is present, and run as
//! `node node_modules/drizzle-kit/bin.cjs` (no npx in the measured time) on a project holding
//! the bench schema in TypeScript.

use std::path::{Path, PathBuf};
use std::process::Command;

use strata::postgres::url::DbUrl;

use crate::{run, schema};

/// The packages installed, with the ranges the TypeScript schema and config are written for.
const PACKAGE_JSON: &str = r#"{
  "name": "strata-bench-drizzle",
  "private": true,
  "description": "Drizzle Kit for strata's benchmarks (installed by strata-bench)",
  "dependencies": {
    "drizzle-kit": "^0.31.0",
    "drizzle-orm": "^0.45.0",
    "pg": "^8.0.0"
  }
}
"#;

/// An installed Drizzle Kit.
pub struct Drizzle {
    /// The npm folder (holds `node_modules`).
    npm: PathBuf,
    /// `drizzle-kit --version`'s answer, on one line.
    pub version: String,
}

/// Installs Drizzle Kit when needed; why it can't be measured otherwise.
pub fn setup() -> Result<Drizzle, String> {
    let node = Command::new("node").arg("--version").output();
    if !node.is_ok_and(|out| out.status.success()) {
        return Err("node not found".into());
    }
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    // target/release/strata-bench → target/bench-npm
    let npm = exe
        .parent()
        .and_then(Path::parent)
        .ok_or("no folder above the bench binary")?
        .join("bench-npm");
    let bin = npm.join("node_modules/drizzle-kit/bin.cjs");
    let manifest = npm.join("package.json");
    let current = std::fs::read_to_string(&manifest).is_ok_and(|text| text == PACKAGE_JSON);
    if !bin.is_file() || !current {
        std::fs::create_dir_all(&npm).map_err(|e| format!("creating {}: {e}", npm.display()))?;
        std::fs::write(&manifest, PACKAGE_JSON)
            .map_err(|e| format!("writing {}: {e}", manifest.display()))?;
        eprintln!("strata-bench: installing drizzle-kit, drizzle-orm and pg with npm");
        let install = run::run(
            Command::new("npm")
                .args(["install", "--no-audit", "--no-fund", "--loglevel=error"])
                .current_dir(&npm),
            None,
        )
        .map_err(|_| "npm not found".to_owned())?;
        if !install.success || !bin.is_file() {
            return Err(format!("npm install failed: {}", install.complaint()));
        }
    }
    let drizzle = Drizzle {
        npm,
        version: String::new(),
    };
    let out = run::run(
        &mut drizzle.command(Path::new("."), None, &["--version"]),
        None,
    )?;
    if !out.success {
        return Err(format!("drizzle-kit --version failed: {}", out.complaint()));
    }
    let version = out
        .stdout
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| l.replace(": v", " v"))
        .collect::<Vec<_>>()
        .join(", ");
    Ok(Drizzle { version, ..drizzle })
}

impl Drizzle {
    /// `node …/drizzle-kit/bin.cjs ARGS` in `project`, against `db` (`DATABASE_URL`).
    pub fn command(&self, project: &Path, db: Option<&DbUrl>, args: &[&str]) -> Command {
        let mut command = Command::new("node");
        command
            .arg(self.npm.join("node_modules/drizzle-kit/bin.cjs"))
            .args(args)
            .current_dir(project)
            .env("NO_COLOR", "1");
        if let Some(db) = db {
            command.env("DATABASE_URL", db.expose());
        }
        command
    }

    /// A Drizzle project with the `n`-table bench schema: `schema/bench_S.ts`,
    /// `drizzle.config.ts` (migrations in `migrations/`), `drizzle.pull.config.ts` (pull writes to
    /// `pulled/`), and `node_modules` linked to the installed packages.
    pub fn project(&self, n: usize) -> Result<tempfile::TempDir, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let root = dir.path();
        let folder = root.join("schema");
        std::fs::create_dir_all(&folder).map_err(|e| e.to_string())?;
        for (file, source) in schema::drizzle(n) {
            std::fs::write(folder.join(file), source).map_err(|e| e.to_string())?;
        }
        let schemas = (0..schema::SCHEMAS)
            .map(|s| format!("\"bench_{s}\""))
            .collect::<Vec<_>>()
            .join(", ");
        for (file, out) in [
            ("drizzle.config.ts", "./migrations"),
            ("drizzle.pull.config.ts", "./pulled"),
        ] {
            std::fs::write(
                root.join(file),
                format!(
                    "export default {{\n  dialect: \"postgresql\",\n  schema: \"./schema/*.ts\",\n  \
                     out: \"{out}\",\n  schemaFilter: [{schemas}],\n  \
                     dbCredentials: {{ url: process.env.DATABASE_URL! }},\n  strict: false,\n  verbose: false,\n}};\n"
                ),
            )
            .map_err(|e| e.to_string())?;
        }
        std::os::unix::fs::symlink(self.npm.join("node_modules"), root.join("node_modules"))
            .map_err(|e| format!("linking node_modules: {e}"))?;
        Ok(dir)
    }
}

/// The SQL statements `drizzle-kit push --verbose` printed (it prints them before applying).
pub fn pushed_statements(output: &str) -> Vec<String> {
    const VERBS: [&str; 6] = [
        "ALTER ", "CREATE ", "DROP ", "COMMENT ", "GRANT ", "REVOKE ",
    ];
    output
        .lines()
        .map(str::trim)
        .filter(|line| VERBS.iter().any(|verb| line.starts_with(verb)))
        .map(str::to_owned)
        .collect()
}
