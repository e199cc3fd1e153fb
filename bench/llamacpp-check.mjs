// The llama.cpp half of bench/llamacpp-check.sh: loads each GGUF file the Java half wrote into llama.cpp (npm's
// node-llama-cpp, its prebuilt CPU binaries, offline) and compares with Squeeze on the same file:
//   (a) greedy generation from BOS, token by token;
//   (b) perplexity on the evaluation split: the same token ids and windows as Squeeze's Perplexity (each story
//       with BOS once, truncated to the context, every token after BOS predicted from the ones before it);
//   (c) llama.cpp's tokenizer on the evaluation text gives Squeeze's token ids.
// Usage: node bench/llamacpp-check.mjs NODE_MODULES_DIR CHECK_DIR [variant...]   (default: every VARIANT.json there)
// The context runs on one thread, without flash attention and with an F32 KV cache, so that the only numerical
// difference left is llama.cpp's own arithmetic (for Q4_0/Q8_0 weights it quantizes activations to 8 bits).
import fs from "node:fs";
import path from "node:path";
import {pathToFileURL} from "node:url";

const [modulesDir, checkDir, ...chosen] = process.argv.slice(2);
if (!modulesDir || !checkDir) {
    console.error("usage: node llamacpp-check.mjs NODE_MODULES_DIR CHECK_DIR [variant...]");
    process.exit(2);
}
const {getLlama, LlamaLogLevel} = await import(
    pathToFileURL(path.join(modulesDir, "node-llama-cpp", "dist", "index.js")).href);
const evalData = JSON.parse(fs.readFileSync(path.join(checkDir, "eval.json"), "utf8"));
const variants = chosen.length > 0 ? chosen
    : fs.readdirSync(checkDir).filter(f => f.endsWith(".json") && f !== "eval.json").map(f => f.slice(0, -5)).sort();

const llama = await getLlama({gpu: false, build: "never", skipDownload: true, logLevel: LlamaLogLevel.error});
const rows = [];
const tokenRows = [];
let failures = 0;
// A story's ids from llama.cpp (BOS first, as Squeeze encodes) against ours: null when equal, else where they differ.
function compareTokens(model, stories, bos) {
    let compared = 0;
    for (let i = 0; i < stories.length; i++) {
        const s = stories[i];
        const theirs = [bos, ...model.tokenize(s.text)];
        compared += s.ids.length;
        if (theirs.length !== s.ids.length || theirs.some((t, k) => t !== s.ids[k])) {
            const k = theirs.findIndex((t, j) => t !== s.ids[j]);
            return {compared, mismatch: `story ${i + 1}: first difference at token ${k}: llama.cpp ${theirs[k]}, ours ${s.ids[k]}`};
        }
    }
    return {compared, mismatch: null};
}

