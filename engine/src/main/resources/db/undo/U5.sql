-- Undoes what a V5 (sensitivity cache) cut short may have left (see U1.sql). Run only on the copy being upgraded, and
-- only while V5 is not recorded as applied: nothing can have been cached in it yet.
DROP TABLE IF EXISTS sensitivity;
