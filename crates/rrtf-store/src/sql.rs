//! SQL text for both backends, and a builder for statements whose shape depends on the data
//! (multi-row `VALUES`, `IN` lists).
//!
//! Every query is one text for SQLite and PostgreSQL, run through sqlx's `Any` driver:
//! placeholders are `$1, $2, ...` (SQLite reads `$NNN` as the NNNth argument too), sums are cast
//! to `BIGINT` (PostgreSQL's `sum` of a `bigint` is a `numeric`, which `Any` cannot decode), truth
//! values are selected as `CASE ... THEN 1 ELSE 0 END` (SQLite has no boolean type), and the two
//! SQLite functions the queries use beyond the standard, `strftime(fmt, 'now')` and `instr`, are
//! defined by the PostgreSQL schema (`migrations/postgres/`). sqlx's own `QueryBuilder` writes `?`
//! for `Any`, which PostgreSQL refuses; [`Builder`] writes `$1, $2, ...` for PostgreSQL and `?`
//! for SQLite: a statement shaped by the data binds thousands of values (500 rows of 13), and
//! SQLite looks up a named parameter (`$N`) by a linear scan for each bind, which made a 100K-row
//! import ten times slower (measured: 80% of its time in `sqlite3_bind_parameter_name`).

use std::borrow::Cow;
use std::fmt::Write;

use sqlx::any::AnyArguments;
use sqlx::query::{Query, QueryAs};
use sqlx::{Any, Arguments, AssertSqlSafe, Encode, FromRow, Type};

/// `s` as the store writes it: U+0000 replaced by U+FFFD (the replacement character), on both
/// backends. PostgreSQL's `text` cannot hold U+0000 and refuses the whole statement ("invalid byte
/// sequence for encoding UTF8: 0x00"), while text the store writes comes from models, from what a
/// sample printed and from imported files, any of which may hold one: a sample that printed a
/// NUL byte stopped every executor of a PostgreSQL project at the same batch. Replacing it on
/// SQLite too keeps the two backends' contents the same. Every text the store writes goes
/// through this: [`Builder`]'s binds, the `COPY` path, and the free-text binds of single-row
/// statements (reasons, details, extracted code); JSON text (review payloads, configs, run
/// summaries) holds U+0000 only escaped, as `\u0000`.
pub(crate) fn storable(s: &str) -> Cow<'_, str> {
    if s.contains('\0') {
        Cow::Owned(s.replace('\0', "\u{FFFD}"))
    } else {
        Cow::Borrowed(s)
    }
}

/// A statement assembled piece by piece, its binds numbered `$1, $2, ...` as they are pushed.
pub(crate) struct Builder {
    /// `$N` (PostgreSQL) or `?` (SQLite).
    numbered: bool,
    sql: String,
    args: AnyArguments,
    binds: usize,
}

impl Builder {
    pub(crate) fn new(backend: crate::Backend, sql: impl Into<String>) -> Builder {
        Builder {
            numbered: backend == crate::Backend::Postgres,
            sql: sql.into(),
            args: AnyArguments::default(),
            binds: 0,
        }
    }

    /// Append SQL text (never a value: values go through [`Builder::push_bind`]).
    pub(crate) fn push(&mut self, sql: impl std::fmt::Display) -> &mut Builder {
        write!(self.sql, "{sql}").expect("writing to a String");
        self
    }

    /// Append the next placeholder and bind `value` to it (text as [`storable`]).
    pub(crate) fn push_bind<T: Bind>(&mut self, value: T) -> &mut Builder {
        self.binds += 1;
        if self.numbered {
            write!(self.sql, "${}", self.binds).expect("writing to a String");
        } else {
            self.sql.push('?');
        }
        value.add_to(&mut self.args);
        self
    }

    /// `VALUES (...), (...)`: `row` pushes one tuple's binds, separated by commas.
    pub(crate) fn push_values<I: IntoIterator>(
        &mut self,
        rows: I,
        mut row: impl FnMut(Separated<'_>, I::Item),
    ) -> &mut Builder {
        self.push("VALUES ");
        for (i, item) in rows.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.push("(");
            row(self.separated(", "), item);
            self.push(")");
        }
        self
    }

