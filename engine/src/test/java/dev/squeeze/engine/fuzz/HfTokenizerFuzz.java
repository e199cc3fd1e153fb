package dev.squeeze.engine.fuzz;

import dev.squeeze.engine.data.text.HfTokenizer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Hugging Face {@code tokenizer.json} files, read as a model folder's tokenizer is ({@link HfTokenizer#load}),
 * then used on a few texts ({@link TokenizerTexts}). Seeds: one small file per supported layout (GPT-2, Llama 3,
 * Llama 2, Mistral-style Metaspace, a normalizer chain with every kind of added token).
 */
public final class HfTokenizerFuzz {
    /** A folder of its own, so that no other target's config.json sits beside the tokenizer. */
    private static final Path DIR = folder();

    private HfTokenizerFuzz() {
    }

    public static void fuzzerInitialize() {
        FuzzFiles.warmUp(HfTokenizerFuzz::seeds, HfTokenizerFuzz::fuzzerTestOneInput);
    }

    public static void fuzzerTestOneInput(byte[] data) throws Exception {
        Path file = DIR.resolve("tokenizer.json");
        Files.write(file, data);
        FuzzFiles.refusedOnlyCleanly(() -> TokenizerTexts.run(HfTokenizer.load(file)));
    }

    static Map<String, byte[]> seeds() {
        // Byte-level vocabularies spell bytes with GPT-2's table: space is Ġ, newline Ċ.
        String byteLevelVocab = """
                "vocab":{"a":0,"b":1,"c":2,"e":3,"h":4,"l":5,"o":6,"t":7,"Ġ":8,"Ċ":9,"'":10,"s":11,"1":12,"2":13,
                 "ab":14,"Ġa":15,"Ġab":16,"he":17,"ll":18,"hell":19,"hello":20,"'s":21,"12":22,"Ġt":23,"Ġthe":24,
                 "th":25,"the":26,"Ã":27,"©":28,"Ã©":29},
                "merges":["a b","Ġ a","Ġa b","h e","l l","he ll","hell o","' s","1 2","Ġ t","t h","th e","Ġt he",
                 "Ã ©"]""";
        Map<String, String> files = new LinkedHashMap<>();
        files.put("gpt2", """
                {"version":"1.0","added_tokens":[{"id":30,"content":"<|endoftext|>","single_word":false,"lstrip":false,
                 "rstrip":false,"normalized":true,"special":true}],"normalizer":null,
                 "pre_tokenizer":{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":true},
                 "post_processor":null,"decoder":{"type":"ByteLevel","add_prefix_space":true,"trim_offsets":true},
                 "model":{"type":"BPE","dropout":null,"unk_token":null,"fuse_unk":false,"byte_fallback":false,
                """ + byteLevelVocab + "}}");
        files.put("llama3", """
                {"version":"1.0","added_tokens":[{"id":30,"content":"<|begin_of_text|>","single_word":false,
                 "lstrip":false,"rstrip":false,"normalized":false,"special":true}],"normalizer":{"type":"NFC"},
                 "pre_tokenizer":{"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"Regex":
                 "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}{1,3}| ?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+"},
                 "behavior":"Isolated","invert":false},{"type":"ByteLevel","add_prefix_space":false,
                 "trim_offsets":true,"use_regex":false}]},
                 "decoder":{"type":"ByteLevel","add_prefix_space":true,"trim_offsets":true,"use_regex":true},
                 "model":{"type":"BPE","dropout":null,"unk_token":null,"fuse_unk":false,"byte_fallback":false,
                 "ignore_merges":true,
                """ + byteLevelVocab + "}}");
        String sentencePieceModel = """
                "model":{"type":"BPE","dropout":null,"unk_token":"<unk>","fuse_unk":true,"byte_fallback":true,
                 "vocab":{"<unk>":0,"<s>":1,"</s>":2,"<0x0A>":3,"<0x20>":4,"<0xC3>":5,"<0xA9>":6,"<0xF0>":7,
                  "<0x9F>":8,"<0x98>":9,"<0x80>":10,"▁":11,"a":12,"b":13,"c":14,"e":15,"h":16,"i":17,"▁h":18,
                  "▁hi":19,"ab":20,"▁a":21,"▁ab":22,"é":23},
                 "merges":["▁ h","▁h i","a b","▁ a","▁a b"]}""";
        String sentencePieceAdded = """
                "added_tokens":[{"id":0,"content":"<unk>","single_word":false,"lstrip":false,"rstrip":false,
                 "normalized":false,"special":true},{"id":1,"content":"<s>","single_word":false,"lstrip":false,
                 "rstrip":false,"normalized":false,"special":true},{"id":2,"content":"</s>","single_word":false,
                 "lstrip":false,"rstrip":false,"normalized":false,"special":true}],""";
        String sentencePieceDecoder = """
                "decoder":{"type":"Sequence","decoders":[{"type":"Replace","pattern":{"String":"▁"},"content":" "},
                 {"type":"ByteFallback"},{"type":"Fuse"},{"type":"Strip","content":" ","start":1,"stop":0}]},""";
        files.put("llama2", "{\"version\":\"1.0\"," + sentencePieceAdded + """
                "normalizer":{"type":"Sequence","normalizers":[{"type":"Prepend","prepend":"▁"},
                 {"type":"Replace","pattern":{"String":" "},"content":"▁"}]},"pre_tokenizer":null,
                """ + sentencePieceDecoder + sentencePieceModel + "}");
        files.put("mistral", "{\"version\":\"1.0\"," + sentencePieceAdded + """
                "normalizer":null,"pre_tokenizer":{"type":"Metaspace","replacement":"▁","prepend_scheme":"first",
                 "split":false},
                """ + sentencePieceDecoder + sentencePieceModel + "}");
        files.put("added-flags", """
                {"version":"1.0","added_tokens":[{"id":30,"content":"[MASK]","single_word":false,"lstrip":true,
                 "rstrip":true,"normalized":false,"special":true},{"id":31,"content":"ab","single_word":true,
                 "lstrip":false,"rstrip":false,"normalized":true,"special":false},{"id":32,"content":"<x>",
                 "single_word":false,"lstrip":false,"rstrip":false,"normalized":true,"special":false}],
                 "normalizer":{"type":"Sequence","normalizers":[{"type":"NFKC"},{"type":"Lowercase"},
                  {"type":"Strip","strip_left":true,"strip_right":true},
                  {"type":"Replace","pattern":{"Regex":"\\\\s+"},"content":" "}]},
                 "pre_tokenizer":{"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"String":" "},
                  "behavior":"MergedWithNext","invert":false},{"type":"ByteLevel","add_prefix_space":true,
                  "use_regex":false}]},
                 "decoder":{"type":"ByteLevel"},
                 "model":{"type":"BPE","dropout":null,"unk_token":null,"fuse_unk":false,"byte_fallback":false,
                """ + byteLevelVocab + "}}");
        Map<String, byte[]> out = new LinkedHashMap<>();
        files.forEach((k, v) -> out.put(k, v.getBytes(StandardCharsets.UTF_8)));
        return out;
    }

    private static Path folder() {
        try {
            return Files.createDirectories(FuzzFiles.scratch().resolve("hf-tokenizer"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
