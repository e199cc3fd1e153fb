package dev.squeeze.engine.model.hf;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.model.DType;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Truncates and bit-flips each file of a sharded HF folder at many positions: every outcome is a clean
 * {@link SqueezeException} naming the damaged file, or a model that opens and whose tensors decode.
 */
class HfFuzzTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"config.json", "model.safetensors.index.json", "model-00001-of-00003.safetensors",
            "model-00003-of-00003.safetensors"})
    void damagedFilesFailCleanly(String victim) throws Exception {
        Model m = new Model("fuzz", "memory", "test", "llama", "0", TinyLlama.tensors(31, DType.F16, true, false),
                TinyLlama.metadata("qwen2", true, false));
        Path folder = dir.resolve("model");
        // About 2.5 kB of F16 weights in three shards of at most 1 kB.
        HfExporter.write(m, folder, DType.F16, 1000);
        assertTrue(Files.exists(folder.resolve("model-00003-of-00003.safetensors")), "three shards expected");
        Path file = folder.resolve(victim);
        byte[] good = Files.readAllBytes(file);
        Random rng = new Random(victim.hashCode());
        int clean = 0;
        int valid = 0;
        // For a shard, the header is where damage matters; the data section only changes values.
        int span = victim.endsWith(".safetensors") ? Math.min(good.length, 2600) : good.length;
        int step = Math.max(1, span / 100);
        for (int cut = 0; cut < good.length; cut += cut < span ? step : 97) {
            Files.write(file, Arrays.copyOf(good, cut));
            if (opens(folder, victim)) {
                valid++;
            } else {
                clean++;
            }
        }
        for (int i = 0; i < 220; i++) {
            byte[] flipped = good.clone();
            int pos = rng.nextInt(span);
            flipped[pos] ^= (byte) (1 << rng.nextInt(8));
            Files.write(file, flipped);
            if (opens(folder, victim)) {
                valid++;
            } else {
                clean++;
            }
        }
        Files.write(file, good);
        assertTrue(opens(folder, victim), "the restored folder opens");
        assertTrue(clean > 100, "damage must mostly be caught, was caught " + clean + " times");
        assertTrue(valid + clean > 300, "ran " + (valid + clean));
    }

    private static boolean opens(Path folder, String victim) {
        try {
            Model m = new HfModelFormat().read(folder);
            m.tensors().values().forEach(Tensor::floats);
            m.layers();
            return true;
        } catch (SqueezeException expected) {
            assertTrue(expected.getMessage().contains(victim), "the error must name " + victim + ": "
                    + expected.getMessage());
            return false;
        } catch (RuntimeException | OutOfMemoryError e) {
            fail("damaged " + victim + " gave " + e + " instead of a SqueezeException", e);
            return false;
        }
    }
}
