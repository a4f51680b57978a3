-- rrtf schema: leases on requests to sample (crates/rrtf-store/src/claims.rs). Any number of
-- `rrtf sample` processes on one database claim the requests they are about to send (by the
-- request key their answer is stored under) until `expires_ms` (milliseconds
-- since the Unix epoch, on the database's clock), renew them while they work and release them
-- when they stop; a killed sampler's claims expire and are taken over. Answers stay unique by
-- their own key: a claim only keeps two samplers from sending the same request. A request key
-- names its model (responses.request_hash), so it is the whole key here.
CREATE TABLE sample_claims (
    request_key TEXT NOT NULL,
    worker      TEXT NOT NULL,
    expires_ms  INTEGER NOT NULL,
    PRIMARY KEY (request_key)
) WITHOUT ROWID;
CREATE INDEX sample_claims_worker ON sample_claims(worker);
