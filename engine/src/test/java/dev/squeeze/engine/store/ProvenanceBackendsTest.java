package dev.squeeze.engine.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.squeeze.engine.backend.Backends;
import dev.squeeze.engine.backend.CpuInfo;
import dev.squeeze.engine.backend.Ops;
import dev.squeeze.engine.compress.linalg.Blas;
import dev.squeeze.engine.kernels.Kernels;
import java.nio.file.Path;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Issue #12: every op's backend and the CPU are part of a run's provenance, stored and read back. */
class ProvenanceBackendsTest {
    @TempDir
    Path dir;

    private static RunRecord run(Provenance p) {
        RunRecord base = ResultsStoreTest.run("with backends", 0.5, ResultsStoreTest.LAYERS);
        return new RunRecord(base.model(), base.dataset(), base.planJson(), base.planDescription(), base.label(),
                base.startedAt(), Instant.parse("2026-12-06T10:00:00Z"), base.seed(), p, base.sizeBytes(),
                base.fp16Bytes(), base.bitsPerWeight(), base.layers(), base.metrics());
    }

    @Test
    void theBackendsAndTheCpuAreStoredAndReadBack() {
        Provenance p = new Provenance("0.1.0", "abc123", "host", "25", "native",
                "gemm=java-vector-512 ×2 threads, cholesky=java, trinv=java, eigen=nd4j-openblas, int4=native-avx2",
                "Intel(R) Xeon(R) Processor; 2 logical CPUs; avx2 fma avx512f avx512_vnni amx_tile");
        try (ResultsStore store = ResultsStore.openFile(dir.resolve("results"))) {
            long id = store.recordRun(run(p));
            assertEquals(p, store.run(id).orElseThrow().provenance());
        }
        try (ResultsStore again = ResultsStore.openFile(dir.resolve("results"))) { // from the file, not a cache
            assertEquals(p, again.run(again.runs("a".repeat(64)).getFirst().id()).orElseThrow().provenance());
        }
    }

    @Test
    void aRunWithoutThemReadsBackAsEmptyAndOverlongTextIsCut() {
        try (ResultsStore store = ResultsStore.inMemory()) {
            Provenance old = new Provenance("0.1.0", "abc123", "host", "25", "java");
            assertEquals("", store.run(store.recordRun(run(old))).orElseThrow().provenance().backends());
            String longText = "x".repeat(1500);
            Provenance big = new Provenance("0.1.0", "abc123", "host", "25", "java", longText, longText);
            Provenance back = store.run(store.recordRun(run(big))).orElseThrow().provenance();
            assertEquals(1000, back.backends().length());
            assertTrue(back.cpu().endsWith("…"));
        }
    }

    @Test
    void currentRecordsTheOpsThisProcessUsedAndTheCpu() {
        Blas.get(); // uses the gemm op
        Kernels.int4MatVec();
        Provenance p = Provenance.current();
        assertEquals(Kernels.backendName(), p.kernelBackend());
        assertTrue(p.backends().startsWith("gemm=" + Backends.choice(Ops.GEMM).implementation() + ", "), p.backends());
        assertTrue(p.backends().endsWith(", int4=" + Kernels.int4MatVec().name()), p.backends());
        assertEquals(CpuInfo.describe(), p.cpu());
    }
}
