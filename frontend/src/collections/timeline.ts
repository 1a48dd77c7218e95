/** Pure helpers of the time panel: the steps of a collection in date order, the jobs that ran
 * over it, and the series of an area plot. */
import type { Job } from "../api/types";
import type { AreasByDate, CollectionItem } from "./api";

export interface Step { raster: number; name: string; acquired: string | null; label: string }

/** "2021-06-03" (UTC day) or "no date". */
export function dayOf(acquired: string | null | undefined): string {
  return acquired ? acquired.slice(0, 10) : "no date";
}

/** Items by acquisition date; undated ones last, in the collection's order. */
export function timeSteps(items: CollectionItem[]): Step[] {
  return items
    .map((item, index) => ({ item, index }))
    .sort((a, b) => {
      const x = a.item.acquired, y = b.item.acquired;
      if (x && y) return x < y ? -1 : x > y ? 1 : a.index - b.index;
      if (x || y) return x ? -1 : 1;
      return a.index - b.index;
    })
    .map(({ item }) => ({ raster: item.raster, name: item.name, acquired: item.acquired, label: `${dayOf(item.acquired)} · ${item.name}` }));
}

/** The job's rasters: in_rasters, else in_raster. */
export function jobRasters(job: Pick<Job, "params">): number[] {
  const many = job.params?.in_rasters;
  if (Array.isArray(many)) return many.map(Number);
  const one = Number(job.params?.in_raster);
  return Number.isFinite(one) && one > 0 ? [one] : [];
}

const CHANGE_KINDS = new Set(["detect_objects", "classify_pixels"]);

/** Succeeded detect/classify jobs that ran over this collection (or exactly over some of its rasters). */
export function collectionJobs(jobs: Job[], collection: { id: number; rasters: number[] }): Job[] {
  const members = new Set(collection.rasters);
  return jobs.filter((job) => CHANGE_KINDS.has(job.kind) && job.status === "succeeded" && (
    Number(job.params?.in_collection) === collection.id
    || (jobRasters(job).length > 1 && jobRasters(job).every((r) => members.has(r)))));
}

/** The classified raster a classify_pixels job made from ``source`` (result.rasters / result.sources). */
export function outputFor(job: Pick<Job, "result">, source: number): number | null {
  const outs = (job.result?.rasters as number[] | undefined) ?? [];
  const sources = (job.result?.sources as number[] | undefined) ?? [];
  const at = sources.indexOf(source);
  return at >= 0 && at < outs.length ? outs[at] : null;
}

export interface Series { value: number; name: string; color: number[]; points: [number, number][] }

/** One series per class: [date index, area in m²]. */
export function areaSeries(areas: AreasByDate): Series[] {
  const classes = areas.classes.length ? areas.classes
    : [...new Set(areas.dates.flatMap((d) => Object.keys(d.areas)))].map((v) => ({ value: Number(v), name: v, color: [128, 128, 128] }));
  return classes.map((c) => ({
    value: c.value, name: c.name, color: c.color,
    points: areas.dates.map((d, i) => [i, d.areas[String(c.value)] ?? 0] as [number, number]),
  }));
}

/** "1.2 ha" / "350 m²". */
export function formatArea(m2: number): string {
  if (m2 >= 1_000_000) return `${(m2 / 1_000_000).toFixed(2)} km²`;
  if (m2 >= 10_000) return `${(m2 / 10_000).toFixed(2)} ha`;
  return `${m2.toFixed(m2 < 10 ? 2 : 0)} m²`;
}
