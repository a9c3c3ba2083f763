//! The diff: two catalogs in, the plan that takes a database from the first to the second out.
//!
//! [`diff`] is pure. It compares every object kind by name, decides for each difference whether
//! it is an alteration in place or a drop and a re-creation, spreads re-creations to what depends
//! on the re-created object (a view on a column whose type changes, a trigger on a function whose
//! signature changes), and orders the steps by their dependencies (see [`order`]). Renames are
//! input: a [`Rename`] turns a drop and a create into one `RENAME` step.
//!
//! A plan is only as good as its convergence: callers apply it to a copy of the first state,
//! introspect, and require an empty diff against the second (see `strata::verify`).

mod deps;
mod objects;
mod order;
mod rename;
mod tables;

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt;

pub use rename::{Rename, RenameCandidate, annotated_renames, parse_renames, rename_candidates};

use crate::catalog::{Catalog, FunctionKey, QualName, ViewKind};
use crate::fixpoint::{self, Pair, Site};
use crate::plan::{ObjectRef, Plan, Step};

/// Why no plan could be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiffError {
    /// The steps depend on each other in a circle; the statements involved are listed.
    Cycle(Vec<String>),
    /// A rename names an object that does not exist, or a name that is taken.
    Rename(String),
}

impl fmt::Display for DiffError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DiffError::Cycle(statements) => {
                write!(
                    f,
                    "the plan's steps depend on each other in a circle, so no order of them applies \
                     (objects that refer to each other are supported when a plain view closes the circle; \
                     through a materialized view or between functions they are not):"
                )?;
                for statement in statements {
                    write!(f, "\n  {}", statement.lines().next().unwrap_or(""))?;
                }
                Ok(())
            }
            DiffError::Rename(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for DiffError {}

/// The plan that takes a database whose catalog is `from` to `to`.
pub fn diff(from: &Catalog, to: &Catalog, renames: &[Rename]) -> Result<Plan, DiffError> {
    diff_with(from, to, renames, &BTreeSet::new(), 0)
}

/// The sites whose deparsed text differs between `from` (once `renames` are applied) and `to`:
/// what must be compared at its fixed point before [`diff_with`] (see [`crate::fixpoint`]).
pub fn deparse_pairs(
    from: &Catalog,
    to: &Catalog,
    renames: &[Rename],
) -> Result<Vec<Pair>, DiffError> {
    let (renamed, _) = renamed(from, to, renames)?;
    Ok(fixpoint::pairs(&renamed, to))
}

/// As [`diff`], with the texts at `same` taken as equal: they differ only in how PostgreSQL
/// printed them, so no step is planned for them. `server_version` (`server_version_num`; 0
/// when unknown) allows the forms of later versions (`CREATE OR REPLACE TRIGGER` from 14,
/// `ALTER COLUMN … SET EXPRESSION` from 17); a plan without them works on every version.
pub fn diff_with(
    from: &Catalog,
    to: &Catalog,
    renames: &[Rename],
    same: &BTreeSet<Site>,
    server_version: u32,
) -> Result<Plan, DiffError> {
    let (renamed, mut steps) = renamed(from, to, renames)?;
    let to = if same.is_empty() {
        Cow::Borrowed(to)
    } else {
        let mut adopted = to.clone();
        for site in same {
            fixpoint::adopt(&mut adopted, &renamed, site);
        }
        Cow::Owned(adopted)
    };
    let to = to.as_ref();
    let mut differ = Differ::new(&renamed, to);
    differ.version = server_version;
    differ.run();
    // check_function_bodies off, as pg_dump does: function bodies may name objects that later
    // steps create.
    steps.extend(differ.steps);
    let steps = order::order(steps).map_err(DiffError::Cycle)?;
    Ok(Plan { steps })
}

/// `from` with `renames` (and the renames they imply) applied, and their steps.
fn renamed<'a>(
    from: &'a Catalog,
    to: &Catalog,
    renames: &[Rename],
) -> Result<(Cow<'a, Catalog>, Vec<Step>), DiffError> {
    let (renamed, mut steps) = rename::apply(Cow::Borrowed(from), renames)?;
    let implied = rename::implied(&renamed, to);
    let (renamed, implied_steps) = rename::apply(renamed, &implied)?;
    steps.extend(implied_steps);
    Ok((renamed, steps))
}

/// Objects that are dropped and created again rather than altered in place.
#[derive(Debug, Default)]
struct Recreated {
    views: BTreeSet<QualName>,
    functions: BTreeSet<FunctionKey>,
    /// (table, constraint name)
    constraints: BTreeSet<(QualName, String)>,
    /// (table, index name)
    indexes: BTreeSet<(QualName, String)>,
    /// (table, trigger name)
    triggers: BTreeSet<(QualName, String)>,
    /// (table, policy name)
    policies: BTreeSet<(QualName, String)>,
    /// (table, column): defaults dropped first and set again (they call a re-created function).
    defaults: BTreeSet<(QualName, String)>,
    /// (table or view, rule name)
    rules: BTreeSet<(QualName, String)>,
}

pub(crate) struct Differ<'a> {
    from: &'a Catalog,
    to: &'a Catalog,
    steps: Vec<Step>,
    recreated: Recreated,
    /// Tables whose columns change type or disappear: what reads them is re-created.
    reshaped: BTreeSet<QualName>,
    /// Columns converted to a re-created type (with their defaults) by the type's steps.
    retyped_columns: BTreeSet<(QualName, String)>,
    /// Collations whose definition changes: renamed away, created anew, their columns
    /// converted, the old one dropped.
    recollated: BTreeSet<QualName>,
    /// The server's `server_version_num` (0: unknown, forms every version takes).
    version: u32,
    /// What the plan re-creates or removes, once [`Differ::find_recreated`] settled it.
    gone: BTreeSet<ObjectRef>,
}

