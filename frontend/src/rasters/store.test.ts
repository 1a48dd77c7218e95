import { describe, expect, it } from "vitest";
import type { Job } from "../api/types";
import { rasterIdOfJob } from "./store";

describe("rasterIdOfJob", () => {
  it("finds the raster in the result or the params", () => {
    const base = { id: 1, kind: "ingest_raster", project: 1, status: "succeeded", progress: 1, message: "", error: "", created_at: "", started_at: null, finished_at: null } as const;
    expect(rasterIdOfJob({ ...base, params: {}, result: { raster: 4 } } as Job)).toBe(4);
    expect(rasterIdOfJob({ ...base, params: { raster: 5 }, result: null } as Job)).toBe(5);
    expect(rasterIdOfJob({ ...base, params: {}, result: null } as Job)).toBeNull();
  });
});
