package dev.squeeze.engine.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CpuInfoTest {
    @Test
    void readsTheModelAndTheFeaturesWeCareAboutInAFixedOrder() {
        List<String> lines = List.of(
                "processor\t: 0",
                "vendor_id\t: AuthenticAMD",
                "model name\t: AMD EPYC   7B13 64-Core Processor",
                "flags\t\t: fpu vme sse4_2 fma avx2 avx f16c bmi2 sha_ni",
                "",
                "processor\t: 1",
                "model name\t: AMD EPYC 7B13 64-Core Processor",
                "flags\t\t: fpu vme sse4_2 fma avx2 avx f16c bmi2 sha_ni");
        assertEquals("AMD EPYC 7B13 64-Core Processor; 2 logical CPUs; sse4_2 avx avx2 fma f16c", CpuInfo.parse(lines, 2));
        assertEquals("Some CPU; 4 logical CPUs; no SIMD features listed",
                CpuInfo.parse(List.of("model name : Some CPU", "flags : fpu vme"), 4));
        assertTrue(CpuInfo.parse(List.of("model name : Other"), 1).endsWith("; 1 logical CPUs; features unknown"));
    }

    @Test
    void aMissingCpuinfoStillDescribesSomething(@TempDir Path tmp) throws Exception {
        assertTrue(CpuInfo.read(tmp.resolve("absent")).endsWith("logical CPUs; features unknown"));
        Path avx512 = Files.writeString(tmp.resolve("cpuinfo"),
                "model name\t: Intel(R) Xeon(R) Processor\nflags\t\t: avx512f avx2 amx_tile avx512_vnni fma\n");
        assertTrue(CpuInfo.read(avx512).startsWith("Intel(R) Xeon(R) Processor; "));
        assertTrue(CpuInfo.read(avx512).endsWith(" logical CPUs; avx2 fma avx512f avx512_vnni amx_tile"));
    }

    @Test
    void thisMachineIsDescribed() {
        String d = CpuInfo.describe();
        assertFalse(d.isBlank());
        assertTrue(d.contains(Runtime.getRuntime().availableProcessors() + " logical CPUs"), d);
    }
}
