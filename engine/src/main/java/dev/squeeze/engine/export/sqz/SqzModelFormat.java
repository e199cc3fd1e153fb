package dev.squeeze.engine.export.sqz;

import dev.squeeze.engine.model.Model;
import dev.squeeze.engine.model.ModelFormat;

import java.nio.file.Path;

/**
 * Opens a {@code .sqz} bundle as a model ({@code squeeze inspect x.sqz}, the workbench): the layers as the
 * compressed run has them, see {@link SqzBundle#model()}.
 */
public final class SqzModelFormat implements ModelFormat {
    @Override
    public String name() {
        return Sqz.FORMAT;
    }

    @Override
    public boolean recognizes(byte[] head, long fileSize) {
        return Sqz.recognizes(head);
    }

    @Override
    public Model read(Path file) {
        return Sqz.read(file).model();
    }
}
