/**
 * Geometry helpers of the drawing tools (no DOM, no map): rectangle and circle from two points,
 * a point buffered by metres on the ground, and snapping to a raster's pixel grid. Coordinates are
 * EPSG:3857 (the map's projection).
 */
import type { Coordinate } from "ol/coordinate";
import Circle from "ol/geom/Circle";
import type Geometry from "ol/geom/Geometry";
import Polygon, { circular, fromCircle } from "ol/geom/Polygon";
import { toLonLat, transformExtent } from "ol/proj";

/** Vertices of a drawn circle: enough to look round, few enough to edit. */
export const CIRCLE_SIDES = 48;

export function boxFrom(a: Coordinate, b: Coordinate): Polygon {
  const [x0, x1] = [Math.min(a[0], b[0]), Math.max(a[0], b[0])];
  const [y0, y1] = [Math.min(a[1], b[1]), Math.max(a[1], b[1])];
  return new Polygon([[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]);
}

/** Centre `a`, a point of the rim `b`. */
export function circleFrom(a: Coordinate, b: Coordinate): Polygon {
  const radius = Math.hypot(b[0] - a[0], b[1] - a[1]);
  return fromCircle(new Circle(a, radius), CIRCLE_SIDES);
}

/** A circle of `meters` on the ground around `center` (geodesic, so true at any latitude). */
export function bufferPoint(center: Coordinate, meters: number): Polygon {
  const ring = circular(toLonLat(center), meters, CIRCLE_SIDES);
  return ring.transform("EPSG:4326", "EPSG:3857") as Polygon;
}

/** A pixel grid in map units: the corner of pixel (0, 0) and the pixel size (x, y > 0). */
export interface PixelGrid {
  origin: [number, number];
  size: [number, number];
}

/**
 * The grid of a raster from its EPSG:4326 bounds and size. Exact for rasters in Web Mercator and
 * a close approximation for others over the small extents labels cover (the tiles are warped the
 * same way).
 */
export function gridOf(bounds: [number, number, number, number], width: number, height: number): PixelGrid {
  const [x0, y0, x1, y1] = transformExtent(bounds, "EPSG:4326", "EPSG:3857");
  return { origin: [x0, y1], size: [(x1 - x0) / width, (y1 - y0) / height] };
}

export function snapCoordinate(c: Coordinate, grid: PixelGrid): Coordinate {
  const [ox, oy] = grid.origin;
  const [sx, sy] = grid.size;
  return [ox + Math.round((c[0] - ox) / sx) * sx, oy - Math.round((oy - c[1]) / sy) * sy];
}

/** A copy of `geometry` with every vertex on the nearest pixel corner (points: pixel centre). */
export function snapGeometry<G extends Geometry>(geometry: G, grid: PixelGrid): G {
  const out = geometry.clone() as G;
  if (out.getType() === "Point") {
    const half: PixelGrid = { origin: [grid.origin[0] + grid.size[0] / 2, grid.origin[1] - grid.size[1] / 2], size: grid.size };
    out.applyTransform((input, output, dim = 2) => snapFlat(input, output ?? input, dim, half));
  } else {
    out.applyTransform((input, output, dim = 2) => snapFlat(input, output ?? input, dim, grid));
  }
  return out;
}

function snapFlat(input: number[], output: number[], dim: number, grid: PixelGrid): number[] {
  for (let i = 0; i + 1 < input.length; i += dim) {
    const [x, y] = snapCoordinate([input[i], input[i + 1]], grid);
    output[i] = x;
    output[i + 1] = y;
  }
  return output;
}

