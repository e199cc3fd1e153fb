package dev.squeeze.app.workbench;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class NaturalOrderTest {
    private static List<String> sorted(String... cells) {
        List<String> l = new ArrayList<>(Arrays.asList(cells));
        l.sort(NaturalOrder.TEXT);
        return l;
    }

    @Test
    void numbersSortAsNumbersNotAsText() {
        assertEquals(List.of("9", "10", "64", "128", "1,290"), sorted("128", "10", "1,290", "9", "64"));
        assertEquals(List.of("8 %", "51 %", "200 %"), sorted("51 %", "200 %", "8 %"));
        assertEquals(List.of("-2.5", "0.001", "3e2"), sorted("3e2", "-2.5", "0.001"));
    }

    @Test
    void durationsSortAsDurationsAndTextGoesLast() {
        assertEquals(List.of("~0:42", "3:55", "10:02", "1:02:03", "row", "—"),
                sorted("row", "10:02", "—", "1:02:03", "3:55", "~0:42"));
        assertEquals(75.0, NaturalOrder.value("1:15"));
        assertEquals(Double.NaN, NaturalOrder.value("per-row"));
    }
}