for (const v of variants) {
    const ours = JSON.parse(fs.readFileSync(path.join(checkDir, v + ".json"), "utf8"));
    if (ours.vocabOnly) {
        const vocab = await llama.loadModel({modelPath: ours.file, vocabOnly: true});
        const {compared, mismatch} = compareTokens(vocab, ours.stories, vocab.tokens.bos);
        if (mismatch != null) failures++;
        console.log(`\n== ${v}: ${ours.file} (${ours.bytes.toLocaleString("en")} bytes, vocabulary only)`);
        console.log(`   tokenizer: ${mismatch == null ? `llama.cpp's ids equal Squeeze's tokenizer.json ids on all`
            + ` ${ours.stories.length} stories (${compared} tokens)` : "DIFFERENT, " + mismatch}`);
        tokenRows.push({v, ok: mismatch == null, compared});
        await vocab.dispose();
        continue;
    }
    const model = await llama.loadModel({modelPath: ours.file, gpuLayers: 0});
    const context = await model.createContext({
        contextSize: evalData.window, batchSize: evalData.window, threads: 1, flashAttention: false,
        experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32"
    });
    const sequence = context.getSequence();

    // (c) tokenizer: llama.cpp's ids for each story's text (BOS added as Squeeze adds it) against ours.
    const {compared: tokensCompared, mismatch: tokenMismatch} = compareTokens(model, evalData.stories, evalData.bos);

    // (b) perplexity over the same windows.
    let nll = 0;
    let count = 0;
    for (const s of evalData.stories) {
        const ids = s.ids.slice(0, evalData.window);
        if (ids.length < 2) continue;
        await sequence.clearHistory();
        const input = ids.map((t, i) => i + 1 < ids.length ? [t, {generateNext: {probabilities: true}}] : t);
        const out = await sequence.controlledEvaluate(input);
        for (let i = 0; i + 1 < ids.length; i++) {
            const p = out[i]?.next?.probabilities?.get(ids[i + 1]);
            if (!(p > 0)) throw new Error(`${v}: no probability for token ${ids[i + 1]} at position ${i + 1}`);
            nll -= Math.log(p);
            count++;
        }
    }
    const ppl = Math.exp(nll / count);

    // (a) greedy generation from BOS.
    await sequence.clearHistory();
    const greedy = [];
    for await (const t of sequence.evaluate([evalData.bos], {temperature: 0})) {
        if (t === evalData.eos || greedy.length >= evalData.greedyTokens) break;
        greedy.push(t);
        if (greedy.length >= evalData.greedyTokens) break;
    }
    const same = greedy.length === ours.oursGreedy.length && greedy.every((t, k) => t === ours.oursGreedy[k]);
    const firstDiff = same ? -1 : greedy.findIndex((t, k) => t !== ours.oursGreedy[k]);
    if (tokenMismatch != null) failures++;
    if (count !== ours.oursTokens) failures++;

    console.log(`\n== ${v}: ${ours.file} (${ours.bytes.toLocaleString("en")} bytes)`);
    console.log(`   tokenizer: ${tokenMismatch == null ? `llama.cpp's ids equal ours on all ${evalData.stories.length}`
        + ` stories (${tokensCompared} tokens)` : "DIFFERENT, " + tokenMismatch}`);
    console.log(`   perplexity: llama.cpp ${ppl.toFixed(6)}, ours ${ours.oursPerplexity.toFixed(6)} over ${count}`
        + ` predicted tokens (ours ${ours.oursTokens}); difference ${(ppl - ours.oursPerplexity).toExponential(3)}`
        + ` (${((ppl / ours.oursPerplexity - 1) * 100).toFixed(4)} %)`);
    console.log(`   greedy from BOS (${greedy.length} tokens): ${same ? "identical token ids"
        : `first difference at token ${firstDiff} (llama.cpp ${greedy[firstDiff]}, ours ${ours.oursGreedy[firstDiff]})`}`);
    console.log(`     llama.cpp: ${JSON.stringify(model.detokenize(greedy))}`);
    console.log(`     ours:      ${JSON.stringify(ours.oursGreedyText)}`);
    rows.push({v, bytes: ours.bytes, theirs: ppl, ours: ours.oursPerplexity, same, firstDiff,
        tokens: tokenMismatch == null});
    await context.dispose();
    await model.dispose();
}

if (rows.length > 0) {
    console.log("\n| file | bytes | llama.cpp perplexity | Squeeze perplexity | difference | greedy 100 tokens | tokenizer ids |");
    console.log("|---|---|---|---|---|---|---|");
}
for (const r of rows) {
    console.log(`| ${r.v} | ${r.bytes.toLocaleString("en")} | ${r.theirs.toFixed(4)} | ${r.ours.toFixed(4)} | `
        + `${((r.theirs / r.ours - 1) * 100).toFixed(3)} % | ${r.same ? "identical" : "differ from token " + r.firstDiff} | `
        + `${r.tokens ? "equal" : "DIFFERENT"} |`);
}
for (const r of tokenRows) {
    console.log(`\n${r.v}: llama.cpp's tokenizer ${r.ok ? "gives" : "does NOT give"} Squeeze's ids (${r.compared} tokens)`);
}
await llama.dispose();
process.exit(failures > 0 ? 1 : 0);
