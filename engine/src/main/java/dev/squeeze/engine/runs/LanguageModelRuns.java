package dev.squeeze.engine.runs;

import dev.squeeze.engine.data.text.TextEvaluation;
import dev.squeeze.engine.eval.Perplexity;
import dev.squeeze.engine.eval.SizeAccounting;
import dev.squeeze.engine.kernels.Kernels;
import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.nn.llama.LlamaModel;
import dev.squeeze.engine.store.Provenance;
import dev.squeeze.engine.store.ResultsStore;
import dev.squeeze.engine.store.RunRecord;
import dev.squeeze.engine.util.Hashing;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;

/** Runs of Llama-family language models, judged by perplexity on an evaluation split of a story corpus. */
public final class LanguageModelRuns {
    private final ResultsStore store;

    public LanguageModelRuns(ResultsStore store) {
        this.store = store;
    }

    /** Evaluates the dense model's perplexity and stores it as a run; returns the run id. */
    public long runDense(Model model, TextEvaluation eval) {
        Instant start = Instant.now();
        LlamaModel llama = LlamaModel.from(model);
        List<int[]> sequences = eval.corpus().tokens(eval.range(), eval.tokenizer());
        Perplexity.Result r = Perplexity.evaluate(llama, sequences);
        String text = String.join("\n", eval.corpus().stories(eval.range()));
        RunRecord.DatasetRecord dataset = new RunRecord.DatasetRecord(eval.describe(), eval.corpus().source(),
                Hashing.sha256(text.getBytes(StandardCharsets.UTF_8)), "evaluation", r.tokens());
        List<RunRecord.Metric> metrics = List.of(
                new RunRecord.Metric("perplexity", "evaluation", r.perplexity()),
                new RunRecord.Metric("nll_per_token", "evaluation", r.meanNll()),
                new RunRecord.Metric("tokens", "evaluation", r.tokens()));
        return store.recordRun(new RunRecord(RunRecords.model(model), dataset,
                "{\"schema\":1,\"defaults\":{\"method\":\"none\"}}", "dense (no compression)",
                "dense " + ClassifierRuns.storedType(model), start, Instant.now(), 0,
                Provenance.current(Kernels.backendName()), model.storedBytes(), SizeAccounting.fp16Bytes(model),
                null, List.of(), metrics));
    }
}
