import { describe, expect, it } from "vitest";
import Point from "ol/geom/Point";
import { fromLonLat, toLonLat } from "ol/proj";
import { getDistance } from "ol/sphere";
import { boxFrom, bufferPoint, circleFrom, gridOf, snapCoordinate, snapGeometry } from "./shapes";

describe("drawing shapes", () => {
  it("makes a box from any two opposite corners", () => {
    const box = boxFrom([10, 0], [0, 5]);
    expect(box.getExtent()).toEqual([0, 0, 10, 5]);
    expect(box.getArea()).toBe(50);
  });

  it("makes a circle from its centre and a rim point", () => {
    const circle = circleFrom([0, 0], [3, 4]);
    const [x0, y0, x1, y1] = circle.getExtent();
    expect(x1 - x0).toBeCloseTo(10, 0);
    expect(y1 - y0).toBeCloseTo(10, 0);
  });

  it("buffers a point by metres on the ground, not map units", () => {
    const center = fromLonLat([-82, 29.7]);
    const ring = bufferPoint(center, 5).getCoordinates()[0];
    for (const c of ring) expect(getDistance(toLonLat(center), toLonLat(c))).toBeCloseTo(5, 1);
  });
});

describe("pixel grid snapping", () => {
  const grid = { origin: [100, 200] as [number, number], size: [2, 2] as [number, number] };

  it("rounds to the nearest pixel corner", () => {
    expect(snapCoordinate([103.1, 196.9], grid)).toEqual([104, 196]);
  });

  it("snaps polygons to corners and points to pixel centres", () => {
    const box = snapGeometry(boxFrom([100.9, 190.2], [105.2, 195.1]), grid);
    expect(box.getExtent()).toEqual([100, 190, 106, 196]);
    expect(snapGeometry(new Point([102.2, 197.7]), grid).getCoordinates()).toEqual([103, 197]);
  });

  it("derives the grid from a raster's bounds and size", () => {
    const g = gridOf([0, 0, 0.001, 0.001], 100, 100);
    expect(g.size[0]).toBeCloseTo(1.113, 2);
    expect(g.origin[0]).toBeCloseTo(0, 6);
  });
});
