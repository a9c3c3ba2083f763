//! Plans: the ordered SQL steps that take a database from one catalog to another.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::catalog::{FunctionKey, QualName};

/// An object a step creates, removes or needs, for ordering.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ObjectRef {
    /// A schema.
    Schema {
        /// Its name.
        name: String,
    },
    /// An extension.
    Extension {
        /// Its name.
        name: String,
    },
    /// A table, view, materialized view, sequence or type: anything with a relation-like name.
    Relation {
        /// Its name.
        name: QualName,
    },
    /// The shape of a table (its columns and their types), which views and other readers rely on.
    Shape {
        /// The table.
        table: QualName,
    },
    /// A constraint.
    Constraint {
        /// The table.
        table: QualName,
        /// The constraint's name.
        name: String,
    },
    /// An index (index names are unique per schema).
    Index {
        /// Schema and index name.
        name: QualName,
    },
    /// A function, procedure or aggregate.
    Function {
        /// Its identity.
        key: FunctionKey,
    },
    /// A function's name with its input types: two functions with both equal cannot exist at
    /// once, whatever their parameter names.
    Signature {
        /// Schema and name.
        name: QualName,
        /// The input types (`integer, text`).
        types: String,
    },
    /// A trigger.
    Trigger {
        /// The table or view.
        table: QualName,
        /// The trigger's name.
        name: String,
    },
    /// A policy.
    Policy {
        /// The table.
        table: QualName,
        /// The policy's name.
        name: String,
    },
    /// A collation.
    Collation {
        /// Its name.
        name: QualName,
    },
    /// An extended statistics object.
    Statistics {
        /// Its name.
        name: QualName,
    },
    /// A rule of a table or view.
    Rule {
        /// The table or view.
        table: QualName,
        /// The rule's name.
        name: String,
    },
    /// An operator.
    Operator {
        /// Its schema.
        schema: String,
        /// [`crate::catalog::Operator::signature`].
        signature: String,
    },
    /// A cast.
    Cast {
        /// `source AS target`.
        name: String,
    },
    /// A foreign data wrapper.
    Wrapper {
        /// Its name.
        name: String,
    },
    /// A foreign server.
    Server {
        /// Its name.
        name: String,
    },
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ObjectRef::Schema { name } => write!(f, "schema {name}"),
            ObjectRef::Extension { name } => write!(f, "extension {name}"),
            ObjectRef::Relation { name } => write!(f, "{name}"),
            ObjectRef::Shape { table } => write!(f, "columns of {table}"),
            ObjectRef::Constraint { table, name } => write!(f, "constraint {name} on {table}"),
            ObjectRef::Index { name } => write!(f, "index {name}"),
            ObjectRef::Function { key } => write!(f, "function {key}"),
            ObjectRef::Signature { name, types } => write!(f, "function {name}({types})"),
            ObjectRef::Trigger { table, name } => write!(f, "trigger {name} on {table}"),
            ObjectRef::Policy { table, name } => write!(f, "policy {name} on {table}"),
            ObjectRef::Collation { name } => write!(f, "collation {name}"),
            ObjectRef::Statistics { name } => write!(f, "statistics {name}"),
            ObjectRef::Rule { table, name } => write!(f, "rule {name} on {table}"),
            ObjectRef::Operator { signature, .. } => write!(f, "operator {signature}"),
            ObjectRef::Cast { name } => write!(f, "cast ({name})"),
            ObjectRef::Wrapper { name } => write!(f, "foreign data wrapper {name}"),
            ObjectRef::Server { name } => write!(f, "server {name}"),
        }
    }
}

/// What can go wrong when a step runs against a database with data and traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Hazard {
    /// Deletes data (rows, a column's values, a sequence position, an enum value in use).
    DeletesData,
    /// Rewrites the whole table (and its indexes) under an exclusive lock.
    RewritesTable,
    /// Takes an ACCESS EXCLUSIVE lock: blocks reads and writes of the table while it runs.
    AccessExclusiveLock,
    /// Builds an index: time grows with the table.
    BuildsIndex,
    /// May fail on the data already there (NOT NULL, UNIQUE, CHECK, foreign key, narrowing).
    MayFailOnExistingData,
    /// Cannot be undone by a later migration (the data or state is gone).
    Irreversible,
}

impl Hazard {
    /// A short phrase for comments and prompts.
    pub fn describe(self) -> &'static str {
        match self {
            Hazard::DeletesData => "deletes data",
            Hazard::RewritesTable => "rewrites the table",
            Hazard::AccessExclusiveLock => "takes an ACCESS EXCLUSIVE lock",
            Hazard::BuildsIndex => "builds an index",
            Hazard::MayFailOnExistingData => "may fail on existing data",
            Hazard::Irreversible => "cannot be undone",
        }
    }
}

/// The rows a hazardous step affects, so that a prompt can say how many (counted on the target
/// before anything runs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "count", rename_all = "snake_case")]
pub enum RowCheck {
    /// Every row of the table (dropping it).
    Rows {
        /// The table.
        table: QualName,
    },
    /// Rows where the column holds a value (dropping or converting it).
    Values {
        /// The table.
        table: QualName,
        /// The column.
        column: String,
    },
    /// Rows where the column is NULL (setting NOT NULL).
    Nulls {
        /// The table.
        table: QualName,
        /// The column.
        column: String,
    },
    /// Rows that repeat values of these columns (adding a unique key).
    Duplicates {
        /// The table.
        table: QualName,
        /// The columns.
        columns: Vec<String>,
    },
}

