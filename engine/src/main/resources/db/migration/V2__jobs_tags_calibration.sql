-- Issue #5: background jobs, run tags, and the calibration data set of a run.

-- A job: one compression run to be done by a worker process. The parent process (the CLI or the workbench)
-- is the only writer of this database; workers never open it (they report over the job protocol).
CREATE TABLE job (
    id            BIGINT AUTO_INCREMENT PRIMARY KEY,
    spec_json     CLOB          NOT NULL,          -- the job's JobSpec (model, canonical plan, options, tags)
    spec_hash     VARCHAR(64)   NOT NULL,          -- SHA-256 of spec_json; written into every checkpoint
    model         VARCHAR(2000) NOT NULL,          -- the model as the user named it (path or builtin:<name>)
    label         VARCHAR(200)  NOT NULL,
    status        ENUM('QUEUED', 'RUNNING', 'DONE', 'FAILED', 'CANCELLED', 'INTERRUPTED') NOT NULL,
    created_at    TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL,
    started_at    TIMESTAMP WITH TIME ZONE,
    finished_at   TIMESTAMP WITH TIME ZONE,
    attempts      INT           DEFAULT 0 NOT NULL,
    layers_done   INT           DEFAULT 0 NOT NULL,
    layers_total  INT           DEFAULT 0 NOT NULL,
    phase         VARCHAR(40),                     -- calibration | compression | evaluation, while it runs
    reason        VARCHAR(4000),                   -- why it failed, was cancelled or interrupted
    run_id        BIGINT        REFERENCES run (id) ON DELETE SET NULL
);
CREATE INDEX job_status ON job (status);

-- Free-form tags on runs (sweeps tag their runs; Pareto and the run list filter by tag).
CREATE TABLE run_tag (
    run_id  BIGINT        NOT NULL REFERENCES run (id) ON DELETE CASCADE,
    tag     VARCHAR(100)  NOT NULL,
    PRIMARY KEY (run_id, tag)
);
CREATE INDEX run_tag_tag ON run_tag (tag);

-- The data a run was calibrated on (null for data-free methods and dense runs); dataset_id stays the
-- evaluation split.
ALTER TABLE run ADD COLUMN calibration_dataset_id BIGINT REFERENCES dataset (id);
