package dev.squeeze.app;

import javafx.animation.AnimationTimer;
import javafx.application.Platform;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Measures how long the FX thread goes without running: an {@link AnimationTimer} is called on every pulse
 * (60 per second when the thread is free), and the longest time between two calls is the worst stall of the
 * window while the probe runs. Only gaps after the first pulse count.
 *
 * <p>The wall-clock gap also counts time the FX thread was ready but waited for a CPU (on a loaded 2-core machine
 * that alone reaches 100 ms). {@link #worstBusyMillis()} is the part the FX thread itself spent running between
 * two pulses (its CPU time, from {@link java.lang.management.ThreadMXBean}): work done on the FX thread, which
 * is what "the FX thread is never blocked by engine work" limits, and which does not grow with the machine's
 * load.
 */
final class FxPulseProbe implements AutoCloseable {
    private final AtomicLong last = new AtomicLong();
    private final AtomicLong worst = new AtomicLong();
    private final AtomicLong pulses = new AtomicLong();
    private final AtomicLong lastCpu = new AtomicLong(-1);
    private final AtomicLong worstBusy = new AtomicLong();
    private static final java.lang.management.ThreadMXBean THREADS =
            java.lang.management.ManagementFactory.getThreadMXBean();
    private final AnimationTimer timer = new AnimationTimer() {
        @Override
        public void handle(long now) {
            long t = System.nanoTime();
            long before = last.getAndSet(t);
            if (before != 0) {
                worst.accumulateAndGet(t - before, Math::max);
            }
            long cpu = THREADS.getCurrentThreadCpuTime();
            long cpuBefore = lastCpu.getAndSet(cpu);
            if (cpuBefore >= 0 && cpu >= 0) {
                worstBusy.accumulateAndGet(cpu - cpuBefore, Math::max);
            }
            pulses.incrementAndGet();
        }
    };

    /** Starts probing (from any thread). */
    static FxPulseProbe start() throws InterruptedException {
        FxPulseProbe p = new FxPulseProbe();
        CountDownLatch started = new CountDownLatch(1);
        Platform.runLater(() -> {
            p.timer.start();
            started.countDown();
        });
        if (!started.await(10, TimeUnit.SECONDS)) {
            throw new IllegalStateException("The FX thread did not start the probe within 10 s");
        }
        return p;
    }

    /** The longest gap between two pulses so far, in milliseconds. */
    double worstGapMillis() {
        return worst.get() / 1e6;
    }

    /** The most CPU time the FX thread used between two pulses so far, in milliseconds. */
    double worstBusyMillis() {
        return worstBusy.get() / 1e6;
    }

    long pulses() {
        return pulses.get();
    }

    @Override
    public void close() throws InterruptedException {
        CountDownLatch stopped = new CountDownLatch(1);
        Platform.runLater(() -> {
            timer.stop();
            stopped.countDown();
        });
        stopped.await(10, TimeUnit.SECONDS);
    }
}
