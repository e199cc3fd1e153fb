package dev.squeeze.app.workbench;

/**
 * Window commands that feature views provide: the menu items and shortcuts are in the window, the work in the
 * feature. Until a feature wires its action ({@link WorkbenchView#wire}) the item is disabled, never dead.
 */
public enum WorkbenchAction {
    /** File ▸ Open plan… : load a plan JSON into the editor. */
    OPEN_PLAN,
    /** File ▸ Save plan… (Ctrl+S): save the editor's plan as JSON. */
    SAVE_PLAN,
    /** File ▸ Export chart… : the Pareto chart as PNG or SVG. */
    EXPORT_CHART,
    /** Run ▸ Launch plan (Ctrl+R): queue the editor's plan as a job. */
    LAUNCH,
    /** Run ▸ Compare selected runs (Ctrl+D). */
    COMPARE,
    /** Run ▸ Find best plan… (Ctrl+Shift+F): search a per-layer plan under a budget, or a front. */
    FIND_PLAN
}
