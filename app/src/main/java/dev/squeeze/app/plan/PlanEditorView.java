package dev.squeeze.app.plan;

import dev.squeeze.app.models.Bytes;
import dev.squeeze.engine.compress.MethodSettings;
import dev.squeeze.engine.plan.PlanCheck;
import dev.squeeze.engine.plan.Presets;
import javafx.beans.binding.Bindings;
import javafx.beans.property.ReadOnlyObjectWrapper;
import javafx.beans.property.ReadOnlyStringWrapper;
import javafx.beans.value.ObservableValue;
import javafx.collections.FXCollections;
import javafx.collections.ListChangeListener;
import javafx.geometry.Insets;
import javafx.geometry.Pos;
import javafx.scene.control.Button;
import javafx.scene.control.ComboBox;
import javafx.scene.control.Label;
import javafx.scene.control.ListCell;
import javafx.scene.control.SelectionMode;
import javafx.scene.control.TableCell;
import javafx.scene.control.TableColumn;
import javafx.scene.control.TableView;
import javafx.scene.control.TextField;
import javafx.scene.control.Tooltip;
import javafx.scene.control.cell.ComboBoxTableCell;
import javafx.scene.control.cell.TextFieldTableCell;
import javafx.scene.input.KeyCode;
import javafx.scene.input.KeyCodeCombination;
import javafx.scene.input.KeyCombination;
import javafx.scene.layout.FlowPane;
import javafx.scene.layout.HBox;
import javafx.scene.layout.Priority;
import javafx.scene.layout.VBox;
import javafx.stage.FileChooser;
import javafx.stage.Window;
import javafx.util.converter.DefaultStringConverter;
import org.controlsfx.control.PropertySheet;

import java.io.File;
import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * The plan editor: the model's layers as the plan, one row per layer, edited in the cells (an edit on a selected
 * row applies to every selected row), in bulk (select by regex or role, then set a method or a column), from a
 * preset or a plan file; the selected layers' method-specific fields in a property sheet; the size summary and
 * the plan's problems below. Cells with a problem are marked and carry the engine's message as tooltip.
 */
public final class PlanEditorView {
    private final PlanEditorViewModel vm;
    private final Supplier<Window> owner;
    private final VBox root;
    private final TableView<PlanRow> table;
    private final PropertySheet sheet = new PropertySheet();
    private final TextField label = new TextField();
    private final VBox split;
    private FlowPane toolbar;
    private Class<?> sheetType;
    private PlanRow sheetRow;

