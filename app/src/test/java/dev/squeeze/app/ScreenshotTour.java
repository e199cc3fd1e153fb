package dev.squeeze.app;

import dev.squeeze.app.settings.SettingsView;
import dev.squeeze.app.settings.Theme;
import dev.squeeze.engine.store.ResultsStore;
import javafx.embed.swing.SwingFXUtils;
import javafx.scene.Scene;
import javafx.stage.Stage;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfEnvironmentVariable;
import org.testfx.api.FxToolkit;
import org.testfx.util.WaitForAsyncUtils;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Screenshots of the window for review and the README: both themes at 1280×800 and 1024×700, the banner with
 * queued messages and details, the settings dialog. Runs only when asked:
 * {@code SQUEEZE_SCREENSHOTS=/tmp/shots ./mvnw -o -q test -pl app -am -Dtest=ScreenshotTour
 * -Dsurefire.failIfNoSpecifiedTests=false}; it checks every picture was written and is not blank.
 * {@code SQUEEZE_SCREENSHOTS_DB=/path/results} (a database base path, H2 adds .mv.db) shows a copy of that
 * database and its jobs' logs instead of a new one (the README's pictures use one with 30 runs of three models).
 */
@EnabledIfEnvironmentVariable(named = "SQUEEZE_SCREENSHOTS", matches = ".+")
class ScreenshotTour {
    private SqueezeApp app;

    @AfterEach
    void stop() throws Exception {
        if (app != null) {
            FxToolkit.cleanupApplication(app);
        }
    }

