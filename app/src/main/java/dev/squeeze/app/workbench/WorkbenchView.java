package dev.squeeze.app.workbench;

import dev.squeeze.app.jobs.JobsView;
import dev.squeeze.app.jobs.JobsViewModel;
import dev.squeeze.app.models.ModelView;
import dev.squeeze.app.pareto.ParetoView;
import dev.squeeze.app.plan.PlanEditorView;
import dev.squeeze.app.settings.RecentModel;
import dev.squeeze.app.settings.SettingsView;
import dev.squeeze.app.settings.SettingsViewModel;
import dev.squeeze.app.settings.Theme;
import dev.squeeze.engine.store.DataDirs;
import javafx.beans.binding.Bindings;
import javafx.beans.property.ObjectProperty;
import javafx.beans.property.SimpleObjectProperty;
import javafx.beans.value.ObservableBooleanValue;
import javafx.collections.ListChangeListener;
import javafx.geometry.Insets;
import javafx.geometry.Orientation;
import javafx.scene.Node;
import javafx.scene.Parent;
import javafx.scene.control.Alert;
import javafx.scene.control.Button;
import javafx.scene.control.ButtonType;
import javafx.scene.control.Label;
import javafx.scene.control.Menu;
import javafx.scene.control.MenuBar;
import javafx.scene.control.MenuItem;
import javafx.scene.control.ProgressIndicator;
import javafx.scene.control.RadioMenuItem;
import javafx.scene.control.SeparatorMenuItem;
import javafx.scene.control.SplitPane;
import javafx.scene.control.Tab;
import javafx.scene.control.TabPane;
import javafx.scene.control.TextArea;
import javafx.scene.control.ToggleGroup;
import javafx.scene.control.ToolBar;
import javafx.scene.control.Tooltip;
import javafx.scene.input.KeyCombination;
import javafx.scene.input.TransferMode;
import javafx.scene.layout.BorderPane;
import javafx.scene.layout.HBox;
import javafx.scene.layout.Priority;
import javafx.scene.layout.Region;
import javafx.scene.layout.StackPane;
import javafx.scene.layout.VBox;
import javafx.stage.DirectoryChooser;
import javafx.stage.FileChooser;
import javafx.stage.Stage;
import org.controlsfx.control.NotificationPane;
import org.controlsfx.control.action.Action;

