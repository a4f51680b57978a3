-- Runs stopped by Ctrl-C or SIGTERM (issue 19): a stage that stops cleanly records its run as
-- 'interrupted' (with what it finished in its summary), not 'running' forever or 'failed'.
-- SQLite cannot change a CHECK constraint in place, so `runs` and `training_runs` are rebuilt
-- with the same columns and rows. Foreign keys stay on: with them deferred, dropping the old
-- table orphans its children until the rows are copied back under the same ids, and the check
-- at commit finds none.
PRAGMA defer_foreign_keys = ON;

CREATE TEMP TABLE runs_copy AS SELECT * FROM runs;
CREATE TABLE runs_new (
    id           INTEGER PRIMARY KEY,
    round        INTEGER NOT NULL REFERENCES rounds(number),
    stage        TEXT NOT NULL,
    config_json  TEXT NOT NULL,
    config_hash  TEXT NOT NULL,
    revision     TEXT,
    seed         INTEGER,
    status       TEXT NOT NULL DEFAULT 'running'
                 CHECK (status IN ('running', 'done', 'failed', 'interrupted')),
    summary_json TEXT,
    started_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    finished_at  TEXT
);
DROP TABLE runs;
ALTER TABLE runs_new RENAME TO runs;
INSERT INTO runs (id, round, stage, config_json, config_hash, revision, seed, status,
                  summary_json, started_at, finished_at)
SELECT id, round, stage, config_json, config_hash, revision, seed, status, summary_json,
       started_at, finished_at
FROM runs_copy ORDER BY id;
DROP TABLE runs_copy;
CREATE INDEX runs_round_stage ON runs(round, stage);

CREATE TEMP TABLE training_runs_copy AS SELECT * FROM training_runs;
CREATE TABLE training_runs_new (
    id          INTEGER PRIMARY KEY,
    run_id      INTEGER REFERENCES runs(id),
    round       INTEGER NOT NULL REFERENCES rounds(number),
    base_model  TEXT NOT NULL,
    output_dir  TEXT NOT NULL UNIQUE,
    config_json TEXT NOT NULL,
    config_hash TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'running'
                CHECK (status IN ('running', 'done', 'failed', 'interrupted')),
    started_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    finished_at TEXT
);
DROP TABLE training_runs;
ALTER TABLE training_runs_new RENAME TO training_runs;
INSERT INTO training_runs (id, run_id, round, base_model, output_dir, config_json, config_hash,
                           status, started_at, finished_at)
SELECT id, run_id, round, base_model, output_dir, config_json, config_hash, status, started_at,
       finished_at
FROM training_runs_copy ORDER BY id;
DROP TABLE training_runs_copy;
