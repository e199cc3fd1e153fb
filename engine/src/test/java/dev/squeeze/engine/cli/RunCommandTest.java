package dev.squeeze.engine.cli;

import dev.squeeze.engine.store.ResultsStore;
import dev.squeeze.engine.store.RunRecord;
import dev.squeeze.engine.testing.TinyModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RunCommandTest {
    @TempDir
    Path dir;

    @Test
    void aPlanCompressesEachLayerAsItSaysAndTheRunIsStored() throws Exception {
        Path model = TinyModels.writeMlp(dir, 1);
        Path[] idx = TinyModels.writeIdx(dir, TinyModels.images(40, 2));
        Path plan = Files.writeString(dir.resolve("mixed.json"), """
                {"schema": 1,
                 "defaults": {"method": "rtn", "bits": 4, "groupSize": 16},
                 "overrides": [{"layer": "fc2", "method": "rtn", "bits": 8}]}""");
        Path db = dir.resolve("db/results");
        var r = CliSmokeTest.run("--db", db.toString(), "run", model.toString(), "--plan", plan.toString(),
                "--images", idx[0].toString(), "--labels", idx[1].toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("Stored run") && r.out().contains("mixed"), r.out());
        try (ResultsStore store = ResultsStore.openFile(db)) {
            long id = store.runs(null).getFirst().id();
            List<RunRecord.LayerResult> layers = store.layerResults(id);
            assertEquals(List.of("fc1", "fc2"), layers.stream().map(RunRecord.LayerResult::layer).toList());
            assertTrue(layers.get(0).settings().startsWith("RTN 4-bit") && layers.get(1).settings().startsWith("RTN 8-bit"),
                    layers.toString());
        }
    }

    @Test
    void aCalibratedMethodOnAClassifierAndABadFieldAreClearErrors() throws Exception {
        Path model = TinyModels.writeMlp(dir, 1);
        Path[] idx = TinyModels.writeIdx(dir, TinyModels.images(20, 2));
        Path gptq = Files.writeString(dir.resolve("gptq.json"), "{\"schema\": 1, \"preset\": \"gptq-4bit-g128\"}");
        var r = CliSmokeTest.run("--db", dir.resolve("r").toString(), "run", model.toString(), "--plan", gptq.toString(),
                "--images", idx[0].toString(), "--labels", idx[1].toString());
        assertEquals(SqueezeCli.EXIT_INPUT, r.code());
        assertTrue(r.err().contains("needs calibration data"), r.err());

        Path bad = Files.writeString(dir.resolve("bad.json"), "{\"schema\": 1, \"defaults\": {\"method\": \"rtn\", \"bits\": 9}}");
        var b = CliSmokeTest.run("--db", dir.resolve("r").toString(), "run", model.toString(), "--plan", bad.toString(),
                "--images", idx[0].toString(), "--labels", idx[1].toString());
        assertEquals(SqueezeCli.EXIT_INPUT, b.code());
        assertTrue(b.err().contains("fc1") && b.err().contains("'bits'"), b.err());
        assertTrue(!b.err().contains("\tat "), "no stack trace");
    }
}
