package dev.squeeze.engine.data.text;

import dev.squeeze.engine.SqueezeException;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * llama2.c's tokenizer file ({@code tok*.bin}, {@code tokenizer.bin}): int32 {@code max_token_length}, then per
 * token a float32 merge score, an int32 byte length and the token's bytes, little-endian, to the end of the file
 * (the file does not store the vocabulary size; the model's header does). Token 0 is {@code <unk>}, 1 BOS,
 * 2 EOS, and tokens {@code <0x00>..<0xFF>} stand for raw bytes.
 * <p>
 * {@link #encode} is {@code run.c}'s algorithm: a dummy-prefix {@code " "} token before non-empty text, every
 * UTF-8 character looked up as a token (unknown ones fall back to their byte tokens), then repeatedly the
 * adjacent pair whose concatenation is the token with the highest score is merged, the leftmost pair on ties,
 * until no pair is a token. It is implemented with a priority queue, which gives exactly run.c's result
 * (a test compares it with a direct transcription) in {@code O(n log n)} rather than {@code O(n²)}. Unpaired
 * surrogates in the text are encoded as U+FFFD ({@link WellFormedText}).
 * {@link #decode(int, int)} is run.c's: a leading space is dropped after BOS, byte tokens become their byte.
 */
public final class Llama2cTokenizer implements Tokenizer {
    public static final int UNK = 0;
    public static final int BOS = 1;
    public static final int EOS = 2;
    /** Larger tokenizer files than this are not tokenizers (llama2.c's 32,000-token one is about 430 KB). */
    private static final long MAX_FILE_BYTES = 64L << 20;
    /** run.c merges only pairs whose score beats its initial best score of -1e10. */
    private static final float NO_MERGE = -1e10f;
    private static final String[] BYTE_PIECES = new String[256];

    static {
        for (int b = 0; b < 256; b++) {
            BYTE_PIECES[b] = String.format("<0x%02X>", b);
        }
    }

    private final String source;
    private final int maxTokenLength;
    private final String[] pieces;
    private final float[] scores;
    private final Map<String, Integer> ids;
    private final int[] byteTokens = new int[256];
    private final int spaceId;
    private final int bos;
    private final int eos;

    private Llama2cTokenizer(String source, int maxTokenLength, String[] pieces, float[] scores) {
        this(source, maxTokenLength, pieces, scores, UNK, BOS, EOS, true);
    }

    private Llama2cTokenizer(String source, int maxTokenLength, String[] pieces, float[] scores, int unk, int bos,
                             int eos, boolean dummyPrefix) {
        this.source = source;
        this.maxTokenLength = maxTokenLength;
        this.pieces = pieces;
        this.scores = scores;
        this.bos = bos;
        this.eos = eos;
        this.ids = new HashMap<>(pieces.length * 2);
        for (int i = 0; i < pieces.length; i++) {
            ids.putIfAbsent(pieces[i], i);
        }
        for (int b = 0; b < 256; b++) {
            byteTokens[b] = ids.getOrDefault(BYTE_PIECES[b], unk);
        }
        this.spaceId = dummyPrefix ? ids.getOrDefault(" ", -1) : -1;
    }

    /**
     * A score-merged vocabulary from elsewhere (a SentencePiece vocabulary in a GGUF file's
     * {@code tokenizer.ggml.*} arrays), encoded and decoded by the same run.c algorithm.
     *
     * @param pieces      each token's bytes, one char per byte (ISO-8859-1), spaces as spaces; byte tokens as
     *                    {@code <0xXX>}
     * @param unk         the token that stands for a byte without a byte token
     * @param bos         the beginning-of-sequence token, -1 for none
     * @param eos         the end-of-sequence token, -1 for none
     * @param dummyPrefix whether a space token goes before non-empty text (SentencePiece's add_dummy_prefix)
     */
    public static Llama2cTokenizer of(String source, String[] pieces, float[] scores, int unk, int bos, int eos,
                                      boolean dummyPrefix) {
        if (pieces.length != scores.length || pieces.length == 0) {
            throw new IllegalArgumentException(pieces.length + " pieces and " + scores.length + " scores");
        }
        for (int id : new int[]{unk, bos, eos}) {
            if (id < -1 || id >= pieces.length) {
                throw new IllegalArgumentException("special token " + id + " outside the vocabulary of "
                        + pieces.length);
            }
        }
        int maxLen = 1;
        for (String p : pieces) {
            maxLen = Math.max(maxLen, p.length());
        }
        return new Llama2cTokenizer(source, maxLen, pieces.clone(), scores.clone(), Math.max(unk, 0), bos, eos,
                dummyPrefix);
    }

    /** Reads a tokenizer file; the vocabulary is every token up to the end of the file. */
    public static Llama2cTokenizer read(Path file) {
        return read(file, -1);
    }

    /**
     * Reads a tokenizer file that must hold exactly {@code vocabSize} tokens (the model header's vocab_size),
     * or any number when {@code vocabSize} is negative.
     */
    public static Llama2cTokenizer read(Path file, int vocabSize) {
        String where = file.toAbsolutePath().toString();
        byte[] bytes;
        try {
            long size = Files.size(file);
            if (size > MAX_FILE_BYTES) {
                throw corrupt(where, "the file has " + size + " bytes; llama2.c tokenizers are well under "
                        + MAX_FILE_BYTES + " bytes");
            }
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new SqueezeException("Cannot read tokenizer " + where + ": " + e.getMessage(),
                    "check that the file exists and is readable", e);
        }
        return parse(bytes, where, vocabSize);
    }

    /** Parses a tokenizer image; {@code where} names it in errors. */
    public static Llama2cTokenizer parse(byte[] bytes, String where, int vocabSize) {
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        if (b.remaining() < 4) {
            throw corrupt(where, "the file has " + bytes.length + " bytes, fewer than the 4-byte max_token_length");
        }
        int maxLen = b.getInt();
        if (maxLen <= 0 || maxLen > 1 << 16) {
            throw corrupt(where, "at offset 0 max_token_length is " + maxLen + ", expected 1 to " + (1 << 16));
        }
        // Each token takes at least 8 bytes, which bounds the arrays before the file is trusted any further.
        int capacity = (bytes.length - 4) / 8;
        String[] pieces = new String[capacity];
        float[] scores = new float[capacity];
        int n = 0;
        while (b.hasRemaining()) {
            int at = b.position();
            if (b.remaining() < 8) {
                throw corrupt(where, "token " + n + " at offset " + at + " needs 8 bytes of score and length, "
                        + b.remaining() + " remain");
            }
            float score = b.getFloat();
            int len = b.getInt();
            if (len < 0 || len > maxLen) {
                throw corrupt(where, "token " + n + " at offset " + (at + 4) + " has length " + len
                        + ", expected 0 to max_token_length " + maxLen);
            }
            if (b.remaining() < len) {
                throw corrupt(where, "token " + n + " at offset " + (at + 8) + " needs " + len + " bytes, "
                        + b.remaining() + " remain");
            }
            byte[] piece = new byte[len];
            b.get(piece);
            pieces[n] = new String(piece, StandardCharsets.ISO_8859_1);
            scores[n] = score;
            n++;
        }
        if (n < 3) {
            throw corrupt(where, "it holds " + n + " tokens; a llama2.c vocabulary starts with <unk>, BOS and EOS");
        }
        if (vocabSize >= 0 && n != vocabSize) {
            throw new SqueezeException("Tokenizer " + where + " holds " + n + " tokens but the model's vocabulary has "
                    + vocabSize, "use the tokenizer that belongs to this model (e.g. tok512.bin for stories260K)");
        }
        return new Llama2cTokenizer(where, maxLen, Arrays.copyOf(pieces, n), Arrays.copyOf(scores, n));
    }

    public String source() {
        return source;
    }

    public int maxTokenLength() {
        return maxTokenLength;
    }

    @Override
    public int vocabSize() {
        return pieces.length;
    }

    @Override
    public int bosId() {
        return bos;
    }

    @Override
    public int eosId() {
        return eos;
    }

    /** The token's bytes as stored, one char per byte (ISO-8859-1), e.g. {@code " the"} or {@code "<0x0A>"}. */
    public String piece(int token) {
        return pieces[token];
    }

    public float score(int token) {
        return scores[token];
    }

    /** The token that stands for one raw byte ({@code <0xXX>}), or {@link #UNK} when the vocabulary lacks it. */
    public int byteToken(int unsignedByte) {
        return byteTokens[unsignedByte];
    }

    /** The id of a token by its bytes (one char per byte), or -1. */
    public int lookup(String piece) {
        return ids.getOrDefault(piece, -1);
    }

    @Override
    public int[] encode(String text, boolean bos, boolean eos) {
        int[] initial = initialTokens(text);
        int[] merged = merge(initial);
        int n = merged.length + (bos ? 1 : 0) + (eos ? 1 : 0);
        int[] out = new int[n];
        int k = 0;
        if (bos) {
            out[k++] = requireSpecial(this.bos, "BOS");
        }
        System.arraycopy(merged, 0, out, k, merged.length);
        if (eos) {
            out[n - 1] = requireSpecial(this.eos, "EOS");
        }
        return out;
    }

    /** run.c's tokens before merging: the dummy prefix, then one token per UTF-8 character or per byte. */
    int[] initialTokens(String text) {
        byte[] bytes = WellFormedText.of(text).getBytes(StandardCharsets.UTF_8);
        int[] tokens = new int[bytes.length + 1];
        int n = 0;
        if (bytes.length > 0 && spaceId >= 0) {
            tokens[n++] = spaceId;
        }
        byte[] buf = new byte[4];
        int len = 0;
        for (int c = 0; c < bytes.length; c++) {
            if ((bytes[c] & 0xC0) != 0x80) {
                len = 0;
            }
            buf[len++] = bytes[c];
            if (c + 1 < bytes.length && (bytes[c + 1] & 0xC0) == 0x80 && len < 4) {
                continue;
            }
            int id = ids.getOrDefault(new String(buf, 0, len, StandardCharsets.ISO_8859_1), -1);
            if (id >= 0) {
                tokens[n++] = id;
            } else {
                for (int i = 0; i < len; i++) {
                    tokens[n++] = byteTokens[buf[i] & 0xff];
                }
            }
            len = 0;
        }
        return Arrays.copyOf(tokens, n);
    }

    /** Greedy best-score pair merging over a linked list, candidates in a priority queue checked when taken. */
    private int[] merge(int[] initial) {
        int n = initial.length;
        int[] tok = initial.clone();
        int[] next = new int[n];
        int[] prev = new int[n];
        boolean[] alive = new boolean[n];
        for (int i = 0; i < n; i++) {
            next[i] = i + 1 < n ? i + 1 : -1;
            prev[i] = i - 1;
            alive[i] = true;
        }
        PriorityQueue<Candidate> queue = new PriorityQueue<>();
        for (int i = 0; i + 1 < n; i++) {
            offer(queue, i, i + 1, tok);
        }
        int count = n;
        while (!queue.isEmpty()) {
            Candidate c = queue.poll();
            if (!alive[c.left] || !alive[c.right] || next[c.left] != c.right || tok[c.left] != c.leftToken
                    || tok[c.right] != c.rightToken) {
                continue;
            }
            tok[c.left] = c.merged;
            alive[c.right] = false;
            int after = next[c.right];
            next[c.left] = after;
            if (after >= 0) {
                prev[after] = c.left;
            }
            count--;
            if (prev[c.left] >= 0) {
                offer(queue, prev[c.left], c.left, tok);
            }
            if (after >= 0) {
                offer(queue, c.left, after, tok);
            }
        }
        int[] out = new int[count];
        int k = 0;
        for (int i = n > 0 ? 0 : -1; i >= 0; i = next[i]) {
            out[k++] = tok[i];
        }
        return out;
    }

    private void offer(PriorityQueue<Candidate> queue, int left, int right, int[] tok) {
        Integer id = ids.get(pieces[tok[left]] + pieces[tok[right]]);
        if (id != null && scores[id] > NO_MERGE) {
            queue.add(new Candidate(scores[id], left, right, tok[left], tok[right], id));
        }
    }

    /** A possible merge; the best has the highest score, then the leftmost position (node order is text order). */
    private record Candidate(float score, int left, int right, int leftToken, int rightToken, int merged)
            implements Comparable<Candidate> {
        @Override
        public int compareTo(Candidate o) {
            int byScore = Float.compare(o.score, score);
            return byScore != 0 ? byScore : Integer.compare(left, o.left);
        }
    }

    @Override
    public String decode(int prevToken, int token) {
        return new String(pieceBytes(prevToken, token), StandardCharsets.UTF_8);
    }

    @Override
    public String decode(int[] tokens) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int prev = -1;
        for (int t : tokens) {
            if (t != bos && t != eos) {
                out.writeBytes(pieceBytes(prev, t));
            }
            prev = t;
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    private byte[] pieceBytes(int prevToken, int token) {
        if (token < 0 || token >= pieces.length) {
            throw new IllegalArgumentException("token " + token + " is outside the vocabulary of " + pieces.length);
        }
        String piece = pieces[token];
        if (prevToken == bos && prevToken >= 0 && piece.startsWith(" ")) {
            piece = piece.substring(1);
        }
        int raw = rawByte(piece);
        if (raw >= 0) {
            return new byte[]{(byte) raw};
        }
        return piece.getBytes(StandardCharsets.ISO_8859_1);
    }

    private int requireSpecial(int id, String what) {
        if (id < 0) {
            throw new SqueezeException("The tokenizer " + source + " has no " + what + " token",
                    "evaluate without " + what + ", or use a tokenizer that defines it");
        }
        return id;
    }

    /** The byte of a {@code <0xXX>} piece, or -1 for any other piece. */
    private static int rawByte(String piece) {
        if (piece.length() != 6 || !piece.startsWith("<0x") || piece.charAt(5) != '>') {
            return -1;
        }
        int hi = Character.digit(piece.charAt(3), 16);
        int lo = Character.digit(piece.charAt(4), 16);
        return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
    }

    private static SqueezeException corrupt(String where, String what) {
        return new SqueezeException("Corrupt llama2c tokenizer " + where + ": " + what,
                "the file is damaged or not a llama2.c tokenizer (tok*.bin); get a fresh copy of it");
    }
}
