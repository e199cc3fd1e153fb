package dev.squeeze.engine.data.text;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.testing.SharedData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

class Llama2cTokenizerTest {
    @TempDir
    Path dir;

    /**
     * A direct transcription of run.c's {@code encode} (dummy prefix, UTF-8 code points with byte fallback, then
     * the O(n²) loop: scan all pairs, merge the first with the best score, repeat), the reference the fast
     * implementation is held to.
     */
    static int[] runCEncode(Llama2cTokenizer t, String text) {
        Map<String, Integer> lookup = new HashMap<>();
        for (int i = 0; i < t.vocabSize(); i++) {
            lookup.putIfAbsent(t.piece(i), i);
        }
        List<Integer> tokens = new ArrayList<>();
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        if (b.length > 0) {
            tokens.add(lookup.get(" "));
        }
        byte[] buf = new byte[4];
        int len = 0;
        for (int c = 0; c < b.length; c++) {
            if ((b[c] & 0xC0) != 0x80) {
                len = 0;
            }
            buf[len++] = b[c];
            if (c + 1 < b.length && (b[c + 1] & 0xC0) == 0x80 && len < 4) {
                continue;
            }
            Integer id = lookup.get(new String(buf, 0, len, StandardCharsets.ISO_8859_1));
            if (id != null) {
                tokens.add(id);
            } else {
                for (int i = 0; i < len; i++) {
                    tokens.add((buf[i] & 0xff) + 3);
                }
            }
            len = 0;
        }
        while (true) {
            float bestScore = -1e10f;
            int bestId = -1;
            int bestIdx = -1;
            for (int i = 0; i < tokens.size() - 1; i++) {
                Integer id = lookup.get(t.piece(tokens.get(i)) + t.piece(tokens.get(i + 1)));
                if (id != null && t.score(id) > bestScore) {
                    bestScore = t.score(id);
                    bestId = id;
                    bestIdx = i;
                }
            }
            if (bestIdx == -1) {
                break;
            }
            tokens.set(bestIdx, bestId);
            tokens.remove(bestIdx + 1);
        }
        return tokens.stream().mapToInt(Integer::intValue).toArray();
    }