    @Test
    void everyScreenInBothThemesAndSizes() throws Exception {
        Path out = Path.of(System.getenv("SQUEEZE_SCREENSHOTS"));
        Files.createDirectories(out);
        FxToolkit.registerPrimaryStage();
        String db = System.getenv("SQUEEZE_SCREENSHOTS_DB");
        java.util.function.Supplier<ResultsStore> store = ResultsStore::inMemory;
        if (db != null && !db.isBlank()) {
            Path copy = Files.createTempDirectory("squeeze-tour").resolve("results");
            Files.copy(Path.of(db + ".mv.db"), Path.of(copy + ".mv.db"));
            Path logs = Path.of(db + "-checkpoints");
            if (Files.isDirectory(logs)) { // the jobs' logs, for the Log dialog
                try (var files = Files.list(logs)) {
                    Path to = Files.createDirectories(Path.of(copy + "-checkpoints"));
                    for (Path f : files.filter(Files::isRegularFile).toList()) {
                        Files.copy(f, to.resolve(f.getFileName()));
                    }
                }
            }
            store = () -> ResultsStore.openFile(copy);
        }
        java.util.function.Supplier<ResultsStore> chosen = store;
        app = (SqueezeApp) FxToolkit.setupApplication(() -> new SqueezeApp(chosen, false));
        WaitForAsyncUtils.waitFor(120, TimeUnit.SECONDS, () -> !app.viewModel().busy().get()
                && app.viewModel().pareto().rows().size() >= 3);
        Stage stage = WaitForAsyncUtils.asyncFx(() -> (Stage) app.view().root().getScene().getWindow())
                .get(10, TimeUnit.SECONDS);
        for (Theme theme : Theme.values()) {
            fx(() -> app.settings().theme().set(theme));
            for (int[] size : new int[][] {{1280, 800}, {1024, 700}}) {
                fx(() -> {
                    stage.setWidth(size[0]);
                    stage.setHeight(size[1]);
                });
                String name = theme.name().toLowerCase(java.util.Locale.ROOT) + "-" + size[0] + "x" + size[1];
                shoot(stage.getScene(), out.resolve("workbench-" + name + ".png"));
                fx(() -> {
                    app.viewModel().report("Cannot open b.onnx: the file ends at byte 512 inside tensor conv1.weight"
                            + "\n  header says 4,096 bytes\n  Fix: download the model again");
                    app.viewModel().report("The plan does not fit the model (2 problems):\n  - fc1: bits 17 is not"
                            + " 2 to 8\n  - fc2: group size 0 must be positive\n  Fix: correct the entries named above");
                    app.viewModel().notifications().detailsShown().set(true);
                });
                shoot(stage.getScene(), out.resolve("banner-" + name + ".png"));
                fx(() -> app.viewModel().notifications().dismissAll());
            }
            String t = theme.name().toLowerCase(java.util.Locale.ROOT);
            var rows = app.viewModel().pareto().rows();
            long first = rows.get(1).id();
            long second = rows.get(rows.size() - 1).id();
            for (int[] size : new int[][] {{1280, 800}, {1024, 700}}) {
                String name = t + "-" + size[0] + "x" + size[1];
                fx(() -> {
                    stage.setWidth(size[0]);
                    stage.setHeight(size[1]);
                });
                // The editor after a bulk edit: every layer RTN 4-bit, fc1 with an invalid group size.
                fx(() -> {
                    var plan = app.viewModel().plan();
                    plan.setMethod(plan.rowsMatching(".*"), "rtn");
                    plan.setColumn(plan.rowsMatching(".*"), "bits", "4");
                    plan.setColumn(plan.rowsMatching("fc1"), "groupSize", "-8");
                    app.view().planView().table().getSelectionModel().select(0);
                    ((javafx.scene.control.TitledPane) app.view().planView().root().lookup("#plan-fields"))
                            .setExpanded(true);
                });
                shoot(stage.getScene(), out.resolve("editor-" + name + ".png"));
                fx(() -> ((javafx.scene.control.TitledPane) app.view().planView().root().lookup("#plan-fields"))
                        .setExpanded(false));
                fx(() -> app.viewModel().plan().undo());
                fx(() -> app.view().paretoView().openDetail(first));
                WaitForAsyncUtils.sleep(1500, TimeUnit.MILLISECONDS);
                shoot(stage.getScene(), out.resolve("detail-" + name + ".png"));
                // The provenance tab: versions, host, the backend of every op and the CPU.
                fx(() -> ((javafx.scene.control.TabPane) stage.getScene().lookup("#run-detail-tabs"))
                        .getSelectionModel().select(3));
                WaitForAsyncUtils.sleep(800, TimeUnit.MILLISECONDS);
                shoot(stage.getScene(), out.resolve("provenance-" + name + ".png"));
                fx(() -> ((javafx.scene.control.TabPane) stage.getScene().lookup("#run-detail-tabs"))
                        .getSelectionModel().select(0));
                if (size[0] == 1280) {
                    exportDialog(stage, out, t);
                }
                fx(() -> app.view().paretoView().openComparison(java.util.List.of(first, second)));
                WaitForAsyncUtils.sleep(1500, TimeUnit.MILLISECONDS);
                shoot(stage.getScene(), out.resolve("compare-" + name + ".png"));
                fx(() -> {
                    app.view().showExplorer();
                    app.viewModel().pareto().allModels().set(true);
                });
                WaitForAsyncUtils.sleep(1500, TimeUnit.MILLISECONDS);
                shoot(stage.getScene(), out.resolve("all-models-" + name + ".png"));
                fx(() -> app.viewModel().pareto().allModels().set(false));
                WaitForAsyncUtils.sleep(1000, TimeUnit.MILLISECONDS);
                // Quality against the latency measured with every run (runs stored before it was measured are
                // listed as not plotted).
                fx(() -> app.viewModel().pareto().xAxis().set(dev.squeeze.engine.store.Pareto.XAxis.LATENCY));
                WaitForAsyncUtils.sleep(1500, TimeUnit.MILLISECONDS);
                shoot(stage.getScene(), out.resolve("latency-" + name + ".png"));
                fx(() -> app.viewModel().pareto().xAxis().set(dev.squeeze.engine.store.Pareto.XAxis.SIZE_BYTES));
                WaitForAsyncUtils.sleep(1000, TimeUnit.MILLISECONDS);
            }
            // A job's log, when the database has jobs.
            var jobs = app.viewModel().jobs().jobs();
            if (!jobs.isEmpty()) {
                long job = jobs.getFirst().id();
                fx(() -> app.viewModel().jobs().showLog(job));
                WaitForAsyncUtils.sleep(1500, TimeUnit.MILLISECONDS);
                Stage log = WaitForAsyncUtils.asyncFx(() -> javafx.stage.Window.getWindows().stream()
                        .filter(w -> w != stage && w instanceof Stage && w.isShowing()).map(w -> (Stage) w)
                        .findFirst().orElse(null)).get(10, TimeUnit.SECONDS);
                if (log != null) {
                    shoot(log.getScene(), out.resolve("job-log-" + t + ".png"));
                    fx(log::close);
                }
            }
            SettingsView settings = WaitForAsyncUtils.asyncFx(() -> new SettingsView(app.settings(),
                    app.viewModel(), stage)).get(10, TimeUnit.SECONDS);
            fx(settings::show);
            shoot(settings.dialog().getDialogPane().getScene(),
                    out.resolve("settings-" + theme.name().toLowerCase(java.util.Locale.ROOT) + ".png"));
            fx(() -> settings.dialog().close());
        }
        fx(() -> app.settings().theme().set(Theme.LIGHT));
    }

