package dev.squeeze.engine.compress.sparse;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The SparseGPT paper's claim on the reference inputs: at the same sparsity pattern SparseGPT's layer error
 * (over the case's calibration X) is below magnitude pruning's.
 */
class SparseGptVsMagnitudeTest {
    private static final Logger LOG = LoggerFactory.getLogger(SparseGptVsMagnitudeTest.class);

    @ParameterizedTest
    @CsvSource({"sparsegpt_50,0", "sparsegpt_2of4,2", "sparsegpt_50_in200,0", "sparsegpt_2of4_in200,2"})
    void sparseGptBeatsMagnitudePruning(String name, int n) throws Exception {
        ReferenceCase c = ReferenceCase.load(name);
        Sparsity sp = n == 0 ? Sparsity.unstructured(0.5) : Sparsity.nOfM(n, 4);
        SparseTensor sgpt = (SparseTensor) new SparseGpt().compress(c.input(), SparseGptSettings.of(sp));
        SparseTensor mag = (SparseTensor) new MagnitudePruning().compress(c.input(), MagnitudeSettings.of(sp));
        double errSgpt = c.outErr(sgpt.dequantize());
        double errMag = c.outErr(mag.dequantize());
        LOG.info("{} {}: out_err SparseGPT {} ({} bits/weight), magnitude {} ({} bits/weight), ratio {}", name,
                sp.describe(), errSgpt, sgpt.bitsPerWeight(), errMag, mag.bitsPerWeight(), errMag / errSgpt);
        assertTrue(errSgpt < errMag, name + ": SparseGPT " + errSgpt + " vs magnitude " + errMag);
    }
}
