package dev.squeeze.app.settings;

import java.nio.file.Path;

/** A model opened before; {@code exists} is false when the file or folder is gone (shown greyed). */
public record RecentModel(Path path, boolean exists) {
    /** The name shown in the menu: the file or folder name, then its folder. */
    public String title() {
        Path name = path.getFileName();
        Path parent = path.toAbsolutePath().getParent();
        return (name == null ? path.toString() : name.toString()) + (parent == null ? "" : "  —  " + parent);
    }
}
