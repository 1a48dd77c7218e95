import { describe, expect, it } from "vitest";
import type { Raster } from "../api/types";
import {
  defaultRenderSettings,
  presetRescale,
  renderQuery,
  tileUrlTemplate,
  validateSettings,
} from "./render";

function raster(count: number): Raster {
  const statistics: Raster["statistics"] = {};
  for (let b = 1; b <= count; b += 1) {
    statistics[String(b)] = { min: b, max: 200 + b, mean: 100, std: 10, p2: 10 * b + 0.123456789, p98: 150 + b };
  }
  return {
    id: 7, project: 1, name: "r", status: "ready", error: "", crs: "EPSG:32617",
    bounds: [-81.1, 29.6, -81.0, 29.7], width: 400, height: 400, count, dtype: "uint8",
    nodata: null, resolution: [0.1, 0.1], statistics, job: 3,
  };
}

describe("render settings", () => {
  it("defaults to bands 1,2,3 with the 2-98 % stretch of each band", () => {
    const s = defaultRenderSettings(raster(4));
    expect(s.bands).toEqual([1, 2, 3]);
    expect(s.rescale).toEqual([[10.123456789, 151], [20.123456789, 152], [30.123456789, 153]]);
    expect(renderQuery(s)).toBe("bands=1,2,3&rescale=10.1235,151&rescale=20.1235,152&rescale=30.1235,153");
  });

  it("uses band 1 for single-band rasters and min-max on request", () => {
    const r = raster(1);
    expect(defaultRenderSettings(r).bands).toEqual([1]);
    expect(presetRescale(r, [1], "minmax")).toEqual([[1, 201]]);
  });

  it("sends one rescale when all bands share it, none without statistics", () => {
    expect(renderQuery({ bands: [3, 2, 1], rescale: [[0, 255], [0, 255], [0, 255]] })).toBe("bands=3,2,1&rescale=0,255");
    const r = { ...raster(3), statistics: null };
    expect(defaultRenderSettings(r).rescale).toEqual([]);
    expect(tileUrlTemplate(9, defaultRenderSettings(r))).toBe("/api/rasters/9/tiles/{z}/{x}/{y}.png?bands=1,2,3");
  });

  it("validates band numbers and stretch ranges", () => {
    const r = raster(3);
    expect(validateSettings(r, { bands: [1, 2], rescale: [] })).toMatch(/one or three/);
    expect(validateSettings(r, { bands: [4], rescale: [] })).toMatch(/between 1 and 3/);
    expect(validateSettings(r, { bands: [1], rescale: [[5, 5]] })).toMatch(/greater/);
    expect(validateSettings(r, { bands: [1], rescale: [[Number.NaN, 5]] })).toMatch(/numbers/);
    expect(validateSettings(r, { bands: [3, 2, 1], rescale: [] })).toBeNull();
  });
});