    public PlanEditorView(PlanEditorViewModel vm, Supplier<Window> owner) {
        this.vm = vm;
        this.owner = owner;
        table = buildTable();
        sheet.setId("plan-properties");
        sheet.setMode(PropertySheet.Mode.NAME);
        sheet.setModeSwitcherVisible(false);
        sheet.setSearchBoxVisible(false);
        table.getSelectionModel().getSelectedItems().addListener((ListChangeListener<PlanRow>) c -> refreshSheet(false));
        vm.rows().addListener((ListChangeListener<PlanRow>) c -> refreshSheet(true));

        // The method's other fields (act-order, damping, outlier threshold, …) in a fold below the table, shown while
        // layers are selected; folded by default so that the table keeps the room in a small window.
        javafx.scene.control.TitledPane fields = new javafx.scene.control.TitledPane("Method fields of the selection",
                sheet);
        fields.setId("plan-fields");
        fields.setExpanded(false);
        fields.setAnimated(false);
        sheet.setPrefHeight(170);
        fields.visibleProperty().bind(Bindings.isNotEmpty(table.getSelectionModel().getSelectedItems()));
        fields.managedProperty().bind(fields.visibleProperty());
        split = new VBox(4, table, fields);
        VBox.setVgrow(table, Priority.ALWAYS);
        VBox.setVgrow(split, Priority.ALWAYS);

        Label summary = new Label();
        summary.setId("plan-summary");
        summary.getStyleClass().add("plan-summary");
        summary.setWrapText(true);
        summary.setMinHeight(javafx.scene.layout.Region.USE_PREF_SIZE); // wrapped, never cut to "…"
        summary.textProperty().bind(vm.summaryText());
        Label problems = new Label();
        problems.setId("plan-problems");
        problems.setWrapText(true);
        problems.setMinHeight(javafx.scene.layout.Region.USE_PREF_SIZE);
        problems.textProperty().bind(vm.problemsText());
        problems.styleProperty().bind(Bindings.when(Bindings.isEmpty(vm.problems())).then("")
                .otherwise("-fx-text-fill: -color-danger-fg;"));
        Label error = new Label();
        error.setId("plan-error");
        error.getStyleClass().add("plan-error");
        error.setWrapText(true);
        error.textProperty().bind(vm.error());
        error.visibleProperty().bind(vm.error().isNotNull());
        error.managedProperty().bind(error.visibleProperty());
        Label notice = new Label();
        notice.setId("plan-notice");
        notice.getStyleClass().add("plan-notice");
        notice.setWrapText(true);
        notice.textProperty().bind(vm.notice());
        notice.visibleProperty().bind(vm.notice().isNotNull());
        notice.managedProperty().bind(notice.visibleProperty());

        toolbar = toolbar();
        root = new VBox(4, toolbar, bulkBar(), split, summary, problems, error, notice);
        root.setPadding(new Insets(6, 10, 6, 10));
        root.getStylesheets().add(PlanEditorView.class.getResource("plan-editor.css").toExternalForm());
        root.addEventFilter(javafx.scene.input.KeyEvent.KEY_PRESSED, e -> {
            if (table.getEditingCell() != null) {
                return;
            }
            if (new KeyCodeCombination(KeyCode.Z, KeyCombination.SHORTCUT_DOWN).match(e)) {
                vm.undo();
                e.consume();
            } else if (new KeyCodeCombination(KeyCode.Y, KeyCombination.SHORTCUT_DOWN).match(e)
                    || new KeyCodeCombination(KeyCode.Z, KeyCombination.SHORTCUT_DOWN, KeyCombination.SHIFT_DOWN).match(e)) {
                vm.redo();
                e.consume();
            }
        });
    }

    public VBox root() {
        return root;
    }

    /** File ▸ Open plan…: asks for a plan file and loads it into the editor. */
    public void openPlan() {
        File f = chooser("Open a plan").showOpenDialog(owner.get());
        if (f != null) {
            vm.loadPlan(f.toPath());
        }
    }

    /** File ▸ Save plan…: asks where, then writes the plan's JSON. */
    public void savePlan() {
        FileChooser c = chooser("Save the plan");
        c.setInitialFileName("plan.json");
        File f = c.showSaveDialog(owner.get());
        if (f != null) {
            vm.savePlan(f.toPath());
        }
    }

    /** Run ▸ Launch: queues the plan under the label typed in the toolbar (or the default label). */
    public void launch() {
        vm.launch(label.getText());
    }

    /** Adds a control at the end of the editor's toolbar (the window's "Find best plan…"). */
    public void addTool(javafx.scene.Node tool) {
        tool.getStyleClass().add("small");
        if (tool instanceof Button b) {
            b.setMinWidth(javafx.scene.layout.Region.USE_PREF_SIZE);
        }
        toolbar.getChildren().add(tool);
    }

    /** The side panel: the selected layers' method fields. */
    PropertySheet propertySheet() {
        return sheet;
    }

    /** The layer table (the window may want to focus it). */
    public TableView<PlanRow> table() {
        return table;
    }

    // ----- the bars

