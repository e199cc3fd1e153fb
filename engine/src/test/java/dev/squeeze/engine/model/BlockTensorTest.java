package dev.squeeze.engine.model;

import dev.squeeze.engine.export.gguf.GgmlBlocks;
import dev.squeeze.engine.export.gguf.GgmlType;
import dev.squeeze.engine.model.gguf.GgufModelFormat;
import dev.squeeze.engine.nn.TensorLinear;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** {@link DType#BLOCKS} tensors: any range decodes to the values of the blocks that hold it, in place. */
class BlockTensorTest {
    @Test
    void anyRangeDecodesAsTheWholeBlocksDo() {
        // 3 rows of 69,984 values (2,187 Q8_0 blocks): whole-tensor decoding crosses the 64 Ki-value chunks.
        int rows = 3;
        int cols = 69_984;
        float[] x = new float[rows * cols];
        Random rnd = new Random(3);
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        ByteBuffer bytes = ByteBuffer.allocate((int) (rows * GgmlType.Q8_0.rowBytes(cols)));
        GgmlBlocks.encode(GgmlType.Q8_0, x, bytes);
        float[] expected = new float[x.length];
        GgmlBlocks.decode(GgmlType.Q8_0, ByteBuffer.wrap(bytes.array()), expected);
        Tensor t = Tensor.blocks("w", new long[]{rows, cols}, bytes.flip(),
                new GgufModelFormat.GgmlCodec(GgmlType.Q8_0));
        assertEquals(rows * GgmlType.Q8_0.rowBytes(cols), t.storedBytes());
        assertEquals(32, t.groupSize());
        assertArrayEquals(expected, t.floats());
        int[][] ranges = {{0, 1}, {5, 27}, {31, 2}, {33, 100}, {65_530, 20}, {cols - 3, 7}, {x.length - 1, 1},
                {100, 131_072 + 17}, {0, 0}};
        for (int[] r : ranges) {
            float[] got = new float[r[1] + 2];
            t.decode(r[0], got, 2, r[1]);
            assertArrayEquals(Arrays.copyOfRange(expected, r[0], r[0] + r[1]), Arrays.copyOfRange(got, 2,
                    got.length), "values " + r[0] + "+" + r[1]);
        }
        float[] row = new float[cols];
        new TensorLinear.RowReader(t).row(2, row);
        assertArrayEquals(Arrays.copyOfRange(expected, 2 * cols, 3 * cols), row);
        assertThrows(IndexOutOfBoundsException.class, () -> t.decode(x.length - 1, new float[2], 0, 2));
        assertThrows(IllegalArgumentException.class, () -> Tensor.blocks("w", new long[]{rows, cols},
                ByteBuffer.allocate(10), new GgufModelFormat.GgmlCodec(GgmlType.Q8_0)));
    }
}
