package dev.squeeze.app.workbench;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The banner's queue, without a JavaFX toolkit. */
class NotificationsViewModelTest {
    private final NotificationsViewModel notes = new NotificationsViewModel();

    @Test
    void aSecondErrorWhileOneIsShownIsKeptAndCounted() {
        notes.error("first failure");
        assertEquals("first failure", notes.current().get().message());
        assertEquals("", notes.position().get(), "one message needs no counter");

        notes.error("second failure");
        notes.error("third failure");
        assertEquals("first failure", notes.current().get().message(), "the one on show stays on show");
        assertEquals("1 of 3", notes.position().get());
        assertTrue(notes.hasNext().get());
        assertFalse(notes.hasPrevious().get());

        notes.next();
        assertEquals("second failure", notes.current().get().message());
        assertEquals("2 of 3", notes.position().get());
        notes.next();
        notes.next(); // at the end: stays
        assertEquals("3 of 3", notes.position().get());
        assertFalse(notes.hasNext().get());
        notes.previous();
        assertEquals("2 of 3", notes.position().get());
    }

    @Test
    void dismissingShowsTheNextThenThePreviousAndFinallyNothing() {
        notes.error("a");
        notes.error("b");
        notes.error("c");
        notes.next(); // on "b"
        notes.dismiss();
        assertEquals("c", notes.current().get().message(), "the next one takes the dismissed one's place");
        assertEquals("2 of 2", notes.position().get());
        notes.dismiss();
        assertEquals("a", notes.current().get().message(), "at the end, the one before");
        assertEquals("", notes.position().get());
        notes.dismiss();
        assertNull(notes.current().get());
        assertEquals(-1, notes.index().get());
        notes.dismiss(); // nothing on show: no effect
        assertNull(notes.current().get());
    }

    @Test
    void removingANoticeBeforeTheOneOnShowKeepsThatOneOnShow() {
        Notification notice = Notification.withAction("2 jobs were interrupted", "Resume", () -> { });
        notes.add(notice);
        notes.error("later failure");
        notes.next();
        notes.remove(notice);
        assertEquals("later failure", notes.current().get().message());
        assertEquals(1, notes.all().size());
    }

    @Test
    void dismissAllEmptiesTheQueue() {
        notes.error("a");
        notes.error("b");
        notes.dismissAll();
        assertNull(notes.current().get());
        assertTrue(notes.all().isEmpty());
        notes.error("c");
        assertEquals("c", notes.current().get().message(), "a new message after dismissing all is shown");
    }

    @Test
    void detailsCollapseWhenAnotherMessageIsShown() {
        notes.error("a\nmore about a");
        notes.error("b");
        notes.detailsShown().set(true);
        notes.next();
        assertFalse(notes.detailsShown().get());
    }

    @Test
    void theEngineWordingSplitsIntoMessageWithItsFixAndDetails() {
        Notification n = Notification.of("""
                Cannot read /m/model.onnx: truncated at byte 512
                  at tensor conv1.weight (shape 8x1x5x5)
                  Fix: download the model again""");
        assertEquals("Cannot read /m/model.onnx: truncated at byte 512  Fix: download the model again", n.message());
        assertEquals("at tensor conv1.weight (shape 8x1x5x5)", n.details());
        assertTrue(n.hasDetails());

        Notification single = Notification.of("just this");
        assertEquals("just this", single.message());
        assertFalse(single.hasDetails());

        Notification list = Notification.of("""
                The plan does not fit the model (2 problems):
                  - fc1: bits 17 is not 2 to 8
                  - fc2: group size 0 must be positive
                  Fix: correct the plan entries named above""");
        assertEquals("The plan does not fit the model (2 problems): fc1: bits 17 is not 2 to 8 (and 1 more)"
                + "  Fix: correct the plan entries named above", list.message());
        assertEquals("- fc1: bits 17 is not 2 to 8\n- fc2: group size 0 must be positive", list.details());

        Notification one = Notification.of("One problem:\n  - fc3: rank 0\n  Fix: give a rank");
        assertEquals("One problem: fc3: rank 0  Fix: give a rank", one.message());
        assertFalse(one.hasDetails(), "everything is on the banner already");

        assertTrue(Notification.of(null).message().contains("log"), "an empty error still says where to look");
    }
}
