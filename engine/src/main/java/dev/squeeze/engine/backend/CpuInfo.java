package dev.squeeze.engine.backend;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The CPU this process runs on, for run provenance and benchmark output: model name, logical processors and the
 * SIMD/matrix features the kernels care about, read from {@code /proc/cpuinfo} (Linux). Elsewhere the model is the
 * JVM's {@code os.arch} and the features are {@code unknown}.
 */
public final class CpuInfo {
    /** The flags reported, in this order, when the CPU has them (Linux {@code /proc/cpuinfo} spelling). */
    static final List<String> FEATURES = List.of("sse4_2", "avx", "avx2", "fma", "f16c", "avx_vnni", "avx512f", "avx512bw",
            "avx512vl", "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_int8", "amx_bf16");

    private static final class Holder {
        static final String DESCRIPTION = read(Path.of("/proc/cpuinfo"));
    }

    private CpuInfo() {
    }

    /**
     * For example {@code "Intel(R) Xeon(R) Platinum 8480+; 2 logical CPUs; avx avx2 fma avx512f avx512_vnni amx_tile"}.
     */
    public static String describe() {
        return Holder.DESCRIPTION;
    }

    static String read(Path cpuinfo) {
        int cpus = Runtime.getRuntime().availableProcessors();
        List<String> lines;
        try {
            lines = Files.readAllLines(cpuinfo);
        } catch (IOException | RuntimeException e) {
            return System.getProperty("os.arch") + "; " + cpus + " logical CPUs; features unknown";
        }
        return parse(lines, cpus);
    }

    static String parse(List<String> lines, int cpus) {
        String model = null;
        Set<String> flags = Set.of();
        for (String line : lines) {
            int colon = line.indexOf(':');
            if (colon < 0) {
                continue;
            }
            String key = line.substring(0, colon).strip();
            String value = line.substring(colon + 1).strip();
            if (model == null && key.equals("model name")) {
                model = value.replaceAll("\\s+", " ");
            } else if (flags.isEmpty() && key.equals("flags")) {
                flags = Arrays.stream(value.split("\\s+")).collect(Collectors.toSet());
            }
        }
        List<String> present = new ArrayList<>();
        for (String f : FEATURES) {
            if (flags.contains(f)) {
                present.add(f);
            }
        }
        return (model == null ? System.getProperty("os.arch") : model) + "; " + cpus + " logical CPUs; "
                + (flags.isEmpty() ? "features unknown" : present.isEmpty() ? "no SIMD features listed" : String.join(" ", present));
    }
}