    /**
     * Issue 13's screens on the sample: the plan editor with its sensitivity column and heat map (measured by the
     * engine), the "Find best plan" dialog, and, once the search job runs, the dialog with the plans it found and the
     * explorer with the front drawn against the uniform settings. Only this part:
     * {@code -Dtest=ScreenshotTour#searchScreens}; {@code SQUEEZE_TOUR_SEARCH=0} skips running the search;
     * {@code SQUEEZE_TOUR_MODEL=../shared/models/stories260K} does it on that model instead (methods rtn and gptq,
     * the proxy allocator alone, a 2:6:0.5 front; names get the model's name).
     */
    @Test
    void searchScreens() throws Exception {
        Path out = Path.of(System.getenv("SQUEEZE_SCREENSHOTS"));
        Files.createDirectories(out);
        FxToolkit.registerPrimaryStage();
        app = (SqueezeApp) FxToolkit.setupApplication(() -> new SqueezeApp(ResultsStore::inMemory, false));
        WaitForAsyncUtils.waitFor(120, TimeUnit.SECONDS, () -> !app.viewModel().busy().get()
                && app.viewModel().pareto().rows().size() >= 3);
        Stage stage = WaitForAsyncUtils.asyncFx(() -> (Stage) app.view().root().getScene().getWindow())
                .get(10, TimeUnit.SECONDS);
        fx(() -> {
            stage.setWidth(1280);
            stage.setHeight(800);
        });
        String other = System.getenv("SQUEEZE_TOUR_MODEL");
        String suffix = "";
        if (other != null && !other.isBlank()) {
            Path file = Path.of(other).toAbsolutePath().normalize();
            fx(() -> app.viewModel().openFile(file));
            WaitForAsyncUtils.waitFor(300, TimeUnit.SECONDS, () -> !app.viewModel().busy().get()
                    && app.viewModel().currentModel().get() != null
                    && !app.viewModel().currentModel().get().source().startsWith("builtin:"));
            suffix = "-" + app.viewModel().currentModel().get().name();
        }
        boolean language = !suffix.isEmpty();
        // Sensitivity of every layer at every candidate level, measured by the engine (about a minute on the sample).
        var sensitivity = app.viewModel().sensitivity();
        fx(() -> {
            app.view().showSensitivity();
            // A wider editor, so that its ΔKL column shows beside the method.
            stage.getScene().getRoot().lookupAll(".split-pane").stream()
                    .map(n -> (javafx.scene.control.SplitPane) n)
                    .filter(p -> p.getOrientation() == javafx.geometry.Orientation.HORIZONTAL)
                    .forEach(p -> p.setDividerPositions(0.5));
        });
        fx(sensitivity::compute);
        WaitForAsyncUtils.waitFor(1800, TimeUnit.SECONDS, () -> !sensitivity.computing().get()
                && !sensitivity.table().get().isEmpty());
        fx(() -> {
            var plan = app.viewModel().plan();
            var linears = plan.rows().stream().filter(dev.squeeze.app.plan.PlanRow::compressible).toList();
            plan.setMethod(linears, "rtn");
            plan.setColumn(linears, "bits", "3");
            plan.setColumn(linears, "groupSize", language ? "32" : "row");
            plan.setColumn(plan.rowsMatching(language ? ".*wo" : "fc3"), "bits", "8");
        });
        WaitForAsyncUtils.sleep(1000, TimeUnit.MILLISECONDS);
        shoot(stage.getScene(), out.resolve("search-sensitivity-heatmap" + suffix + ".png"));
        fx(() -> ((javafx.scene.control.ComboBox<?>) stage.getScene().lookup("#sensitivity-view"))
                .getSelectionModel().select(1));
        WaitForAsyncUtils.sleep(800, TimeUnit.MILLISECONDS);
        shoot(stage.getScene(), out.resolve("search-sensitivity-bars" + suffix + ".png"));

        // The dialog: a front of budgets over RTN and low rank.
        var dialog = WaitForAsyncUtils.asyncFx(() -> app.view().openFindPlan()).get(10, TimeUnit.SECONDS);
        var search = dialog.viewModel();
        fx(() -> {
            search.budgetKind().set(dev.squeeze.app.search.FindPlanViewModel.BudgetKind.FRONT);
            search.front().set(language ? "2:6:0.5" : "2:6:1");
            if (language) {
                search.methods().forEach((family, on) -> on.set(family.equals("rtn") || family.equals("gptq")));
            }
            search.generations().set(language ? "0" : "40");
            search.offspring().set("8");
            search.timeLimit().set("2m");
            search.tag().set("tour front");
            ((javafx.scene.control.TitledPane) dialog.root().lookup("#search-advanced")).setExpanded(true);
            dialog.stage().sizeToScene();
        });
        shoot(dialog.stage().getScene(), out.resolve("search-dialog" + suffix + ".png"));
        if ("0".equals(System.getenv("SQUEEZE_TOUR_SEARCH"))) {
            return;
        }
        fx(() -> {
            ((javafx.scene.control.TitledPane) dialog.root().lookup("#search-advanced")).setExpanded(false);
            search.start();
        });
        // While it works: the phase and its progress.
        WaitForAsyncUtils.waitFor(900, TimeUnit.SECONDS, () -> search.detail().get().contains("generation")
                || ("sensitivity".equals(search.phase().get()) && search.progress().get() > 0.3)
                || search.state().get().ended());
        fx(() -> dialog.stage().sizeToScene());
        shoot(dialog.stage().getScene(), out.resolve("search-dialog-running" + suffix + ".png"));
        WaitForAsyncUtils.waitFor(1800, TimeUnit.SECONDS, () -> search.state().get().ended()
                && (!search.found().isEmpty() || search.state().get()
                == dev.squeeze.app.search.FindPlanViewModel.State.FAILED));
        WaitForAsyncUtils.sleep(1500, TimeUnit.MILLISECONDS);
        fx(() -> dialog.stage().sizeToScene());
        shoot(dialog.stage().getScene(), out.resolve("search-dialog-done" + suffix + ".png"));
        if (search.found().isEmpty()) {
            return;
        }
        fx(() -> {
            search.showFront();
            app.viewModel().pareto().xAxis().set(dev.squeeze.engine.store.Pareto.XAxis.BITS_PER_WEIGHT);
        });
        WaitForAsyncUtils.sleep(2000, TimeUnit.MILLISECONDS);
        shoot(stage.getScene(), out.resolve("search-front" + suffix + ".png"));
        fx(search::openInEditor);
        WaitForAsyncUtils.sleep(1500, TimeUnit.MILLISECONDS);
        shoot(stage.getScene(), out.resolve("search-plan-in-editor" + suffix + ".png"));
        fx(() -> dialog.stage().close());
    }

