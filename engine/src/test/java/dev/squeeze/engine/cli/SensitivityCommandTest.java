package dev.squeeze.engine.cli;

import dev.squeeze.engine.testing.SearchModels;
import dev.squeeze.engine.testing.TinyModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code squeeze sensitivity}: measures every layer at every level once, prints the table and the CSV, and a second
 * run reads every cell from the cache; a method that needs calibration data on a classifier is a usage error.
 */
class SensitivityCommandTest {
    @TempDir
    Path dir;

    private CliSmokeTest.Result run(String... args) {
        String[] all = new String[args.length + 2];
        all[0] = "--db";
        all[1] = dir.resolve("results").toString();
        System.arraycopy(args, 0, all, 2, args.length);
        return CliSmokeTest.run(all);
    }

    @Test
    void aClassifiersSensitivityIsMeasuredOnceAndThenReadFromTheCache() throws Exception {
        Path model = SearchModels.writeMlp(dir, 3);
        Path[] idx = TinyModels.writeIdx(dir, TinyModels.images(100, 4));
        Path csv = dir.resolve("cells.csv");
        String[] args = {"sensitivity", model.toString(), "--images", idx[0].toString(), "--labels",
                idx[1].toString(), "--methods", "rtn", "--csv", csv.toString(), "--fisher"};
        CliSmokeTest.Result first = run(args);
        assertEquals(0, first.code(), first.out() + "\n" + first.err());
        List<String> rows = Files.readAllLines(csv);
        int cells = rows.size() - 1;
        assertTrue(cells > 0, "cells in the CSV: " + rows);
        assertEquals("layer,level,bits,bits_per_weight,kl,top1_delta,fisher_proxy", rows.getFirst());
        assertTrue(first.out().contains(cells + " measured now, 0 from the cache"), first.out());
        assertTrue(first.out().contains("RANK"), "the table: " + first.out());
        assertTrue(first.out().contains("Fisher proxy vs KL: Spearman rank correlation"), first.out());
        for (String row : rows.subList(1, rows.size())) {
            String[] f = row.split(",(?=(?:[^\"]*\"[^\"]*\")*[^\"]*$)");
            assertTrue(Double.parseDouble(f[4]) >= -1e-12, "KL is not negative: " + row);
        }

        CliSmokeTest.Result second = run(args);
        assertEquals(0, second.code(), second.out() + "\n" + second.err());
        assertTrue(second.out().contains("0 measured now, " + cells + " from the cache"), second.out());
        assertEquals(rows, Files.readAllLines(csv), "the cached cells are the measured ones");
    }

    @Test
    void aMethodThatNeedsCalibrationDataIsRefusedForAClassifier() throws Exception {
        Path model = SearchModels.writeMlp(dir, 3);
        Path[] idx = TinyModels.writeIdx(dir, TinyModels.images(100, 4));
        CliSmokeTest.Result r = run("sensitivity", model.toString(), "--images", idx[0].toString(), "--labels",
                idx[1].toString(), "--methods", "gptq");
        assertFalse(r.code() == 0, r.out());
        assertTrue(r.err().contains("The method 'gptq' needs calibration data"), r.err());
        assertFalse(r.err().contains("\tat ") || r.err().contains("internal error"), r.err());
    }
}
