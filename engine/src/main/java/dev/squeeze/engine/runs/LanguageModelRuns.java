package dev.squeeze.engine.runs;

import dev.squeeze.engine.compress.CompressedTensor;
import dev.squeeze.engine.data.text.TextEvaluation;
import dev.squeeze.engine.eval.Latency;
import dev.squeeze.engine.eval.Perplexity;
import dev.squeeze.engine.eval.SizeAccounting;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.nn.llama.LlamaModel;
import dev.squeeze.engine.store.Provenance;
import dev.squeeze.engine.store.ResultsStore;
import dev.squeeze.engine.store.RunRecord;
import dev.squeeze.engine.util.Hashing;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Runs of Llama-family language models, judged by perplexity on an evaluation split of a story corpus. */
public final class LanguageModelRuns {
    private final ResultsStore store;

    public LanguageModelRuns(ResultsStore store) {
        this.store = store;
    }

    /** Evaluates the dense model's perplexity and stores it as a run; returns the run id. */
    public long runDense(Model model, TextEvaluation eval) {
        Instant start = Instant.now();
        return evaluateAndStore(store::recordRun, RunHooks.NONE, model, LlamaModel.from(model), eval,
                "{\"schema\":1,\"defaults\":{\"method\":\"none\"}}", "dense (no compression)",
                "dense " + ClassifierRuns.storedType(model), start, 0, Map.of(), List.of(), List.of(), null).runId();
    }

    /** What a stored language-model run measured. */
    public record Stored(long runId, double perplexity, Double bitsPerWeight, long sizeBytes) {
    }

    /**
     * Evaluates {@code net} (the model with its compressed layers, if any) on the evaluation text and stores the
     * run: perplexity, NLL per token and token count on the evaluation split, plus {@code extraMetrics}; sizes from
     * {@code compressed} (tensor name → compressed form; empty for a dense run).
     */
    public static Stored evaluateAndStore(RunSink store, RunHooks hooks, Model model, LlamaModel net, TextEvaluation eval,
                                   String planJson, String planDescription, String label, Instant start, long seed,
                                   Map<String, CompressedTensor> compressed, List<RunRecord.LayerResult> layers,
                                   List<RunRecord.Metric> extraMetrics, RunRecord.DatasetRecord calibration) {
        List<int[]> sequences = eval.corpus().tokens(eval.range(), eval.tokenizer());
        // Progress in tokens (stories differ in length): the tokens of the sequences before the one starting.
        long totalTokens = sequences.stream().mapToLong(q -> q.length).sum();
        long[] before = {0};
        int[] next = {0};
        Perplexity.Result r = Perplexity.evaluate(net, sequences, () -> {
            hooks.checkCancelled();
            hooks.progress(RunHooks.Phase.EVALUATION, before[0], totalTokens, "tokens");
            before[0] += sequences.get(next[0]++).length;
        });
        hooks.progress(RunHooks.Phase.EVALUATION, totalTokens, totalTokens, "tokens");
        String text = String.join("\n", eval.corpus().stories(eval.range()));
        RunRecord.DatasetRecord dataset = new RunRecord.DatasetRecord(eval.describe(), eval.corpus().source(),
                Hashing.sha256(text.getBytes(StandardCharsets.UTF_8)), "evaluation", r.tokens());
        List<RunRecord.Metric> metrics = new ArrayList<>(List.of(
                new RunRecord.Metric("perplexity", "evaluation", r.perplexity()),
                new RunRecord.Metric("nll_per_token", "evaluation", r.meanNll()),
                new RunRecord.Metric("tokens", "evaluation", r.tokens())));
        hooks.checkCancelled();
        double latency = sequences.isEmpty() ? Double.NaN : Latency.perToken(net, sequences.get(0));
        if (!Double.isNaN(latency)) {
            metrics.add(new RunRecord.Metric(Latency.METRIC, "evaluation", latency));
        }
        metrics.addAll(extraMetrics);
        long size = SizeAccounting.modelBytes(model, compressed);
        Double bpw = SizeAccounting.bitsPerWeight(compressed);
        long id = store.accept(new RunRecord(RunRecords.model(model), dataset, planJson, planDescription, label,
                start, Instant.now(), seed, Provenance.current(), size,
                SizeAccounting.fp16Bytes(model), bpw, layers, metrics, calibration, List.of(), null));
        return new Stored(id, r.perplexity(), bpw, size);
    }
}
