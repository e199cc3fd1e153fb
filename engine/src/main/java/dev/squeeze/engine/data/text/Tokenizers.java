package dev.squeeze.engine.data.text;

import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.gguf.GgufModelFormat;
import dev.squeeze.engine.model.hf.HfModelFormat;
import dev.squeeze.engine.model.llama2c.Llama2cFormat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Finds a language model's tokenizer beside it: {@code tokenizer.json} in a Hugging Face folder; for a llama2.c
 * checkpoint, {@code tok<vocab>.bin} in its folder (llama2.c's naming), else {@code tokenizer.bin}; a GGUF file
 * carries its own ({@link GgufTokenizers}).
 */
public final class Tokenizers {
    private Tokenizers() {
    }

    public static Optional<Tokenizer> besideModel(Model model, int vocabSize) {
        Path source = Path.of(model.source());
        if (GgufModelFormat.NAME.equals(model.format())) {
            return GgufTokenizers.read(source, vocabSize);
        }
        Path dir = Files.isDirectory(source) ? source : source.getParent();
        if (dir == null) {
            return Optional.empty();
        }
        if (HfModelFormat.NAME.equals(model.format())) {
            Path json = dir.resolve("tokenizer.json");
            return Files.isRegularFile(json) ? Optional.of(HfTokenizer.load(dir)) : Optional.empty();
        }
        if (Llama2cFormat.NAME.equals(model.format())) {
            for (String name : new String[]{"tok" + vocabSize + ".bin", "tokenizer.bin"}) {
                Path p = dir.resolve(name);
                if (Files.isRegularFile(p)) {
                    return Optional.of(Llama2cTokenizer.read(p, vocabSize));
                }
            }
        }
        return Optional.empty();
    }

    /** Where {@link #besideModel} looks, for messages. */
    public static String describeSearch(Model model, int vocabSize) {
        Path source = Path.of(model.source());
        if (GgufModelFormat.NAME.equals(model.format())) {
            return "the tokenizer.ggml.* metadata of " + source;
        }
        Path dir = Files.isDirectory(source) ? source : source.getParent();
        return HfModelFormat.NAME.equals(model.format()) ? dir.resolve("tokenizer.json").toString()
                : dir.resolve("tok" + vocabSize + ".bin") + " or " + dir.resolve("tokenizer.bin");
    }
}