/// How a step must be run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunMode {
    /// Inside the plan's transaction.
    InTransaction,
    /// On its own, outside any transaction (`CREATE INDEX CONCURRENTLY`, an enum value that a
    /// later step uses).
    Alone,
    /// Committed apart from the steps before it, for a lighter lock (`VALIDATE CONSTRAINT` after
    /// `ADD … NOT VALID`: in one transaction the ADD's lock would be held through the scan). A
    /// migration runs it as `Alone`; `push`, which keeps a development database atomic, may
    /// run it inside its transaction.
    Apart,
}

impl RunMode {
    /// Whether a migration file runs it outside a transaction.
    pub fn outside_transaction(self) -> bool {
        self != RunMode::InTransaction
    }
}

/// One SQL statement of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// The statement, without the trailing semicolon.
    pub sql: String,
    /// How it must be run.
    pub run: RunMode,
    /// What can go wrong.
    pub hazards: Vec<Hazard>,
    /// The object the step is about, for messages.
    pub object: String,
    /// The rows it may lose or fail on, when it is hazardous to data.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub rows: Option<RowCheck>,
    /// Objects that must exist in their new form when it runs: it runs after the steps that
    /// create them.
    #[serde(skip)]
    pub needs: Vec<ObjectRef>,
    /// Objects it refers to in their old form (a drop finds what it drops through them): it
    /// runs before the steps that remove or change them.
    #[serde(skip)]
    pub needs_old: Vec<ObjectRef>,
    /// Objects that exist (again, or changed) once it ran.
    #[serde(skip)]
    pub creates: Vec<ObjectRef>,
    /// Objects that are gone (or changing) once it ran.
    #[serde(skip)]
    pub removes: Vec<ObjectRef>,
}

impl Step {
    /// A transactional step with no hazards.
    pub fn new(object: impl Into<String>, sql: impl Into<String>) -> Step {
        Step {
            sql: sql.into(),
            run: RunMode::InTransaction,
            hazards: Vec::new(),
            object: object.into(),
            rows: None,
            needs: Vec::new(),
            needs_old: Vec::new(),
            creates: Vec::new(),
            removes: Vec::new(),
        }
    }

    /// Adds objects it needs.
    pub fn needs(mut self, objects: impl IntoIterator<Item = ObjectRef>) -> Step {
        self.needs.extend(objects);
        self
    }

    /// Adds objects it needs in their old form.
    pub fn needs_old(mut self, objects: impl IntoIterator<Item = ObjectRef>) -> Step {
        self.needs_old.extend(objects);
        self
    }

    /// Adds objects it creates.
    pub fn creates(mut self, objects: impl IntoIterator<Item = ObjectRef>) -> Step {
        self.creates.extend(objects);
        self
    }

    /// Adds objects it removes.
    pub fn removes(mut self, objects: impl IntoIterator<Item = ObjectRef>) -> Step {
        self.removes.extend(objects);
        self
    }

    /// Adds hazards.
    pub fn hazards(mut self, hazards: impl IntoIterator<Item = Hazard>) -> Step {
        self.hazards.extend(hazards);
        self.hazards.sort();
        self.hazards.dedup();
        self
    }

    /// Says which rows the step affects.
    pub fn rows(mut self, check: RowCheck) -> Step {
        self.rows = Some(check);
        self
    }

    /// Marks the step as one that runs outside a transaction.
    pub fn alone(mut self) -> Step {
        self.run = RunMode::Alone;
        self
    }

    /// Marks the step as one committed apart from those before it (see [`RunMode::Apart`]).
    pub fn apart(mut self) -> Step {
        self.run = RunMode::Apart;
        self
    }
}

/// An ordered list of steps.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// The steps, in the order they must run.
    pub steps: Vec<Step>,
}

impl Plan {
    /// No steps: the two catalogs are the same.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Runs of consecutive steps with the same run mode: each becomes a migration file of its
    /// own (the transactional ones atomic, the others run statement by statement).
    pub fn groups(&self) -> Vec<&[Step]> {
        let mut groups = Vec::new();
        let mut start = 0;
        for i in 1..=self.steps.len() {
            if i == self.steps.len()
                || self.steps[i].run.outside_transaction()
                    != self.steps[start].run.outside_transaction()
            {
                groups.push(&self.steps[start..i]);
                start = i;
            }
        }
        groups
    }

    /// Every hazard of the plan, once each.
    pub fn hazards(&self) -> Vec<Hazard> {
        let mut all: Vec<Hazard> = self
            .steps
            .iter()
            .flat_map(|s| s.hazards.iter().copied())
            .collect();
        all.sort();
        all.dedup();
        all
    }

    /// The plan as a SQL script that `psql -f` runs as it is: a header, then each step with its
    /// hazards as comments. Steps that must run alone are marked; `psql` runs every statement
    /// on its own anyway (autocommit).
    pub fn to_sql(&self) -> String {
        let mut out = String::new();
        if self.steps.is_empty() {
            out.push_str("-- No changes: the schemas are the same.\n");
            return out;
        }
        let hazards = self.hazards();
        out.push_str(&format!(
            "-- {} step{}",
            self.steps.len(),
            if self.steps.len() == 1 { "" } else { "s" }
        ));
        if !hazards.is_empty() {
            let list: Vec<&str> = hazards.iter().map(|h| h.describe()).collect();
            out.push_str(&format!("; hazards: {}", list.join(", ")));
        }
        out.push_str(".\n");
        for step in &self.steps {
            out.push('\n');
            if !step.hazards.is_empty() {
                let list: Vec<&str> = step.hazards.iter().map(|h| h.describe()).collect();
                out.push_str(&format!(
                    "-- hazard ({}): {}\n",
                    step.object,
                    list.join(", ")
                ));
            }
            if step.run.outside_transaction() {
                out.push_str("-- strata: runs outside a transaction\n");
            }
            out.push_str(&step.sql);
            out.push_str(";\n");
        }
        out
    }
}
