//! Typed store errors; each message names the bad value and what to do.

use rrtf_types::ReviewAction;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "no rrtf database at {db}: create one with `rrtf init` (or point --db / RRTF_DB at an \
         existing one: a file path, or a postgres:// URL)"
    )]
    Missing { db: String },
    #[error(
        "database {db} has schema version {found}, newer than this rrtf knows (up to {known}): \
         upgrade rrtf to open it, or use another --db"
    )]
    NewerSchema { db: String, found: i64, known: i64 },
    /// `error` is not the error's `source()`: the message carries its text ([`sql_text`]),
    /// and a chain printed cause by cause would repeat it in sqlx's words.
    #[error("cannot open database {db}: {}", open_text(.db, .error))]
    Open { db: String, error: sqlx::Error },
    #[error("cannot migrate database {db}: {source}")]
    Migrate {
        db: String,
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    #[error(
        "model `{name}` is already registered as a {existing}, not a {requested}: \
         use another model name or --role {existing}"
    )]
    RoleConflict {
        name: String,
        existing: String,
        requested: String,
    },
    #[error("unknown ranker `{0}`: list rankers with `rrtf status`, or run `rrtf rank` first")]
    UnknownRanker(String),
    #[error("no rankings in the database: run `rrtf rank` first")]
    NoRankings,
    #[error("no prompt has id or source id `{0}`: list prompts with `rrtf review list`")]
    UnknownPrompt(String),
    #[error(
        "`{0}` names several prompts (source ids repeat across datasets): use the numeric prompt id"
    )]
    AmbiguousPrompt(String),
    #[error("unknown {what} id {id}")]
    UnknownId { what: &'static str, id: i64 },
    /// The review policy requires a reason for this action and none was given.
    #[error(
        "the review policy requires a reason to {action}: pass --reason TEXT, in words (in \
         the web review, fill in the reason field); `rrtf review policy` shows the policy"
    )]
    ReasonRequired { action: ReviewAction },
    /// A value the store refuses to record; the message says why.
    #[error("{0}")]
    Invalid(String),
    /// Not the error's `source()` either (see `Open`).
    #[error("database error: {}", sql_text(.0))]
    Sql(sqlx::Error),
    #[error("corrupt value in column {column}: {value:?}")]
    Corrupt { column: &'static str, value: String },
    /// A stored value this rrtf cannot read (a label outside its vocabulary, written by a newer
    /// rrtf or by hand); `reason` names the value and what was expected.
    #[error(
        "corrupt value in table {table}, column {column}: {reason} \
         (written by a newer rrtf, or edited by hand)"
    )]
    Unreadable {
        table: &'static str,
        column: String,
        reason: String,
    },
}

/// An sqlx error as a user reads it: a server's error is its message with PostgreSQL's detail
/// and hint, without the line of the server's C source that sqlx 0.9 appends ("password
/// authentication failed for user \"x\" at line 334"); every other error as sqlx says it.
pub(crate) fn sql_text(e: &sqlx::Error) -> String {
    let sqlx::Error::Database(d) = e else {
        return e.to_string();
    };
    let mut text = d.message().to_owned();
    if let Some(pg) = d.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
        if let Some(detail) = pg.detail() {
            text.push_str(&format!(" ({detail})"));
        }
        if let Some(hint) = pg.hint() {
            text.push_str(&format!("; hint: {hint}"));
        }
    }
    text
}

/// [`sql_text`], and for a PostgreSQL server that cannot be reached, the hint of what to check.
fn open_text(db: &str, e: &sqlx::Error) -> String {
    let text = sql_text(e);
    if db.starts_with("postgres") && matches!(e, sqlx::Error::Io(_)) {
        format!(
            "{text}\nhint: is a PostgreSQL server running at that host and port, and reachable \
             from here? (`pg_isready -h HOST -p PORT` tells)"
        )
    } else {
        text
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Sql(e)
    }
}

impl StoreError {
    /// Map a query's error: a column that does not decode is [`StoreError::Unreadable`] in
    /// `table`, naming the value; every other error stays [`StoreError::Sql`].
    pub(crate) fn reading(table: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
        move |e| match e {
            sqlx::Error::ColumnDecode { index, source } => StoreError::Unreadable {
                table,
                column: index.trim_matches('"').to_owned(),
                reason: source.to_string(),
            },
            e => StoreError::Sql(e),
        }
    }
}

impl rrtf_types::UserError for StoreError {
    /// True when the error comes from what the user asked for (a path, a name, an id), not from
    /// the database misbehaving.
    fn is_user_error(&self) -> bool {
        matches!(
            self,
            StoreError::Missing { .. }
                | StoreError::NewerSchema { .. }
                | StoreError::RoleConflict { .. }
                | StoreError::UnknownRanker(_)
                | StoreError::NoRankings
                | StoreError::UnknownId { .. }
                | StoreError::ReasonRequired { .. }
                | StoreError::Invalid(_)
                | StoreError::UnknownPrompt(_)
                | StoreError::AmbiguousPrompt(_)
        )
    }
}
