/** Pure helpers of the models catalog (unit-tested in format.test.ts). */
import type { CellSizeRange, ModelArgument, Rgb } from "./api";

export function rgbToHex(rgb: Rgb | null): string {
  if (!rgb) return "#808080";
  return "#" + rgb.map((c) => Math.max(0, Math.min(255, Math.round(c))).toString(16).padStart(2, "0")).join("");
}

export function hexToRgb(hex: string): Rgb | null {
  const m = /^#?([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex.trim());
  if (!m) return null;
  return [parseInt(m[1]!, 16), parseInt(m[2]!, 16), parseInt(m[3]!, 16)];
}

/** Units of common spatial references; others are shown as "(EPSG:n units)". */
const UNITS: Record<number, string> = { 3857: "m", 102100: "m", 4326: "°" };

function unitOf(wkid: number | null): string {
  if (wkid === null) return "";
  if (UNITS[wkid]) return ` ${UNITS[wkid]}`;
  // UTM zones (326xx/327xx) and most projected systems are in meters.
  if ((wkid >= 32601 && wkid <= 32760) || (wkid >= 25828 && wkid <= 25838)) return " m";
  return ` (EPSG:${wkid} units)`;
}

function num(v: number): string {
  return String(Number(v.toPrecision(6)));
}

/** "0.05 – 0.2 m", "≥ 0.3 m", "" when the package recommends nothing. */
export function cellSizeText(range: CellSizeRange | null): string {
  if (!range || (range.min === null && range.max === null)) return "";
  const unit = unitOf(range.wkid);
  if (range.min !== null && range.max !== null) {
    return range.min === range.max ? `${num(range.min)}${unit}` : `${num(range.min)} – ${num(range.max)}${unit}`;
  }
  return range.min !== null ? `≥ ${num(range.min)}${unit}` : `≤ ${num(range.max!)}${unit}`;
}

export function chipSizeText(height: number | null, width: number | null): string {
  if (height === null && width === null) return "";
  return `${width ?? height} × ${height ?? width} px`;
}

export function bandsText(bands: (number | string)[] | null): string {
  if (!bands || !bands.length) return "";
  // ExtractBands are 0-based raster band indexes; people count from 1.
  return bands.map((b) => (typeof b === "number" ? String(b + 1) : b)).join(", ");
}

export function familyText(family: string | null): string {
  switch (family) {
    case "object_detection":
      return "Detect objects (boxes)";
    case "instance_detection":
      return "Detect objects (masks)";
    case "pixel_classification":
      return "Classify pixels";
    case "object_classification":
      return "Classify objects";
    default:
      return "";
  }
}

/** A metric value for people: 0.9535 -> "0.954"; objects stay JSON. */
export function metricText(value: unknown): string {
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : value.toFixed(3);
  if (value === null || value === undefined) return "–";
  return typeof value === "string" ? value : JSON.stringify(value);
}

export function argumentDefaultText(arg: ModelArgument): string {
  if (typeof arg.default === "boolean") return arg.default ? "true" : "false";
  if (arg.default === null || arg.default === undefined) return "";
  return String(arg.default);
}

/** Parse an argument typed into the edit form; "" means "use the package default". */
export function parseArgumentInput(arg: ModelArgument, text: string): unknown {
  const t = text.trim();
  if (t === "") return undefined;
  if (arg.type === "int" || arg.type === "float") {
    const n = Number(t);
    return Number.isFinite(n) ? n : t; // the server names what is wrong with a bad value
  }
  if (arg.type === "bool") return t === "true";
  return t;
}

/** "forest, OSBS , forest" -> ["forest", "OSBS"]. */
export function parseTags(text: string): string[] {
  const seen = new Set<string>();
  const tags: string[] = [];
  for (const raw of text.split(",")) {
    const tag = raw.trim().replace(/\s+/g, " ");
    if (tag && !seen.has(tag.toLowerCase())) {
      seen.add(tag.toLowerCase());
      tags.push(tag);
    }
  }
  return tags;
}
