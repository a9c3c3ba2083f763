//! The rows the catalog queries return, and their assembly into a [`Catalog`].

use std::collections::BTreeMap;

use serde::Deserialize;
use strata_core::catalog::{
    Aggregate, Cast, Catalog, Collation, Column, CompositeAttribute, Constraint, ConstraintKind,
    DefaultPrivilege, DomainCheck, Extension, ForeignKey, ForeignTable, Function, FunctionKey,
    FunctionKind, Identity, Index, Partitioning, Policy, Privileges, QualName, Rule, Schema,
    Sequence, SequenceOptions, Server, Statistics, Storage, Table, TableKind, Trigger, TypeDef,
    TypeKind, View, ViewKind, Wrapper,
};

use crate::{Error, Result};

#[derive(Deserialize)]
pub(super) struct SchemaRow {
    name: String,
    comment: Option<String>,
    privileges: Privileges,
}

#[derive(Deserialize)]
pub(super) struct ExtensionRow {
    name: String,
    schema: String,
    version: String,
    comment: Option<String>,
    installed_comment: Option<String>,
    member_privileges: BTreeMap<String, Privileges>,
}

#[derive(Deserialize)]
struct NameRef {
    schema: String,
    name: String,
}

#[derive(Deserialize)]
pub(super) struct RelationRow {
    schema: String,
    name: String,
    relkind: String,
    unlogged: bool,
    rls_enabled: bool,
    rls_forced: bool,
    options: Vec<String>,
    partition_key: Option<String>,
    partition_bound: Option<String>,
    parents: Vec<NameRef>,
    is_partition: bool,
    partition_not_null: Option<BTreeMap<String, Option<String>>>,
    view_definition: Option<String>,
    foreign: Option<ForeignTable>,
    comment: Option<String>,
    privileges: Privileges,
}

#[derive(Deserialize)]
pub(super) struct ColumnRow {
    schema: String,
    relation: String,
    name: String,
    data_type: String,
    collation: Option<String>,
    not_null: bool,
    not_null_name: Option<String>,
    not_null_name_shared: bool,
    default: Option<String>,
    generated: Option<String>,
    generated_virtual: bool,
    inherited: bool,
    identity: Option<String>,
    identity_sequence: Option<IdentitySequenceRow>,
    options: Vec<String>,
    foreign_options: Vec<String>,
    storage: Option<Storage>,
    compression: Option<String>,
    statistics: Option<i32>,
    comment: Option<String>,
    privileges: Privileges,
}

#[derive(Deserialize)]
struct IdentitySequenceRow {
    #[serde(flatten)]
    options: SequenceOptions,
    schema: String,
    name: String,
    comment: Option<String>,
    privileges: Privileges,
}

#[derive(Deserialize)]
struct ForeignKeyRow {
    schema: String,
    table: String,
    columns: Vec<String>,
    on_update: String,
    on_delete: String,
    #[serde(rename = "match")]
    match_type: String,
}

