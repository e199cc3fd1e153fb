package dev.squeeze.app.export;

import dev.squeeze.engine.export.Exports;
import dev.squeeze.engine.export.gguf.GgmlType;
import dev.squeeze.engine.model.DType;
import javafx.geometry.Insets;
import javafx.scene.control.Button;
import javafx.scene.control.ButtonBar;
import javafx.scene.control.ButtonType;
import javafx.scene.control.ChoiceBox;
import javafx.scene.control.Dialog;
import javafx.scene.control.Label;
import javafx.scene.control.ProgressIndicator;
import javafx.scene.control.Tab;
import javafx.scene.control.TabPane;
import javafx.scene.control.TextArea;
import javafx.scene.control.TextField;
import javafx.scene.input.Clipboard;
import javafx.scene.input.ClipboardContent;
import javafx.scene.layout.ColumnConstraints;
import javafx.scene.layout.GridPane;
import javafx.scene.layout.HBox;
import javafx.scene.layout.Priority;
import javafx.scene.layout.VBox;
import javafx.stage.DirectoryChooser;
import javafx.stage.FileChooser;
import javafx.stage.Modality;
import javafx.stage.Window;
import javafx.util.StringConverter;

import java.io.File;
import java.nio.file.Path;
import java.util.List;

/**
 * The export of one run: format, its options and the target on the first tab, the run's plan as llama.cpp and
 * GPTQModel arguments on the second. Not modal: a long export goes on while the person works, and is announced
 * when it ends.
 */
public final class ExportDialog {
    private final Dialog<Void> dialog = new Dialog<>();

    public ExportDialog(ExportViewModel vm, Window owner) {
        dialog.initModality(Modality.NONE);
        if (owner != null) {
            dialog.initOwner(owner);
        }
        dialog.setResizable(true);
        dialog.titleProperty().bind(vm.title());
        dialog.getDialogPane().setId("export-dialog");

        ChoiceBox<Exports.Format> format = new ChoiceBox<>(vm.formats());
        format.setId("export-format");
        format.valueProperty().bindBidirectional(vm.format());
        format.setConverter(converter(ExportDialog::describe));
        ChoiceBox<GgmlType> gguf = new ChoiceBox<>();
        gguf.setId("export-gguf-type");
        gguf.getItems().setAll(GgmlType.values());
        gguf.valueProperty().bindBidirectional(vm.ggufType());
        gguf.setConverter(converter(t -> t.name() + (t == GgmlType.F32 ? " (as the model stores them)" : "")));
        ChoiceBox<DType> hf = new ChoiceBox<>();
        hf.setId("export-hf-type");
        hf.getItems().setAll(DType.F16, DType.BF16, DType.F32);
        hf.valueProperty().bindBidirectional(vm.hfType());
        TextField target = new TextField();
        target.setId("export-target");
        target.textProperty().bindBidirectional(vm.target());
        target.setPrefColumnCount(40);
        Button browse = new Button("Browse…");
        browse.setMinWidth(javafx.scene.layout.Region.USE_PREF_SIZE);
        browse.setOnAction(e -> browse(vm, target.getScene() == null ? null : target.getScene().getWindow()));

        GridPane form = new GridPane();
        form.setHgap(8);
        form.setVgap(8);
        ColumnConstraints labels = new ColumnConstraints();
        labels.setMinWidth(javafx.scene.layout.Region.USE_PREF_SIZE);
        ColumnConstraints fields = new ColumnConstraints();
        fields.setHgrow(Priority.ALWAYS);
        form.getColumnConstraints().addAll(labels, fields);
        form.addRow(0, new Label("Format"), format);
        Label ggufLabel = new Label("Weights the run did not compress");
        form.addRow(1, ggufLabel, gguf);
        Label hfLabel = new Label("Tensor type");
        form.addRow(2, hfLabel, hf);
        HBox targetRow = new HBox(6, target, browse);
        HBox.setHgrow(target, Priority.ALWAYS);
        form.addRow(3, new Label("Write to"), targetRow);
        form.getChildren().stream().filter(n -> n instanceof Label)
                .forEach(n -> ((Label) n).setMinWidth(javafx.scene.layout.Region.USE_PREF_SIZE));
        for (var n : List.of(ggufLabel, gguf)) {
            n.visibleProperty().bind(vm.format().isEqualTo(Exports.Format.GGUF));
            n.managedProperty().bind(n.visibleProperty());
        }
        for (var n : List.of(hfLabel, hf)) {
            n.visibleProperty().bind(vm.format().isEqualTo(Exports.Format.HF));
            n.managedProperty().bind(n.visibleProperty());
        }

        Label note = new Label("The run's weights are recomputed from its plan, model and calibration data and checked"
                + " layer by layer against what the run stored. A layer the format cannot hold exactly is written at"
                + " the nearest type that holds it, or refused; each is listed below.");
        note.setWrapText(true);
        note.getStyleClass().add("hint");

        ProgressIndicator spinner = new ProgressIndicator();
        spinner.setPrefSize(18, 18);
        spinner.visibleProperty().bind(vm.running());
        spinner.managedProperty().bind(vm.running());
        Label status = new Label();
        status.setId("export-status");
        status.textProperty().bind(vm.status());
        Label error = new Label();
        error.setId("export-error");
        error.setWrapText(true);
        error.setStyle("-fx-text-fill: #b3261e;");
        error.textProperty().bind(vm.error());
        error.visibleProperty().bind(vm.error().isNotNull());
        error.managedProperty().bind(error.visibleProperty());
        TextArea result = new TextArea();
        result.setId("export-result");
        result.setEditable(false);
        result.setWrapText(false);
        result.textProperty().bind(vm.result());
        result.setPrefRowCount(8);
        VBox.setVgrow(result, Priority.ALWAYS);

        Button export = new Button("Export");
        export.setId("export-start");
        export.setDefaultButton(true);
        export.disableProperty().bind(vm.running().or(vm.format().isNull()).or(vm.loaded().not()));
        export.setOnAction(e -> vm.export());
        Button cancel = new Button("Cancel export");
        cancel.setId("export-cancel");
        cancel.disableProperty().bind(vm.running().not());
        cancel.setOnAction(e -> vm.cancel());
        HBox actions = new HBox(8, export, cancel, spinner, status);
        actions.setAlignment(javafx.geometry.Pos.CENTER_LEFT);

        VBox exportTab = new VBox(10, form, note, actions, error, result);
        exportTab.setPadding(new Insets(12));

        VBox translations = new VBox(8,
                new Label("llama.cpp: quantize an F32 GGUF of this model with the run's types (llama-quantize rounds"
                        + " to nearest itself)"),
                translation(vm.llamaQuantize(), "export-llama-quantize"),
                new Label("GPTQModel: QuantizeConfig fields and dynamic per-module overrides (-: keeps a module dense)"),
                translation(vm.gptqModel(), "export-gptqmodel"));
        translations.setPadding(new Insets(12));
        translations.getChildren().stream().filter(n -> n instanceof Label).forEach(n -> ((Label) n).setWrapText(true));

        TabPane tabs = new TabPane(new Tab("Export", exportTab), new Tab("Plan in other tools", translations));
        tabs.setTabClosingPolicy(TabPane.TabClosingPolicy.UNAVAILABLE);
        dialog.getDialogPane().setContent(tabs);
        dialog.getDialogPane().getButtonTypes().add(new ButtonType("Close", ButtonBar.ButtonData.CANCEL_CLOSE));
        dialog.getDialogPane().setPrefSize(760, 560);
    }