import java.io.File;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * The main window: a menu bar, a toolbar, the plan editor in the centre, the runs (Pareto explorer, run detail,
 * comparison) on the right as tabs, the jobs below, a status line, and the notification banner.
 *
 * <p>Feature views plug in after construction: {@link #setCentre}, {@link #setExplorer}, {@link #setDetail},
 * {@link #setCompare}, {@link #setJobsPane}; their commands through {@link #wire}. The defaults are the model's
 * layer table, the runs chart and the jobs list.
 */
public final class WorkbenchView {
    /** Narrowest the editor and the runs side may get; at 1024 px both still fit beside each other. */
    static final double SIDE_MIN_WIDTH = 340;

    private final WorkbenchViewModel vm;
    private final SettingsViewModel settings;
    private final Stage stage;
    private final BorderPane root;
    private final NotificationPane banner;
    private final ParetoView paretoView;
    private final PlanEditorView planView;
    private JobsView jobsView;
    private final StackPane centreSlot = new StackPane();
    private final Region bannerSpacer = new Region();
    private boolean spacerBound;
    private final StackPane jobsSlot = new StackPane();
    private final TabPane rightTabs = new TabPane();
    private final Tab explorerTab = new Tab("Runs");
    private final Tab detailTab = new Tab("Run detail");
    private final Tab compareTab = new Tab("Compare");
    private final Tab sensitivityTab = new Tab("Sensitivity");
    private final Map<WorkbenchAction, ObjectProperty<Runnable>> actions = new EnumMap<>(WorkbenchAction.class);
    private final Map<WorkbenchAction, ObjectProperty<ObservableBooleanValue>> enabled =
            new EnumMap<>(WorkbenchAction.class);
    private final Map<WorkbenchAction, MenuItem> hookedItems = new EnumMap<>(WorkbenchAction.class);
    private final Menu recentMenu = new Menu("Recent models");
    private Function<JobsViewModel, Node> jobsPane;

    public WorkbenchView(WorkbenchViewModel vm, SettingsViewModel settings, Stage stage) {
        this.vm = vm;
        this.settings = settings;
        this.stage = stage;
        for (WorkbenchAction a : WorkbenchAction.values()) {
            actions.put(a, new SimpleObjectProperty<>());
            enabled.put(a, new SimpleObjectProperty<>());
        }
        planView = new PlanEditorView(vm.plan(), () -> stage);
        ModelView modelView = new ModelView(vm.model(), planView.root());
        paretoView = new ParetoView(vm.pareto());
        // A run's detail and a comparison open in the tabs beside the explorer.
        paretoView.setPresenter((view, title, comparison) -> {
            Tab tab = comparison ? compareTab : detailTab;
            tab.setTooltip(new Tooltip());
            tab.getTooltip().textProperty().bind(title);
            if (comparison) {
                setCompare(view);
                showCompare();
            } else {
                setDetail(view);
                showDetail();
            }
        });
        // "Plan from this run" puts the run's plan into the editor, to edit and launch again.
        paretoView.setOnPlanFromRun(json -> vm.plan().loadPlanJson(json));
        paretoView.setReports(vm.reports());
        paretoView.setDarkCharts(settings.theme().get() == Theme.DARK);
        settings.theme().addListener((obs, old, t) -> paretoView.setDarkCharts(t == Theme.DARK));
        jobsPane = jobs -> {
            jobsView = new JobsView(jobs, () -> stage);
            jobsView.offerPresets(vm.plan().presets()); // the presets valid for the open model, as the editor's
            return jobsView.root();
        };

        // Centre: the plan editor (by default the model's layers); right: the runs, one tab per view.
        setCentre(modelView.root());
        centreSlot.setMinWidth(SIDE_MIN_WIDTH);
        rightTabs.setId("runs-tabs");
        rightTabs.setTabClosingPolicy(TabPane.TabClosingPolicy.UNAVAILABLE);
        rightTabs.setMinWidth(SIDE_MIN_WIDTH);
        explorerTab.setId("explorer-tab");
        detailTab.setId("detail-tab");
        compareTab.setId("compare-tab");
        setExplorer(paretoView.root());
        explorerTab.textProperty().bind(vm.pareto().title());
        SplitPane split = new SplitPane(centreSlot, rightTabs);
        split.setOrientation(Orientation.HORIZONTAL);
        split.setDividerPositions(0.47);
        split.setMinHeight(260);
        // The jobs sit below the model and its runs, like a build tool's task list.
        jobsSlot.setMinHeight(110);
        SplitPane main = new SplitPane(split, jobsSlot);
        main.setOrientation(Orientation.VERTICAL);
        main.setDividerPositions(0.8);
        SplitPane.setResizableWithParent(jobsSlot, false);
        showJobs(vm.jobs());
        vm.jobsProperty().addListener((obs, old, jobs) -> showJobs(jobs));

        ProgressIndicator spinner = new ProgressIndicator();
        spinner.setPrefSize(16, 16);
        spinner.setMaxSize(16, 16);
        spinner.visibleProperty().bind(vm.busy());
        Label status = new Label();
        status.setId("status");
        status.textProperty().bind(vm.status());
        HBox statusBar = new HBox(8, spinner, status);
        statusBar.getStyleClass().add("status-bar");
        statusBar.setPadding(new Insets(4, 10, 4, 10));

        // The banner slides in over the content's top: this spacer follows its height, so it never hides the
        // toolbar or the details.
        bannerSpacer.setMinHeight(0);
        VBox top = new VBox(bannerSpacer, detailsArea(), toolbar());
        BorderPane content = new BorderPane(main, top, null, statusBar, null);
        // Models can also be dropped onto the window.
        content.setOnDragOver(e -> {
            if (e.getDragboard().hasFiles()) {
                e.acceptTransferModes(TransferMode.COPY);
            }
            e.consume();
        });
        content.setOnDragDropped(e -> {
            boolean ok = e.getDragboard().hasFiles() && !e.getDragboard().getFiles().isEmpty();
            if (ok) {
                vm.openFile(e.getDragboard().getFiles().get(0).toPath());
            }
            e.setDropCompleted(ok);
            e.consume();
        });

        banner = new NotificationPane(content);
        banner.setId("notifications");
        banner.setShowFromTop(true);
        NotificationsViewModel notes = vm.notifications();
        notes.current().addListener((obs, old, n) -> showBanner());
        notes.position().addListener((obs, old, p) -> showBanner());
        // The banner's close button dismisses the message on show; the next one (if any) takes its place.
        banner.setOnHidden(e -> {
            if (notes.current().get() != null) {
                notes.dismiss();
            }
        });

        root = new BorderPane(banner, menuBar(), null, null, null);
        root.setId("workbench");
        settings.theme().addListener((obs, old, t) -> applyThemeClass(t));
        applyThemeClass(settings.theme().get());
        wire(WorkbenchAction.COMPARE, paretoView::compareSelected,
                javafx.beans.binding.Bindings.size(vm.pareto().selectedRuns()).greaterThan(1));
        wire(WorkbenchAction.EXPORT_CHART, paretoView::exportChart, null);
        javafx.beans.binding.BooleanBinding modelOpen = vm.currentModel().isNotNull();
        wire(WorkbenchAction.OPEN_PLAN, planView::openPlan, modelOpen);
        wire(WorkbenchAction.SAVE_PLAN, planView::savePlan, modelOpen);
        wire(WorkbenchAction.LAUNCH, planView::launch, vm.plan().launchable());
        // Issue 13: the sensitivity chart in a tab beside the runs (the editor has its ΔKL column), and the search
        // dialog.
        sensitivityTab.setId("sensitivity-tab");
        dev.squeeze.app.search.SensitivityPane sensitivityPane =
                new dev.squeeze.app.search.SensitivityPane(vm.sensitivity(), vm.plan());
        sensitivityPane.setDarkCharts(settings.theme().get() == Theme.DARK);
        settings.theme().addListener((obs, old, t) -> sensitivityPane.setDarkCharts(t == Theme.DARK));
        sensitivityTab.setContent(sensitivityPane.root());
        setTab(sensitivityTab, sensitivityTab.getContent(), 3);
        Button find = new Button("Find best plan…");
        find.setId("plan-find");
        find.setTooltip(new Tooltip("Search a per-layer plan under a size budget, or a whole front of budgets"));
        find.disableProperty().bind(modelOpen.not());
        find.setOnAction(e -> openFindPlan());
        planView.addTool(find);
        wire(WorkbenchAction.FIND_PLAN, this::openFindPlan, modelOpen);
    }

    private dev.squeeze.app.search.FindPlanDialog findPlan;

    /** Run ▸ Find best plan…: the search dialog for the open model (the one open already, if it is for it). */
    public dev.squeeze.app.search.FindPlanDialog openFindPlan() {
        dev.squeeze.engine.model.Model m = vm.currentModel().get();
        if (m == null) {
            return null;
        }
        if (findPlan != null && findPlan.stage().isShowing() && findPlan.viewModel().model() == m) {
            findPlan.show();
            return findPlan;
        }
        dev.squeeze.app.search.FindPlanViewModel search = new dev.squeeze.app.search.FindPlanViewModel(m,
                vm.searchJobs());
        search.setOnOpenPlan(json -> vm.plan().loadPlanJson(json));
        search.setOnShowFront(tag -> {
            vm.pareto().allModels().set(false);
            vm.pareto().tagFilter().setAll(tag);
            vm.pareto().reload(); // the tag is a choice once the search's runs are read
            showExplorer();
        });
        findPlan = new dev.squeeze.app.search.FindPlanDialog(search, stage);
        findPlan.show();
        return findPlan;
    }

    private void applyThemeClass(Theme t) {
        root.getStyleClass().removeAll("theme-light", "theme-dark");
        root.getStyleClass().add(t == Theme.DARK ? "theme-dark" : "theme-light");
    }

    private ToolBar toolbar() {
        Button open = new Button("Open model…");
        open.setId("open-model");
        open.setOnAction(e -> chooseModelFile());
        Button folder = new Button("Open folder…");
        folder.setId("open-folder");
        folder.setTooltip(new Tooltip("A Hugging Face model folder (config.json + safetensors)"));
        folder.setOnAction(e -> chooseModelFolder());
        Button sample = new Button("Sample model");
        sample.setId("open-sample");
        sample.setOnAction(e -> vm.openSample());
        open.disableProperty().bind(vm.busy());
        folder.disableProperty().bind(vm.busy());
        sample.disableProperty().bind(vm.busy());
        Label brand = new Label("Squeeze");
        brand.getStyleClass().add("brand");
        Region spacer = new Region();
        HBox.setHgrow(spacer, Priority.ALWAYS);
        return new ToolBar(brand, open, folder, sample, spacer);
    }

    private MenuBar menuBar() {
        MenuItem open = item("Open model…", "menu-open-model", "Shortcut+O", this::chooseModelFile);
        open.disableProperty().bind(vm.busy());
        MenuItem folder = item("Open model folder…", "menu-open-folder", null, this::chooseModelFolder);
        folder.disableProperty().bind(vm.busy());
        MenuItem sample = item("Open the sample model", "menu-open-sample", null, vm::openSample);
        sample.disableProperty().bind(vm.busy());
        recentMenu.setId("menu-recent");
        settings.recentModels().addListener((ListChangeListener<RecentModel>) c -> fillRecent());
        recentMenu.setOnShowing(e -> settings.checkRecent());
        fillRecent();
        MenuItem quit = item("Quit", "menu-quit", "Shortcut+Q", () -> {
            // As the window's close button: the close-request handler (which remembers the window) runs first.
            javafx.stage.WindowEvent request =
                    new javafx.stage.WindowEvent(stage, javafx.stage.WindowEvent.WINDOW_CLOSE_REQUEST);
            stage.fireEvent(request);
            if (!request.isConsumed()) {
                stage.close();
            }
        });
        Menu file = new Menu("File", null, open, folder, sample, recentMenu, new SeparatorMenuItem(),
                hooked("Open plan…", "menu-open-plan", null, WorkbenchAction.OPEN_PLAN),
                hooked("Save plan…", "menu-save-plan", "Shortcut+S", WorkbenchAction.SAVE_PLAN),
                hooked("Export chart…", "menu-export-chart", null, WorkbenchAction.EXPORT_CHART),
                new SeparatorMenuItem(),
                item("Settings…", "menu-settings", "Shortcut+Comma", this::openSettings),
                new SeparatorMenuItem(), quit);

        Menu run = new Menu("Run", null,
                hooked("Launch plan", "menu-launch", "Shortcut+R", WorkbenchAction.LAUNCH),
                hooked("Compare selected runs", "menu-compare", "Shortcut+D", WorkbenchAction.COMPARE),
                hooked("Find best plan…", "menu-find-plan", "Shortcut+Shift+F", WorkbenchAction.FIND_PLAN));

        ToggleGroup themes = new ToggleGroup();
        Menu theme = new Menu("Theme");
        for (Theme t : Theme.values()) {
            RadioMenuItem item = new RadioMenuItem(t.toString());
            item.setId("menu-theme-" + t.name().toLowerCase(java.util.Locale.ROOT));
            item.setToggleGroup(themes);
            item.setSelected(settings.theme().get() == t);
            item.setOnAction(e -> settings.theme().set(t));
            settings.theme().addListener((obs, old, now) -> item.setSelected(now == t));
            theme.getItems().add(item);
        }
        Menu view = new Menu("View", null, theme);

        Menu help = new Menu("Help", null,
                item("Keyboard shortcuts", "menu-shortcuts", "F1", this::showShortcuts),
                item("About Squeeze", "menu-about", null, this::showAbout));
        MenuBar bar = new MenuBar(file, run, view, help);
        bar.setId("menu-bar");
        return bar;
    }

    private static MenuItem item(String text, String id, String accelerator, Runnable action) {
        MenuItem item = new MenuItem(text);
        item.setId(id);
        if (accelerator != null) {
            item.setAccelerator(KeyCombination.keyCombination(accelerator));
        }
        item.setOnAction(e -> action.run());
        return item;
    }

    /** A menu item for a feature's action: disabled while the action is not wired or not possible now. */
    private MenuItem hooked(String text, String id, String accelerator, WorkbenchAction a) {
        MenuItem item = item(text, id, accelerator, () -> {
            Runnable r = actions.get(a).get();
            if (r != null) {
                r.run();
            }
        });
        hookedItems.put(a, item);
        rebind(item, a);
        return item;
    }

    private void rebind(MenuItem item, WorkbenchAction a) {
        item.disableProperty().unbind();
        ObservableBooleanValue when = enabled.get(a).get();
        if (when == null) {
            item.disableProperty().bind(actions.get(a).isNull());
        } else {
            item.disableProperty().bind(actions.get(a).isNull().or(Bindings.not(when)));
        }
    }

    /**
     * Wires a window command (menu item and shortcut) to a feature: {@code action} runs on the FX thread when the
     * user picks it; the item is enabled while {@code enabledWhen} is true (null: always). Wiring again replaces
     * the action; {@code action} null disables the item again.
     */
    public void wire(WorkbenchAction a, Runnable action, ObservableBooleanValue enabledWhen) {
        actions.get(a).set(action);
        enabled.get(a).set(enabledWhen);
        rebind(hookedItems.get(a), a);
    }

    /** The menu item of a window command (tests check whether it is enabled). */
    public MenuItem menuItem(WorkbenchAction a) {
        return hookedItems.get(a);
    }

    private void fillRecent() {
        List<MenuItem> items = new ArrayList<>();
        for (RecentModel r : settings.recentModels()) {
            MenuItem item = new MenuItem(r.title());
            if (!r.exists()) {
                // Greyed (but clickable: picking it says it is gone and forgets it).
                item.getStyleClass().add("recent-missing");
                item.setText(r.title() + "  (missing)");
            }
            item.setOnAction(e -> openRecent(r));
            items.add(item);
        }
        if (items.isEmpty()) {
            MenuItem none = new MenuItem("No recent models");
            none.setDisable(true);
            items.add(none);
        } else {
            items.add(new SeparatorMenuItem());
            MenuItem clear = new MenuItem("Clear recent models");
            clear.setOnAction(e -> settings.clearRecent());
            items.add(clear);
        }
        recentMenu.getItems().setAll(items);
        recentMenu.disableProperty().bind(vm.busy());
    }

    /** Opens a recent model, or says it is gone and forgets it. */
    public void openRecent(RecentModel r) {
        if (!Files.exists(r.path())) {
            settings.removeRecent(r.path());
            vm.report(r.path() + " no longer exists; it was removed from the recent models.\n"
                    + "  Fix: open it from where it is now (File ▸ Open model…).");
            return;
        }
        vm.openFile(r.path());
    }

    private void chooseModelFile() {
        FileChooser chooser = new FileChooser();
        chooser.setTitle("Open a model");
        // Formats are recognised by content, not extension; the filter only helps finding files.
        chooser.getExtensionFilters().addAll(
                new FileChooser.ExtensionFilter("Models", "*.safetensors", "*.onnx", "*.bin", "*.json", "*.gguf", "*.sqz"),
                new FileChooser.ExtensionFilter("All files", "*"));
        File f = chooser.showOpenDialog(stage);
        if (f != null) {
            vm.openFile(f.toPath());
        }
    }

    private void chooseModelFolder() {
        DirectoryChooser chooser = new DirectoryChooser();
        chooser.setTitle("Open a model folder");
        File d = chooser.showDialog(stage);
        if (d != null) {
            vm.openFile(d.toPath());
        }
    }

    /** Opens the settings dialog (File ▸ Settings…, Ctrl+,). */
    public void openSettings() {
        new SettingsView(settings, vm, stage).show();
    }

    private void showShortcuts() {
        Alert a = new Alert(Alert.AlertType.INFORMATION, null, ButtonType.CLOSE);
        a.initOwner(stage);
        a.setTitle("Keyboard shortcuts");
        a.setHeaderText("Keyboard shortcuts");
        a.setContentText("""
                Ctrl+O   Open a model
                Ctrl+R   Launch the plan as a job
                Ctrl+S   Save the plan
                Ctrl+D   Compare the selected runs
                Ctrl+Shift+F   Find the best plan under a budget
                Ctrl+,   Settings
                Ctrl+Q   Quit
                F1       This list
                Chart: drag to zoom, Ctrl+drag to pan, right-click for export and zoom reset.""");
        a.show();
    }

    private void showAbout() {
        Alert a = new Alert(Alert.AlertType.INFORMATION, null, ButtonType.CLOSE);
        a.initOwner(stage);
        a.setTitle("About Squeeze");
        a.setHeaderText("Squeeze — compression workbench");
        String version = WorkbenchView.class.getPackage().getImplementationVersion();
        a.setContentText("Version " + (version == null ? "development build" : version) + "\n"
                + "Data folder: " + DataDirs.home() + "\n"
                + "Results database: " + settings.effectiveDatabase() + ".mv.db");
        a.show();
    }

    private Node detailsArea() {
        NotificationsViewModel notes = vm.notifications();
        TextArea details = new TextArea();
        details.setId("notification-details");
        details.setEditable(false);
        details.setWrapText(true);
        details.setPrefRowCount(4);
        details.textProperty().bind(Bindings.createStringBinding(() -> {
            Notification n = notes.current().get();
            if (n == null || !detailsOffered(n)) {
                return "";
            }
            // The whole message first: a long one is cut short on the banner.
            return n.hasDetails() ? n.message() + "\n\n" + n.details() : n.message();
        }, notes.current()));
        VBox box = new VBox(details);
        box.getStyleClass().add("notification-details");
        box.setPadding(new Insets(4, 8, 4, 8));
        box.visibleProperty().bind(notes.detailsShown().and(details.textProperty().isNotEmpty()));
        box.managedProperty().bind(box.visibleProperty());
        return box;
    }

    /** The banner shows the current notification with its position, action, details and paging. */
    private void showBanner() {
        NotificationsViewModel notes = vm.notifications();
        Notification n = notes.current().get();
        if (n == null) {
            banner.hide();
            return;
        }
        List<Action> buttons = new ArrayList<>();
        if (n.action() != null) {
            buttons.add(new Action(n.actionText(), e -> {
                n.action().run();
                notes.remove(n);
            }));
        }
        if (notes.all().size() > 1) {
            buttons.add(new Action("Dismiss all", e -> notes.dismissAll()));
        }
        // "2 of 3" with small previous / next buttons, left of the message.
        Label position = new Label(notes.position().get());
        position.setId("notification-position");
        position.getStyleClass().add("notification-position");
        Button previous = new Button("‹");
        previous.setId("notification-previous");
        previous.setTooltip(new Tooltip("Previous message"));
        previous.setDisable(!notes.hasPrevious().get());
        previous.setOnAction(e -> notes.previous());
        Button next = new Button("›");
        next.setId("notification-next");
        next.setTooltip(new Tooltip("Next message"));
        next.setDisable(!notes.hasNext().get());
        next.setOnAction(e -> notes.next());
        previous.getStyleClass().add("notification-paging");
        next.getStyleClass().add("notification-paging");
        HBox paging = new HBox(4, previous, position, next);
        paging.setAlignment(javafx.geometry.Pos.CENTER_LEFT);
        // Details on demand, left of the message (the buttons on the right are the message's own actions).
        javafx.scene.control.ToggleButton details = new javafx.scene.control.ToggleButton("Details");
        details.setId("notification-details-toggle");
        details.setTooltip(new Tooltip("Show the whole message and its details"));
        details.setSelected(notes.detailsShown().get());
        details.selectedProperty().addListener((obs, was, on) -> notes.detailsShown().set(on));
        details.getStyleClass().add("notification-paging");
        HBox left = new HBox(8);
        left.setAlignment(javafx.geometry.Pos.CENTER_LEFT);
        if (notes.all().size() > 1) {
            left.getChildren().add(paging);
        }
        if (detailsOffered(n)) {
            left.getChildren().add(details);
        }
        followBannerHeight();
        banner.getActions().setAll(buttons);
        banner.setGraphic(left.getChildren().isEmpty() ? null : left);
        banner.setText(n.message());
        if (!banner.isShowing()) {
            banner.show();
        }
    }

    /** Binds the spacer above the toolbar to the part of the banner's bar that is on screen (once it exists). */
    private void followBannerHeight() {
        if (spacerBound) {
            return;
        }
        Node bar = banner.lookup(".notification-bar");
        if (bar == null) {
            javafx.application.Platform.runLater(this::followBannerHeight); // the skin is made on first layout
            return;
        }
        spacerBound = true;
        javafx.beans.binding.DoubleBinding visible = Bindings.createDoubleBinding(
                () -> Math.max(0, bar.getBoundsInParent().getMaxY()), bar.boundsInParentProperty());
        bannerSpacer.prefHeightProperty().bind(visible);
        bannerSpacer.minHeightProperty().bind(visible);
        bannerSpacer.maxHeightProperty().bind(visible);
    }

    /** Details are offered for a message with details, and for one too long for the banner's line. */
    static boolean detailsOffered(Notification n) {
        return n.hasDetails() || n.message().length() > 90;
    }

    private void showJobs(JobsViewModel jobs) {
        jobsSlot.getChildren().setAll(jobsPane.apply(jobs));
    }

    /** Puts the plan editor (or any view of the open model) in the centre. */
    public void setCentre(Node view) {
        centreSlot.getChildren().setAll(view);
    }

    /** Puts the Pareto explorer in the "Runs" tab on the right. */
    public void setExplorer(Node view) {
        setTab(explorerTab, view, 0);
    }

    /** Puts the run detail view in the "Run detail" tab (shown once set; {@link #showDetail} selects it). */
    public void setDetail(Node view) {
        setTab(detailTab, view, 1);
    }

    /** Puts the comparison view in the "Compare" tab (shown once set; {@link #showCompare} selects it). */
    public void setCompare(Node view) {
        setTab(compareTab, view, 2);
    }

    /** Each right-hand tab's place: explorer, detail, compare, then sensitivity, whatever order they come in. */
    private final Map<Tab, Integer> tabOrder = new java.util.HashMap<>();

    private void setTab(Tab tab, Node view, int order) {
        tab.setContent(view);
        tabOrder.put(tab, order);
        if (!rightTabs.getTabs().contains(tab)) {
            List<Tab> tabs = new ArrayList<>(rightTabs.getTabs());
            int at = (int) tabs.stream().filter(t -> tabOrder.getOrDefault(t, 0) < order).count();
            tabs.add(at, tab);
            rightTabs.getTabs().setAll(tabs);
        }
    }

    /** Selects the run detail tab. */
    public void showDetail() {
        rightTabs.getSelectionModel().select(detailTab);
    }

    /** Selects the comparison tab. */
    public void showCompare() {
        rightTabs.getSelectionModel().select(compareTab);
    }

    /** Selects the sensitivity tab (the chart of the open model's per-layer sensitivity). */
    public void showSensitivity() {
        rightTabs.getSelectionModel().select(sensitivityTab);
    }

    /** Selects the Pareto explorer tab. */
    public void showExplorer() {
        rightTabs.getSelectionModel().select(explorerTab);
    }

    /**
     * The jobs pane below, built for each jobs view-model (a new one comes when the database is switched). The
     * default is the {@link JobsView}.
     */
    public void setJobsPane(Function<JobsViewModel, Node> factory) {
        jobsPane = factory;
        showJobs(vm.jobs());
    }

    public Parent root() {
        return root;
    }

    /** The notification banner (tests read its text and actions). */
    public NotificationPane banner() {
        return banner;
    }

    /** The default jobs pane's view (null once another pane was set with {@link #setJobsPane}). */
    public JobsView jobsView() {
        return jobsView;
    }

    /** The plan editor in the centre. */
    public PlanEditorView planView() {
        return planView;
    }

    /** The Pareto explorer on the right. */
    public ParetoView paretoView() {
        return paretoView;
    }
}
