package dev.squeeze.engine.compress.sparse;

/**
 * The combinatorial number system: the {@code n} kept positions of an N:M group, as one rank in
 * {@code [0, C(m, n))}. Storing that rank takes {@code ceil(log2 C(m, n))} bits per group, the least any index
 * of an N-of-M choice can take (3 bits for 2:4, where two 2-bit positions take 4).
 */
final class Combinations {
    private static final long[][] BINOMIAL = new long[Sparsity.MAX_M + 1][Sparsity.MAX_M + 1];

    static {
        for (int a = 0; a <= Sparsity.MAX_M; a++) {
            BINOMIAL[a][0] = 1;
            for (int b = 1; b <= a; b++) {
                BINOMIAL[a][b] = BINOMIAL[a - 1][b - 1] + BINOMIAL[a - 1][b];
            }
        }
    }

    private Combinations() {
    }

    static long binomial(int a, int b) {
        return b < 0 || b > a ? 0 : BINOMIAL[a][b];
    }

    /** {@code ceil(log2 C(m, n))}, at least 1. */
    static int rankBits(int n, int m) {
        long c = binomial(m, n);
        return Math.max(1, 64 - Long.numberOfLeadingZeros(c - 1));
    }

    /** Rank of the ascending positions {@code pos[0] < … < pos[n-1]}: {@code Σ C(pos[i], i + 1)}. */
    static long rank(int[] pos, int n) {
        long r = 0;
        for (int i = 0; i < n; i++) {
            r += binomial(pos[i], i + 1);
        }
        return r;
    }

    /** The inverse of {@link #rank}: fills {@code pos[0..n)} ascending. */
    static void unrank(long rank, int n, int m, int[] pos) {
        int p = m - 1;
        for (int i = n; i >= 1; i--) {
            while (binomial(p, i) > rank) {
                p--;
            }
            pos[i - 1] = p;
            rank -= binomial(p, i);
            p--;
        }
    }
}
