package dev.squeeze.engine.testing;

import dev.squeeze.engine.kernels.NativeFaults;

/**
 * A stand-in for a worker JVM whose native kernel crashes: started as a child process by crash tests
 * (NativeFaultTest, the job-engine tests) with {@code -Dsqueeze.test.faults=true}. It prints
 * {@value #READY} to stdout first, so the parent can tell "crashed in the kernel" from "never started".
 */
public final class FaultingMain {

    /** Printed, and flushed, just before the fault. */
    public static final String READY = "faulting-main: about to segfault";

    private FaultingMain() {
    }

    public static void main(String[] args) {
        System.out.println(READY);
        System.out.flush();
        NativeFaults.segfault(); // throws, exiting 1 with a stack trace, if refused or the library is missing
    }
}
