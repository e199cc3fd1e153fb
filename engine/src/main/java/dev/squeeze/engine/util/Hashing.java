package dev.squeeze.engine.util;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** SHA-256 helpers: the identity of models and plans in the results database. */
public final class Hashing {
    private static final long SLICE = 1L << 30;

    private Hashing() {
    }

    public static String sha256(ByteBuffer data) {
        MessageDigest md = newDigest();
        md.update(data.duplicate());
        return HexFormat.of().formatHex(md.digest());
    }

    /**
     * SHA-256 of a segment of any size (a memory-mapped multi-gigabyte file, say): it is fed to the digest in
     * slices, because a ByteBuffer cannot be longer than 2 GiB. The result equals {@code sha256sum} of the bytes.
     */
    public static String sha256(MemorySegment data) {
        MessageDigest md = newDigest();
        long size = data.byteSize();
        for (long at = 0; at < size; at += SLICE) {
            md.update(data.asSlice(at, Math.min(SLICE, size - at)).asByteBuffer());
        }
        return HexFormat.of().formatHex(md.digest());
    }

    public static String sha256(byte[] data) {
        return sha256(ByteBuffer.wrap(data));
    }

    private static MessageDigest newDigest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}
