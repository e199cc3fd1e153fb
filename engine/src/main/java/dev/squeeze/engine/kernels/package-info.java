/**
 * Compute kernels and the only door to native code. {@link dev.squeeze.engine.kernels.Kernels} declares the
 * kernel ops of the backend provider ({@link dev.squeeze.engine.backend.Backends}), which picks each op's backend
 * (JNI-CPU, then pure Java) at first use; every fast path has a readable Java reference that the tests run it
 * against. The native library ({@code squeeze-native-kernels} jar, built by CMake) is loaded by
 * {@code NativeLibrary} alone, and its JNI surface is the package-private {@code NativeBridge} plus the natives of
 * {@link dev.squeeze.engine.kernels.NativePacked} (the packed 2-8-bit kernels: {@link
 * dev.squeeze.engine.kernels.PackedMatrix}, {@link dev.squeeze.engine.kernels.PackedMatMul}, reference {@link
 * dev.squeeze.engine.kernels.JavaPackedMatMul}), {@code NativeSparse} (N:M, CSR and dense fp16 products:
 * {@link dev.squeeze.engine.kernels.SparseKernels}) and {@link dev.squeeze.engine.kernels.NativeCuda} (loaded only
 * where an NVIDIA driver is present).
 * {@link dev.squeeze.engine.kernels.NativeFaults} crashes the JVM in native code on purpose, for the
 * job-engine crash tests only, and refuses unless {@code -Dsqueeze.test.faults=true}.
 */
package dev.squeeze.engine.kernels;
