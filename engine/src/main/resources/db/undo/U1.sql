-- Undoes what a V1 (initial schema) cut short may have left: H2 commits every DDL statement on its own, so an
-- older Squeeze whose disk filled up while it created the database left some of these tables behind. Squeeze runs
-- this only on the copy it upgrades, and only while V1 is not recorded as applied: no run can be in them yet.
-- Every migration V<n> gets a U<n>.sql like this one, made only of IF EXISTS statements, newest objects first.
DROP TABLE IF EXISTS metric;
DROP TABLE IF EXISTS layer_result;
DROP TABLE IF EXISTS run;
DROP TABLE IF EXISTS plan;
DROP TABLE IF EXISTS dataset;
DROP TABLE IF EXISTS model;