    private FlowPane toolbar() {
        ComboBox<Presets.Offer> presets = new ComboBox<>(vm.presets());
        presets.setId("plan-presets");
        presets.setPromptText("Preset…");
        presets.setCellFactory(l -> new ListCell<>() {
            @Override
            protected void updateItem(Presets.Offer item, boolean empty) {
                super.updateItem(item, empty);
                setText(empty || item == null ? null : item.preset().name());
                setTooltip(empty || item == null ? null : new Tooltip(item.preset().description()
                        + (item.note() == null ? "" : "\nAdapted to this model: " + item.note())));
            }
        });
        presets.setOnAction(e -> {
            Presets.Offer o = presets.getValue();
            if (o != null) {
                vm.applyPreset(o);
                javafx.application.Platform.runLater(() -> presets.getSelectionModel().clearSelection());
            }
        });
        presets.setTooltip(new Tooltip("Load a preset into the editor: only presets that fit this model are offered"));
        presets.setButtonCell(new ListCell<>() {
            @Override
            protected void updateItem(Presets.Offer item, boolean empty) {
                super.updateItem(item, empty);
                setText(empty || item == null ? "Preset…" : item.preset().name());
            }
        });

        Button undo = new Button("Undo");
        undo.setId("plan-undo");
        undo.disableProperty().bind(vm.canUndo().not());
        undo.setOnAction(e -> vm.undo());
        Tooltip undoTip = new Tooltip();
        undoTip.textProperty().bind(vm.undoText());
        undo.setTooltip(undoTip);
        Button redo = new Button("Redo");
        redo.setId("plan-redo");
        redo.disableProperty().bind(vm.canRedo().not());
        redo.setOnAction(e -> vm.redo());
        Tooltip redoTip = new Tooltip();
        redoTip.textProperty().bind(vm.redoText());
        redo.setTooltip(redoTip);

        label.setId("plan-label");
        label.setPromptText("run label");
        label.setPrefColumnCount(16);
        vm.summaryText().addListener((o, a, b) -> label.setPromptText(vm.defaultLabel()));
        Button launch = new Button("Launch");
        launch.setId("plan-launch");
        launch.setDefaultButton(false);
        launch.disableProperty().bind(vm.launchable().not());
        launch.setOnAction(e -> launch());
        launch.setTooltip(new Tooltip("Queue a job that compresses the open model with this plan"));

        // A flowing bar: in the window the editor shares the width with the runs, and wraps rather than clips.
        // Open and save are in the window's File menu (Ctrl+S); the bar keeps what is used while editing.
        label.setPrefColumnCount(9);
        presets.setPrefWidth(140);
        FlowPane bar = new FlowPane(6, 4, presets, undo, redo, label, launch);
        keepLabels(bar);
        bar.setAlignment(Pos.CENTER_LEFT);
        bar.setRowValignment(javafx.geometry.VPos.CENTER);
        bar.getStyleClass().add("plan-bar");
        return bar;
    }

    /** Buttons and labels keep their text whole; the fields and choices give way when the window is narrow. */
    private static void keepLabels(javafx.scene.layout.Pane bar) {
        for (javafx.scene.Node n : bar.getChildren()) {
            // AtlantaFX's small size: three rows of controls fit over the table in half of a 1024×700 window.
            n.getStyleClass().add("small");
            if (n instanceof Button || n instanceof Label) {
                ((javafx.scene.control.Control) n).setMinWidth(javafx.scene.layout.Region.USE_PREF_SIZE);
            }
        }
    }

    private static FileChooser chooser(String title) {
        FileChooser c = new FileChooser();
        c.setTitle(title);
        c.getExtensionFilters().add(new FileChooser.ExtensionFilter("Plan (JSON)", "*.json"));
        return c;
    }

