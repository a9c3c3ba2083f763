//! What generated table types implement, so that a data migration's
//! [`Context`](crate::data::Context) writes them with checked column names and types.
//!
//! `strata codegen` (and `generate`, `push`) writes the file named by `[codegen] rust` in
//! `strata.toml` from the declared schema: per PostgreSQL schema a module, per table a row type
//! (implementing [`Table`]) and an insert type `New…` (implementing [`Insert`]), typed
//! [`Column`] constants and [`Key`] constants. A column renamed or retyped in the declared
//! schema makes the migrations that use it fail to compile. The mapping of PostgreSQL types to
//! Rust is documented in `strata_core::codegen`; types without a native mapping are `String`,
//! sent as text and cast by PostgreSQL.
//!
//! ```text
//! use crate::schema::questions::{Batteries, NewBatteries};
//!
//! let id: i32 = cx
//!     .insert_returning(&NewBatteries { id: None, name: "demographics".into(), prefix: "DEM".into() }, Batteries::ID)
//!     .await?;
//! cx.update_by(Batteries::NAME, &"demographics".to_owned(), &[Batteries::PREFIX.set("dem".to_owned())]).await?;
//! cx.delete_by(Batteries::ID, &id).await?;
//! ```

// Why no query builder (sea-query with its postgres binder was weighed): the statements these
// operations need are five fixed shapes (multi-row INSERT with DEFAULT, ON CONFLICT ON
// CONSTRAINT, UPDATE/DELETE by one column, binary COPY through a staging table), and the type
// checking comes from the generated types, not from a builder. sea-query would add two crates
// and its own value enum between our types and tokio-postgres' ToSql, and it has no COPY.

use std::marker::PhantomData;

use tokio_postgres::types::ToSql;

// The generated code names these through strata, so a project needs no dependency of its own.
pub use chrono;
pub use serde;
pub use serde_json;
pub use uuid;

/// A column as the generated code describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColumnDef {
    /// Its name.
    pub name: &'static str,
    /// Its type, as PostgreSQL prints it (`character varying(20)`, `questions.status[]`).
    pub sql_type: &'static str,
    /// The type its Rust value is sent as when it is not the column's own: a domain's base type,
    /// or `text` for types without a native mapping. PostgreSQL casts it to the column's type.
    pub sent_as: Option<&'static str>,
}

impl ColumnDef {
    /// A column description.
    pub const fn new(
        name: &'static str,
        sql_type: &'static str,
        sent_as: Option<&'static str>,
    ) -> Self {
        ColumnDef {
            name,
            sql_type,
            sent_as,
        }
    }

    /// The SQL for parameter `$n` of this column, with the casts `sent_as` needs.
    pub(crate) fn param(&self, n: usize) -> String {
        match self.sent_as {
            Some(sent_as) => format!("${n}::{sent_as}::{}", self.sql_type),
            None => format!("${n}"),
        }
    }
}

/// A table's row type.
pub trait Table {
    /// The table's qualified name, quoted for SQL (`"questions"."batteries"`).
    const QUALIFIED_NAME: &'static str;
    /// Every column, in order.
    const COLUMNS: &'static [ColumnDef];
}

/// A row to insert: the columns that can be written, with `Value::Default` where the column's
/// default is wanted.
pub trait Insert: Sync {
    /// The table it goes into.
    type Table: Table;
    /// The columns it writes, in the order of [`Insert::values`].
    const COLUMNS: &'static [ColumnDef];
    /// A value per column of [`Insert::COLUMNS`].
    fn values(&self) -> Vec<Value<'_>>;
}

/// One value of an inserted row.
#[derive(Clone, Copy)]
pub enum Value<'a> {
    /// The column's default (`DEFAULT`).
    Default,
    /// A value.
    Param(&'a (dyn ToSql + Sync)),
}

impl<'a> Value<'a> {
    /// `None` is the column's default, `Some(v)` the value.
    pub fn or_default<T: ToSql + Sync>(value: &'a Option<T>) -> Value<'a> {
        match value {
            None => Value::Default,
            Some(v) => Value::Param(v),
        }
    }
}

/// A typed column of table `T` holding values of type `V`.
pub struct Column<T, V> {
    /// Its name.
    pub name: &'static str,
    marker: PhantomData<fn() -> (T, V)>,
}

impl<T, V> Column<T, V> {
    /// The column named `name`.
    pub const fn new(name: &'static str) -> Self {
        Column {
            name,
            marker: PhantomData,
        }
    }

