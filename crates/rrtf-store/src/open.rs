//! Opening, creating and migrating the database: a SQLite file (the default) or a PostgreSQL
//! database (`postgres://...`), both through sqlx's `Any` driver so the rest of the store is one
//! typed API with one SQL text per query (`sql.rs` says what that text may use).

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{AnyPool, Executor};

use crate::{Result, StoreError};

/// How long opening a PostgreSQL database waits for the server to answer.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

static SQLITE_MIGRATOR: Migrator = sqlx::migrate!("../../migrations");
static POSTGRES_MIGRATOR: Migrator = sqlx::migrate!("../../migrations/postgres");

/// Which engine holds the project.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend a connection talks to.
    pub fn of(conn: &sqlx::AnyConnection) -> Backend {
        if conn.backend_name() == <sqlx::Postgres as sqlx::Database>::NAME {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }

    fn migrator(self) -> &'static Migrator {
        match self {
            Backend::Sqlite => &SQLITE_MIGRATOR,
            Backend::Postgres => &POSTGRES_MIGRATOR,
        }
    }
}

/// Where the project database is: `--db` / `RRTF_DB` is a file path (or `sqlite:PATH`) for
/// SQLite, a `postgres://` or `postgresql://` URL for PostgreSQL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Location {
    pub fn parse(db: &Path) -> Location {
        match db.to_str() {
            Some(s) if s.starts_with("postgres://") || s.starts_with("postgresql://") => {
                Location::Postgres(s.to_owned())
            }
            Some(s) if s.starts_with("sqlite:") => Location::Sqlite(PathBuf::from(
                s.trim_start_matches("sqlite:").trim_start_matches("//"),
            )),
            _ => Location::Sqlite(db.to_owned()),
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Location::Sqlite(_) => Backend::Sqlite,
            Location::Postgres(_) => Backend::Postgres,
        }
    }

    /// For messages: the file path, or the URL without its password.
    pub fn display(&self) -> String {
        match self {
            Location::Sqlite(p) => p.display().to_string(),
            Location::Postgres(url) => redact(url),
        }
    }
}

/// A SQLite `--db` that cannot be one, said before SQLite's own "(code: 14) unable to open
/// database file": a URL of another kind (`mysql://...` would be taken for a file name), or a
/// file in a directory that does not exist.
fn usable_path(path: &Path) -> Result<()> {
    let text = path.to_string_lossy();
    if let Some((scheme, _)) = text.split_once("://") {
        return Err(StoreError::Invalid(format!(
            "--db {}: rrtf cannot use a `{scheme}://` database: give a SQLite file path (or \
             sqlite:PATH) or a postgres:// URL",
            redact(&text)
        )));
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(StoreError::Invalid(format!(
            "--db {}: the directory {} does not exist: create it first (mkdir -p {}) or pick \
             another path",
            path.display(),
            dir.display(),
            dir.display()
        )));
    }
    if path.is_dir() {
        return Err(StoreError::Invalid(format!(
            "--db {} is a directory: name the database file in it (e.g. {})",
            path.display(),
            path.join("rrtf.db").display()
        )));
    }
    Ok(())
}

/// A PostgreSQL URL with its password (if any) replaced by `***`.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, tail) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// A handle on the project database. Cheap to clone (a connection pool).
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) pool: AnyPool,
    location: Location,
    /// PostgreSQL only: a pool of native connections, opened on first use, for what sqlx's
    /// `Any` driver cannot do (`COPY`: the prompt writer's bulk path).
    native: Arc<tokio::sync::OnceCell<sqlx::PgPool>>,
    /// The database had no schema when this handle opened it (`rrtf init` created it).
    created: bool,
}

impl Store {
    /// Create the database if it does not exist (a SQLite file; a PostgreSQL database, when the
    /// role may create one), then migrate it to the newest schema.
    pub async fn create(db: &Path) -> Result<Store> {
        Self::connect(Location::parse(db), true).await
    }

    /// Open an existing database and migrate it forward. A missing file (or a PostgreSQL
    /// database without rrtf's schema) is an error that says how to create one; a database
    /// written by a newer schema is refused.
    pub async fn open(db: &Path) -> Result<Store> {
        let location = Location::parse(db);
        if let Location::Sqlite(path) = &location {
            usable_path(path)?;
            if !path.exists() {
                return Err(StoreError::Missing {
                    db: location.display(),
                });
            }
        }
        Self::connect(location, false).await
    }

