package dev.squeeze.engine.compress;

import java.io.InvalidObjectException;
import java.util.function.Supplier;

/**
 * Checks that a compressed tensor read back from a checkpoint is one its method could have made. Java
 * deserialisation fills private fields without running a constructor, so a checkpoint whose bytes were changed
 * (and its checksum recomputed, by a bug or by hand) could give a tensor whose arrays disagree with its shape;
 * it would then fail with an index error far from the file, in the middle of a job. Each tensor class therefore
 * rebuilds itself through its checking constructor on {@code readResolve}, and an inconsistent one becomes an
 * {@link InvalidObjectException}: the checkpoint is damaged and the layer is computed again.
 */
public final class Restored {
    /** Arrays are indexed by int; the JVM refuses a few elements short of Integer.MAX_VALUE. */
    public static final long MAX_ELEMENTS = Integer.MAX_VALUE - 8;

    private Restored() {
    }

    /** {@code rebuild}'s result, or an InvalidObjectException saying what about {@code what} is inconsistent. */
    public static <T> T checked(String what, Supplier<T> rebuild) throws InvalidObjectException {
        try {
            return rebuild.get();
        } catch (IllegalArgumentException | dev.squeeze.engine.SqueezeException e) {
            InvalidObjectException x = new InvalidObjectException("inconsistent " + what + ": " + e.getMessage());
            x.initCause(e);
            throw x;
        }
    }

    /** Fails with {@code what} unless {@code ok}. */
    public static void require(boolean ok, String what) {
        if (!ok) {
            throw new IllegalArgumentException(what);
        }
    }

    /** {@code rows × cols} with both at least 1 and the product a valid array length; returns the product. */
    public static int matrix(int rows, int cols) {
        require(rows >= 1 && cols >= 1 && (long) rows * cols <= MAX_ELEMENTS,
                "shape " + rows + " × " + cols + " is not a matrix of at most " + MAX_ELEMENTS + " weights");
        return rows * cols;
    }

    /** Every code below {@code 2^bits}. */
    public static void codes(byte[] codes, int bits, String what) {
        int limit = 1 << bits;
        for (int i = 0; i < codes.length; i++) {
            if ((codes[i] & 0xff) >= limit) {
                throw new IllegalArgumentException(what + " " + i + " is " + (codes[i] & 0xff) + ", beyond " + bits
                        + " bits");
            }
        }
    }

    /** A permutation of {@code 0 .. n-1}. */
    public static void permutation(int[] perm, int n, String what) {
        require(perm.length == n, what + " has " + perm.length + " entries for " + n + " columns");
        boolean[] seen = new boolean[n];
        for (int p : perm) {
            require(p >= 0 && p < n && !seen[p], what + " is not a permutation of 0.." + (n - 1));
            seen[p] = true;
        }
    }

    /** Fails unless {@code array} is non-null with {@code length} elements. */
    public static void length(Object array, long length, String what) {
        require(array != null, what + " is missing");
        require(java.lang.reflect.Array.getLength(array) == length, what + " has "
                + java.lang.reflect.Array.getLength(array) + " elements, expected " + length);
    }
}