    /** The run detail's Export dialog: the run written as a bundle, then its plan in llama.cpp's words. */
    private void exportDialog(Stage stage, Path out, String theme) throws Exception {
        fx(() -> ((javafx.scene.control.Button) stage.getScene().getRoot().lookup("#export-run")).fire());
        WaitForAsyncUtils.sleep(1500, TimeUnit.MILLISECONDS);
        Stage dialog = WaitForAsyncUtils.asyncFx(() -> javafx.stage.Window.getWindows().stream()
                .filter(w -> w != stage && w instanceof Stage && w.isShowing()).map(w -> (Stage) w)
                .findFirst().orElse(null)).get(10, TimeUnit.SECONDS);
        if (dialog == null) {
            return;
        }
        Path target = Files.createTempDirectory("squeeze-tour").resolve("run.sqz");
        fx(() -> {
            var root = dialog.getScene().getRoot();
            @SuppressWarnings("unchecked")
            var format = (javafx.scene.control.ChoiceBox<dev.squeeze.engine.export.Exports.Format>)
                    root.lookup("#export-format");
            format.setValue(dev.squeeze.engine.export.Exports.Format.SQZ);
            ((javafx.scene.control.TextField) root.lookup("#export-target")).setText(target.toString());
            ((javafx.scene.control.Button) root.lookup("#export-start")).fire();
        });
        WaitForAsyncUtils.waitFor(120, TimeUnit.SECONDS, () -> Files.exists(target));
        WaitForAsyncUtils.sleep(1000, TimeUnit.MILLISECONDS);
        shoot(dialog.getScene(), out.resolve("export-" + theme + ".png"));
        fx(() -> {
            var tabs = (javafx.scene.control.TabPane) dialog.getScene().getRoot().lookup(".tab-pane");
            tabs.getSelectionModel().select(1);
        });
        WaitForAsyncUtils.sleep(500, TimeUnit.MILLISECONDS);
        shoot(dialog.getScene(), out.resolve("export-plan-" + theme + ".png"));
        fx(dialog::close);
    }

