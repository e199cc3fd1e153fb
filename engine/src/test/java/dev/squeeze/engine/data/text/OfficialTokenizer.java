package dev.squeeze.engine.data.text;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.TokenizersLibrary;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

/**
 * The official Hugging Face tokenizers library (Rust, through DJL's JNI binding): the ground truth that
 * {@link HfTokenizer} is compared with. It never touches the network: DJL's offline mode keeps it from calling home
 * and from looking for a CUDA build of the library (which it would download); the CPU library comes out of the DJL
 * jar into {@code target/djl-cache} instead of {@code ~/.djl.ai}. Truncation and padding, which DJL switches on by
 * default (512 tokens), are off, so that ids are exactly the library's {@code Tokenizer::encode}.
 */
final class OfficialTokenizer implements AutoCloseable {
    static {
        // Read once, when DJL's native loader class initializes: these must be set before the first tokenizer.
        System.setProperty("ai.djl.offline", "true");
        System.setProperty("OPT_OUT_TRACKING", "true");
        System.setProperty("RUST_FLAVOR", "cpu");
        if (System.getenv("ENGINE_CACHE_DIR") == null && System.getProperty("ENGINE_CACHE_DIR") == null) {
            System.setProperty("ENGINE_CACHE_DIR", Path.of("target", "djl-cache").toAbsolutePath().toString());
        }
    }

    private final HuggingFaceTokenizer tokenizer;

    private OfficialTokenizer(HuggingFaceTokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    /** Loads {@code dir/tokenizer.json}; tokenizer_config.json is not given to DJL, so no Java-side text changes. */
    static OfficialTokenizer load(Path dir) {
        try {
            return new OfficialTokenizer(HuggingFaceTokenizer.newInstance(dir.resolve("tokenizer.json"),
                    Map.of("addSpecialTokens", "false", "truncation", "false", "padding", "false")));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The library's ids for {@code text}; {@code addSpecialTokens} runs the file's post-processor (a Llama 2
     * TemplateProcessing puts {@code <s>} first; a ByteLevel one adds nothing).
     */
    int[] encode(String text, boolean addSpecialTokens) {
        // The raw binding, not HuggingFaceTokenizer.encode: that one also copies out tokens, offsets and five masks,
        // which would make the speed comparison about JNI copying rather than tokenizing.
        long handle = tokenizer.getHandle();
        long encoding = TokenizersLibrary.LIB.encode(handle, text, addSpecialTokens);
        try {
            return Arrays.stream(TokenizersLibrary.LIB.getTokenIds(encoding)).mapToInt(Math::toIntExact).toArray();
        } finally {
            TokenizersLibrary.LIB.deleteEncoding(encoding);
        }
    }

    /** The library's token strings for {@code text} (for messages). */
    String[] tokens(String text) {
        return tokenizer.encode(text, false, false).getTokens();
    }

    String decode(int[] ids, boolean skipSpecialTokens) {
        return tokenizer.decode(Arrays.stream(ids).asLongStream().toArray(), skipSpecialTokens);
    }

    @Override
    public void close() {
        tokenizer.close();
    }
}
