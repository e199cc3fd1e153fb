-- Issue #14: a job's worker runs on this machine or on a Slurm cluster, and the job table says where.
--
-- launcher:          'local' (a worker process on this machine) or 'slurm' (a batch job on a cluster).
-- launcher_settings: for 'slurm', the settings it was submitted with (jobs.launch.SlurmSettings as JSON: shared
--                    directory, partition, account, CPUs, memory, time limit...), so that a resume submits it the same
--                    way; null for 'local'.
-- worker_id:         the worker's process id (local) or Slurm job id, of its latest attempt; null before it started.
-- node:              the machine the latest attempt ran on (this host, or the Slurm node); null before it is known.
-- job_root:          for 'slurm', the folder under the shared directory that holds the job's checkpoints, log and
--                    protocol files, fixed when the job is queued (a resume from another login node finds them).
ALTER TABLE job ADD COLUMN launcher VARCHAR(20) DEFAULT 'local' NOT NULL;
ALTER TABLE job ADD COLUMN launcher_settings CLOB;
ALTER TABLE job ADD COLUMN job_root VARCHAR(4000);
ALTER TABLE job ADD COLUMN worker_id VARCHAR(100);
ALTER TABLE job ADD COLUMN node VARCHAR(255);
