/**
 * The project's jobs, merged from websocket events and REST resyncs.
 *
 * Events and a resync can cross (an old list answer may arrive after a newer event), so a job's
 * state only moves forward: queued -> running -> finished, and progress never goes back while it
 * runs.
 */
import type { Job, JobStatus } from "../api/types";

const RANK: Record<JobStatus, number> = {
  queued: 0,
  running: 1,
  succeeded: 2,
  failed: 2,
  cancelled: 2,
};

export function isFinished(status: JobStatus): boolean {
  return RANK[status] === 2;
}

/** The newer of two states of the same job; `incoming` fields win unless it is older. */
export function mergeJob(current: Job | undefined, incoming: Job): Job {
  if (!current) return incoming;
  const log = incoming.log ?? current.log;
  const older =
    RANK[incoming.status] < RANK[current.status] ||
    (incoming.status === current.status &&
      !isFinished(incoming.status) &&
      incoming.progress < current.progress);
  if (older) {
    return log === current.log ? current : { ...current, log };
  }
  return { ...current, ...incoming, log };
}

/** Newest first (by created_at, then id). */
export function sortJobs(jobs: Job[]): Job[] {
  return [...jobs].sort((a, b) => {
    const t = Date.parse(b.created_at) - Date.parse(a.created_at);
    return t !== 0 && !Number.isNaN(t) ? t : b.id - a.id;
  });
}

export class JobStore {
  private readonly jobs = new Map<number, Job>();

  get(id: number): Job | undefined {
    return this.jobs.get(id);
  }

  all(): Job[] {
    return sortJobs([...this.jobs.values()]);
  }

  /** Merge one job; returns the stored state. */
  upsert(job: Job): Job {
    const merged = mergeJob(this.jobs.get(job.id), job);
    this.jobs.set(job.id, merged);
    return merged;
  }

  /** Merge a full list from a resync (jobs missing from it are kept: they may be older pages). */
  sync(jobs: Job[]): Job[] {
    for (const job of jobs) this.upsert(job);
    return this.all();
  }
}
