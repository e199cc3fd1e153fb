package dev.squeeze.app.search;

import dev.squeeze.app.search.FindPlanViewModel.BudgetKind;
import dev.squeeze.app.search.FindPlanViewModel.State;
import javafx.beans.binding.Bindings;
import javafx.geometry.Insets;
import javafx.geometry.Pos;
import javafx.scene.Scene;
import javafx.scene.control.Button;
import javafx.scene.control.CheckBox;
import javafx.scene.control.Label;
import javafx.scene.control.ListCell;
import javafx.scene.control.ListView;
import javafx.scene.control.ProgressBar;
import javafx.scene.control.RadioButton;
import javafx.scene.control.Separator;
import javafx.scene.control.TextField;
import javafx.scene.control.TitledPane;
import javafx.scene.control.ToggleGroup;
import javafx.scene.control.Tooltip;
import javafx.scene.layout.ColumnConstraints;
import javafx.scene.layout.FlowPane;
import javafx.scene.layout.GridPane;
import javafx.scene.layout.HBox;
import javafx.scene.layout.Priority;
import javafx.scene.layout.Region;
import javafx.scene.layout.VBox;
import javafx.stage.Modality;
import javafx.stage.Stage;
import javafx.stage.Window;

import java.util.ArrayList;
import java.util.List;

/**
 * Run ▸ Find best plan…: the search's budget (bits per weight, bytes, or a front FROM:TO:STEP), the method families
 * a layer may take (those the model's data does not allow are disabled and say why), the search's effort under
 * "Advanced", the tag of its runs; Start queues the search job and the dialog follows it (phase, generation, what the
 * job reports), Stop ends it keeping the best plan found so far; then "Open in plan editor" and, for a front, "Show
 * front" in the Pareto explorer. Closing the dialog leaves a running search in the job table.
 */
public final class FindPlanDialog {
    private final FindPlanViewModel vm;
    private final Stage stage;
    private final VBox root;

    public FindPlanDialog(FindPlanViewModel vm, Window owner) {
        this.vm = vm;
        stage = new Stage();
        if (owner != null) {
            stage.initOwner(owner);
        }
        stage.initModality(Modality.NONE);
        stage.setTitle("Find best plan — " + vm.model().name());

        Label intro = new Label("Finds the per-layer mix of methods that fits the budget with the least change to the"
                + " model's outputs (KL to the dense model on calibration data); each plan found is stored as a run.");
        intro.setWrapText(true);
        intro.getStyleClass().add("search-intro");

        root = new VBox(8, intro, budget(), methods(), advanced(), naming(), errorLabel(), new Separator(), progress(),
                results(), buttons());
        root.setId("find-plan");
        root.setPadding(new Insets(12));
        root.setPrefWidth(600);
        Scene scene = new Scene(root);
        if (owner != null && owner.getScene() != null) {
            scene.getStylesheets().addAll(owner.getScene().getStylesheets());
        }
        stage.setScene(scene);
        stage.setOnHidden(e -> vm.close());
    }

    public void show() {
        stage.show();
        stage.toFront();
    }

    public FindPlanViewModel viewModel() {
        return vm;
    }

    public Stage stage() {
        return stage;
    }

    public VBox root() {
        return root;
    }

    // ----- the form

    private VBox budget() {
        ToggleGroup kinds = new ToggleGroup();
        GridPane g = form();
        int row = 0;
        for (BudgetKind k : BudgetKind.values()) {
            RadioButton r = new RadioButton(k.toString());
            r.setId("budget-" + k.name().toLowerCase(java.util.Locale.ROOT).replace('_', '-'));
            r.setToggleGroup(kinds);
            r.setUserData(k);
            r.setSelected(vm.budgetKind().get() == k);
            TextField field = new TextField();
            field.setId("budget-" + k.name().toLowerCase(java.util.Locale.ROOT).replace('_', '-') + "-value");
            switch (k) {
                case BITS_PER_WEIGHT -> {
                    field.textProperty().bindBidirectional(vm.budgetBpw());
                    field.setPromptText("4.125");
                    field.setTooltip(new Tooltip("Total stored bits of the searched linears over their weights,"
                            + " every bit counted (codes, scales, zeros, indices, factors)"));
                }
                case BYTES -> {
                    field.textProperty().bindBidirectional(vm.budgetBytes());
                    field.setPromptText("e.g. 1500000, 600 KiB, 1.5 MiB");
                    field.setTooltip(new Tooltip("The whole model as stored: embeddings, norms and head included"));
                }
                case FRONT -> {
                    field.textProperty().bindBidirectional(vm.front());
                    field.setPromptText("2:6:0.25");
                    field.setTooltip(new Tooltip("A plan for every budget from FROM to TO bits per weight in steps"
                            + " of STEP: the front, drawn in the Pareto explorer against uniform settings"));
                }
            }
            field.disableProperty().bind(Bindings.createBooleanBinding(() -> vm.budgetKind().get() != k
                    || vm.state().get().active(), vm.budgetKind(), vm.state()));
            r.disableProperty().bind(Bindings.createBooleanBinding(() -> vm.state().get().active(), vm.state()));
            g.add(r, 0, row);
            g.add(field, 1, row++);
        }
        vm.budgetKind().addListener((obs, old, k) -> kinds.getToggles().stream()
                .filter(t -> t.getUserData() == k).findFirst().ifPresent(t -> t.setSelected(true)));
        kinds.selectedToggleProperty().addListener((obs, old, t) -> {
            if (t != null) {
                vm.budgetKind().set((BudgetKind) t.getUserData());
            }
        });
        return titled("Budget", g);
    }