    private FlowPane bulkBar() {
        TextField regex = new TextField();
        regex.setId("plan-regex");
        regex.setPromptText("select by regex");
        regex.setPrefColumnCount(14);
        Button select = new Button("Select");
        select.setId("plan-select-regex");
        Runnable selectRegex = () -> select(vm.rowsMatching(regex.getText() == null ? "" : regex.getText()));
        select.setOnAction(e -> selectRegex.run());
        regex.setOnAction(e -> selectRegex.run());

        ComboBox<String> roles = new ComboBox<>();
        roles.setId("plan-roles");
        roles.setPromptText("role…");
        vm.rows().addListener((ListChangeListener<PlanRow>) c -> roles.getItems().setAll(vm.roleGroups()));
        roles.setOnAction(e -> {
            if (roles.getValue() != null) {
                select(vm.rowsWithRole(roles.getValue()));
            }
        });

        ComboBox<String> method = new ComboBox<>(FXCollections.observableArrayList(SettingsFields.METHODS));
        method.setId("plan-bulk-method");
        method.setPromptText("method…");
        method.setOnAction(e -> {
            if (method.getValue() != null) {
                vm.setMethod(selected(), method.getValue());
                // Cleared after the combo's own selection event ends (clearing inside it breaks the list view).
                javafx.application.Platform.runLater(() -> method.getSelectionModel().clearSelection());
            }
        });
        ComboBox<String> field = new ComboBox<>(FXCollections.observableArrayList(SettingsFields.COLUMNS));
        field.setId("plan-bulk-field");
        field.setValue(SettingsFields.BITS);
        TextField value = new TextField();
        value.setId("plan-bulk-value");
        value.setPromptText("value");
        value.setPrefColumnCount(6);
        Button set = new Button("Set");
        set.setId("plan-bulk-set");
        Runnable apply = () -> vm.setColumn(selected(), field.getValue(), value.getText());
        set.setOnAction(e -> apply.run());
        value.setOnAction(e -> apply.run());
        Button dense = new Button("Keep dense");
        dense.setId("plan-keep-dense");
        dense.setOnAction(e -> vm.keepDense(selected()));
        for (var n : List.of(set, dense, method)) {
            n.disableProperty().bind(Bindings.isEmpty(table.getSelectionModel().getSelectedItems()));
        }

        regex.setPrefColumnCount(10);
        roles.setPrefWidth(105);
        method.setPrefWidth(130);
        field.setPrefWidth(100);
        value.setPrefColumnCount(5);
        regex.setTooltip(new Tooltip("Select the layers whose names match this regular expression (Enter)"));
        roles.setTooltip(new Tooltip("Select all layers of a role (mlp_down, attn_*, …)"));
        method.setTooltip(new Tooltip("Set the method of the selected layers"));
        value.setTooltip(new Tooltip("Set this column of the selected layers to this value (Enter)"));
        // Selecting (and keeping dense) on the first row, setting on the second, at half of a 1024-pixel window.
        FlowPane bar = new FlowPane(6, 4, regex, select, roles, dense, method, field, value, set);
        keepLabels(bar);
        bar.setAlignment(Pos.CENTER_LEFT);
        bar.setRowValignment(javafx.geometry.VPos.CENTER);
        bar.getStyleClass().add("plan-bar");
        return bar;
    }

    private void select(List<PlanRow> rows) {
        table.getSelectionModel().clearSelection();
        for (PlanRow r : rows) {
            table.getSelectionModel().select(r);
        }
        if (!rows.isEmpty()) {
            table.scrollTo(rows.getFirst());
        }
        vm.clearError();
    }

    private List<PlanRow> selected() {
        return new ArrayList<>(table.getSelectionModel().getSelectedItems());
    }

    /** The edited row, or every selected row when the edited one is among several selected. */
    private List<PlanRow> targets(PlanRow edited) {
        List<PlanRow> sel = selected();
        return sel.size() > 1 && sel.contains(edited) ? sel : List.of(edited);
    }

    // ----- the table

