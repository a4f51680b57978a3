-- rrtf schema: leases on pending executions (crates/rrtf-store/src/claims.rs). Any number of
-- `rrtf exec` processes on one database claim batches of pending (response, test) pairs until
-- `expires_ms` (milliseconds since the Unix epoch, on the database's clock), renew their claims
-- while they work and delete them with the executions they store; a killed worker's claims
-- expire and are taken over. Executions stay unique by their own key: a claim only keeps two
-- workers from running the same pair.
CREATE TABLE exec_claims (
    response_id INTEGER NOT NULL REFERENCES responses(id),
    test_id     INTEGER NOT NULL REFERENCES tests(id),
    worker      TEXT NOT NULL,
    expires_ms  INTEGER NOT NULL,
    PRIMARY KEY (response_id, test_id)
) WITHOUT ROWID;
CREATE INDEX exec_claims_worker ON exec_claims(worker);