    private VBox methods() {
        FlowPane boxes = new FlowPane(12, 6);
        List<String> reasons = new ArrayList<>();
        vm.methods().forEach((family, on) -> {
            CheckBox c = new CheckBox(family);
            c.setId("method-" + family);
            c.selectedProperty().bindBidirectional(on);
            String why = vm.unavailableReason(family);
            if (why != null) {
                c.setDisable(true);
                c.setSelected(false);
                c.setTooltip(new Tooltip(why));
                reasons.add(family);
            } else {
                c.disableProperty().bind(Bindings.createBooleanBinding(() -> vm.state().get().active(), vm.state()));
                c.setTooltip(new Tooltip(switch (family) {
                    case "rtn" -> "Round to nearest: 2–8 bits, per row or groups of 32/64/128";
                    case "gptq" -> "GPTQ: 2–8 bits with error feedback from calibration data";
                    case "spqr" -> "SpQR: 2–4 bits with outliers kept in full precision";
                    case "sparsegpt" -> "SparseGPT: 50–70 % unstructured, 2:4, 4:8, and 2:4 + 4/8-bit";
                    case "magnitude" -> "Magnitude pruning: 50–70 % unstructured, 2:4, 4:8";
                    default -> "Low rank: ranks 1/8 to 1/2, with quantised factors";
                }));
            }
            boxes.getChildren().add(c);
        });
        VBox box = new VBox(4, boxes);
        if (!reasons.isEmpty()) {
            // A disabled check box shows no tooltip: the reason is written out too.
            Label why = new Label(String.join(", ", reasons) + " need calibration data (layer Hessians): "
                    + vm.model().name() + " takes the data-free methods only");
            why.setId("methods-unavailable");
            why.setWrapText(true);
            why.getStyleClass().add("search-note");
            box.getChildren().add(why);
        }
        Label dense = new Label("Dense (the layer as stored) is always a candidate.");
        dense.getStyleClass().add("search-note");
        box.getChildren().add(dense);
        return titled("Methods a layer may take", box);
    }

    private TitledPane advanced() {
        GridPane g = form();
        TextField gens = field("search-generations", vm.generations(), "EvoPress generations after the proxy"
                + " allocator's plan (0: the proxy allocator alone, exact dynamic programming on per-layer errors)");
        TextField kids = field("search-offspring", vm.offspring(), "Children per generation");
        TextField limit = field("search-time-limit", vm.timeLimit(), "Stop the evolutionary search after this long"
                + " and keep the best (90s, 10m, 1h30m; empty: no limit); budgets not reached by then still get the"
                + " proxy allocator's plan");
        TextField seed = field("search-seed", vm.seed(), "The same seed gives the same plans");
        CheckBox baselines = new CheckBox("Also store the uniform settings inside the budget range");
        baselines.setId("search-baselines");
        baselines.selectedProperty().bindBidirectional(vm.baselines());
        baselines.setTooltip(new Tooltip("e.g. GPTQ 3-bit g32 on every layer, evaluated as the searched plans: the"
                + " front is drawn against them"));
        ColumnConstraints labels = new ColumnConstraints();
        labels.setMinWidth(Region.USE_PREF_SIZE);
        ColumnConstraints fields = new ColumnConstraints();
        fields.setHgrow(Priority.ALWAYS);
        g.getColumnConstraints().addAll(labels, fields);
        g.addRow(0, new Label("Generations"), gens, new Label("Offspring"), kids);
        g.addRow(1, new Label("Time limit"), limit, new Label("Seed"), seed);
        g.add(baselines, 0, 2, 4, 1);
        TitledPane p = new TitledPane("Advanced: EvoPress effort, time limit, seed", g);
        p.setId("search-advanced");
        p.setExpanded(false);
        p.setAnimated(false);
        return p;
    }

    private GridPane naming() {
        GridPane g = form();
        TextField tag = field("search-tag", vm.tag(), "Every run the search stores gets this tag; the explorer"
                + " filters the front by it");
        tag.setPromptText("made from the budget and the seed");
        TextField label = field("search-label", vm.label(), "The job's label (and the runs')");
        label.setPromptText("made from the budget");
        g.addRow(0, new Label("Tag"), tag);
        g.addRow(1, new Label("Label"), label);
        return g;
    }

    private Label errorLabel() {
        Label error = new Label();
        error.setId("search-error");
        error.getStyleClass().add("plan-error");
        error.setStyle("-fx-text-fill: -color-danger-fg;");
        error.setWrapText(true);
        error.setMinHeight(Region.USE_PREF_SIZE);
        error.textProperty().bind(vm.error());
        error.visibleProperty().bind(vm.error().isNotNull());
        error.managedProperty().bind(error.visibleProperty());
        return error;
    }