#[derive(Deserialize)]
pub(super) struct ConstraintRow {
    schema: String,
    relation: String,
    name: String,
    kind: String,
    definition: String,
    columns: Vec<String>,
    foreign_key: Option<ForeignKeyRow>,
    validated: bool,
    deferrable: bool,
    initially_deferred: bool,
    index: Option<String>,
    comment: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct IndexRow {
    schema: String,
    relation: String,
    name: String,
    definition: String,
    method: String,
    unique: bool,
    primary: bool,
    nulls_not_distinct: bool,
    keys: Vec<String>,
    include: Vec<String>,
    predicate: Option<String>,
    constraint: Option<String>,
    valid: bool,
    clustered: bool,
    comment: Option<String>,
    statistics: std::collections::BTreeMap<u16, i32>,
}

#[derive(Deserialize)]
pub(super) struct TriggerRow {
    schema: String,
    relation: String,
    name: String,
    definition: String,
    constraint: bool,
    enabled: String,
    comment: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct PolicyRow {
    schema: String,
    relation: String,
    name: String,
    permissive: bool,
    command: String,
    roles: Vec<String>,
    using: Option<String>,
    with_check: Option<String>,
    comment: Option<String>,
}

#[derive(Deserialize)]
struct OwnerRow {
    schema: String,
    table: String,
    column: String,
}

#[derive(Deserialize)]
pub(super) struct SequenceRow {
    schema: String,
    name: String,
    unlogged: bool,
    options: SequenceOptions,
    owned_by: Option<OwnerRow>,
    comment: Option<String>,
    privileges: Privileges,
}

#[derive(Deserialize)]
struct RangeRow {
    subtype: String,
    subtype_opclass: Option<String>,
    collation: Option<String>,
    canonical: Option<String>,
    subtype_diff: Option<String>,
    multirange: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct TypeRow {
    schema: String,
    name: String,
    kind: String,
    labels: Option<Vec<String>>,
    base: Option<String>,
    collation: Option<String>,
    not_null: bool,
    default: Option<String>,
    checks: Option<BTreeMap<String, DomainCheck>>,
    range: Option<RangeRow>,
    comment: Option<String>,
    privileges: Privileges,
}

#[derive(Deserialize)]
pub(super) struct FunctionRow {
    schema: String,
    name: String,
    identity: String,
    kind: String,
    definition: Option<String>,
    arguments: String,
    result: String,
    language: String,
    input_types: String,
    aggregate: Option<Aggregate>,
    comment: Option<String>,
    privileges: Privileges,
}

#[derive(Deserialize)]
pub(super) struct DefaultPrivilegeRow {
    role: String,
    schema: Option<String>,
    object_type: String,
    privileges: Privileges,
}

#[derive(Deserialize)]
pub(super) struct DependencyRow {
    schema: String,
    relation: String,
    ref_schema: String,
    ref_name: String,
}

#[derive(Deserialize)]
pub(super) struct CollationRow {
    schema: String,
    name: String,
    provider: String,
    lc_collate: Option<String>,
    lc_ctype: Option<String>,
    locale: Option<String>,
    rules: Option<String>,
    deterministic: bool,
    comment: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct StatisticsRow {
    schema: String,
    name: String,
    table_schema: String,
    table_name: String,
    definition: String,
    target: Option<i32>,
    comment: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct RuleRow {
    schema: String,
    relation: String,
    name: String,
    definition: String,
    enabled: String,
    comment: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct NamedWrapper {
    name: String,
    #[serde(flatten)]
    wrapper: Wrapper,
}

#[derive(Deserialize)]
pub(super) struct NamedServer {
    name: String,
    #[serde(flatten)]
    server: Server,
}

/// The kinds read together in one request.
#[derive(Deserialize)]
pub(super) struct ObjectRows {
    wrappers: Vec<NamedWrapper>,
    servers: Vec<NamedServer>,
    casts: Vec<Cast>,
    operators: Vec<strata_core::catalog::Operator>,
    collations: Vec<CollationRow>,
    statistics: Vec<StatisticsRow>,
    rules: Vec<RuleRow>,
}

/// All rows of one introspection.
pub(super) struct Rows {
    pub schemas: Vec<SchemaRow>,
    pub extensions: Vec<ExtensionRow>,
    pub relations: Vec<RelationRow>,
    pub columns: Vec<ColumnRow>,
    pub constraints: Vec<ConstraintRow>,
    pub indexes: Vec<IndexRow>,
    pub triggers: Vec<TriggerRow>,
    pub policies: Vec<PolicyRow>,
    pub sequences: Vec<SequenceRow>,
    pub types: Vec<TypeRow>,
    pub functions: Vec<FunctionRow>,
    pub default_privileges: Vec<DefaultPrivilegeRow>,
    pub dependencies: Vec<DependencyRow>,
    pub objects: ObjectRows,
}

fn unexpected(what: &str, name: &QualName) -> Error {
    Error::Invalid(format!(
        "catalog rows are inconsistent: {what} of {name}, which was not read"
    ))
}

fn fk_action(code: &str) -> String {
    match code {
        "r" => "RESTRICT",
        "c" => "CASCADE",
        "n" => "SET NULL",
        "d" => "SET DEFAULT",
        _ => "NO ACTION",
    }
    .to_owned()
}

fn sorted(mut privileges: Privileges) -> Privileges {
    privileges.granted.sort();
    privileges.revoked.sort();
    privileges
}

impl Rows {
    pub(super) fn into_catalog(self) -> Result<Catalog> {
        let mut catalog = Catalog::default();
        for row in self.schemas {
            catalog.schemas.insert(
                row.name,
                Schema {
                    comment: row.comment,
                    privileges: sorted(row.privileges),
                },
            );
        }
        for row in self.extensions {
            catalog.extensions.insert(
                row.name,
                Extension {
                    schema: row.schema,
                    version: row.version,
                    comment: row.comment,
                    installed_comment: row.installed_comment,
                    member_privileges: row
                        .member_privileges
                        .into_iter()
                        .map(|(target, p)| (target, sorted(p)))
                        .filter(|(_, p)| !p.is_default())
                        .collect(),
                },
            );
        }

        for row in self.relations {
            let name = QualName::new(row.schema, row.name);
            let mut options = row.options;
            options.sort();
            match row.relkind.as_str() {
                "r" | "p" | "f" => {
                    let inherits = row
                        .parents
                        .into_iter()
                        .map(|p| QualName::new(p.schema, p.name));
                    let (partition_of, inherits) = if row.is_partition {
                        let parent = inherits
                            .into_iter()
                            .next()
                            .ok_or_else(|| unexpected("partition without parent", &name))?;
                        (
                            Some(Partitioning {
                                parent,
                                bound: row.partition_bound.unwrap_or_default(),
                                not_null: row.partition_not_null.unwrap_or_default(),
                            }),
                            Vec::new(),
                        )
                    } else {
                        (None, inherits.collect())
                    };
                    let table = Table {
                        kind: match row.relkind.as_str() {
                            "p" => TableKind::Partitioned,
                            "f" => TableKind::Foreign,
                            _ => TableKind::Ordinary,
                        },
                        foreign: row.foreign.map(|mut f| {
                            f.options.sort();
                            f
                        }),
                        unlogged: row.unlogged,
                        partition_key: row.partition_key,
                        partition_of,
                        inherits,
                        rls_enabled: row.rls_enabled,
                        rls_forced: row.rls_forced,
                        options,
                        comment: row.comment,
                        privileges: sorted(row.privileges),
                        ..Table::default()
                    };
                    catalog.tables.insert(name, table);
                }
                _ => {
                    let view = View {
                        kind: if row.relkind == "m" {
                            ViewKind::Materialized
                        } else {
                            ViewKind::View
                        },
                        definition: row.view_definition.unwrap_or_default(),
                        columns: Vec::new(),
                        options,
                        indexes: BTreeMap::new(),
                        triggers: BTreeMap::new(),
                        rules: BTreeMap::new(),
                        depends_on: Vec::new(),
                        comment: row.comment,
                        privileges: sorted(row.privileges),
                    };
                    catalog.views.insert(name, view);
                }
            }
        }

        // Types before columns: composite types take their attributes from the columns rows.
        for row in self.types {
            let name = QualName::new(row.schema, row.name);
            let kind = match row.kind.as_str() {
                "e" => TypeKind::Enum {
                    labels: row.labels.unwrap_or_default(),
                },
                "d" => TypeKind::Domain {
                    base: row.base.unwrap_or_default(),
                    collation: row.collation,
                    not_null: row.not_null,
                    default: row.default,
                    checks: row.checks.unwrap_or_default(),
                },
                "c" => TypeKind::Composite {
                    attributes: Vec::new(),
                },
                _ => {
                    let range = row
                        .range
                        .ok_or_else(|| unexpected("range without pg_range row", &name))?;
                    TypeKind::Range {
                        subtype: range.subtype,
                        subtype_opclass: range.subtype_opclass,
                        collation: range.collation,
                        canonical: range.canonical,
                        subtype_diff: range.subtype_diff,
                        multirange: range.multirange,
                    }
                }
            };
            catalog.types.insert(
                name,
                TypeDef {
                    kind,
                    comment: row.comment,
                    privileges: sorted(row.privileges),
                },
            );
        }

        for row in self.columns {
            let relation = QualName::new(row.schema, row.relation);
            let identity = match (row.identity.as_deref(), row.identity_sequence) {
                (Some(kind), Some(sequence)) => Some(Identity {
                    always: kind == "a",
                    sequence: sequence.options,
                    sequence_name: QualName::new(sequence.schema, sequence.name),
                    comment: sequence.comment,
                    privileges: sorted(sequence.privileges),
                }),
                _ => None,
            };
            let column = Column {
                name: row.name,
                data_type: row.data_type,
                collation: row.collation,
                not_null: row.not_null,
                not_null_name: row.not_null_name,
                not_null_name_shared: row.not_null_name_shared,
                default: row.default,
                identity,
                generated: row.generated,
                generated_virtual: row.generated_virtual,
                inherited: row.inherited,
                options: {
                    let mut options = row.options;
                    options.sort();
                    options
                },
                foreign_options: {
                    let mut options = row.foreign_options;
                    options.sort();
                    options
                },
                storage: row.storage,
                compression: row.compression,
                statistics: row.statistics,
                comment: row.comment,
                privileges: sorted(row.privileges),
            };
            if let Some(table) = catalog.tables.get_mut(&relation) {
                table.columns.push(column);
            } else if let Some(view) = catalog.views.get_mut(&relation) {
                view.columns.push(column);
            } else if let Some(TypeDef {
                kind: TypeKind::Composite { attributes },
                ..
            }) = catalog.types.get_mut(&relation)
            {
                attributes.push(CompositeAttribute {
                    name: column.name,
                    data_type: column.data_type,
                    collation: column.collation,
                    comment: column.comment,
                });
            }
            // Otherwise the relation is an extension member or a partition: not ours to model.
        }

        for row in self.constraints {
            let relation = QualName::new(row.schema, row.relation);
            let table = catalog
                .tables
                .get_mut(&relation)
                .ok_or_else(|| unexpected("constraint", &relation))?;
            let kind = match row.kind.as_str() {
                "p" => ConstraintKind::PrimaryKey,
                "u" => ConstraintKind::Unique,
                "f" => ConstraintKind::ForeignKey,
                "c" => ConstraintKind::Check,
                _ => ConstraintKind::Exclusion,
            };
            let foreign_key = row.foreign_key.map(|fk| ForeignKey {
                table: QualName::new(fk.schema, fk.table),
                columns: fk.columns,
                on_update: fk_action(&fk.on_update),
                on_delete: fk_action(&fk.on_delete),
                match_type: match fk.match_type.as_str() {
                    "f" => "FULL",
                    "p" => "PARTIAL",
                    _ => "SIMPLE",
                }
                .to_owned(),
            });
            table.constraints.insert(
                row.name,
                Constraint {
                    kind,
                    definition: row.definition,
                    columns: row.columns,
                    foreign_key,
                    validated: row.validated,
                    deferrable: row.deferrable,
                    initially_deferred: row.initially_deferred,
                    index: row.index,
                    comment: row.comment,
                },
            );
        }

        for row in self.indexes {
            let relation = QualName::new(row.schema, row.relation);
            let index = Index {
                definition: row.definition,
                method: row.method,
                unique: row.unique,
                primary: row.primary,
                nulls_not_distinct: row.nulls_not_distinct,
                keys: row.keys,
                include: row.include,
                predicate: row.predicate,
                constraint: row.constraint,
                valid: row.valid,
                clustered: row.clustered,
                comment: row.comment,
                statistics: row.statistics,
            };
            if let Some(table) = catalog.tables.get_mut(&relation) {
                table.indexes.insert(row.name, index);
            } else if let Some(view) = catalog.views.get_mut(&relation) {
                view.indexes.insert(row.name, index);
            } else {
                return Err(unexpected("index", &relation));
            }
        }

        for row in self.triggers {
            let relation = QualName::new(row.schema, row.relation);
            let trigger = Trigger {
                definition: row.definition,
                constraint: row.constraint,
                enabled: row.enabled,
                comment: row.comment,
            };
            if let Some(table) = catalog.tables.get_mut(&relation) {
                table.triggers.insert(row.name, trigger);
            } else if let Some(view) = catalog.views.get_mut(&relation) {
                view.triggers.insert(row.name, trigger);
            }
            // Otherwise a trigger of a relation that is not modelled (a foreign table): the
            // census reports the relation.
        }

        for row in self.policies {
            let relation = QualName::new(row.schema, row.relation);
            let Some(table) = catalog.tables.get_mut(&relation) else {
                continue;
            };
            let command = match row.command.as_str() {
                "r" => "SELECT",
                "a" => "INSERT",
                "w" => "UPDATE",
                "d" => "DELETE",
                _ => "ALL",
            };
            table.policies.insert(
                row.name,
                Policy {
                    permissive: row.permissive,
                    command: command.to_owned(),
                    roles: row.roles,
                    using: row.using,
                    with_check: row.with_check,
                    comment: row.comment,
                },
            );
        }

        for row in self.sequences {
            let owned_by = row
                .owned_by
                .map(|o| (QualName::new(o.schema, o.table), o.column));
            catalog.sequences.insert(
                QualName::new(row.schema, row.name),
                Sequence {
                    options: row.options,
                    unlogged: row.unlogged,
                    owned_by,
                    comment: row.comment,
                    privileges: sorted(row.privileges),
                },
            );
        }

        for row in self.functions {
            let kind = match row.kind.as_str() {
                "p" => FunctionKind::Procedure,
                "a" => FunctionKind::Aggregate,
                "w" => FunctionKind::Window,
                _ => FunctionKind::Function,
            };
            catalog.functions.insert(
                FunctionKey {
                    name: QualName::new(row.schema, row.name),
                    arguments: row.identity,
                },
                Function {
                    kind,
                    definition: row.definition.unwrap_or_default(),
                    arguments: row.arguments,
                    result: row.result,
                    input_types: row.input_types,
                    language: row.language,
                    aggregate: row.aggregate,
                    comment: row.comment,
                    privileges: sorted(row.privileges),
                },
            );
        }

        for row in self.default_privileges {
            let object_type = match row.object_type.as_str() {
                "S" => "SEQUENCES",
                "f" => "FUNCTIONS",
                "T" => "TYPES",
                "n" => "SCHEMAS",
                _ => "TABLES",
            };
            catalog.default_privileges.push(DefaultPrivilege {
                role: row.role,
                schema: row.schema,
                object_type: object_type.to_owned(),
                privileges: sorted(row.privileges),
            });
        }
        catalog.default_privileges.sort_by(|a, b| {
            (&a.role, &a.schema, &a.object_type).cmp(&(&b.role, &b.schema, &b.object_type))
        });

        for row in self.objects.collations {
            // Before PostgreSQL 15 an ICU collation keeps its locale in collcollate.
            let icu_locale = row.provider == "icu" && row.locale.is_none();
            let (locale, lc_collate, lc_ctype) = if icu_locale {
                (row.lc_collate, None, None)
            } else if row.provider == "libc" {
                (None, row.lc_collate, row.lc_ctype)
            } else {
                (row.locale, None, None)
            };
            catalog.collations.insert(
                QualName::new(row.schema, row.name),
                Collation {
                    provider: row.provider,
                    lc_collate,
                    lc_ctype,
                    locale,
                    rules: row.rules,
                    deterministic: row.deterministic,
                    comment: row.comment,
                },
            );
        }

        for row in self.objects.statistics {
            catalog.statistics.insert(
                QualName::new(row.schema, row.name),
                Statistics {
                    table: QualName::new(row.table_schema, row.table_name),
                    definition: row.definition,
                    target: row.target,
                    comment: row.comment,
                },
            );
        }

        for row in self.objects.rules {
            let relation = QualName::new(row.schema, row.relation);
            let rule = Rule {
                definition: row.definition,
                enabled: row.enabled,
                comment: row.comment,
            };
            if let Some(table) = catalog.tables.get_mut(&relation) {
                table.rules.insert(row.name, rule);
            } else if let Some(view) = catalog.views.get_mut(&relation) {
                view.rules.insert(row.name, rule);
            }
            // Otherwise a rule of a relation that is not modelled: the census reports that.
        }

        // Options of foreign objects are compared as sets: PostgreSQL keeps them in the order
        // they were added, which a plan's OPTIONS (ADD …) changes.
        for row in self.objects.wrappers {
            let mut wrapper = row.wrapper;
            wrapper.privileges = sorted(wrapper.privileges);
            wrapper.options.sort();
            catalog.wrappers.insert(row.name, wrapper);
        }
        for row in self.objects.servers {
            let mut server = row.server;
            server.privileges = sorted(server.privileges);
            server.options.sort();
            for options in server.user_mappings.values_mut() {
                options.sort();
            }
            catalog.servers.insert(row.name, server);
        }
        for cast in self.objects.casts {
            catalog.casts.insert(cast.name(), cast);
        }
        for operator in self.objects.operators {
            catalog.operators.insert(operator.signature(), operator);
        }

        for row in self.dependencies {
            if let Some(view) = catalog
                .views
                .get_mut(&QualName::new(row.schema, row.relation))
            {
                view.depends_on
                    .push(QualName::new(row.ref_schema, row.ref_name));
            }
        }
        for view in catalog.views.values_mut() {
            view.depends_on.sort();
            view.depends_on.dedup();
        }
        Ok(catalog)
    }
}