    private TableView<PlanRow> buildTable() {
        TableView<PlanRow> t = new TableView<>(vm.rows());
        t.setId("plan-table");
        t.setEditable(true);
        t.getSelectionModel().setSelectionMode(SelectionMode.MULTIPLE);
        t.setPlaceholder(new Label("No model"));
        t.setColumnResizePolicy(TableView.UNCONSTRAINED_RESIZE_POLICY);
        // Rows of one height: a bulk edit then re-lays out the visible cells without measuring every row.
        t.setFixedCellSize(24);

        TableColumn<PlanRow, String> name = new TableColumn<>("Layer");
        name.setId("col-layer");
        name.setCellValueFactory(c -> text(c.getValue(), () -> c.getValue().name()));
        name.setCellFactory(c -> {
            ProblemCell cell = new ProblemCell(null);
            // Long names differ at their end (model.layers.3.mlp.down_proj): cut them at the start.
            cell.setTextOverrun(javafx.scene.control.OverrunStyle.LEADING_ELLIPSIS);
            return cell;
        });
        name.setPrefWidth(190);
        TableColumn<PlanRow, String> role = readOnly("Role", 82, r -> PlanEditorViewModel.roleName(r.layer().role()));
        TableColumn<PlanRow, String> shape = readOnly("Shape", 85, r -> r.layer().shapeText());
        TableColumn<PlanRow, Long> params = new TableColumn<>("Params");
        params.setCellValueFactory(c -> new ReadOnlyObjectWrapper<>(c.getValue().layer().parameters()));
        params.setCellFactory(c -> new NumberCell(v -> String.format(Locale.ROOT, "%,d", v)));
        params.setPrefWidth(75);

        TableColumn<PlanRow, String> method = new TableColumn<>("Method");
        method.setId("col-method");
        method.setCellValueFactory(c -> text(c.getValue(), c.getValue()::method));
        method.setCellFactory(c -> new MethodCell());
        method.setOnEditCommit(e -> vm.setMethod(targets(e.getRowValue()), e.getNewValue()));
        method.setPrefWidth(115);

        t.getColumns().addAll(List.of(name, role, shape, params, method));
        TableColumn<PlanRow, Double> kl = new TableColumn<>("ΔKL");
        kl.setId("col-sensitivity");
        kl.setCellValueFactory(c -> Bindings.createObjectBinding(() -> vm.sensitivityOf(c.getValue()),
                c.getValue().settings(), vm.sensitivity()));
        kl.setCellFactory(c -> new TableCell<>() {
            {
                getStyleClass().add("number-cell");
            }

            @Override
            protected void updateItem(Double item, boolean empty) {
                super.updateItem(item, empty);
                setText(empty || item == null ? null : sensitivityText(item));
            }
        });
        kl.setPrefWidth(70);
        kl.setGraphic(tip("sensitivity: KL divergence to the dense model on calibration data with only this layer at"
                + " its setting (blank: not measured at this setting; see the Sensitivity tab)"));
        t.getColumns().add(kl);
        for (String col : SettingsFields.COLUMNS) {
            TableColumn<PlanRow, String> c = new TableColumn<>(switch (col) {
                case SettingsFields.GROUP_SIZE -> "Group";
                case SettingsFields.SYMMETRIC -> "Sym";
                case SettingsFields.SPARSITY -> "Sparsity";
                case SettingsFields.RANK -> "Rank";
                default -> "Bits";
            });
            c.setId("col-" + col);
            c.setCellValueFactory(cd -> text(cd.getValue(), () -> SettingsFields.text(cd.getValue().current(), col)));
            c.setCellFactory(x -> new ProblemCell(col));
            c.setComparator(dev.squeeze.app.workbench.NaturalOrder.TEXT); // 64 before 128, "row" after numbers
            c.setOnEditCommit(e -> vm.setColumn(targets(e.getRowValue()), col, e.getNewValue()));
            c.setPrefWidth(col.equals(SettingsFields.SPARSITY) ? 70 : col.equals(SettingsFields.GROUP_SIZE) ? 56 : 48);
            t.getColumns().add(c);
        }
        TableColumn<PlanRow, Long> bits = new TableColumn<>("Bits/w");
        bits.setId("col-estimate");
        bits.setCellValueFactory(c -> c.getValue().estimatedBits().asObject());
        bits.setCellFactory(c -> new NumberCell(null) {
            @Override
            protected void updateItem(Long item, boolean empty) {
                super.updateItem(item, empty);
                PlanRow r = getTableRow() == null ? null : getTableRow().getItem();
                if (empty || item == null || r == null) {
                    setText(null);
                    return;
                }
                long w = r.weights();
                setText((r.estimateExact() ? "" : "≈") + (w == 0 ? "" : String.format(Locale.ROOT, "%.2f", (double) item / w)));
            }
        });
        bits.setPrefWidth(72);
        bits.setGraphic(tip("estimated stored bits per weight (≈: depends on the weights)"));
        TableColumn<PlanRow, Long> bytes = new TableColumn<>("Stored");
        bytes.setId("col-bytes");
        bytes.setCellValueFactory(c -> c.getValue().estimatedBits().asObject());
        bytes.setCellFactory(c -> new NumberCell(v -> Bytes.human((v + 7) / 8)));
        bytes.setPrefWidth(78);
        bytes.setGraphic(tip("estimated stored size of the weight as the plan leaves it"));
        t.getColumns().addAll(List.of(bits, bytes));
        return t;
    }