    async fn connect(location: Location, create: bool) -> Result<Store> {
        if let Location::Sqlite(path) = &location {
            usable_path(path)?;
        }
        sqlx::any::install_default_drivers();
        let open_err = |error| StoreError::Open {
            db: location.display(),
            error,
        };
        let pool = match &location {
            Location::Sqlite(path) => {
                crate::sqlite_config::configure();
                // `Any` connects from a URL: the path goes into one (sqlx percent-decodes it),
                // and the settings a URL cannot carry are set on each new connection.
                let Some(text) = path.to_str() else {
                    return Err(StoreError::Invalid(format!(
                        "database path {} is not UTF-8: rename it or pick another --db",
                        path.display()
                    )));
                };
                let encoded = text
                    .replace('%', "%25")
                    .replace('?', "%3F")
                    .replace('#', "%23");
                let mode = if create { "rwc" } else { "rw" };
                let url = format!("sqlite:{encoded}?mode={mode}");
                debug_assert_eq!(
                    SqliteConnectOptions::from_str(&url)
                        .map(|o| o.get_filename().to_owned())
                        .ok()
                        .as_deref(),
                    Some(path.as_path())
                );
                let options = AnyConnectOptions::from_str(&url).map_err(open_err)?;
                // The busy timeout first: the rest may wait for a lock.
                const SETTINGS: &str = "PRAGMA busy_timeout = 30000; PRAGMA journal_mode = WAL; \
                     PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
                     PRAGMA temp_store = MEMORY; PRAGMA cache_size = -65536;";
                // One connection first: the pool would retry a file that is no database (or a
                // damaged one) until its acquire timeout, 30 s, logging each attempt, and then
                // say only "pool timed out".
                let probe = || async {
                    let mut c =
                        <sqlx::AnyConnection as sqlx::Connection>::connect_with(&options).await?;
                    c.execute(SETTINGS).await?;
                    c.execute("SELECT count(*) FROM sqlite_schema").await?;
                    sqlx::Connection::close(c).await
                };
                // A new file that another process is making a database at the same moment
                // (two `rrtf init`, workers started together): turning it to WAL takes an
                // exclusive lock, which SQLite refuses at once (SQLITE_BUSY, no busy wait)
                // to a connection that holds a shared one. Tried again for up to 10 s.
                let mut result = probe().await;
                for _ in 0..200 {
                    match &result {
                        Err(e) if sqlite_code(e) == Some(5) => {
                            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                            result = probe().await;
                        }
                        _ => break,
                    }
                }
                if let Err(e) = result {
                    // SQLITE_CORRUPT (11) and SQLITE_NOTADB (26), extended codes included.
                    if let Some(code @ (11 | 26)) = sqlite_code(&e) {
                        return Err(StoreError::Invalid(format!(
                            "{} is {}: pick another --db, or make a new project with `rrtf init`",
                            path.display(),
                            if code == 26 {
                                "not an SQLite database"
                            } else {
                                "a damaged SQLite database"
                            }
                        )));
                    }
                    return Err(open_err(e));
                }
                without_reaper(AnyPoolOptions::new())
                    .max_connections(4)
                    .after_connect(|conn, _meta| {
                        Box::pin(async move {
                            conn.execute(SETTINGS).await?;
                            Ok(())
                        })
                    })
                    .connect_with(options)
                    .await
                    .map_err(open_err)?
            }
            Location::Postgres(url) => {
                use sqlx::migrate::MigrateDatabase;
                if create && !sqlx::Any::database_exists(url).await.map_err(open_err)? {
                    sqlx::Any::create_database(url).await.map_err(open_err)?;
                }
                let options = AnyConnectOptions::from_str(url).map_err(open_err)?;
                let missing = |e: &sqlx::Error| {
                    // 3D000 invalid_catalog_name: no such database (yet).
                    matches!(e, sqlx::Error::Database(d) if d.code().as_deref() == Some("3D000"))
                };
                // The pool retries a connection the server refuses (or a host that does not
                // answer) until its acquire timeout, 30 s, and then says only "pool timed out":
                // one connection first gives the real error (refused, unknown host, wrong
                // password) at once.
                match tokio::time::timeout(
                    CONNECT_TIMEOUT,
                    <sqlx::AnyConnection as sqlx::Connection>::connect_with(&options),
                )
                .await
                {
                    Ok(Ok(probe)) => {
                        let _ = sqlx::Connection::close(probe).await;
                    }
                    Ok(Err(e)) if missing(&e) => {
                        return Err(StoreError::Missing {
                            db: location.display(),
                        });
                    }
                    Ok(Err(e)) => return Err(open_err(e)),
                    Err(_) => {
                        // Like a refused connection: an I/O error of opening (exit 1, the hint
                        // of what to check).
                        return Err(open_err(sqlx::Error::Io(std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            format!(
                                "no answer from the server in {} s",
                                CONNECT_TIMEOUT.as_secs()
                            ),
                        ))));
                    }
                }
                match without_reaper(AnyPoolOptions::new())
                    .max_connections(8)
                    .connect_with(options)
                    .await
                {
                    Ok(pool) => pool,
                    Err(e) if missing(&e) => {
                        return Err(StoreError::Missing {
                            db: location.display(),
                        });
                    }
                    Err(e) => return Err(open_err(e)),
                }
            }
        };
        let mut store = Store {
            pool,
            location,
            native: Arc::default(),
            created: false,
        };
        let found = store.schema_version().await?;
        store.created = found == 0;
        // Opening (not `rrtf init`) a file or database without rrtf's schema, an empty file
        // among them: refused, not made into a project by whatever command named it.
        if !create && found == 0 {
            return Err(StoreError::Missing {
                db: store.location.display(),
            });
        }
        store.check_schema_not_newer().await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Migrate to the newest schema. PostgreSQL's migrator holds an advisory lock; SQLite's
    /// takes none, so two processes opening one new (or old) file at once (two `rrtf init`,
    /// workers started together) both apply the first pending migration, and the later one
    /// fails on what the other committed ("table ... already exists"). Such a failure while
    /// the schema moved on under it is run again, as long as the schema keeps moving; a
    /// migration that fails on its own fails at once.
    async fn migrate(&self) -> Result<()> {
        let mut tries = 0;
        loop {
            let before = self.schema_version().await?;
            let Err(source) = self.backend().migrator().run(&self.pool).await else {
                return Ok(());
            };
            tries += 1;
            let moved = self
                .schema_version()
                .await
                .is_ok_and(|after| after > before);
            // Or on SQLITE_BUSY: a lock another process held that SQLite would not wait for
            // (a write after a read in one transaction while another connection wrote).
            if self.backend() == Backend::Sqlite && (moved || sqlite_busy(&source)) && tries < 250 {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                continue;
            }
            return Err(StoreError::Migrate {
                db: self.location.display(),
                source,
            });
        }
    }