    /** A small llama2.c-style vocabulary with byte tokens, multi-byte characters and tied merge scores. */
    static byte[] syntheticTokenizer() {
        List<String> pieces = new ArrayList<>(List.of("<unk>", "\n<s>\n", "\n</s>\n"));
        for (int b = 0; b < 256; b++) {
            pieces.add(String.format("<0x%02X>", b));
        }
        String[] extra = {" ", "a", "b", "c", "é", "ab", "ba", " a", " b", "aa", "abc", " ab", "bc", "cab", "éa", " é",
                "aab", " aa", "bab", "abab"};
        Random rng = new Random(3);
        List<Float> scores = new ArrayList<>();
        for (int i = 0; i < pieces.size(); i++) {
            scores.add(0f);
        }
        for (String e : extra) {
            pieces.add(e);
            scores.add((float) -rng.nextInt(4)); // few distinct values: many ties
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int max = 0;
        List<byte[]> raw = new ArrayList<>();
        for (String p : pieces) {
            byte[] bytes = p.getBytes(StandardCharsets.UTF_8);
            raw.add(bytes);
            max = Math.max(max, bytes.length);
        }
        out.writeBytes(le(4).putInt(max).array());
        for (int i = 0; i < raw.size(); i++) {
            out.writeBytes(le(8).putFloat(scores.get(i)).putInt(raw.get(i).length).array());
            out.writeBytes(raw.get(i));
        }
        return out.toByteArray();
    }

    private static ByteBuffer le(int n) {
        return ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
    }

    @Test
    void priorityQueueMergingEqualsRunCsLoop() {
        Llama2cTokenizer t = Llama2cTokenizer.parse(syntheticTokenizer(), "synthetic", -1);
        assertEquals(3 + 256 + 20, t.vocabSize());
        Random rng = new Random(11);
        String alphabet = "aabbc é\nxZ€😀";
        for (int i = 0; i < 2000; i++) {
            StringBuilder sb = new StringBuilder();
            int n = rng.nextInt(40);
            for (int k = 0; k < n; k++) {
                sb.appendCodePoint(alphabet.codePointAt(alphabet.offsetByCodePoints(0,
                        rng.nextInt(alphabet.codePointCount(0, alphabet.length())))));
            }
            String s = sb.toString();
            assertArrayEquals(runCEncode(t, s), t.encode(s, false, false), s);
            // Lossless: decoding after BOS drops exactly the dummy prefix's space.
            assertEquals(s, t.decode(t.encode(s, true, true)), s);
        }
    }

    @Test
    void unpairedSurrogatesAreEncodedAsReplacementCharacters() {
        Llama2cTokenizer t = Llama2cTokenizer.parse(syntheticTokenizer(), "synthetic", -1);
        // Not '?', which is what Java's UTF-8 encoder would make of them: U+FFFD, as for any text that is not text.
        assertArrayEquals(t.encode("a\uFFFDb😀\uFFFD", false, false), t.encode("a\uD800b😀\uDC00", false, false));
        assertFalse(Arrays.equals(t.encode("a?b", false, false), t.encode("a\uDFFFb", false, false)));
    }

    @Test
    void emptyTextHasNoDummyPrefixAndBosEosAreAdded() {
        Llama2cTokenizer t = Llama2cTokenizer.parse(syntheticTokenizer(), "synthetic", -1);
        assertArrayEquals(new int[0], t.encode("", false, false));
        assertArrayEquals(new int[]{1, 2}, t.encode("", true, true));
        int[] ab = t.encode("ab", true, false);
        assertEquals(1, ab[0]);
        assertEquals(" ab", t.piece(ab[1]));
        assertEquals("ab", t.decode(1, ab[1]));
        assertEquals(" ab", t.decode(5, ab[1]));
        assertEquals("\n", t.decode(-1, t.byteToken('\n')));
    }

    @Test
    void tok512ReadsAndEncodesStoriesAsRunCDoes() {
        Path tokFile = SharedData.require("models/stories260K/tok512.bin");
        Llama2cTokenizer t = Llama2cTokenizer.read(tokFile, 512);
        assertEquals(512, t.vocabSize());
        assertEquals("<unk>", t.piece(0));
        for (int b = 0; b < 256; b++) {
            assertEquals(b + 3, t.byteToken(b), "byte tokens follow <unk>, <s>, </s>");
        }
        StoryCorpus corpus = StoryCorpus.read(SharedData.require("data/tinystories/valid-1k.txt"));
        for (int s = 1; s <= 12; s++) {
            String story = corpus.story(s);
            int[] tokens = t.encode(story, true, false);
            assertArrayEquals(runCEncode(t, story), Arrays.copyOfRange(tokens, 1, tokens.length), "story " + s);
            assertEquals(story, t.decode(tokens), "story " + s);
        }
        String unicode = "Ça coûte 5 € — naïve 😀";
        assertEquals(unicode, t.decode(t.encode(unicode, true, false)));
        SqueezeException e = assertThrows(SqueezeException.class, () -> Llama2cTokenizer.read(tokFile, 32000));
        assertTrue(e.getMessage().contains("holds 512 tokens") && e.getMessage().contains("32000"), e.getMessage());
    }

    @Test
    void damagedTok512FailsCleanly() throws Exception {
        byte[] bytes = Files.readAllBytes(SharedData.require("models/stories260K/tok512.bin"));
        Random rng = new Random(9);
        int clean = 0;
        int valid = 0;
        for (int i = 0; i < 300; i++) {
            byte[] damaged = i % 3 == 0 ? Arrays.copyOf(bytes, rng.nextInt(bytes.length)) : bytes.clone();
            if (i % 3 != 0) {
                damaged[rng.nextInt(bytes.length)] ^= (byte) (1 << rng.nextInt(8));
            }
            if (openCleanly(damaged)) {
                valid++;
            } else {
                clean++;
            }
        }
        assertTrue(clean > 60 && valid > 60, "clean errors " + clean + ", valid tokenizers " + valid);
    }

    @Test
    void truncatedAndBitFlippedTokenizersFailCleanly() throws Exception {
        byte[] bytes = syntheticTokenizer();
        Random rng = new Random(5);
        int clean = 0;
        int valid = 0;
        for (int cut = 0; cut < bytes.length; cut += 7) {
            if (openCleanly(Arrays.copyOf(bytes, cut))) {
                valid++;
            } else {
                clean++;
            }
        }
        for (int i = 0; i < 600; i++) {
            byte[] flipped = bytes.clone();
            flipped[rng.nextInt(bytes.length)] ^= (byte) (1 << rng.nextInt(8));
            if (openCleanly(flipped)) {
                valid++;
            } else {
                clean++;
            }
        }
        assertTrue(clean > 200, "damaged files must be rejected, were " + clean);
        assertTrue(valid > 100, "flips in scores and token bytes still give a tokenizer, were " + valid);
    }

    private boolean openCleanly(byte[] bytes) throws Exception {
        Path file = dir.resolve("tok.bin");
        Files.write(file, bytes);
        try {
            Llama2cTokenizer t = Llama2cTokenizer.read(file);
            int[] tokens = t.encode("abc é 😀 aab", true, true);
            t.decode(tokens);
            return true;
        } catch (SqueezeException expected) {
            assertTrue(expected.getMessage().contains(file.toAbsolutePath().toString()), expected.getMessage());
            return false;
        } catch (RuntimeException e) {
            fail("damaged tokenizer gave " + e + " instead of a SqueezeException", e);
            return false;
        }
    }
}
