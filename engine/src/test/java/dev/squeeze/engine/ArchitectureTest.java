package dev.squeeze.engine;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The dependency rule of DESIGN.md: the engine never reaches for a window toolkit or the app. */
class ArchitectureTest {
    private final JavaClasses engine = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("dev.squeeze.engine");

    @Test
    void importsTheWholeEngine() {
        // Guards the rules below against passing vacuously on an empty import.
        assertTrue(engine.size() > 20, "imported only " + engine.size() + " classes");
    }

    @Test
    void engineDoesNotDependOnJavaFxAwtOrTheApp() {
        noClasses().that().resideInAPackage("dev.squeeze.engine..")
                .should().dependOnClassesThat().resideInAnyPackage("javafx..", "java.awt..", "javax.swing..",
                        "dev.squeeze.app..")
                .because("the engine runs headless, in worker processes and CI; see DESIGN.md")
                .check(engine);
    }

    @Test
    void onlyTheKernelsPackageTouchesNativeCode() {
        noClasses().that().resideOutsideOfPackage("dev.squeeze.engine.kernels..")
                .should().callMethod(System.class, "load", String.class)
                .orShould().callMethod(System.class, "loadLibrary", String.class)
                .because("engine.kernels is the only door to native code")
                .check(engine);
    }

    @Test
    void onlyTheRegistryReachesConcreteMethodClasses() {
        classes().that().implement(dev.squeeze.engine.compress.CompressionMethod.class)
                .should().onlyBeAccessed().byClassesThat()
                .haveFullyQualifiedName(dev.squeeze.engine.compress.Methods.class.getName())
                .because("methods are found by name through the registry (DESIGN.md), so plans, runs and the app"
                        + " never depend on a concrete method")
                .check(engine);
    }
}