    pub fn backend(&self) -> Backend {
        self.location.backend()
    }

    /// Whether the database had no schema when this handle opened it: `create` made it.
    pub fn was_created(&self) -> bool {
        self.created
    }

    pub fn location(&self) -> &Location {
        &self.location
    }

    /// A native PostgreSQL pool on the same database (`None` on SQLite), connected on first use.
    pub(crate) async fn postgres_native(&self) -> Result<Option<&sqlx::PgPool>> {
        let Location::Postgres(url) = &self.location else {
            return Ok(None);
        };
        let pool = self
            .native
            .get_or_try_init(|| async {
                without_reaper(sqlx::postgres::PgPoolOptions::new())
                    .max_connections(2)
                    .connect(url)
                    .await
                    .map_err(|error| StoreError::Open {
                        db: self.location.display(),
                        error,
                    })
            })
            .await?;
        Ok(Some(pool))
    }

    /// The newest schema version this binary knows for this store's backend.
    pub fn known_schema_version_of(backend: Backend) -> i64 {
        backend
            .migrator()
            .iter()
            .map(|m| m.version)
            .max()
            .unwrap_or(0)
    }

    /// The newest SQLite schema version this binary knows.
    pub fn known_schema_version() -> i64 {
        Self::known_schema_version_of(Backend::Sqlite)
    }

    /// The schema version recorded in the database (0 for a new one).
    pub async fn schema_version(&self) -> Result<i64> {
        let has_table: Option<i64> = sqlx::query_scalar(match self.backend() {
            Backend::Sqlite => {
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'"
            }
            Backend::Postgres => {
                "SELECT CAST(1 AS BIGINT) FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_name = '_sqlx_migrations'"
            }
        })
        .fetch_optional(&self.pool)
        .await?;
        if has_table.is_none() {
            return Ok(0);
        }
        let v: Option<i64> =
            sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success")
                .fetch_one(&self.pool)
                .await?;
        Ok(v.unwrap_or(0))
    }

    async fn check_schema_not_newer(&self) -> Result<()> {
        let found = self.schema_version().await?;
        let known = Self::known_schema_version_of(self.backend());
        if found > known {
            return Err(StoreError::NewerSchema {
                db: self.location.display(),
                found,
                known,
            });
        }
        Ok(())
    }

