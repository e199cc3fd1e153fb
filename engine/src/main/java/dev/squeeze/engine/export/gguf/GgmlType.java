package dev.squeeze.engine.export.gguf;

import dev.squeeze.engine.SqueezeException;

/**
 * The tensor types of GGUF files that Squeeze writes and reads, with ggml's numbering and block layout (GGUF
 * specification, version 3; ggml's {@code ggml_type}). A block holds {@link #blockSize()} consecutive values of a
 * row in {@link #typeSize()} bytes; rows are stored along the first GGUF dimension (the input dimension of a
 * linear layer).
 */
public enum GgmlType {
    /** IEEE float32, one value per 4 bytes. */
    F32(0, 1, 4),
    /** IEEE float16, one value per 2 bytes. */
    F16(1, 1, 2),
    /** 32 values: an fp16 scale {@code d} and 16 bytes of 4-bit codes q; a value is {@code (q - 8) · d}. */
    Q4_0(2, 32, 18),
    /** 32 values: an fp16 scale {@code d} and 32 signed bytes q; a value is {@code q · d}. */
    Q8_0(8, 32, 34),
    /**
     * A super-block of 256 values in 8 sub-blocks of 32: fp16 {@code d} and {@code dmin}, 12 bytes of 6-bit
     * sub-block scales {@code sc} and mins {@code m}, 128 bytes of 4-bit codes q; a value is
     * {@code d·sc·q − dmin·m}.
     */
    Q4_K(12, 256, 144),
    /**
     * A super-block of 256 values in 16 sub-blocks of 16: 128 bytes of low 4 bits, 64 bytes of high 2 bits of
     * the 6-bit codes q, 16 signed 8-bit sub-block scales {@code sc}, an fp16 {@code d}; a value is
     * {@code d·sc·(q − 32)}.
     */
    Q6_K(14, 256, 210),
    /** bfloat16, one value per 2 bytes. */
    BF16(30, 1, 2);

    private final int id;
    private final int blockSize;
    private final int typeSize;

    GgmlType(int id, int blockSize, int typeSize) {
        this.id = id;
        this.blockSize = blockSize;
        this.typeSize = typeSize;
    }

    /** The number ggml and GGUF files use for the type. */
    public int id() {
        return id;
    }

    /** Values per block. */
    public int blockSize() {
        return blockSize;
    }

    /** Bytes per block. */
    public int typeSize() {
        return typeSize;
    }

    /** The bytes of a row of {@code n} values; {@code n} must be a multiple of the block size. */
    public long rowBytes(long n) {
        if (n % blockSize != 0) {
            throw new SqueezeException(name() + " stores rows in blocks of " + blockSize + " values; a row of " + n
                    + " values does not divide into them", "write this tensor as F16 or F32");
        }
        return n / blockSize * typeSize;
    }

    /** The names of the types Squeeze reads, for messages: "F32, F16, ...". */
    public static String names() {
        StringBuilder sb = new StringBuilder();
        for (GgmlType t : values()) {
            sb.append(sb.isEmpty() ? "" : ", ").append(t.name());
        }
        return sb.toString();
    }

    /** The type numbered {@code id}, or an error naming it (a type this reader does not decode). */
    public static GgmlType of(int id, String tensor) {
        for (GgmlType t : values()) {
            if (t.id == id) {
                return t;
            }
        }
        throw new SqueezeException("Tensor '" + tensor + "' has ggml type " + id + ", which Squeeze does not read"
                + " (it reads " + names() + ")", "convert the file with llama.cpp's llama-quantize to one of"
                + " those types");
    }
}
