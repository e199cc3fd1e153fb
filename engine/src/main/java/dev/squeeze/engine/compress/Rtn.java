package dev.squeeze.engine.compress;

/** Round-to-nearest quantization as a {@link CompressionMethod}; data-free (ignores the Hessian). */
final class Rtn implements CompressionMethod {
    @Override
    public String name() {
        return "rtn";
    }

    @Override
    public Class<? extends MethodSettings> settingsType() {
        return RtnSettings.class;
    }

    @Override
    public CompressedTensor compress(LayerInput input, MethodSettings settings) {
        return RtnQuantizer.quantize(input.layer(), input.weight(), input.rows(), input.cols(), (RtnSettings) settings);
    }
}
