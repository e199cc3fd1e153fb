package dev.squeeze.engine.util;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** SHA-256 helpers: the identity of models and plans in the results database. */
public final class Hashing {
    private Hashing() {
    }

    public static String sha256(ByteBuffer data) {
        MessageDigest md = newDigest();
        md.update(data.duplicate());
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