    /** A ΔKL as the sensitivity column shows it: three significant digits. */
    static String sensitivityText(double v) {
        return v == 0 ? "0" : Math.abs(v) >= 1e-3 ? String.format(Locale.ROOT, "%.3g", v).replaceFirst(
                "(\\.\\d*?)0+$", "$1").replaceFirst("\\.$", "") : String.format(Locale.ROOT, "%.1e", v);
    }

    /** An empty header graphic that explains a column on hover. */
    private static Label tip(String text) {
        Label l = new Label();
        l.setTooltip(new Tooltip(text));
        return l;
    }

    /** A text that follows the row's settings and problem. */
    private static ObservableValue<String> text(PlanRow r, java.util.concurrent.Callable<String> value) {
        return Bindings.createStringBinding(value, r.settings(), r.problem());
    }

    private static TableColumn<PlanRow, String> readOnly(String title, double width,
                                                         java.util.function.Function<PlanRow, String> value) {
        TableColumn<PlanRow, String> c = new TableColumn<>(title);
        c.setCellValueFactory(cd -> new ReadOnlyStringWrapper(value.apply(cd.getValue())));
        c.setEditable(false);
        c.setPrefWidth(width);
        return c;
    }

    /** Marks a cell whose field has a problem: style and the engine's message as tooltip. */
    private static void mark(TableCell<PlanRow, ?> cell, String column, boolean empty) {
        PlanRow r = empty || cell.getTableRow() == null ? null : cell.getTableRow().getItem();
        PlanCheck.Problem p = r == null ? null : r.problem().get();
        boolean here = false;
        if (p != null) {
            String field = p.field();
            boolean columnField = field != null && SettingsFields.COLUMNS.contains(columnOf(field))
                    && SettingsFields.component(r.current(), columnOf(field)) != null;
            here = column == null // the layer name always shows that the row has a problem
                    || (column.equals("method") && !columnField)
                    || (columnField && column.equals(columnOf(field)));
        }
        styleClass(cell, "plan-invalid", here);
        String tip = here ? p.message() : null;
        if (tip == null) {
            if (cell.getTooltip() != null) {
                cell.setTooltip(null);
            }
        } else if (cell.getTooltip() == null || !tip.equals(cell.getTooltip().getText())) {
            cell.setTooltip(new Tooltip(tip));
        }
    }

    /** Adds or removes a style class only when that changes it (every change re-applies CSS to the cell). */
    private static void styleClass(javafx.scene.Node node, String styleClass, boolean on) {
        boolean has = node.getStyleClass().contains(styleClass);
        if (on && !has) {
            node.getStyleClass().add(styleClass);
        } else if (!on && has) {
            node.getStyleClass().removeAll(styleClass);
        }
    }

    /** The table column of a settings field ({@code valueBits} shows under bits; {@code n}, {@code m} under sparsity). */
    private static String columnOf(String field) {
        return switch (field) {
            case "valueBits" -> SettingsFields.BITS;
            case "n", "m" -> SettingsFields.SPARSITY;
            default -> field;
        };
    }

    /** A text cell: editable where the column applies to the row's method, marked when its field is wrong. */
    private final class ProblemCell extends TextFieldTableCell<PlanRow, String> {
        private final String column;

        ProblemCell(String column) {
            super(new DefaultStringConverter());
            this.column = column;
        }

        @Override
        public void startEdit() {
            PlanRow r = getTableRow() == null ? null : getTableRow().getItem();
            if (column == null || r == null || SettingsFields.component(r.current(), column) == null) {
                return;
            }
            super.startEdit();
        }

        @Override
        public void updateItem(String item, boolean empty) {
            super.updateItem(item, empty);
            if (column != null && !empty) {
                PlanRow r = getTableRow() == null ? null : getTableRow().getItem();
                boolean applies = r != null && SettingsFields.component(r.current(), column) != null;
                if (!applies) {
                    setText("–");
                }
                styleClass(this, "plan-na", !applies);
            }
            if (column == null && !empty && getTableRow() != null && getTableRow().getItem() != null
                    && getTableRow().getItem().problem().get() != null) {
                setText("⚠ " + item);
            }
            mark(this, column, empty);
        }
    }