    /**
     * Issue 14's screens: Settings with "Run jobs on: Slurm cluster" (a field with a problem, and what Check cluster
     * said: on a machine without a running cluster, sinfo's failure), and the Jobs pane's Where column after a job
     * ran on this computer. The Slurm row beside it is a job recorded through the job table's own calls (submitted
     * with Slurm settings, placed as Slurm job 12 on node2, cancelled), not one a cluster ran. Only this part:
     * {@code -Dtest=ScreenshotTour#clusterScreens}; writes settings-slurm.png (the part of the dialog), settings-slurm-dialog.png
     * (all of it) and jobs-where.png.
     */
    @Test
    void clusterScreens() throws Exception {
        Path out = Path.of(System.getenv("SQUEEZE_SCREENSHOTS"));
        Files.createDirectories(out);
        Path shared = Files.createTempDirectory("squeeze-shared");
        FxToolkit.registerPrimaryStage();
        ResultsStore store = ResultsStore.inMemory();
        app = (SqueezeApp) FxToolkit.setupApplication(() -> new SqueezeApp(() -> store, false));
        WaitForAsyncUtils.waitFor(120, TimeUnit.SECONDS, () -> !app.viewModel().busy().get()
                && app.viewModel().pareto().rows().size() >= 3 && app.viewModel().jobs().available().get());
        Stage stage = WaitForAsyncUtils.asyncFx(() -> (Stage) app.view().root().getScene().getWindow())
                .get(10, TimeUnit.SECONDS);
        fx(() -> {
            stage.setWidth(1280);
            stage.setHeight(800);
        });

        // With a Slurm cluster (SLURM_CONF, e.g. the loopback one of .ci/slurm-loopback.sh): a real job on it, then
        // one on this computer.
        String conf = System.getenv("SLURM_CONF");
        var c = app.settings().cluster();
        if (conf != null) {
            fx(() -> {
                c.runOn().set(dev.squeeze.app.settings.RunOn.SLURM);
                c.text(dev.squeeze.app.settings.ClusterSettingsViewModel.Field.SHARED_DIR).set(shared.toString());
                c.text(dev.squeeze.app.settings.ClusterSettingsViewModel.Field.PARTITION).set("debug");
                c.cpus().set(1);
                c.text(dev.squeeze.app.settings.ClusterSettingsViewModel.Field.MEMORY).set("600M");
                c.text(dev.squeeze.app.settings.ClusterSettingsViewModel.Field.TIME).set("10:00");
                c.text(dev.squeeze.app.settings.ClusterSettingsViewModel.Field.SLURM_CONF).set(conf);
            });
            fx(() -> app.viewModel().jobs().queuePlanJson("rtn-8bit",
                    "{\"schema\":1,\"defaults\":{\"method\":\"rtn\",\"bits\":8,\"groupSize\":64}}"));
            WaitForAsyncUtils.waitFor(180, TimeUnit.SECONDS, () -> app.viewModel().jobs().jobs().stream().anyMatch(
                    j -> j.label().equals("rtn-8bit") && j.status().get() == dev.squeeze.engine.store.JobStatus.DONE
                            && j.where().get().startsWith("Slurm job")));
            fx(() -> c.runOn().set(dev.squeeze.app.settings.RunOn.LOCAL));
        }
        fx(() -> app.viewModel().jobs().queuePlanJson("rtn-4bit",
                "{\"schema\":1,\"defaults\":{\"method\":\"rtn\",\"bits\":4,\"groupSize\":64}}"));
        WaitForAsyncUtils.waitFor(180, TimeUnit.SECONDS, () -> app.viewModel().jobs().jobs().stream().anyMatch(
                j -> j.label().equals("rtn-4bit") && j.status().get() == dev.squeeze.engine.store.JobStatus.DONE
                        && j.where().get().startsWith("local, pid")));
        fx(() -> {
            app.viewModel().jobs().refresh();
            // More room for the jobs than the window gives them at first.
            for (javafx.scene.Node n = app.view().jobsView().root(); n != null; n = n.getParent()) {
                if (n instanceof javafx.scene.control.SplitPane split && split.getOrientation()
                        == javafx.geometry.Orientation.VERTICAL) {
                    split.setDividerPositions(0.7);
                    break;
                }
            }
        });
        shootNode(app.view().jobsView().root(), null, out.resolve("jobs-where.png"));

        fx(() -> {
            c.runOn().set(dev.squeeze.app.settings.RunOn.SLURM);
            c.text(dev.squeeze.app.settings.ClusterSettingsViewModel.Field.SHARED_DIR).set(shared.toString());
            c.text(dev.squeeze.app.settings.ClusterSettingsViewModel.Field.PARTITION).set("debug");
            c.cpus().set(1);
            c.text(dev.squeeze.app.settings.ClusterSettingsViewModel.Field.MEMORY).set("600M");
            c.text(dev.squeeze.app.settings.ClusterSettingsViewModel.Field.TIME).set("2:00:00");
        });
        SettingsView settings = WaitForAsyncUtils.asyncFx(() -> new SettingsView(app.settings(), app.viewModel(),
                stage)).get(10, TimeUnit.SECONDS);
        fx(settings::show);
        fx(() -> app.settings().cluster().checkCluster());
        WaitForAsyncUtils.waitFor(60, TimeUnit.SECONDS, () -> !app.settings().cluster().checking().get());
        fx(() -> app.settings().cluster().text(dev.squeeze.app.settings.ClusterSettingsViewModel.Field.TIME)
                .set("2 hours"));
        // The dialog's part about where jobs run, from "Run jobs on" to the check's report.
        javafx.scene.Node grid = ((javafx.scene.control.ScrollPane) settings.dialog().getDialogPane().getContent())
                .getContent();
        javafx.scene.Node from = grid.lookup("#settings-run-on");
        javafx.scene.Node to = grid.lookup("#settings-slurm-check-report");
        javafx.geometry.Rectangle2D part = WaitForAsyncUtils.asyncFx(() -> {
            double top = from.getBoundsInParent().getMinY() - 6;
            double bottom = to.getBoundsInParent().getMaxY() + 6;
            return new javafx.geometry.Rectangle2D(0, top, grid.getLayoutBounds().getWidth(), bottom - top);
        }).get(10, TimeUnit.SECONDS);
        shootNode(grid, part, out.resolve("settings-slurm.png"));
        shoot(settings.dialog().getDialogPane().getScene(), out.resolve("settings-slurm-dialog.png"));
        fx(() -> settings.dialog().close());
    }

