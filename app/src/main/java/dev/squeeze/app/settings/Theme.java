package dev.squeeze.app.settings;

import atlantafx.base.theme.PrimerDark;
import atlantafx.base.theme.PrimerLight;

import java.awt.Color;
import java.util.Locale;

/**
 * The workbench's colour theme: an AtlantaFX user-agent stylesheet for the controls, and the AWT colours that
 * JFreeChart views (which draw with AWT, outside CSS) use to follow it.
 */
public enum Theme {
    LIGHT("Light", new PrimerLight().getUserAgentStylesheet(),
            new Color(0xFF, 0xFF, 0xFF), new Color(0x1F, 0x23, 0x28)),
    DARK("Dark", new PrimerDark().getUserAgentStylesheet(),
            new Color(0x0D, 0x11, 0x17), new Color(0xE6, 0xED, 0xF3));

    private final String title;
    private final String stylesheet;
    private final Color chartBackground;
    private final Color chartForeground;

    Theme(String title, String stylesheet, Color chartBackground, Color chartForeground) {
        this.title = title;
        this.stylesheet = stylesheet;
        this.chartBackground = chartBackground;
        this.chartForeground = chartForeground;
    }

    /** The AtlantaFX stylesheet for {@code Application.setUserAgentStylesheet}. */
    public String stylesheet() {
        return stylesheet;
    }

    /**
     * A chart's frame (around the plot area, which stays light in both themes: see the pareto package's
     * ChartStyle), matching the theme's window background.
     */
    public Color chartBackground() {
        return chartBackground;
    }

    /** Axis labels, tick labels, axis lines, titles and legend text. */
    public Color chartForeground() {
        return chartForeground;
    }

    @Override
    public String toString() {
        return title;
    }

    /** The theme stored as {@code value} ("light", "dark", any case); LIGHT for null or anything else. */
    public static Theme parse(String value) {
        return value != null && value.strip().toLowerCase(Locale.ROOT).equals("dark") ? DARK : LIGHT;
    }
}
