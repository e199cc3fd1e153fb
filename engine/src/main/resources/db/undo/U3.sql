-- Undoes what a V3 (method family and baseline columns) cut short may have left (see U1.sql). Run only on the copy
-- being upgraded, and only while V3 is not recorded as applied: nothing can have read these columns yet.
ALTER TABLE IF EXISTS run DROP COLUMN IF EXISTS method_family;
ALTER TABLE IF EXISTS run DROP COLUMN IF EXISTS baseline;
