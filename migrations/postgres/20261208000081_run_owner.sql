-- Which process runs a stage (runs.rs `process_identity`: boot id, pid namespace, pid and the
-- process's start time), so that `rrtf status` can tell a run whose process was killed (kill -9,
-- a crash, a reboot) from one still running: such a run stays 'running' in the table, since
-- nothing recorded its end.
ALTER TABLE runs ADD COLUMN owner TEXT;