    /** A picture of {@code node}, or of the part {@code viewport} of it (in its parent's coordinates). */
    private static void shootNode(javafx.scene.Node node, javafx.geometry.Rectangle2D viewport, Path file)
            throws Exception {
        BufferedImage image = WaitForAsyncUtils.asyncFx(() -> {
            javafx.scene.SnapshotParameters p = new javafx.scene.SnapshotParameters();
            p.setViewport(viewport);
            return SwingFXUtils.fromFXImage(node.snapshot(p, null), null);
        }).get(10, TimeUnit.SECONDS);
        ImageIO.write(image, "png", file.toFile());
    }

    private static void fx(Runnable r) throws Exception {
        WaitForAsyncUtils.asyncFx(r).get(10, TimeUnit.SECONDS);
        WaitForAsyncUtils.sleep(400, TimeUnit.MILLISECONDS); // layout, CSS and the banner's slide-in
        WaitForAsyncUtils.waitForFxEvents();
    }

    private static void shoot(Scene scene, Path file) throws Exception {
        BufferedImage image = WaitForAsyncUtils.asyncFx(() -> SwingFXUtils.fromFXImage(scene.snapshot(null), null))
                .get(10, TimeUnit.SECONDS);
        ImageIO.write(image, "png", file.toFile());
        int first = image.getRGB(0, 0);
        boolean varied = false;
        for (int y = 0; y < image.getHeight() && !varied; y += 7) {
            for (int x = 0; x < image.getWidth(); x += 7) {
                if (image.getRGB(x, y) != first) {
                    varied = true;
                    break;
                }
            }
        }
        assertTrue(varied, file + " is blank");
    }
}
