package dev.squeeze.engine.model.onnx;

import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.ModelFormat;

import java.nio.file.Path;

/**
 * ONNX ({@code .onnx}): a protobuf {@code ModelProto}. It has no magic number; every exporter writes the fields in
 * number order, so a file starts with field 1, {@code ir_version} (tag byte 0x08, a small varint), followed by the
 * tag of another ModelProto field. Checking that second tag as well keeps files of other formats whose first
 * byte happens to be 0x08 (a safetensors header length, a llama2.c {@code dim} of 8 or 264) from being claimed;
 * {@link #read} then parses the whole message and requires a graph.
 */
public final class OnnxFormat implements ModelFormat {
    public static final String NAME = "onnx";
    /** Released IR versions are 1 to 11; leave room for a few more without accepting arbitrary varints. */
    private static final int MAX_IR_VERSION = 64;

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public boolean recognizes(byte[] head, long fileSize) {
        if (head.length < 4 || head[0] != 0x08) {
            return false;
        }
        int ir = head[1] & 0xff;
        if (ir < 1 || ir > MAX_IR_VERSION) {
            return false;
        }
        int tag = head[2] & 0xff;
        int field = tag >>> 3;
        int wireType = tag & 7;
        return switch (field) {
            // producer_name, producer_version, domain, doc_string, graph, opset_import, metadata_props: strings
            // and messages (wire type 2, length-delimited)
            case 2, 3, 4, 6, 7, 8, 14 -> wireType == 2;
            // model_version: a varint
            case 5 -> wireType == 0;
            default -> false;
        };
    }

    @Override
    public Model read(Path file) {
        return OnnxModel.read(file).model();
    }
}