impl<'a> Differ<'a> {
    fn new(from: &'a Catalog, to: &'a Catalog) -> Self {
        Differ {
            from,
            to,
            steps: Vec::new(),
            recreated: Recreated::default(),
            reshaped: BTreeSet::new(),
            retyped_columns: BTreeSet::new(),
            recollated: BTreeSet::new(),
            version: 0,
            gone: BTreeSet::new(),
        }
    }

    fn push(&mut self, step: Step) {
        self.steps.push(step);
    }

    fn run(&mut self) {
        self.find_recreated();
        // Emission order is the tie-break of the ordering: read top to bottom, a plan first drops
        // what is re-created, then creates and alters outward from schemas to views, then drops
        // what is gone.
        self.drop_recreated();
        self.schemas_and_extensions();
        self.foreign_data();
        self.collations();
        self.types();
        self.sequences();
        self.functions();
        self.operators();
        self.tables();
        self.views();
        self.statistics();
        self.casts();
        self.default_privileges();
        self.drop_removed();
        self.break_drop_cycles();
    }

    /// Decides what is re-created, then spreads re-creation to dependents until nothing changes.
    fn find_recreated(&mut self) {
        self.recollated = self
            .from
            .collations
            .iter()
            .filter(|(n, c)| {
                self.to
                    .collations
                    .get(*n)
                    .is_some_and(|new| !c.same_definition(new))
            })
            .map(|(n, _)| n.clone())
            .collect();
        self.reshaped = tables::reshaped_tables(self.from, self.to);
        // Tables with columns of a collation that is made anew: their columns are converted.
        for (name, table) in &self.from.tables {
            if self.to.tables.contains_key(name)
                && table
                    .columns
                    .iter()
                    .any(|c| self.uses_recollated(c.collation.as_ref()))
            {
                self.reshaped.insert(name.clone());
            }
        }
        let mut changed = true;
        let mut first = true;
        while changed {
            changed = false;
            // Objects whose own definition needs a re-creation.
            if first {
                objects::own_recreations(self);
                tables::own_recreations(self);
                first = false;
            }
            // What depends on a re-created, reshaped or removed object is re-created too.
            let gone = self.gone_objects();
            changed |= objects::spread(self, &gone);
            changed |= tables::spread(self, &gone);
        }
        self.gone = self.gone_objects();
    }

    /// Objects that are re-created, removed or reshaped: their dependents cannot stay as they are.
    pub(super) fn gone_objects(&self) -> BTreeSet<ObjectRef> {
        let mut gone = BTreeSet::new();
        for name in &self.recreated.views {
            gone.insert(deps::relation(name));
        }
        for key in &self.recreated.functions {
            gone.insert(ObjectRef::Function { key: key.clone() });
        }
        for (table, name) in &self.recreated.constraints {
            gone.insert(ObjectRef::Constraint {
                table: table.clone(),
                name: name.clone(),
            });
        }
        for table in &self.reshaped {
            gone.insert(deps::shape(table));
        }
        for name in &self.recollated {
            gone.insert(deps::collation(name));
        }
        for (signature, operator) in &self.from.operators {
            if self
                .to
                .operators
                .get(signature)
                .is_none_or(|new| !new.same_definition(operator))
            {
                gone.insert(ObjectRef::Operator {
                    schema: operator.schema.clone(),
                    signature: signature.clone(),
                });
            }
        }
        for name in self
            .from
            .views
            .keys()
            .filter(|n| !self.to.views.contains_key(n))
        {
            gone.insert(deps::relation(name));
        }
        for key in self
            .from
            .functions
            .keys()
            .filter(|k| !self.to.functions.contains_key(k))
        {
            gone.insert(ObjectRef::Function { key: key.clone() });
        }
        for name in self
            .from
            .tables
            .keys()
            .filter(|n| !self.to.tables.contains_key(n))
        {
            gone.insert(deps::relation(name));
            gone.insert(deps::shape(name));
        }
        for name in self.from.types.keys() {
            if self
                .to
                .types
                .get(name)
                .is_none_or(|t| objects::type_is_recreated(self.from.types.get(name), Some(t)))
            {
                gone.insert(deps::relation(name));
            }
        }
        gone
    }

    fn drop_recreated(&mut self) {
        objects::drop_recreated(self);
        tables::drop_recreated(self);
    }

    fn drop_removed(&mut self) {
        objects::drop_removed_views(self);
        tables::drop_removed(self);
        objects::drop_removed(self);
    }

    /// Whether a `COLLATE` name refers to a collation that is made anew.
    fn uses_recollated(&self, collation: Option<&String>) -> bool {
        crate::refs::collation_refs(self.from, collation)
            .iter()
            .any(|r| matches!(r, ObjectRef::Collation { name } if self.recollated.contains(name)))
    }

    fn is_view_recreated(&self, name: &QualName) -> bool {
        self.recreated.views.contains(name)
    }

    fn view_kind_word(kind: &ViewKind) -> &'static str {
        match kind {
            ViewKind::View => "VIEW",
            ViewKind::Materialized => "MATERIALIZED VIEW",
        }
    }
}
