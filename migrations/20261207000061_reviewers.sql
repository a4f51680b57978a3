-- rrtf schema: the review server's accounts (crates/rrtf-store/src/reviewers.rs). A team's
-- `rrtf review serve` with authentication knows its reviewers by name; each has a token (made
-- by `rrtf review users add NAME`, shown once) of which only the SHA-256 is kept. A login makes
-- a session: its cookie value's SHA-256, its CSRF token, its expiry (milliseconds since the Unix
-- epoch, on the database's clock). A removed reviewer keeps its row (the audit trail names it)
-- with `revoked_at` set, and its sessions are deleted.
CREATE TABLE reviewers (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    token_sha256 TEXT NOT NULL UNIQUE,
    created_by   TEXT NOT NULL,
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    revoked_at   TEXT
);
CREATE TABLE review_sessions (
    id_sha256   TEXT PRIMARY KEY,
    reviewer_id INTEGER NOT NULL REFERENCES reviewers(id),
    csrf        TEXT NOT NULL,
    expires_ms  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX review_sessions_reviewer ON review_sessions(reviewer_id);
