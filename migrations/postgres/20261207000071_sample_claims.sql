-- Leases on requests to sample: the PostgreSQL twin of migrations/20261207000071_sample_claims.sql.
CREATE TABLE sample_claims (
    request_key TEXT NOT NULL,
    worker      TEXT NOT NULL,
    expires_ms  BIGINT NOT NULL,
    PRIMARY KEY (request_key)
);
CREATE INDEX sample_claims_worker ON sample_claims(worker);
