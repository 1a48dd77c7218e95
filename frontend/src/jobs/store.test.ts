import { describe, expect, it } from "vitest";
import type { Job } from "../api/types";
import { jobFromMessage } from "./feed";
import { JobStore, mergeJob } from "./store";

function job(patch: Partial<Job>): Job {
  return {
    id: 1, kind: "ingest_raster", project: 1, params: {}, status: "queued", progress: 0, message: "",
    result: null, error: "", created_at: "2025-01-01T00:00:00Z", started_at: null, finished_at: null,
    ...patch,
  };
}

describe("mergeJob", () => {
  it("moves forward only: a late, older state does not undo a newer one", () => {
    const running = job({ status: "running", progress: 0.5 });
    expect(mergeJob(running, job({ status: "queued" }))).toBe(running);
    expect(mergeJob(running, job({ status: "running", progress: 0.2 }))).toBe(running);
    expect(mergeJob(running, job({ status: "running", progress: 0.7 })).progress).toBe(0.7);
    const done = mergeJob(running, job({ status: "succeeded", progress: 1, result: { raster: 4 } }));
    expect(done.status).toBe("succeeded");
    expect(mergeJob(done, job({ status: "running", progress: 0.9 })).status).toBe("succeeded");
  });

  it("keeps the log a websocket event does not carry", () => {
    const withLog = job({ status: "running", progress: 0.1, log: ["started"] });
    expect(mergeJob(withLog, job({ status: "running", progress: 0.3 })).log).toEqual(["started"]);
  });

  it("sorts newest first", () => {
    const store = new JobStore();
    store.sync([job({ id: 1 }), job({ id: 2, created_at: "2025-01-02T00:00:00Z" }), job({ id: 3 })]);
    expect(store.all().map((j) => j.id)).toEqual([2, 3, 1]);
  });
});

describe("jobFromMessage", () => {
  it("reads the project feed and the per-job feed shapes", () => {
    expect(jobFromMessage({ type: "job.progress", job: { id: 5, status: "running" } })).toEqual({ id: 5, status: "running" });
    expect(jobFromMessage({ type: "job.progress", id: 6, progress: 0.5 })).toEqual({ id: 6, progress: 0.5 });
    expect(jobFromMessage({ type: "feature.created", id: 6 })).toBeNull();
    expect(jobFromMessage("nonsense")).toBeNull();
  });
});