    /// An assignment `column = value` for [`Context::update_by`](crate::data::Context::update_by).
    pub fn set(self, value: V) -> Set<T>
    where
        V: ToSql + Sync + Send + 'static,
    {
        Set {
            column: self.name,
            value: Box::new(value),
            marker: PhantomData,
        }
    }
}

impl<T, V> Clone for Column<T, V> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T, V> Copy for Column<T, V> {}

impl<T, V> std::fmt::Debug for Column<T, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Column").field(&self.name).finish()
    }
}

/// An assignment of [`Column::set`].
pub struct Set<T> {
    pub(crate) column: &'static str,
    pub(crate) value: Box<dyn ToSql + Sync + Send>,
    marker: PhantomData<fn() -> T>,
}

/// A primary key or unique constraint of table `T`, by name: the conflict target of
/// [`Context::upsert_rows`](crate::data::Context::upsert_rows).
pub struct Key<T> {
    /// The constraint's name.
    pub name: &'static str,
    marker: PhantomData<fn() -> T>,
}

impl<T> Key<T> {
    /// The constraint `name`.
    pub const fn new(name: &'static str) -> Self {
        Key {
            name,
            marker: PhantomData,
        }
    }
}

impl<T> Clone for Key<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Key<T> {}

/// A Rust enum generated for a PostgreSQL enum: its labels.
pub trait PgEnum: Sized {
    /// The PostgreSQL schema of the enum type.
    const SCHEMA: &'static str;
    /// The enum type's name.
    const NAME: &'static str;
    /// The label of a value.
    fn label(&self) -> &'static str;
    /// The value of a label.
    fn from_label(label: &str) -> Option<Self>;
}

/// Implements `ToSql` and `FromSql` for a [`PgEnum`] (an enum's binary form is its label).
#[macro_export]
macro_rules! pg_enum_sql {
    ($rust:ty) => {
        impl $crate::codegen::postgres_types::ToSql for $rust {
            fn to_sql(
                &self,
                _: &$crate::codegen::postgres_types::Type,
                out: &mut $crate::codegen::BytesMut,
            ) -> ::std::result::Result<
                $crate::codegen::postgres_types::IsNull,
                ::std::boxed::Box<dyn ::std::error::Error + Sync + Send>,
            > {
                out.extend_from_slice(
                    <$rust as $crate::codegen::PgEnum>::label(self).as_bytes(),
                );
                Ok($crate::codegen::postgres_types::IsNull::No)
            }

            fn accepts(ty: &$crate::codegen::postgres_types::Type) -> bool {
                $crate::codegen::is_enum::<$rust>(ty)
            }

            $crate::codegen::postgres_types::to_sql_checked!();
        }

        impl<'a> $crate::codegen::postgres_types::FromSql<'a> for $rust {
            fn from_sql(
                _: &$crate::codegen::postgres_types::Type,
                raw: &'a [u8],
            ) -> ::std::result::Result<
                Self,
                ::std::boxed::Box<dyn ::std::error::Error + Sync + Send>,
            > {
                let label = ::std::str::from_utf8(raw)?;
                <$rust as $crate::codegen::PgEnum>::from_label(label)
                    .ok_or_else(|| format!("unknown enum label {label:?}").into())
            }

            fn accepts(ty: &$crate::codegen::postgres_types::Type) -> bool {
                $crate::codegen::is_enum::<$rust>(ty)
            }
        }
    };
}

pub use crate::pg_enum_sql;
#[doc(hidden)]
pub use bytes::BytesMut;
#[doc(hidden)]
pub use tokio_postgres::types as postgres_types;

/// Whether `ty` is the PostgreSQL enum `E` stands for.
#[doc(hidden)]
pub fn is_enum<E: PgEnum>(ty: &tokio_postgres::types::Type) -> bool {
    matches!(ty.kind(), tokio_postgres::types::Kind::Enum(_))
        && ty.schema() == E::SCHEMA
        && ty.name() == E::NAME
}