    // ----- progress and results

    private VBox progress() {
        Label phase = new Label();
        phase.setId("search-phase");
        phase.textProperty().bind(Bindings.createStringBinding(() -> {
            State s = vm.state().get();
            return s == State.EDITING ? "Not started" : vm.phase().get().isEmpty() ? "Not queued"
                    : "Phase: " + vm.phase().get();
        }, vm.state(), vm.phase()));
        phase.setStyle("-fx-font-weight: bold;");
        ProgressBar bar = new ProgressBar();
        bar.setId("search-progress");
        bar.setMaxWidth(Double.MAX_VALUE);
        bar.progressProperty().bind(vm.progress());
        bar.visibleProperty().bind(Bindings.createBooleanBinding(() -> vm.state().get() != State.EDITING
                && !vm.phase().get().isEmpty(), vm.state(), vm.phase()));
        Label detail = new Label();
        detail.setId("search-detail");
        detail.setWrapText(true);
        detail.textProperty().bind(vm.detail());
        Label outcome = new Label();
        outcome.setId("search-outcome");
        outcome.setWrapText(true);
        outcome.setMinHeight(Region.USE_PREF_SIZE);
        outcome.textProperty().bind(vm.outcome());
        HBox.setHgrow(bar, Priority.ALWAYS);
        HBox line = new HBox(10, phase, bar);
        line.setAlignment(Pos.CENTER_LEFT);
        return new VBox(4, line, detail, outcome);
    }

    private ListView<SearchJobs.FoundRun> results() {
        ListView<SearchJobs.FoundRun> list = new ListView<>(vm.found());
        list.setId("search-found");
        list.setPrefHeight(100);
        list.setPlaceholder(new Label("The plans the search stores are listed here"));
        list.setCellFactory(l -> new ListCell<>() {
            @Override
            protected void updateItem(SearchJobs.FoundRun item, boolean empty) {
                super.updateItem(item, empty);
                setText(empty || item == null ? null : item.toString());
                setTooltip(empty || item == null || !item.fromSearch() ? null : new Tooltip(item.search()));
            }
        });
        list.getSelectionModel().selectedItemProperty().addListener((obs, old, r) -> {
            if (r != null) {
                vm.selected().set(r);
            }
        });
        vm.selected().addListener((obs, old, r) -> {
            if (r != null && list.getSelectionModel().getSelectedItem() != r) {
                list.getSelectionModel().select(r);
            }
        });
        return list;
    }

    private HBox buttons() {
        Button start = new Button("Start");
        start.setId("search-start");
        start.setDefaultButton(true);
        start.disableProperty().bind(vm.canStart().not());
        start.setOnAction(e -> vm.start());
        Button stop = new Button("Stop");
        stop.setId("search-stop");
        stop.setTooltip(new Tooltip("Stop the search: the best plan found so far is stored"));
        stop.disableProperty().bind(vm.canStop().not());
        stop.setOnAction(e -> vm.stop());
        Button open = new Button("Open in plan editor");
        open.setId("search-open");
        open.setTooltip(new Tooltip("Load the selected plan (or the last one found) into the plan editor"));
        open.disableProperty().bind(vm.canOpen().not());
        open.setOnAction(e -> vm.openInEditor());
        Button front = new Button("Show front");
        front.setId("search-show-front");
        front.setTooltip(new Tooltip("Show the front in the Pareto explorer, filtered to the search's tag"));
        front.disableProperty().bind(vm.canShowFront().not());
        front.setOnAction(e -> vm.showFront());
        Button close = new Button("Close");
        close.setId("search-close");
        close.setCancelButton(true);
        close.setTooltip(new Tooltip("A running search goes on in the job table"));
        close.setOnAction(e -> stage.close());
        Region spacer = new Region();
        HBox.setHgrow(spacer, Priority.ALWAYS);
        HBox box = new HBox(8, start, stop, spacer, open, front, close);
        box.setAlignment(Pos.CENTER_RIGHT);
        return box;
    }

    // ----- helpers

    private TextField field(String id, javafx.beans.property.StringProperty value, String tip) {
        TextField f = new TextField();
        f.setId(id);
        f.textProperty().bindBidirectional(value);
        f.setTooltip(new Tooltip(tip));
        f.disableProperty().bind(Bindings.createBooleanBinding(() -> vm.state().get().active(), vm.state()));
        return f;
    }

    private static GridPane form() {
        GridPane g = new GridPane();
        g.setHgap(10);
        g.setVgap(6);
        ColumnConstraints labels = new ColumnConstraints();
        labels.setMinWidth(Region.USE_PREF_SIZE);
        ColumnConstraints fields = new ColumnConstraints();
        fields.setHgrow(Priority.ALWAYS);
        g.getColumnConstraints().addAll(labels, fields);
        return g;
    }

    private static VBox titled(String title, javafx.scene.Node content) {
        Label t = new Label(title);
        t.setStyle("-fx-font-weight: bold;");
        return new VBox(4, t, content);
    }
}
