package dev.squeeze.app.settings;

/** Where the main window was and how large, as the user left it. */
public record WindowBounds(double x, double y, double width, double height, boolean maximized) {
    /** The smallest window the workbench lays out usably (the 1024×700). */
    public static final double MIN_WIDTH = 1024;
    public static final double MIN_HEIGHT = 700;

    /**
     * These bounds made to fit a screen with visible area {@code (sx, sy, sw, sh)}: at least the minimum size
     * (or the screen's, if smaller), at most the screen, and moved so the window's top-left part is on it
     * (a window saved on a monitor that is gone must not open off-screen).
     */
    public WindowBounds fitTo(double sx, double sy, double sw, double sh) {
        double w = Math.min(Math.max(width, Math.min(MIN_WIDTH, sw)), sw);
        double h = Math.min(Math.max(height, Math.min(MIN_HEIGHT, sh)), sh);
        double nx = Math.min(Math.max(x, sx), sx + sw - w);
        double ny = Math.min(Math.max(y, sy), sy + sh - h);
        return new WindowBounds(nx, ny, w, h, maximized);
    }
}
