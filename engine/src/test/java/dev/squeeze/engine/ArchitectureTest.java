package dev.squeeze.engine;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

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

    /**
     * Methods are found by name through the registry (DESIGN.md), so plans, runs and the app never depend on a
     * concrete method: only {@code compress.Methods} and the method's own package may touch a method class.
     */
    @Test
    void onlyTheRegistryReachesConcreteMethodClasses() {
        java.util.List<String> violations = new java.util.ArrayList<>();
        int methods = 0;
        for (var c : engine) {
            if (!c.isAssignableTo(dev.squeeze.engine.compress.CompressionMethod.class) || c.isInterface()) {
                continue;
            }
            methods++;
            for (var access : c.getAccessesToSelf()) {
                var origin = access.getOriginOwner();
                boolean allowed = origin.getPackageName().equals(c.getPackageName())
                        || origin.getName().equals(dev.squeeze.engine.compress.Methods.class.getName());
                if (!allowed) {
                    violations.add(access.getDescription());
                }
            }
            for (var dep : c.getDirectDependenciesToSelf()) {
                var origin = dep.getOriginClass();
                if (!origin.getPackageName().equals(c.getPackageName())
                        && !origin.getName().equals(dev.squeeze.engine.compress.Methods.class.getName())) {
                    violations.add(dep.getDescription());
                }
            }
        }
        assertTrue(methods >= 6, "expected the registered methods, found " + methods);
        assertTrue(violations.isEmpty(), String.join("\n", violations));
    }
}
