/**
 * The {@code nd4j} backend: ND4J ({@code org.nd4j:nd4j-native} with its {@code linux-x86_64} natives) and the
 * OpenBLAS it bundles. Nothing outside this package names an ND4J class; {@code backend.Nd4jLoader} opens it by
 * name, so a process that never routes an op here never loads ND4J.
 */
package dev.squeeze.engine.backend.nd4j;
