package dev.squeeze.engine.store;

import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;

/**
 * What a failed database or file operation says about the disk under it: full, or read-only (or neither: null).
 * Looks through the whole cause chain and the suppressed exceptions, because H2 and Flyway wrap the operating
 * system's IOException ("No space left on device", "Read-only file system") two or three levels deep.
 *
 * @param detail the operating system's words, for the message
 */
public record DiskProblem(Kind kind, String detail) {
    public enum Kind { FULL, READ_ONLY }

    /** The disk problem behind {@code e}, or null when it has another cause. */
    public static DiskProblem of(Throwable e) {
        String full = null;
        String readOnly = null;
        for (Throwable t : chain(e)) {
            String m = String.valueOf(t.getMessage());
            if (m.contains("No space left on device") || m.contains("not enough space on the disk")
                    || m.contains("Disk quota exceeded")) {
                full = firstLine(m);
            } else if (m.contains("Read-only file system")) {
                readOnly = firstLine(m);
            } else if (readOnly == null && (t instanceof java.nio.file.AccessDeniedException
                    || m.contains("Permission denied"))) {
                readOnly = "permission denied";
            } else if (readOnly == null && t instanceof SQLException sql
                    && sql.getErrorCode() == org.h2.api.ErrorCode.DATABASE_IS_READ_ONLY) {
                readOnly = "H2 opened it read-only because the file cannot be written";
            }
        }
        if (full != null) {
            return new DiskProblem(Kind.FULL, full);
        }
        return readOnly != null ? new DiskProblem(Kind.READ_ONLY, readOnly) : null;
    }

    /** Whether a file ended early somewhere behind {@code e} (H2 reading a file cut short). */
    static boolean endOfFile(Throwable e) {
        return chain(e).stream().anyMatch(t -> t instanceof java.io.EOFException);
    }

    /** {@code e}, its causes and everything suppressed along the way, each once. */
    private static List<Throwable> chain(Throwable e) {
        List<Throwable> out = new ArrayList<>();
        List<Throwable> todo = new ArrayList<>(List.of(e));
        Set<Throwable> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        while (!todo.isEmpty()) {
            Throwable t = todo.removeLast();
            if (t == null || !seen.add(t)) {
                continue;
            }
            out.add(t);
            todo.add(t.getCause());
            todo.addAll(List.of(t.getSuppressed()));
        }
        return out;
    }

    /**
     * The problem in words, with the operating system's own: "the disk is full (No space left on device)" or
     * "the disk or folder is read-only (Read-only file system)".
     */
    public String describe() {
        return (kind == Kind.FULL ? "the disk is full (" : "the disk or folder is read-only (") + detail + ")";
    }

    /** The first line of a message (exceptions of JDBC drivers and file systems can run over many). */
    public static String firstLine(String s) {
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
