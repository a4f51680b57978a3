-- Project settings (issue 19 item 7): the review policy (which review actions need a reason),
-- enforced by the store on every review, whoever writes it (CLI, web review). Changes are
-- appended, never updated in place: the latest row of a key is its value, and the earlier ones
-- are the audit trail of who changed it when.
CREATE TABLE settings (
    id          INTEGER PRIMARY KEY,
    key         TEXT NOT NULL,
    value_json  TEXT NOT NULL,
    set_by      TEXT NOT NULL,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX settings_key ON settings(key, id);
CREATE TRIGGER settings_no_update BEFORE UPDATE ON settings
BEGIN SELECT RAISE(ABORT, 'settings are append-only: add a new row instead'); END;
CREATE TRIGGER settings_no_delete BEFORE DELETE ON settings
BEGIN SELECT RAISE(ABORT, 'settings are append-only: add a new row instead'); END;
