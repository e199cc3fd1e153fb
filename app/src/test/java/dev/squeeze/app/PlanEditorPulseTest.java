package dev.squeeze.app;

import dev.squeeze.app.plan.PlanEditorView;
import dev.squeeze.app.plan.PlanEditorViewModel;
import dev.squeeze.app.plan.SettingsFields;
import dev.squeeze.app.workbench.EngineExecutor;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.Tensor;
import javafx.application.Platform;
import javafx.scene.Scene;
import javafx.scene.control.Label;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.testfx.api.FxRobot;
import org.testfx.api.FxToolkit;
import org.testfx.util.WaitForAsyncUtils;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The FX thread while the plan editor recomputes sizes on a 200-layer model: 15 bulk edits of every row, one
 * every 150 ms. Each edit's work on the FX thread (the per-row estimates and engine checks; the summary runs on
 * the executor) must stay under 50 ms. The longest gap between pulses is printed next to the same probe's figure
 * for the idle window: on a build machine shared by several builds both include time the thread waits for a CPU,
 * so the gap is recorded, not asserted; the FX thread's own CPU time between two pulses is asserted under 50 ms.
 */
class PlanEditorPulseTest {
    private EngineExecutor executor;

    @AfterEach
    void stop() throws Exception {
        FxToolkit.cleanupStages();
        if (executor != null) {
            executor.close();
        }
    }

    private static Model synthetic(int layers) {
        Map<String, Tensor> t = new LinkedHashMap<>();
        String[] kinds = {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj", "mlp.extra_proj"};
        for (int i = 0; i < layers; i++) {
            String name = "model.layers." + (i / kinds.length) + "." + kinds[i % kinds.length] + ".weight";
            t.put(name, Tensor.of(name, new float[64 * 96], 64, 96));
        }
        return new Model("synthetic-" + layers, "memory", "test", "mlp", "h" + layers, t, Map.of());
    }

    @Test
    void bulkEditsOfTwoHundredLayersKeepTheWindowResponsive() throws Exception {
        Model model = synthetic(200);
        FxToolkit.registerPrimaryStage();
        executor = new EngineExecutor("plan-pulse-test");
        PlanEditorViewModel vm = new PlanEditorViewModel(executor);
        FxToolkit.setupStage(stage -> {
            stage.setScene(new Scene(new PlanEditorView(vm, () -> stage).root(), 1024, 700));
            vm.show(model);
            stage.show();
        });
        WaitForAsyncUtils.waitForFxEvents();
        Platform.runLater(() -> vm.setMethod(vm.rows(), "rtn"));
        WaitForAsyncUtils.waitForFxEvents();
        // Warm up: the first edits load and compile the code paths.
        for (int b = 2; b <= 8; b++) {
            int bits = b;
            Platform.runLater(() -> vm.setColumn(vm.rows(), SettingsFields.BITS, String.valueOf(bits)));
        }
        WaitForAsyncUtils.waitForFxEvents();

        double idleGap;
        try (FxPulseProbe idle = FxPulseProbe.start()) {
            Thread.sleep(2000);
            idleGap = idle.worstGapMillis();
        }
        double worst;
        double busy;
        long pulses;
        java.util.concurrent.atomic.AtomicLong editNanos = new java.util.concurrent.atomic.AtomicLong();
        try (FxPulseProbe probe = FxPulseProbe.start()) {
            for (int i = 0; i < 15; i++) {
                int bits = 2 + i % 7;
                Platform.runLater(() -> {
                    long t = System.nanoTime();
                    vm.setColumn(vm.rows(), SettingsFields.BITS, String.valueOf(bits));
                    editNanos.accumulateAndGet(System.nanoTime() - t, Math::max);
                });
                Thread.sleep(150);
            }
            WaitForAsyncUtils.waitForFxEvents();
            worst = probe.worstGapMillis();
            busy = probe.worstBusyMillis();
            pulses = probe.pulses();
        }
        System.out.printf("plan editor, 200 layers: 15 bulk edits, the longest %.1f ms on the FX thread; %d pulses,"
                + " longest gap between pulses %.1f ms (idle window: %.1f ms), the FX thread's own work between two"
                + " pulses at most %.1f ms%n", editNanos.get() / 1e6, pulses, worst, idleGap, busy);
        // The last edit set 2 bits (2 + 14 mod 7): 64 × 96, one group per row of 96 with a 32-bit scale and a
        // 2-bit zero: 2 + 34/96 bits per weight.
        Label summary = new FxRobot().lookup("#plan-summary").queryAs(Label.class);
        WaitForAsyncUtils.waitFor(20, TimeUnit.SECONDS, () -> summary.getText().startsWith("2.354 bits/weight"));
        assertTrue(pulses > 10, pulses + " pulses");
        assertTrue(busy < 50, "the FX thread worked " + busy + " ms between two pulses while the editor recomputed");
        assertTrue(editNanos.get() < 50_000_000L, "a bulk edit held the FX thread " + editNanos.get() / 1e6 + " ms");
    }
}