    /** The method cell: a choice of methods; marked when the method itself (or a field without a column) is wrong. */
    private final class MethodCell extends ComboBoxTableCell<PlanRow, String> {
        MethodCell() {
            super(new DefaultStringConverter(), FXCollections.observableArrayList(SettingsFields.METHODS));
        }

        @Override
        public void updateItem(String item, boolean empty) {
            super.updateItem(item, empty);
            mark(this, "method", empty);
        }
    }

    /** A right-aligned number cell. */
    private static class NumberCell extends TableCell<PlanRow, Long> {
        private final java.util.function.Function<Long, String> format;

        NumberCell(java.util.function.Function<Long, String> format) {
            this.format = format;
            getStyleClass().add("number-cell");
        }

        @Override
        protected void updateItem(Long item, boolean empty) {
            super.updateItem(item, empty);
            setText(empty || item == null || format == null ? null : format.apply(item));
        }
    }

    // ----- the property sheet

    /** Rebuilds the sheet when the selection's first row or its settings type changes (not on every value). */
    private void refreshSheet(boolean force) {
        // The first of the selected items: selectedItem is not yet updated while the list's change is reported.
        var selection = table.getSelectionModel().getSelectedItems();
        PlanRow first = selection.isEmpty() ? null : selection.getFirst();
        MethodSettings s = first == null ? null : first.current();
        Class<?> type = s == null ? null : s.getClass();
        if (!force && first == sheetRow && type == sheetType) {
            return;
        }
        if (sheetRow != null) {
            sheetRow.settings().removeListener(sheetListener);
        }
        sheetRow = first;
        sheetType = type;
        if (first != null) {
            first.settings().addListener(sheetListener);
        }
        List<PropertySheet.Item> items = new ArrayList<>();
        if (s != null) {
            for (RecordComponent c : SettingsFields.simpleFields(s)) {
                items.add(new FieldItem(c, s.method()));
            }
        }
        sheet.getItems().setAll(items);
    }

    /**
     * The sheet shows the selected layer's settings as they change (an undo, a bulk edit, a cell edit), except
     * while the user types in the sheet itself: rebuilding it then would take the field away mid-word.
     */
    private final javafx.beans.value.ChangeListener<MethodSettings> sheetListener = (o, a, b) -> {
        if (a == null || b == null || a.getClass() != b.getClass() || !typingInSheet()) {
            refreshSheet(true);
        }
    };

    private boolean typingInSheet() {
        javafx.scene.Node focus = sheet.getScene() == null ? null : sheet.getScene().getFocusOwner();
        for (javafx.scene.Node n = focus; n != null; n = n.getParent()) {
            if (n == sheet) {
                return true;
            }
        }
        return false;
    }

    /** One field of the selected layers' settings; setting it sets it on every selected layer of the same method. */
    private final class FieldItem implements PropertySheet.Item {
        private final RecordComponent component;
        private final String method;

        FieldItem(RecordComponent component, String method) {
            this.component = component;
            this.method = method;
        }

        @Override
        public Class<?> getType() {
            Class<?> t = component.getType();
            return t == int.class ? Integer.class : t == double.class ? Double.class : t == boolean.class ? Boolean.class : t;
        }

        @Override
        public String getCategory() {
            return method;
        }

        @Override
        public String getName() {
            return component.getName();
        }

        @Override
        public String getDescription() {
            return method + " field '" + component.getName() + "' of the selected layers";
        }

        @Override
        public Object getValue() {
            PlanRow r = sheetRow;
            return r == null || r.current() == null || r.current().getClass() != component.getDeclaringRecord() ? null
                    : SettingsFields.get(r.current(), component.getName());
        }

        @Override
        public void setValue(Object value) {
            if (value == null || java.util.Objects.equals(value, getValue())) {
                return;
            }
            List<PlanRow> targets = selected();
            if (targets.isEmpty() && sheetRow != null) {
                targets = List.of(sheetRow);
            }
            vm.setField(targets, component.getName(), value);
        }

        @Override
        public Optional<ObservableValue<?>> getObservableValue() {
            return Optional.empty();
        }
    }

}
