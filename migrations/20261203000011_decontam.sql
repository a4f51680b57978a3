-- rrtf schema: decontamination and responses eliminated before execution and ranking.

-- A response eliminated (reproduces a benchmark's canonical solution): the reason; NULL = kept.
-- Eliminated responses are never executed or ranked (like prompts with status 'eliminated').
ALTER TABLE responses ADD COLUMN eliminated TEXT;

-- What decontamination found, and what it did: one row per (item, action). `item` is a prompt
-- (its text, reference solution or a test leaked a benchmark problem) or a response; `action`
-- is 'eliminated' (prompts.status / responses.eliminated set with the reason) or 'marked' (an
-- imported prompt overlapping a benchmark, reported; a round's decontamination eliminates it).
-- `method`: ngram (shared n-gram with any field), minhash (word-set similarity with a benchmark
-- prompt), solution (a response sharing an n-gram with a canonical solution), benchmark_file
-- (an imported file that is a registered benchmark file itself).
CREATE TABLE contamination (
    id          INTEGER PRIMARY KEY,
    item        TEXT NOT NULL CHECK (item IN ('prompt', 'response')),
    item_id     INTEGER NOT NULL,
    prompt_id   INTEGER NOT NULL REFERENCES prompts(id),
    action      TEXT NOT NULL CHECK (action IN ('eliminated', 'marked')),
    field       TEXT NOT NULL,
    benchmark   TEXT NOT NULL,
    method      TEXT NOT NULL CHECK (method IN ('ngram', 'minhash', 'solution', 'benchmark_file')),
    detail      TEXT NOT NULL,
    run_id      INTEGER REFERENCES runs(id),
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    UNIQUE (item, item_id, action)
);
CREATE INDEX contamination_prompt ON contamination(prompt_id);

-- Benchmark files decontamination has run against (absolute path, content hash), so that an
-- import can tell when it is given one of them as training prompts.
CREATE TABLE benchmarks (
    path        TEXT PRIMARY KEY,
    sha256      TEXT NOT NULL,
    problems    INTEGER NOT NULL,
    first_used  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    last_used   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
