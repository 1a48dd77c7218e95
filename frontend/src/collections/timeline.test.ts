import { describe, expect, it } from "vitest";
import { areaSeries, collectionJobs, formatArea, outputFor, timeSteps } from "./timeline";
import type { Job } from "../api/types";

const item = (raster: number, acquired: string | null) => ({ raster, name: `r${raster}`, acquired, status: "ready", bounds: null, crs: "", count: 3, dtype: "uint8" });
const job = (id: number, kind: string, params: Record<string, unknown>, result: Record<string, unknown> = {}): Job =>
  ({ id, kind, project: 1, params, status: "succeeded", progress: 1, message: "", result, error: "", created_at: "", started_at: null, finished_at: null });

describe("time steps", () => {
  it("orders by date, undated last in collection order", () => {
    const steps = timeSteps([item(1, null), item(2, "2022-01-01T00:00:00Z"), item(3, "2020-05-01T00:00:00Z"), item(4, null)]);
    expect(steps.map((s) => s.raster)).toEqual([3, 2, 1, 4]);
    expect(steps[0].label).toBe("2020-05-01 · r3");
    expect(steps[2].label).toBe("no date · r1");
  });
});

describe("jobs of a collection", () => {
  it("keeps succeeded detect/classify jobs over the collection or its rasters", () => {
    const jobs = [job(1, "detect_objects", { in_collection: 7, in_rasters: [1, 2] }), job(2, "detect_objects", { in_raster: 1 }),
      job(3, "classify_pixels", { in_rasters: [2, 1] }), job(4, "classify_pixels", { in_rasters: [1, 9] }), job(5, "train_model", { in_collection: 7 })];
    expect(collectionJobs(jobs, { id: 7, rasters: [1, 2] }).map((j) => j.id)).toEqual([1, 3]);
  });
  it("finds the classified raster of a source", () => {
    expect(outputFor(job(1, "classify_pixels", {}, { rasters: [10, 11], sources: [1, 2] }), 2)).toBe(11);
    expect(outputFor(job(1, "classify_pixels", {}, { raster: 10 }), 2)).toBeNull();
  });
});

describe("areas", () => {
  it("makes one series per class over the dates", () => {
    const series = areaSeries({ job: 1, unit: "m2", classes: [{ value: 1, name: "Tree", color: [0, 200, 0] }],
      dates: [{ raster: 1, source: 1, name: "a", acquired: null, areas: { "1": 5 }, pixels: {} }, { raster: 2, source: 2, name: "b", acquired: null, areas: {}, pixels: {} }] });
    expect(series[0].points).toEqual([[0, 5], [1, 0]]);
    expect(formatArea(25_000)).toBe("2.50 ha");
    expect(formatArea(3.456)).toBe("3.46 m²");
  });
});
