package dev.squeeze.engine.fuzz;

import dev.squeeze.engine.data.text.Llama2cTokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * llama2.c tokenizer files ({@code tok*.bin}), read without a vocabulary size to match (the model header gives one
 * in a run; here the file's own count is taken), then used on a few texts ({@link TokenizerTexts}).
 */
public final class Llama2cTokenizerFuzz {
    private Llama2cTokenizerFuzz() {
    }

    public static void fuzzerInitialize() {
        FuzzFiles.warmUp(Llama2cTokenizerFuzz::seeds, Llama2cTokenizerFuzz::fuzzerTestOneInput);
    }

    public static void fuzzerTestOneInput(byte[] data) throws Exception {
        var file = FuzzFiles.write("tok.bin", data);
        FuzzFiles.refusedOnlyCleanly(() -> TokenizerTexts.run(Llama2cTokenizer.read(file)));
    }

    static Map<String, byte[]> seeds() {
        Map<String, byte[]> out = new LinkedHashMap<>();
        out.put("bytes-and-merges", file(true, List.of(" ", "a", "b", "c", "é", "ab", " a", " ab", "aab", " é")));
        // Without byte tokens: characters the vocabulary lacks become <unk>.
        out.put("no-byte-tokens", file(false, List.of(" ", "a", "b", "ab", " ab", "<s>", "\n")));
        return out;
    }

    /** run.c's layout: max_token_length, then score, length and bytes per token; <unk>, BOS, EOS first. */
    private static byte[] file(boolean byteTokens, List<String> extra) {
        List<String> pieces = new ArrayList<>(List.of("<unk>", "\n<s>\n", "\n</s>\n"));
        if (byteTokens) {
            for (int b = 0; b < 256; b++) {
                pieces.add(String.format("<0x%02X>", b));
            }
        }
        pieces.addAll(extra);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(le(4).putInt(8).array());
        for (int i = 0; i < pieces.size(); i++) {
            byte[] bytes = pieces.get(i).getBytes(StandardCharsets.UTF_8);
            // Later pieces score higher, and two share a score: ties are broken leftmost.
            float score = i < pieces.size() - extra.size() ? 0f : -(i % 5);
            out.writeBytes(le(8).putFloat(score).putInt(bytes.length).array());
            out.writeBytes(bytes);
        }
        return out.toByteArray();
    }

    private static ByteBuffer le(int n) {
        return ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
    }
}
