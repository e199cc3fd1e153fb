-- Undoes what a V4 (op backends and CPU columns) cut short may have left (see U1.sql). Run only on the copy
-- being upgraded, and only while V4 is not recorded as applied: nothing can have read these columns yet.
ALTER TABLE IF EXISTS run DROP COLUMN IF EXISTS cpu;
ALTER TABLE IF EXISTS run DROP COLUMN IF EXISTS backends;
