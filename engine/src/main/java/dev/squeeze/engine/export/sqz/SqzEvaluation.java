package dev.squeeze.engine.export.sqz;

import dev.squeeze.engine.SqueezeException;
import dev.squeeze.engine.compress.CompressedTensor;
import dev.squeeze.engine.data.EvaluationData;
import dev.squeeze.engine.data.ImageSet;
import dev.squeeze.engine.data.text.HfTokenizer;
import dev.squeeze.engine.data.text.Llama2cTokenizer;
import dev.squeeze.engine.data.text.StoryCorpus;
import dev.squeeze.engine.data.text.StoryRange;
import dev.squeeze.engine.data.text.TextEvaluation;
import dev.squeeze.engine.data.text.Tokenizer;
import dev.squeeze.engine.eval.ClassifierEvaluator;
import dev.squeeze.engine.eval.ClassifierMetrics;
import dev.squeeze.engine.eval.Perplexity;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.nn.LinearOp;
import dev.squeeze.engine.nn.MlpClassifier;
import dev.squeeze.engine.nn.llama.LlamaConfig;
import dev.squeeze.engine.nn.llama.LlamaModel;
import dev.squeeze.engine.runs.ClassifierSubject;
import dev.squeeze.engine.samples.SampleModels;
import dev.squeeze.engine.store.RunRecord;
import dev.squeeze.engine.util.Hashing;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A bundle evaluated again with its compressed layers' own linear operators ({@link CompressedTensor#asLinearOp()},
 * as the run computed), on the data set the run was evaluated on, next to the metrics stored in it.
 *
 * @param on       the data evaluated on
 * @param stored   the metrics the bundle carries (evaluation split)
 * @param measured the metrics measured now, same names
 */
public record SqzEvaluation(String on, List<RunRecord.Metric> stored, List<RunRecord.Metric> measured) {
    private static final Pattern STORIES = Pattern.compile("stories (\\d+)\\D(\\d+)$");

    public SqzEvaluation {
        stored = List.copyOf(stored);
        measured = List.copyOf(measured);
    }

    /** Whether every measured metric equals the stored one of the same name and split exactly. */
    public boolean identical() {
        return differences().isEmpty();
    }

    /** One line per measured metric whose value differs from the stored one (or that is not stored). */
    public List<String> differences() {
        List<String> out = new ArrayList<>();
        for (RunRecord.Metric m : measured) {
            Optional<RunRecord.Metric> s = stored.stream()
                    .filter(x -> x.name().equals(m.name()) && x.split().equals(m.split())).findFirst();
            if (s.isEmpty()) {
                out.add(m.name() + ": measured " + m.value() + ", not stored");
            } else if (Double.compare(s.get().value(), m.value()) != 0) {
                out.add(m.name() + ": stored " + s.get().value() + ", measured " + m.value());
            }
        }
        return out;
    }

    // ------------------------------------------------------------------------------------------------ evaluation

    /**
     * Evaluates the bundle on the data its run was evaluated on: for a language model the TinyStories stories of
     * the stored evaluation record (found in the data folders, {@link EvaluationData}) with the bundle's own
     * tokenizer; for the built-in sample classifier its evaluation subset; for other classifiers the MNIST test set
     * when the model takes 28×28 digits. The data must hash to what the run recorded.
     */
    public static SqzEvaluation evaluate(SqzBundle b) {
        evaluationRecord(b); // a bundle without a run has nothing to be compared with: said before any data is sought
        Model m = b.model();
        if (LlamaConfig.ARCHITECTURE.equals(m.architecture())) {
            Path text = EvaluationData.find(EvaluationData.TINYSTORIES).orElseThrow(() -> new SqueezeException(
                    "No evaluation text for bundle " + b.file() + ": it needs TinyStories ("
                            + EvaluationData.describeSearch(EvaluationData.TINYSTORIES) + ")",
                    "put the data in one of those places, or set SQUEEZE_DATA"));
            return evaluate(b, StoryCorpus.read(text));
        }
        String source = b.base().source();
        if (source.startsWith("builtin:")) {
            return evaluate(b, SampleModels.load(source.substring("builtin:".length())).evaluation());
        }
        ImageSet images = EvaluationData.imagesFor(m).orElseThrow(() -> new SqueezeException(
                "No evaluation images for bundle " + b.file() + " (model " + b.base().name() + ")",
                "evaluate it in code with SqzEvaluation.evaluate(bundle, images)"));
        return evaluate(b, images);
    }

    /** A language-model bundle on stories of {@code corpus}: the stored evaluation range, the bundle's tokenizer. */
    public static SqzEvaluation evaluate(SqzBundle b, StoryCorpus corpus) {
        RunRecord.DatasetRecord rec = evaluationRecord(b);
        Matcher mt = STORIES.matcher(rec.name() == null ? "" : rec.name());
        if (!mt.find()) {
            throw new SqueezeException("Bundle " + b.file() + " does not say which stories its run was evaluated on"
                    + " (its evaluation is '" + rec.name() + "')", "evaluate it with SqzEvaluation.evaluate(bundle, "
                    + "textEvaluation)");
        }
        StoryRange range = StoryRange.of(Integer.parseInt(mt.group(1)), Integer.parseInt(mt.group(2)));
        return evaluate(b, new TextEvaluation(corpus, range, tokenizer(b)));
    }

