package dev.squeeze.engine.jobs.launch;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** The loopback cluster the Slurm tests rely on: two one-CPU nodes that run two jobs at once, and scancel works. */
class LoopbackSlurmTest {

    @Test
    void sinfoListsBothNodes() {
        LoopbackSlurm slurm = LoopbackSlurm.get();
        List<String> listed = slurm.run("sinfo", "-h", "-N", "-o", "%N").lines().map(String::strip).distinct()
                .sorted().toList();
        assertEquals(List.of("node1", "node2"), listed);
        assertEquals(List.of("node1", "node2"), slurm.nodes());
    }

    @Test
    void twoOneCpuJobsRunAtOnceOnTwoNodesAndScancelEndsThem() {
        LoopbackSlurm slurm = LoopbackSlurm.get();
        slurm.awaitIdle(Duration.ofSeconds(60));
        String first = submitSleep(slurm);
        String second = submitSleep(slurm);
        String ids = first + "," + second;

        Map<String, String[]> rows = Map.of();
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (System.nanoTime() < deadline) {
            rows = squeue(slurm, ids);
            if (rows.size() == 2 && rows.values().stream().allMatch(r -> r[0].equals("RUNNING"))) {
                break;
            }
            pause();
        }
        assertEquals(2, rows.size(), "both jobs listed by squeue: " + describe(rows));
        assertTrue(rows.values().stream().allMatch(r -> r[0].equals("RUNNING")),
                "both 3-s jobs RUNNING at the same time: " + describe(rows));
        String nodeOfFirst = rows.get(first)[1];
        String nodeOfSecond = rows.get(second)[1];
        assertTrue(slurm.nodes().contains(nodeOfFirst) && slurm.nodes().contains(nodeOfSecond), describe(rows));
        assertNotEquals(nodeOfFirst, nodeOfSecond, "the two one-CPU jobs share a node: " + describe(rows));

        slurm.run("scancel", first, second);
        deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        Map<String, String[]> after;
        do {
            after = squeueAll(slurm, ids);
            if (after.values().stream().allMatch(r -> r[0].equals("CANCELLED"))) {
                break;
            }
            pause();
        } while (System.nanoTime() < deadline);
        for (Map.Entry<String, String[]> e : after.entrySet()) {
            assertEquals("CANCELLED", e.getValue()[0], "job " + e.getKey() + " after scancel: " + describe(after));
        }
        String active = slurm.run("squeue", "-h", "-j", ids, "-t", "PENDING,RUNNING,COMPLETING", "-o", "%i").strip();
        assertEquals("", active, "jobs still active after scancel");
    }

    private static String submitSleep(LoopbackSlurm slurm) {
        String id = slurm.run("sbatch", "--parsable", "-J", "loopback-test", "-N1", "-n1", "-c1",
                "-o", "/dev/null", "-e", "/dev/null", "--chdir=/tmp", "--wrap", "sleep 3").strip();
        if (!id.matches("\\d+(;\\S+)?")) {
            fail("sbatch --parsable printed no job id: " + id);
        }
        return id.split(";")[0];
    }

    /** Job id to {state, node} of the active jobs among {@code ids}. */
    private static Map<String, String[]> squeue(LoopbackSlurm slurm, String ids) {
        return parse(slurm.run("squeue", "-h", "-j", ids, "-o", "%i %T %N"));
    }

    /** Job id to {state, node} of {@code ids}, ended jobs included. */
    private static Map<String, String[]> squeueAll(LoopbackSlurm slurm, String ids) {
        return parse(slurm.run("squeue", "-h", "-t", "all", "-j", ids, "-o", "%i %T %N"));
    }

    private static Map<String, String[]> parse(String out) {
        Map<String, String[]> rows = new HashMap<>();
        for (String line : out.lines().map(String::strip).filter(l -> !l.isEmpty()).toList()) {
            String[] f = line.split("\\s+");
            rows.put(f[0], new String[] {f[1], f.length > 2 ? f[2] : ""});
        }
        return rows;
    }

    private static String describe(Map<String, String[]> rows) {
        StringBuilder sb = new StringBuilder();
        rows.forEach((id, r) -> sb.append(id).append(' ').append(r[0]).append(' ').append(r[1]).append("; "));
        return sb.isEmpty() ? "(none listed)" : sb.toString();
    }

    private static void pause() {
        try {
            Thread.sleep(50);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            fail("interrupted");
        }
    }
}
