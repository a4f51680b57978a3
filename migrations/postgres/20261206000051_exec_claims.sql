-- Leases on pending executions: the PostgreSQL twin of migrations/20261206000051_exec_claims.sql.
CREATE TABLE exec_claims (
    response_id BIGINT NOT NULL REFERENCES responses(id),
    test_id     BIGINT NOT NULL REFERENCES tests(id),
    worker      TEXT NOT NULL,
    expires_ms  BIGINT NOT NULL,
    PRIMARY KEY (response_id, test_id)
);
CREATE INDEX exec_claims_worker ON exec_claims(worker);
