package dev.squeeze.engine.data.text;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The BPE model of a {@code tokenizer.json}: a vocabulary, merges ranked by their order in the file, and the
 * rules for characters the vocabulary lacks (byte fallback to {@code <0xXX>} tokens, else the unknown token).
 * A word starts as one symbol per character; the adjacent pair with the lowest merge rank (the leftmost among
 * equals) is merged until no pair has a merge, exactly as Hugging Face's {@code BPE::merge_word}.
 */
final class BpeModel {
    private static final int CACHE_CAPACITY = 10_000;
    private static final int CACHE_WORD_LENGTH = 256;

    private final Map<String, Integer> vocab;
    /** (left id, right id) packed in a long → (rank, merged id) packed in a long. */
    private final Map<Long, Long> merges;
    private final boolean byteFallback;
    private final int[] byteIds;
    private final int unkId;
    private final boolean fuseUnk;
    private final boolean ignoreMerges;
    /** Words seen before: stories repeat their words, and a word's ids never change. */
    private final Map<String, int[]> cache = new ConcurrentHashMap<>();

    /**
     * @param unkId -1 when the model has no unknown token (characters it cannot spell are then dropped, as in
     *              Hugging Face)
     */
    BpeModel(Map<String, Integer> vocab, Map<Long, Long> merges, boolean byteFallback, int unkId, boolean fuseUnk,
             boolean ignoreMerges) {
        this.vocab = vocab;
        this.merges = merges;
        this.byteFallback = byteFallback;
        this.unkId = unkId;
        this.fuseUnk = fuseUnk;
        this.ignoreMerges = ignoreMerges;
        this.byteIds = new int[256];
        for (int b = 0; b < 256; b++) {
            byteIds[b] = vocab.getOrDefault(String.format("<0x%02X>", b), -1);
        }
    }

    /**
     * The merge map's key for a pair. Packed as {@code left << 32 | right}, Long.hashCode would be
     * {@code left ^ right}, so that many pairs share a bucket (the map turns into trees); multiplying by an odd
     * constant is a bijection on longs that spreads them.
     */
    static long pair(int left, int right) {
        return (((long) left << 32) | (right & 0xffffffffL)) * 0x9E3779B97F4A7C15L;
    }

    /** Appends the ids of one pre-tokenized word. */
    void encode(String word, IntList out) {
        if (word.isEmpty()) {
            return;
        }
        if (ignoreMerges) {
            Integer whole = vocab.get(word);
            if (whole != null) {
                out.add(whole);
                return;
            }
        }
        int[] cached = cache.get(word);
        if (cached == null) {
            IntList ids = new IntList(word.length());
            merge(symbols(word), ids);
            cached = ids.toArray();
            // As the library's cache: short words only, and once full it keeps what it has.
            if (word.length() <= CACHE_WORD_LENGTH && cache.size() < CACHE_CAPACITY) {
                cache.put(word, cached);
            }
        }
        for (int id : cached) {
            out.add(id);
        }
    }

    /** One symbol per character, unknown characters spelled in bytes or as the unknown token. */
    private IntList symbols(String word) {
        IntList symbols = new IntList(word.length());
        boolean pendingUnk = false;
        for (int i = 0; i < word.length(); ) {
            int cp = word.codePointAt(i);
            String ch = word.substring(i, i + Character.charCount(cp));
            i += ch.length();
            Integer id = vocab.get(ch);
            if (id != null) {
                if (pendingUnk) {
                    symbols.add(unkId);
                    pendingUnk = false;
                }
                symbols.add(id);
                continue;
            }
            if (byteFallback && spellsInBytes(ch)) {
                if (pendingUnk) {
                    symbols.add(unkId);
                    pendingUnk = false;
                }
                for (byte b : ch.getBytes(StandardCharsets.UTF_8)) {
                    symbols.add(byteIds[b & 0xff]);
                }
                continue;
            }
            if (unkId >= 0) {
                if (pendingUnk && !fuseUnk) {
                    symbols.add(unkId);
                }
                pendingUnk = true;
            }
        }
        if (pendingUnk) {
            symbols.add(unkId);
        }
        return symbols;
    }

    private boolean spellsInBytes(String ch) {
        for (byte b : ch.getBytes(StandardCharsets.UTF_8)) {
            if (byteIds[b & 0xff] < 0) {
                return false;
            }
        }
        return true;
    }

    /** A candidate merge of the symbol at {@code pos} with its right neighbour. */
    private record Candidate(int rank, int pos, int left, int right, int merged) {
    }

    /**
     * Merges lowest rank first, leftmost first among equal ranks, with a heap and a linked list of symbols:
     * O(n log n) even for a Llama-2 style text that reaches the model as a single word.
     */
    private void merge(IntList symbols, IntList out) {
        int n = symbols.size();
        int[] ids = symbols.toArray();
        int[] next = new int[n];
        int[] prev = new int[n];
        for (int i = 0; i < n; i++) {
            next[i] = i + 1 < n ? i + 1 : -1;
            prev[i] = i - 1;
        }
        PriorityQueue<Candidate> queue = new PriorityQueue<>(
                (a, b) -> a.rank != b.rank ? Integer.compare(a.rank, b.rank) : Integer.compare(a.pos, b.pos));
        for (int i = 0; i + 1 < n; i++) {
            offer(queue, i, ids[i], ids[i + 1]);
        }
        while (!queue.isEmpty()) {
            Candidate c = queue.poll();
            int right = next[c.pos];
            // Stale when either symbol has changed since the candidate was queued.
            if (ids[c.pos] != c.left || right < 0 || ids[right] != c.right) {
                continue;
            }
            ids[c.pos] = c.merged;
            ids[right] = -1;
            next[c.pos] = next[right];
            if (next[right] >= 0) {
                prev[next[right]] = c.pos;
            }
            if (prev[c.pos] >= 0) {
                offer(queue, prev[c.pos], ids[prev[c.pos]], c.merged);
            }
            if (next[c.pos] >= 0) {
                offer(queue, c.pos, c.merged, ids[next[c.pos]]);
            }
        }
        for (int i = 0; i >= 0 && n > 0; i = next[i]) {
            out.add(ids[i]);
        }
    }

    private void offer(PriorityQueue<Candidate> queue, int pos, int left, int right) {
        Long m = merges.get(pair(left, right));
        if (m != null) {
            queue.add(new Candidate((int) (m >>> 32), pos, left, right, (int) (long) m));
        }
    }
}
