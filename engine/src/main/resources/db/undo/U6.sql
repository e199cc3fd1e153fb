-- Undoes what a V6 (search points and the run's search column) cut short may have left (see U1.sql). Run only on
-- the copy being upgraded, and only while V6 is not recorded as applied: nothing can have read these yet.
DROP TABLE IF EXISTS job_point;
ALTER TABLE IF EXISTS run DROP COLUMN IF EXISTS search;
