-- Issue #13: a search job stores many runs (the points of a front, uniform baselines), and each run a search made
-- records the search's settings and seed.
--
-- search: for a run whose plan a search found, search.SearchSpec#describe() plus what it chose ("search ≤ 4.125
--   bits/weight; methods rtn,gptq; EvoPress 40 generations × 32 offspring; seed 0; ..."); '' for every other run.
ALTER TABLE run ADD COLUMN search VARCHAR(4000) DEFAULT '' NOT NULL;

-- job_point: the runs of a job that makes several. A job's single run stays in job.run_id; a search's runs are
--   here, one row per point, keyed by the point's name inside the job, so a resumed search that repeats a point
--   does not store it twice. The run and its row commit together.
CREATE TABLE job_point (
    job_id     BIGINT        NOT NULL REFERENCES job (id) ON DELETE CASCADE,
    point_key  VARCHAR(200)  NOT NULL,
    run_id     BIGINT        NOT NULL REFERENCES run (id) ON DELETE CASCADE,
    PRIMARY KEY (job_id, point_key)
);
CREATE INDEX job_point_run ON job_point (run_id);
