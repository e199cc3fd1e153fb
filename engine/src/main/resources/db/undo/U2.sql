-- Undoes what a V2 (jobs, tags, calibration data set) cut short may have left (see U1.sql): "Table JOB already
-- exists" for ever after, in Squeeze versions that migrated the file in place. Run only on the copy being upgraded,
-- and only while V2 is not recorded as applied: no job, tag or calibration reference can be in these yet.
ALTER TABLE IF EXISTS run DROP COLUMN IF EXISTS calibration_dataset_id;
DROP TABLE IF EXISTS run_tag;
DROP TABLE IF EXISTS job;
