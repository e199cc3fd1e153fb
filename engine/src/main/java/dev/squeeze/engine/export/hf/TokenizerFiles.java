package dev.squeeze.engine.export.hf;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.data.text.Llama2cTokenizer;
import dev.squeeze.engine.export.ExportReport.TensorNote;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.hf.HfModelFormat;
import dev.squeeze.engine.model.llama2c.Llama2cFormat;
import dev.squeeze.engine.util.AtomicFiles;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The tokenizer files of an exported Hugging Face folder, so that transformers' {@code AutoTokenizer} loads it.
 * <ul>
 *   <li>From a Hugging Face folder, its tokenizer files are copied as they are ({@link #COPIED}).</li>
 *   <li>From a llama2.c checkpoint, its {@code tok<vocab>.bin} (or {@code tokenizer.bin}) beside it is converted
 *   to a {@code tokenizer.json} of the Llama 2 kind: a BPE model with byte fallback, whose normalizer prepends
 *   {@code ▁} and turns spaces into {@code ▁} (llama2.c's file has the spaces back in its pieces; SentencePiece's
 *   {@code ▁} returns here), ids 0–2 as {@code <unk>}, {@code <s>}, {@code </s>}. llama2.c merges the adjacent pair
 *   whose merged token has the highest score; a BPE tokenizer merges the pair of lowest rank, so the merges are
 *   every split of a vocabulary piece into two vocabulary pieces, ranked by the merged piece's score (highest
 *   first), the conversion transformers' own {@code LlamaConverter} makes from a SentencePiece model. Plus
 *   tokenizer_config.json (BOS added, as llama2.c does) and special_tokens_map.json.</li>
 * </ul>
 * A model with no tokenizer beside it gets none, said in a note; the weights are still exported.
 */
public final class TokenizerFiles {
    /** What a Hugging Face folder's tokenizer can consist of. */
    public static final List<String> COPIED = List.of("tokenizer.json", "tokenizer_config.json",
            "special_tokens_map.json", "tokenizer.model", "added_tokens.json", "vocab.json", "merges.txt",
            "generation_config.json");
    private static final String SPACE = "\u2581";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private TokenizerFiles() {
    }

    /**
     * Writes the tokenizer files of {@code base} into {@code dir}; returns the bytes written. When there is none
     * to write, a note says so (tensor name {@code tokenizer}).
     */
    public static long write(Model base, Path dir, List<TensorNote> notes) {
        Path source = Path.of(base.source());
        Path from = Files.isDirectory(source) ? source : source.toAbsolutePath().getParent();
        if (HfModelFormat.NAME.equals(base.format()) && from != null) {
            long bytes = 0;
            for (String name : COPIED) {
                Path f = from.resolve(name);
                if (Files.isRegularFile(f) && !f.toAbsolutePath().equals(dir.resolve(name).toAbsolutePath())) {
                    AtomicFiles.write(dir.resolve(name), out -> Files.copy(f, out));
                    bytes += size(dir.resolve(name));
                }
            }
            if (bytes == 0) {
                notes.add(new TensorNote("tokenizer", "none", true, "the source folder " + from + " has no tokenizer"
                        + " files; copy them into the exported folder before loading it with AutoTokenizer"));
            }
            return bytes;
        }
        if (Llama2cFormat.NAME.equals(base.format()) && from != null) {
            int vocab = Integer.parseInt(base.metadata().getOrDefault("squeeze.llama.vocab_size", "-1"));
            for (String name : new String[]{"tok" + vocab + ".bin", "tokenizer.bin"}) {
                Path f = from.resolve(name);
                if (Files.isRegularFile(f)) {
                    return writeConverted(Llama2cTokenizer.read(f, vocab), base, dir, notes);
                }
            }
        }
        notes.add(new TensorNote("tokenizer", "none", true, "no tokenizer was found beside " + base.source()
                + "; the folder holds the weights and config only"));
        return 0;
    }

    private static long writeConverted(Llama2cTokenizer tok, Model base, Path dir, List<TensorNote> notes) {
        ObjectNode json;
        try {
            json = tokenizerJson(tok);
        } catch (SqueezeException e) {
            notes.add(new TensorNote("tokenizer", "none", true, e.getMessage()));
            return 0;
        }
        byte[] tokenizer = bytes(json);
        ObjectNode cfg = JSON.createObjectNode();
        cfg.put("add_bos_token", true);
        cfg.put("add_eos_token", false);
        cfg.put("bos_token", "<s>");
        cfg.put("eos_token", "</s>");
        cfg.put("unk_token", "<unk>");
        cfg.putNull("pad_token");
        cfg.put("clean_up_tokenization_spaces", false);
        cfg.put("legacy", false);
        cfg.put("model_max_length", Integer.parseInt(base.metadata().getOrDefault("squeeze.llama.max_seq_len",
                "2048")));
        cfg.put("tokenizer_class", "LlamaTokenizerFast");
        ObjectNode special = JSON.createObjectNode();
        special.put("bos_token", "<s>");
        special.put("eos_token", "</s>");
        special.put("unk_token", "<unk>");
        byte[] cfgBytes = bytes(cfg);
        byte[] specialBytes = bytes(special);
        AtomicFiles.write(dir.resolve("tokenizer.json"), out -> out.write(tokenizer));
        AtomicFiles.write(dir.resolve("tokenizer_config.json"), out -> out.write(cfgBytes));
        AtomicFiles.write(dir.resolve("special_tokens_map.json"), out -> out.write(specialBytes));
        notes.add(new TensorNote("tokenizer", "tokenizer.json (BPE, byte fallback)", true, "converted from "
                + tok.source()));
        return tokenizer.length + cfgBytes.length + specialBytes.length;
    }

    /** The tokenizer.json of a llama2.c vocabulary (see the class comment). */
    public static ObjectNode tokenizerJson(Llama2cTokenizer tok) {
        int n = tok.vocabSize();
        String[] pieces = new String[n];
        Map<String, Integer> ids = new HashMap<>();
        for (int i = 0; i < n; i++) {
            String p = i == Llama2cTokenizer.UNK ? "<unk>" : i == Llama2cTokenizer.BOS ? "<s>"
                    : i == Llama2cTokenizer.EOS ? "</s>" : utf8(tok, i).replace(" ", SPACE);
            if (ids.putIfAbsent(p, i) != null) {
                throw new SqueezeException("The tokenizer " + tok.source() + " has token " + i + " '" + p
                        + "' twice (also as " + ids.get(p) + "), which a tokenizer.json vocabulary cannot hold",
                        "export without a tokenizer and supply one");
            }
            pieces[i] = p;
        }
        record Merge(String left, String right, float score, int id, int leftId) {
        }
        List<Merge> merges = new ArrayList<>();
        for (int i = 3; i < n; i++) {
            String p = pieces[i];
            if (p.startsWith("<0x") && p.length() == 6 && p.endsWith(">")) {
                continue;
            }
            for (int cut = p.offsetByCodePoints(0, 1); cut < p.length(); cut = p.offsetByCodePoints(cut, 1)) {
                Integer l = ids.get(p.substring(0, cut));
                Integer r = ids.get(p.substring(cut));
                if (l != null && r != null && l > 2 && r > 2) {
                    merges.add(new Merge(pieces[l], pieces[r], tok.score(i), i, l));
                }
            }
        }
        merges.sort(Comparator.comparingDouble((Merge m) -> -m.score()).thenComparingInt(Merge::id)
                .thenComparingInt(Merge::leftId));

        ObjectNode root = JSON.createObjectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        for (int i = 0; i < 3; i++) {
            ObjectNode a = added.addObject();
            a.put("id", i);
            a.put("content", pieces[i]);
            a.put("single_word", false);
            a.put("lstrip", false);
            a.put("rstrip", false);
            a.put("normalized", false);
            a.put("special", true);
        }
        ObjectNode norm = root.putObject("normalizer");
        norm.put("type", "Sequence");
        ArrayNode normalizers = norm.putArray("normalizers");
        normalizers.addObject().put("type", "Prepend").put("prepend", SPACE);
        ObjectNode replace = normalizers.addObject().put("type", "Replace");
        replace.putObject("pattern").put("String", " ");
        replace.put("content", SPACE);
        root.putNull("pre_tokenizer");
        ObjectNode post = root.putObject("post_processor");
        post.put("type", "TemplateProcessing");
        ArrayNode single = post.putArray("single");
        single.addObject().putObject("SpecialToken").put("id", "<s>").put("type_id", 0);
        single.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        ArrayNode pair = post.putArray("pair");
        pair.addObject().putObject("SpecialToken").put("id", "<s>").put("type_id", 0);
        pair.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        pair.addObject().putObject("SpecialToken").put("id", "<s>").put("type_id", 1);
        pair.addObject().putObject("Sequence").put("id", "B").put("type_id", 1);
        ObjectNode bos = post.putObject("special_tokens").putObject("<s>");
        bos.put("id", "<s>");
        bos.putArray("ids").add(Llama2cTokenizer.BOS);
        bos.putArray("tokens").add("<s>");
        ObjectNode dec = root.putObject("decoder");
        dec.put("type", "Sequence");
        ArrayNode decoders = dec.putArray("decoders");
        ObjectNode back = decoders.addObject().put("type", "Replace");
        back.putObject("pattern").put("String", SPACE);
        back.put("content", " ");
        decoders.addObject().put("type", "ByteFallback");
        decoders.addObject().put("type", "Fuse");
        decoders.addObject().put("type", "Strip").put("content", " ").put("start", 1).put("stop", 0);
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.putNull("dropout");
        model.put("unk_token", "<unk>");
        model.putNull("continuing_subword_prefix");
        model.putNull("end_of_word_suffix");
        model.put("fuse_unk", true);
        model.put("byte_fallback", true);
        model.put("ignore_merges", false);
        ObjectNode vocab = model.putObject("vocab");
        for (int i = 0; i < n; i++) {
            vocab.put(pieces[i], i);
        }
        ArrayNode mergeList = model.putArray("merges");
        for (Merge m : merges) {
            mergeList.addArray().add(m.left()).add(m.right());
        }
        return root;
    }

    /** A token's bytes as text; llama2.c pieces are UTF-8, and a piece that is not cannot be a JSON key. */
    private static String utf8(Llama2cTokenizer tok, int id) {
        byte[] raw = tok.piece(id).getBytes(StandardCharsets.ISO_8859_1);
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(raw)).toString();
        } catch (CharacterCodingException e) {
            throw new SqueezeException("Token " + id + " of the tokenizer " + tok.source() + " is not UTF-8 text,"
                    + " which tokenizer.json cannot hold", "export without a tokenizer and supply one");
        }
    }

    private static byte[] bytes(ObjectNode node) {
        try {
            return JSON.writeValueAsBytes(node);
        } catch (IOException e) {
            throw new IllegalStateException("JSON of a tree cannot fail to serialise", e);
        }
    }

    private static long size(Path f) {
        try {
            return Files.size(f);
        } catch (IOException e) {
            throw new SqueezeException("Cannot read the size of " + f + ": " + e.getMessage(),
                    "check that the folder is readable", e);
        }
    }
}