    /// The SQLite file, if the store is one.
    pub fn path(&self) -> Option<&Path> {
        match &self.location {
            Location::Sqlite(p) => Some(p),
            Location::Postgres(_) => None,
        }
    }

    /// Close the pool (SQLite: flush the WAL into the main file first).
    pub async fn close(self) {
        if self.backend() == Backend::Sqlite {
            let _ = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&self.pool)
                .await;
        }
        if let Some(native) = self.native.get() {
            native.close().await;
        }
        self.pool.close().await;
    }
}

/// Whether a migration failed on SQLITE_BUSY ("database is locked").
fn sqlite_busy(e: &sqlx::migrate::MigrateError) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if let Some(e) = c.downcast_ref::<sqlx::Error>() {
            return sqlite_code(e) == Some(5);
        }
        cause = c.source();
    }
    false
}

/// The primary SQLite result code of a database error (SQLITE_BUSY 5, SQLITE_CORRUPT 11,
/// SQLITE_NOTADB 26; an extended code's low byte).
fn sqlite_code(e: &sqlx::Error) -> Option<i32> {
    match e {
        sqlx::Error::Database(d) => d
            .code()
            .and_then(|c| c.parse::<i32>().ok())
            .map(|c| c & 0xff),
        _ => None,
    }
}

