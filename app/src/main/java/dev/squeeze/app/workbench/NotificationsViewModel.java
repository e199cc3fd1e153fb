package dev.squeeze.app.workbench;

import javafx.beans.binding.Bindings;
import javafx.beans.binding.BooleanBinding;
import javafx.beans.property.BooleanProperty;
import javafx.beans.property.ReadOnlyIntegerProperty;
import javafx.beans.property.ReadOnlyIntegerWrapper;
import javafx.beans.property.ReadOnlyObjectProperty;
import javafx.beans.property.ReadOnlyObjectWrapper;
import javafx.beans.property.ReadOnlyStringProperty;
import javafx.beans.property.ReadOnlyStringWrapper;
import javafx.beans.property.SimpleBooleanProperty;
import javafx.collections.FXCollections;
import javafx.collections.ObservableList;

/**
 * The queue of messages behind the banner: nothing is lost when a second error arrives while one is shown; the
 * banner says "1 of 3" and pages through them; each can be dismissed; details are shown on demand. Use on the FX
 * thread (or, in tests, on one thread); needs no toolkit.
 */
public final class NotificationsViewModel {
    private final ObservableList<Notification> queue = FXCollections.observableArrayList();
    private final ReadOnlyIntegerWrapper index = new ReadOnlyIntegerWrapper(-1);
    private final ReadOnlyObjectWrapper<Notification> current = new ReadOnlyObjectWrapper<>();
    private final ReadOnlyStringWrapper position = new ReadOnlyStringWrapper("");
    private final BooleanProperty detailsShown = new SimpleBooleanProperty();

    /** Adds a message as the engine words it (first line: message; the rest: details). */
    public void error(String text) {
        add(Notification.of(text));
    }

    /** Adds {@code n} at the end; the first one added to an empty queue is shown. */
    public void add(Notification n) {
        queue.add(n);
        if (index.get() < 0) {
            select(0);
        } else {
            update();
        }
    }

    /** Removes {@code n} wherever it is (e.g. a notice that no longer applies). */
    public void remove(Notification n) {
        int i = queue.indexOf(n);
        if (i < 0) {
            return;
        }
        queue.remove(i);
        if (i < index.get() || index.get() >= queue.size()) {
            select(index.get() - (i < index.get() ? 1 : 0));
        } else {
            select(index.get());
        }
    }

    /** Dismisses the message on show; the next one (or the one before, at the end) is shown. */
    public void dismiss() {
        Notification n = current.get();
        if (n != null) {
            remove(n);
        }
    }

    /** Dismisses every message. */
    public void dismissAll() {
        queue.clear();
        select(-1);
    }

    public void next() {
        if (index.get() + 1 < queue.size()) {
            select(index.get() + 1);
        }
    }

    public void previous() {
        if (index.get() > 0) {
            select(index.get() - 1);
        }
    }

    private void select(int i) {
        int clamped = queue.isEmpty() ? -1 : Math.max(0, Math.min(i, queue.size() - 1));
        Notification before = current.get();
        Notification next = clamped < 0 ? null : queue.get(clamped);
        index.set(clamped);
        update(); // the position first: a view redrawn on the change of current reads it
        if (next != before) {
            detailsShown.set(false);
        }
        current.set(next);
    }

    private void update() {
        position.set(queue.size() > 1 ? (index.get() + 1) + " of " + queue.size() : "");
    }

    /** All messages not dismissed, oldest first. */
    public ObservableList<Notification> all() {
        return FXCollections.unmodifiableObservableList(queue);
    }

    /** The message on show, or null when there is none. */
    public ReadOnlyObjectProperty<Notification> current() {
        return current.getReadOnlyProperty();
    }

    /** 0-based place of the message on show, -1 when none. */
    public ReadOnlyIntegerProperty index() {
        return index.getReadOnlyProperty();
    }

    /** "2 of 3" when more than one message waits, else empty. */
    public ReadOnlyStringProperty position() {
        return position.getReadOnlyProperty();
    }

    /** Whether the details of the message on show are expanded (collapsed again when another is shown). */
    public BooleanProperty detailsShown() {
        return detailsShown;
    }

    public BooleanBinding hasNext() {
        return Bindings.createBooleanBinding(() -> index.get() + 1 < queue.size(), index, queue);
    }

    public BooleanBinding hasPrevious() {
        return Bindings.createBooleanBinding(() -> index.get() > 0, index);
    }
}
