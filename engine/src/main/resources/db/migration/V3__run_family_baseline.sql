-- Issue #10: a run's method family and whether it is a baseline, stored with the run (never read from its label).
--
-- method_family: the distinct methods of the run's compressed layers, sorted and joined with '+' ("gptq",
--   "rtn+spqr"), or 'dense' when it compresses no layer. baseline: TRUE exactly when it compresses no layer.
-- layer_result holds one row per compressed layer and none for a layer left dense (a dense run has none at all);
-- the plan keyword 'none' (and 'dense') never names a compressing method and is not counted. The rule is
-- store.MethodFamily's, which ResultsStore.recordRun applies to every new run; the rows below are upgraded from
-- their layer results by the same rule (MigrationUpgradeTest checks that both agree).

-- One ALTER for both columns: H2 rebuilds the table for each ALTER that adds columns.
ALTER TABLE run ADD COLUMN (baseline BOOLEAN, method_family VARCHAR(200));

UPDATE run r SET
    method_family = COALESCE((SELECT LISTAGG(DISTINCT l.method, '+') WITHIN GROUP (ORDER BY l.method)
                               FROM layer_result l
                               WHERE l.run_id = r.id AND LOWER(l.method) NOT IN ('none', 'dense')), 'dense'),
    baseline = NOT EXISTS (SELECT 1 FROM layer_result l
                           WHERE l.run_id = r.id AND LOWER(l.method) NOT IN ('none', 'dense'));

ALTER TABLE run ALTER COLUMN baseline SET NOT NULL;
ALTER TABLE run ALTER COLUMN method_family SET NOT NULL;
