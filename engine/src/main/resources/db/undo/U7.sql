-- Undoes what a V7 (where a job's worker runs) cut short may have left (see U1.sql). Run only on the copy being
-- upgraded, and only while V7 is not recorded as applied: nothing can have read these yet.
ALTER TABLE IF EXISTS job DROP COLUMN IF EXISTS launcher;
ALTER TABLE IF EXISTS job DROP COLUMN IF EXISTS launcher_settings;
ALTER TABLE IF EXISTS job DROP COLUMN IF EXISTS job_root;
ALTER TABLE IF EXISTS job DROP COLUMN IF EXISTS worker_id;
ALTER TABLE IF EXISTS job DROP COLUMN IF EXISTS node;
