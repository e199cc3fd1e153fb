-- The results database: every run with its provenance. Schema changes always come as a new V<n>__*.sql.

CREATE TABLE model (
    id            BIGINT AUTO_INCREMENT PRIMARY KEY,
    content_hash  VARCHAR(64)   NOT NULL UNIQUE,   -- SHA-256 of the model file
    name          VARCHAR(200)  NOT NULL,
    source        VARCHAR(2000) NOT NULL,          -- path, or builtin:<name>
    format        VARCHAR(40)   NOT NULL,
    architecture  VARCHAR(80)   NOT NULL,
    parameters    BIGINT        NOT NULL,
    stored_bytes  BIGINT        NOT NULL,
    created_at    TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL
);

CREATE TABLE dataset (
    id            BIGINT AUTO_INCREMENT PRIMARY KEY,
    name          VARCHAR(200)  NOT NULL,
    source        VARCHAR(2000) NOT NULL,
    content_hash  VARCHAR(64)   NOT NULL,
    split         VARCHAR(40)   NOT NULL,          -- calibration | evaluation | ...
    items         BIGINT        NOT NULL,          -- images, or tokens
    CONSTRAINT dataset_identity UNIQUE (content_hash, split)
);

CREATE TABLE plan (
    id            BIGINT AUTO_INCREMENT PRIMARY KEY,
    content_hash  VARCHAR(64)   NOT NULL UNIQUE,   -- SHA-256 of the canonical JSON
    json          CLOB          NOT NULL,
    description   VARCHAR(400)  NOT NULL
);

CREATE TABLE run (
    id              BIGINT AUTO_INCREMENT PRIMARY KEY,
    model_id        BIGINT        NOT NULL REFERENCES model (id),
    plan_id         BIGINT        NOT NULL REFERENCES plan (id),
    dataset_id      BIGINT        NOT NULL REFERENCES dataset (id),
    label           VARCHAR(200)  NOT NULL,
    status          ENUM('QUEUED', 'RUNNING', 'DONE', 'FAILED', 'CANCELLED') NOT NULL,
    started_at      TIMESTAMP WITH TIME ZONE NOT NULL,
    finished_at     TIMESTAMP WITH TIME ZONE,
    seed            BIGINT        NOT NULL,
    squeeze_version VARCHAR(40)   NOT NULL,
    git_commit      VARCHAR(64)   NOT NULL,
    host            VARCHAR(200)  NOT NULL,
    java_version    VARCHAR(80)   NOT NULL,
    kernel_backend  VARCHAR(80)   NOT NULL,
    size_bytes      BIGINT,                        -- the whole model as stored
    fp16_bytes      BIGINT,                        -- the same model in fp16, the reference size
    bits_per_weight DOUBLE PRECISION               -- over the compressed linears (papers' convention)
);
CREATE INDEX run_model ON run (model_id);

CREATE TABLE layer_result (
    run_id          BIGINT        NOT NULL REFERENCES run (id) ON DELETE CASCADE,
    position        INT           NOT NULL,        -- the layer's place in the plan's order
    layer           VARCHAR(400)  NOT NULL,
    method          VARCHAR(80)   NOT NULL,
    settings        VARCHAR(2000) NOT NULL,
    stored_bits     BIGINT        NOT NULL,
    bits_per_weight DOUBLE PRECISION NOT NULL,
    recon_error     DOUBLE PRECISION,              -- relative Frobenius error of the weights
    millis          BIGINT        NOT NULL,
    PRIMARY KEY (run_id, layer)
);

CREATE TABLE metric (
    run_id  BIGINT        NOT NULL REFERENCES run (id) ON DELETE CASCADE,
    name    VARCHAR(100)  NOT NULL,
    split   VARCHAR(40)   NOT NULL,
    metric_value DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (run_id, name, split)
);