    /** A language-model bundle on {@code eval}; its text must be the text the run was evaluated on. */
    public static SqzEvaluation evaluate(SqzBundle b, TextEvaluation eval) {
        RunRecord.DatasetRecord rec = evaluationRecord(b);
        String text = String.join("\n", eval.corpus().stories(eval.range()));
        String hash = Hashing.sha256(text.getBytes(StandardCharsets.UTF_8));
        if (!hash.equals(rec.contentHash())) {
            throw new SqueezeException("The evaluation text " + eval.describe() + " is not the text the run of bundle "
                    + b.file() + " was evaluated on (" + rec.name() + ")",
                    "use the same TinyStories file and story range as the run");
        }
        Model m = b.model();
        Map<String, LinearOp> ops = new LinkedHashMap<>();
        b.compressed().forEach((layer, c) -> ops.put(layer, c.asLinearOp()));
        LlamaModel net = LlamaModel.from(m).withLinears(ops);
        Perplexity.Result r = Perplexity.evaluate(net, eval.corpus().tokens(eval.range(), eval.tokenizer()));
        return new SqzEvaluation(eval.describe(), b.metrics(), List.of(
                new RunRecord.Metric("perplexity", "evaluation", r.perplexity()),
                new RunRecord.Metric("nll_per_token", "evaluation", r.meanNll()),
                new RunRecord.Metric("tokens", "evaluation", r.tokens())));
    }

    /** A classifier bundle on {@code images}; they must be the images the run was evaluated on. */
    public static SqzEvaluation evaluate(SqzBundle b, ImageSet images) {
        RunRecord.DatasetRecord rec = evaluationRecord(b);
        ByteBuffer both = ByteBuffer.allocate(images.pixels().length + images.labels().length);
        both.put(images.pixels()).put(images.labels()).flip();
        if (!Hashing.sha256(both).equals(rec.contentHash())) {
            throw new SqueezeException("The images " + images.name() + " are not those the run of bundle " + b.file()
                    + " was evaluated on (" + rec.name() + ")", "use the run's evaluation images");
        }
        Model m = b.model();
        if (!MlpClassifier.ARCHITECTURE.equals(m.architecture())) {
            throw new SqueezeException("Bundle " + b.file() + " holds a model of architecture '" + m.architecture()
                    + "', which is neither a language model nor a Squeeze MLP", "evaluate it where it was made");
        }
        try (ClassifierSubject subject = ClassifierSubject.of(m)) {
            ClassifierMetrics r = ClassifierEvaluator.evaluate(subject.with(b.compressed()), images);
            List<RunRecord.Metric> measured = new ArrayList<>();
            measured.add(new RunRecord.Metric("top1", "evaluation", r.top1()));
            double[] perClass = r.perClass();
            for (int c = 0; c < perClass.length; c++) {
                if (!Double.isNaN(perClass[c])) {
                    measured.add(new RunRecord.Metric("accuracy." + r.classNames().get(c), "evaluation", perClass[c]));
                }
            }
            return new SqzEvaluation(images.name(), b.metrics(), measured);
        }
    }

    private static RunRecord.DatasetRecord evaluationRecord(SqzBundle b) {
        return b.run().map(r -> r.evaluation()).orElseThrow(() -> new SqueezeException("Bundle " + b.file()
                + " carries no run, so there are no metrics to evaluate it against",
                "export a stored run: squeeze export --run ID --format sqz"));
    }

    /** The bundle's tokenizer: llama2.c's {@code tok*.bin}, or a Hugging Face {@code tokenizer.json} (+ configs). */
    public static Tokenizer tokenizer(SqzBundle b) {
        Map<String, byte[]> files = b.tokenizerFiles();
        String where = b.file() + " (tokenizer ";
        // Told by the files, not the base format: a bundle made from a bundle keeps its first base's tokenizer.
        Optional<String> llama2c = files.keySet().stream().filter(n -> n.endsWith(".bin")).findFirst();
        if (llama2c.isPresent()) {
            int vocab = LlamaConfig.fromMetadata(b.model()).vocabSize();
            return Llama2cTokenizer.parse(files.get(llama2c.get()), where + llama2c.get() + ")", vocab);
        } else if (files.containsKey("tokenizer.json")) {
            Path dir = null;
            try {
                dir = Files.createTempDirectory("squeeze-sqz-tokenizer");
                for (Map.Entry<String, byte[]> e : files.entrySet()) {
                    Files.write(dir.resolve(e.getKey()), e.getValue());
                }
                return HfTokenizer.load(dir);
            } catch (IOException e) {
                throw new SqueezeException("Cannot unpack the tokenizer of bundle " + b.file() + ": " + e.getMessage(),
                        "check that the temporary folder is writable", e);
            } finally {
                deleteQuietly(dir);
            }
        }
        throw new SqueezeException("Bundle " + b.file() + " carries no tokenizer for its " + b.base().format() + " model",
                "export it again with the tokenizer beside the model (tok<vocab>.bin or tokenizer.json)");
    }

    private static void deleteQuietly(Path dir) {
        if (dir == null) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // A temporary folder left behind holds only tokenizer files.
        }
    }
}