    private static VBox translation(javafx.beans.property.StringProperty text, String id) {
        TextArea area = new TextArea();
        area.setId(id);
        area.setEditable(false);
        area.setWrapText(true);
        area.textProperty().bind(text);
        area.setPrefRowCount(7);
        Button copy = new Button("Copy");
        copy.setOnAction(e -> {
            ClipboardContent c = new ClipboardContent();
            c.putString(text.get());
            Clipboard.getSystemClipboard().setContent(c);
        });
        VBox box = new VBox(4, area, copy);
        VBox.setVgrow(area, Priority.ALWAYS);
        VBox.setVgrow(box, Priority.ALWAYS);
        return box;
    }

    private static void browse(ExportViewModel vm, Window owner) {
        Exports.Format f = vm.format().get();
        if (f == null) {
            return;
        }
        Path current = vm.target().get().isBlank() ? null : Path.of(vm.target().get()).toAbsolutePath();
        File chosen;
        if (f.extension().isEmpty()) {
            DirectoryChooser chooser = new DirectoryChooser();
            chooser.setTitle("Folder to write the " + f.word() + " export into (created if absent)");
            if (current != null && current.getParent() != null && current.getParent().toFile().isDirectory()) {
                chooser.setInitialDirectory(current.getParent().toFile());
            }
            chosen = chooser.showDialog(owner);
            if (chosen != null && current != null) {
                chosen = new File(chosen, current.getFileName().toString());
            }
        } else {
            FileChooser chooser = new FileChooser();
            chooser.getExtensionFilters().add(new FileChooser.ExtensionFilter(f.word().toUpperCase(java.util.Locale.ROOT),
                    "*" + f.extension()));
            if (current != null) {
                if (current.getParent() != null && current.getParent().toFile().isDirectory()) {
                    chooser.setInitialDirectory(current.getParent().toFile());
                }
                chooser.setInitialFileName(current.getFileName().toString());
            }
            chosen = chooser.showSaveDialog(owner);
        }
        if (chosen != null) {
            vm.target().set(chosen.getPath());
        }
    }

    static String describe(Exports.Format f) {
        return switch (f) {
            case GGUF -> "GGUF — llama.cpp";
            case HF -> "Hugging Face folder — dequantized safetensors";
            case GPTQ -> "GPTQ safetensors — transformers, GPTQModel, vLLM";
            case ONNX -> "ONNX — compressed initializers, ONNX Runtime";
            case SQZ -> "Squeeze bundle (.sqz) — everything, reopens here";
        };
    }

    private static <T> StringConverter<T> converter(java.util.function.Function<T, String> words) {
        return new StringConverter<>() {
            @Override
            public String toString(T t) {
                return t == null ? "" : words.apply(t);
            }

            @Override
            public T fromString(String s) {
                throw new UnsupportedOperationException("choices are not typed in");
            }
        };
    }

    public void show() {
        dialog.show();
    }
}
