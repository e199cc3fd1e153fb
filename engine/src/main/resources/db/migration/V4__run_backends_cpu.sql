-- Issue #12: a run's provenance also records the backend of every heavy op and the CPU it ran on.
--
-- backends: every op's implementation in the process that made the run, "op=implementation" joined by ", "
--   ("gemm=java-vector-512 ×2 threads, cholesky=java, trinv=java, eigen=nd4j-openblas, int4=native-avx2"; "op=unused" when that
--   process never used the op); engine.backend.Backends.describe().
-- cpu: CPU model, logical CPUs and SIMD features ("Intel(R) Xeon(R) ...; 2 logical CPUs; avx2 fma avx512f ...");
--   engine.backend.CpuInfo.describe().
-- Runs stored before this version did not record either: they get '' (shown as "not recorded").

-- One ALTER for both columns: H2 rebuilds the table for each ALTER that adds columns.
ALTER TABLE run ADD COLUMN (backends VARCHAR(1000) DEFAULT '' NOT NULL, cpu VARCHAR(1000) DEFAULT '' NOT NULL);
