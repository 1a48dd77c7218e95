/**
 * How a raster is drawn: a band combination (1 or 3 bands, 1-based) and a per-band stretch,
 * turned into the tile URL `/api/rasters/{id}/tiles/{z}/{x}/{y}.png?bands=..&rescale=..`.
 */
import type { Raster } from "../api/types";
import { shortNumber } from "../ui/format";

export type Stretch = [min: number, max: number];

export interface RenderSettings {
  /** One band (grey) or three (red, green, blue), 1-based. */
  bands: number[];
  /** One stretch per band; empty -> the server's stored 2-98 % stretch. */
  rescale: Stretch[];
}

export type StretchPreset = "p2p98" | "minmax";

export const STRETCH_PRESETS: { id: StretchPreset; label: string }[] = [
  { id: "p2p98", label: "2–98 %" },
  { id: "minmax", label: "Min–max" },
];

export function bandCount(raster: Raster): number {
  return Math.max(1, raster.count ?? 1);
}

/** 1,2,3 for rasters with three or more bands, else band 1. */
export function defaultBands(raster: Raster): number[] {
  return bandCount(raster) >= 3 ? [1, 2, 3] : [1];
}

/** The stretch of `band` for a preset, from the raster statistics; null when unknown. */
export function presetStretch(raster: Raster, band: number, preset: StretchPreset): Stretch | null {
  const stats = raster.statistics?.[String(band)];
  if (!stats) return null;
  const [lo, hi] = preset === "p2p98" ? [stats.p2, stats.p98] : [stats.min, stats.max];
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return null;
  // A constant band would make an empty range; widen it so the server can divide by it.
  return hi > lo ? [lo, hi] : [lo, lo + 1];
}

/** Stretches for `bands`; empty when any band lacks statistics (the server default applies). */
export function presetRescale(raster: Raster, bands: number[], preset: StretchPreset): Stretch[] {
  const out: Stretch[] = [];
  for (const band of bands) {
    const s = presetStretch(raster, band, preset);
    if (!s) return [];
    out.push(s);
  }
  return out;
}

/** Classified rasters are drawn with their class colours: bands and stretch do not apply. */
export function isClassified(raster: Raster): boolean {
  return raster.kind === "classified";
}

export function defaultRenderSettings(raster: Raster): RenderSettings {
  if (isClassified(raster)) return { bands: [1], rescale: [] };
  const bands = defaultBands(raster);
  return { bands, rescale: presetRescale(raster, bands, "p2p98") };
}

/** The query string (without "?") for the settings, e.g. "bands=1,2,3&rescale=0,255&...". */
export function renderQuery(settings: RenderSettings): string {
  const parts = [`bands=${settings.bands.join(",")}`];
  const rescale = settings.rescale.length === settings.bands.length ? settings.rescale : [];
  // The same stretch for every band is sent once; otherwise once per band, in band order.
  const allSame = rescale.every((s) => s[0] === rescale[0]?.[0] && s[1] === rescale[0]?.[1]);
  const sent = allSame ? rescale.slice(0, 1) : rescale;
  for (const [lo, hi] of sent) parts.push(`rescale=${shortNumber(lo)},${shortNumber(hi)}`);
  return parts.join("&");
}

/** The XYZ template (OpenLayers replaces {z}/{x}/{y}). */
export function tileUrlTemplate(rasterId: number, settings: RenderSettings): string {
  return `/api/rasters/${rasterId}/tiles/{z}/{x}/{y}.png?${renderQuery(settings)}`;
}

/** Check user input; returns an error to show, or null. */
export function validateSettings(raster: Raster, settings: RenderSettings): string | null {
  const n = bandCount(raster);
  if (settings.bands.length !== 1 && settings.bands.length !== 3) return "Choose one or three bands.";
  if (settings.bands.some((b) => !Number.isInteger(b) || b < 1 || b > n)) {
    return `Bands must be between 1 and ${n}.`;
  }
  for (const [lo, hi] of settings.rescale) {
    if (!Number.isFinite(lo) || !Number.isFinite(hi)) return "Enter numbers for min and max.";
    if (hi <= lo) return "Each max must be greater than its min.";
  }
  return null;
}