    /// Binds separated by `separator` (an `IN (...)` list).
    pub(crate) fn separated(&mut self, separator: &'static str) -> Separated<'_> {
        Separated {
            builder: self,
            separator,
            first: true,
        }
    }

    pub(crate) fn build(self) -> Query<'static, Any, AnyArguments> {
        sqlx::query_with(AssertSqlSafe(self.sql), self.args)
    }

    pub(crate) fn build_query_as<T: for<'r> FromRow<'r, sqlx::any::AnyRow>>(
        self,
    ) -> QueryAs<'static, Any, T, AnyArguments> {
        sqlx::query_as_with(AssertSqlSafe(self.sql), self.args)
    }
}

/// A value [`Builder`] binds: text goes through [`storable`], so no bind of a multi-row statement
/// can carry U+0000 whatever type holds the text.
pub(crate) trait Bind {
    fn add_to(self, args: &mut AnyArguments);
}

/// `Any` encodes by copying the value into its buffer: the store's types (integers, reals,
/// text) cannot fail to encode.
fn add<'t, T: Encode<'t, Any> + Type<Any>>(args: &mut AnyArguments, value: T) {
    args.add(value).expect("encoding a bind for the Any driver");
}

macro_rules! bind_as_is {
    ($($t:ty),*) => {$(
        impl Bind for $t {
            fn add_to(self, args: &mut AnyArguments) {
                add(args, self)
            }
        }
    )*};
}

bind_as_is!(i64, Option<i64>, i32, f64, Option<f64>, bool);

impl Bind for &str {
    fn add_to(self, args: &mut AnyArguments) {
        match storable(self) {
            Cow::Borrowed(s) => add(args, s),
            Cow::Owned(s) => add(args, s),
        }
    }
}

impl Bind for &String {
    fn add_to(self, args: &mut AnyArguments) {
        self.as_str().add_to(args)
    }
}

impl Bind for String {
    fn add_to(self, args: &mut AnyArguments) {
        if self.contains('\0') {
            add(args, storable(&self).into_owned())
        } else {
            add(args, self)
        }
    }
}

impl Bind for Option<&str> {
    fn add_to(self, args: &mut AnyArguments) {
        match self {
            Some(s) => s.add_to(args),
            None => add(args, None::<&str>),
        }
    }
}

impl Bind for Option<String> {
    fn add_to(self, args: &mut AnyArguments) {
        match self {
            Some(s) => s.add_to(args),
            None => add(args, None::<String>),
        }
    }
}

/// See [`Builder::separated`].
pub(crate) struct Separated<'a> {
    builder: &'a mut Builder,
    separator: &'static str,
    first: bool,
}

impl Separated<'_> {
    pub(crate) fn push_bind<T: Bind>(&mut self, value: T) -> &mut Self {
        if !self.first {
            self.builder.push(self.separator);
        }
        self.first = false;
        self.builder.push_bind(value);
        self
    }

    /// Text after the list, without a separator (`")"`).
    pub(crate) fn push_unseparated(&mut self, sql: &str) -> &mut Self {
        self.builder.push(sql);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_in_push_order_for_postgres_and_positional_for_sqlite() {
        let mut q = Builder::new(crate::Backend::Sqlite, "SELECT 1 FROM t WHERE a = ");
        q.push_bind(1_i64).push(" AND b = ").push_bind("x");
        assert_eq!(q.sql, "SELECT 1 FROM t WHERE a = ? AND b = ?");
        let pg = crate::Backend::Postgres;
        let mut b = Builder::new(pg, "SELECT 1 FROM t WHERE a = ");
        b.push_bind(1_i64).push(" AND b IN (");
        let mut sep = b.separated(", ");
        sep.push_bind("x").push_bind("y");
        sep.push_unseparated(")");
        assert_eq!(b.sql, "SELECT 1 FROM t WHERE a = $1 AND b IN ($2, $3)");
        let mut v = Builder::new(pg, "INSERT INTO t (a, b) ");
        v.push_values([(1_i64, "p"), (2, "q")], |mut r, (a, b)| {
            r.push_bind(a).push_bind(b);
        });
        assert_eq!(v.sql, "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4)");
        assert_eq!(v.args.len(), 4);
    }

    #[test]
    fn storable_text_has_no_nul_and_borrows_clean_text() {
        assert_eq!(storable("x\0y\0"), "x\u{FFFD}y\u{FFFD}");
        assert!(matches!(storable("plain"), Cow::Borrowed("plain")));
    }
}