/// `options` without sqlx's pool maintenance task: no idle timeout, no maximum lifetime (and no
/// minimum number of connections, the default). sqlx 0.9.0's task sweeps `0..num_idle()`, and
/// `num_idle` can wrap below zero for an instant when a connection is returned while another
/// task takes it (sqlx issue #3645, fixed by PR #4289 after 0.9.0): a sweep that reads it then
/// spins through ~10^19 iterations on a runtime worker, and a process whose work is done never
/// exits, using a core (seen once: `rrtf round` stuck at 100% CPU after its report, the
/// backtrace in that loop). The store's pools hold at most a handful of connections for as long
/// as the process runs, which is what they were for anyway.
fn without_reaper<DB: sqlx::Database>(
    options: sqlx::pool::PoolOptions<DB>,
) -> sqlx::pool::PoolOptions<DB> {
    options
        .idle_timeout(None)
        .max_lifetime(None)
        .min_connections(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_pool_runs_no_maintenance_task() {
        // See `without_reaper`: sqlx 0.9.0's idle sweep can spin forever.
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create(&dir.path().join("t.db")).await.unwrap();
        let o = store.pool.options();
        let reaper = (
            o.get_idle_timeout(),
            o.get_max_lifetime(),
            o.get_min_connections(),
        );
        assert_eq!(reaper, (None, None, 0));
    }

    /// Two processes creating one new database at once (two `rrtf init`, workers started
    /// together): both succeed, the schema is migrated once. Pools stand for the processes
    /// (SQLite's locks are per connection).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_creates_of_one_new_file_both_succeed() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..8 {
            let path = dir.path().join(format!("race{i}.db"));
            let create = |p: PathBuf| tokio::spawn(async move { Store::create(&p).await });
            let (a, b, c) = tokio::join!(
                create(path.clone()),
                create(path.clone()),
                create(path.clone())
            );
            for s in [a, b, c] {
                let store = s.unwrap().unwrap_or_else(|e| panic!("attempt {i}: {e}"));
                assert_eq!(
                    store.schema_version().await.unwrap(),
                    Store::known_schema_version()
                );
            }
        }
    }

    #[tokio::test]
    async fn create_migrates_and_open_requires_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.db");
        let err = Store::open(&path).await.unwrap_err();
        assert!(matches!(err, StoreError::Missing { .. }), "{err}");
        assert!(err.to_string().contains("rrtf init"));

        let store = Store::create(&path).await.unwrap();
        assert_eq!(
            store.schema_version().await.unwrap(),
            Store::known_schema_version()
        );
        let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert_eq!(fk, 1);
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert_eq!(mode, "wal");
        store.close().await;
        // Re-opening is idempotent.
        Store::open(&path).await.unwrap().close().await;

        // An empty file (`touch p.db`, a mistyped --db that some tool created) is no project:
        // refused by every command but `rrtf init`, which makes it one.
        let empty = dir.path().join("empty.db");
        std::fs::write(&empty, b"").unwrap();
        let err = Store::open(&empty).await.unwrap_err();
        assert!(matches!(err, StoreError::Missing { .. }), "{err}");
        let store = Store::create(&empty).await.unwrap();
        assert!(store.was_created());
        store.close().await;
        Store::open(&empty).await.unwrap().close().await;
    }

    /// A `--db` that is no database (a config file, a directory) or a damaged one is refused
    /// at once, saying so (the pool retried it for 30 s, then said "pool timed out").
    #[tokio::test]
    async fn a_file_that_is_no_database_is_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let toml = dir.path().join("round.toml");
        std::fs::write(&toml, "[round]\nname = 'x'\n".repeat(200)).unwrap();
        let good = dir.path().join("p.db");
        Store::create(&good).await.unwrap().close().await;
        let bytes = std::fs::read(&good).unwrap();
        let damaged = dir.path().join("damaged.db");
        let mut header = bytes[..100].to_vec();
        header.extend(std::iter::repeat_n(0xAB, 8192));
        std::fs::write(&damaged, header).unwrap();
        for (path, says) in [
            (toml.as_path(), "is not an SQLite database"),
            (damaged.as_path(), "SQLite database"),
            (dir.path(), "is a directory"),
        ] {
            let start = std::time::Instant::now();
            let err = Store::open(path).await.unwrap_err();
            assert!(matches!(err, StoreError::Invalid(_)), "{err}");
            assert!(err.to_string().contains(says), "{err}");
            assert!(
                start.elapsed() < std::time::Duration::from_secs(10),
                "{err}"
            );
        }
    }

    /// `20261204000031_interrupted_runs.sql` rebuilds `runs` and `training_runs` under
    /// enforced foreign keys: on a database with rows that reference them, every row and id
    /// stays, `interrupted` becomes a status, and the references are still checked after.
    #[tokio::test]
    async fn the_interrupted_runs_rebuild_keeps_rows_and_references() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create(&dir.path().join("p.db")).await.unwrap();
        let run = store
            .begin_run(&crate::NewRun {
                round: 1,
                stage: "train".into(),
                config_json: "{}".into(),
                config_hash: "h".into(),
                revision: None,
                seed: Some(3),
            })
            .await
            .unwrap();
        let training = store
            .begin_training(Some(run), 1, "base", "out", "{}", "h")
            .await
            .unwrap();
        let point = crate::MetricPoint {
            step: 1,
            split: "train".into(),
            name: "loss".into(),
            value: 2.5,
        };
        store
            .insert_training_metrics(training, std::slice::from_ref(&point))
            .await
            .unwrap();
        // The migration again, on a populated database (it is a rebuild, so it may be re-run).
        let sql = include_str!("../../../migrations/20261204000031_interrupted_runs.sql");
        let mut tx = store.pool.begin().await.unwrap();
        sqlx::raw_sql(sql).execute(&mut *tx).await.unwrap();
        tx.commit().await.unwrap();
        store
            .interrupt_run(run, &serde_json::json!({"steps": 1}))
            .await
            .unwrap();
        store.interrupt_training(training).await.unwrap();
        assert_eq!(
            store.run_statuses("train").await.unwrap(),
            [(run.id, "interrupted".to_owned())]
        );
        let curves = store.training_curves().await.unwrap();
        assert_eq!(curves.len(), 1);
        assert_eq!(
            (curves[0].id, curves[0].status.as_str()),
            (training.id, "interrupted")
        );
        assert_eq!(curves[0].points, [point]);
        let orphan = sqlx::query("INSERT INTO training_runs (run_id, round, base_model, output_dir, config_json, config_hash) VALUES (999, 1, 'b', 'o2', '{}', 'h')")
            .execute(&store.pool)
            .await;
        assert!(
            orphan.is_err(),
            "foreign keys are checked after the rebuild"
        );
        let bad = sqlx::query("UPDATE runs SET status = 'paused'")
            .execute(&store.pool)
            .await;
        assert!(bad.is_err(), "the status check stays");
        store.close().await;
    }

    #[tokio::test]
    async fn newer_schema_is_refused_with_versions_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.db");
        let store = Store::create(&path).await.unwrap();
        let future = Store::known_schema_version() + 1;
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES ($1, 'from the future', 1, x'00', 0)",
        )
        .bind(future)
        .execute(&store.pool)
        .await
        .unwrap();
        store.close().await;
        let err = Store::open(&path).await.unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, StoreError::NewerSchema { .. }), "{msg}");
        assert!(
            msg.contains(&future.to_string()) && msg.contains("upgrade rrtf"),
            "{msg}"
        );
    }
}
