-- Issue #13: the sensitivity cache. The change of a proxy metric (KL to the dense model on calibration data, or a
-- Fisher estimate) when ONE layer is compressed at ONE candidate setting and every other layer stays dense.
-- Measured once and reused by every later sensitivity analysis and search of the same model on the same calibration
-- data; a changed model (content hash) or changed calibration data (calibration hash) simply finds no rows.
--
-- model_hash:       SHA-256 of the model file (Model.contentHash)
-- calibration_hash: SHA-256 of the calibration data (token ids of the calibration stories and how Hessian windows
--                   are drawn, or the calibration images and labels): search.SearchSubject.calibrationHash()
-- proxy:            what proxy_value holds: 'kl' (mean KL(P_dense || Q), nats per position/image)
-- samples, seed:    the calibration sample the value was measured on (tokens or images, and the seed drawing them)
-- layer:            the canonical layer name
-- setting_key:      the canonical settings JSON (search.Level.keyOf)
-- bits:             the layer's stored bits at this setting (CompressedTensor.storedBits)
-- top1_delta:       classifiers only: top-1 accuracy with the layer compressed minus dense (0-1 scale)
CREATE TABLE sensitivity (
    model_hash       VARCHAR(64)   NOT NULL,
    calibration_hash VARCHAR(64)   NOT NULL,
    proxy            VARCHAR(40)   NOT NULL,
    samples          BIGINT        NOT NULL,
    seed             BIGINT        NOT NULL,
    layer            VARCHAR(500)  NOT NULL,
    setting_key      VARCHAR(2000) NOT NULL,
    bits             BIGINT        NOT NULL,
    proxy_value      DOUBLE PRECISION NOT NULL,
    top1_delta       DOUBLE PRECISION,
    measured_at      TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL,
    PRIMARY KEY (model_hash, calibration_hash, proxy, samples, seed, layer, setting_key)
);
