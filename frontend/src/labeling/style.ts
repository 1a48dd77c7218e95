/** Map styles of labels: each class in its schema color; selected, pending and conflicting looks. */
import type { FeatureLike } from "ol/Feature";
import CircleStyle from "ol/style/Circle";
import Fill from "ol/style/Fill";
import Stroke from "ol/style/Stroke";
import Style from "ol/style/Style";
import type { ProjectClass } from "../api/types";

const FALLBACK: [number, number, number] = [120, 120, 120];

export function classColor(classes: ProjectClass[], value: number | null | undefined): [number, number, number] {
  const found = classes.find((c) => c.value === value);
  return found ? found.color : FALLBACK;
}

export function rgb(color: [number, number, number], alpha = 1): string {
  return `rgba(${color[0]}, ${color[1]}, ${color[2]}, ${alpha})`;
}

/** The class value of an editable feature (props) or of a vector-tile feature (flat properties). */
export function classValueOf(feature: FeatureLike): number | null {
  const props = feature.get("props") as { class_value?: number | null } | undefined;
  const value = props ? props.class_value : (feature.get("class_value") as number | undefined);
  return value ?? null;
}

type Look = "normal" | "selected" | "pending" | "conflict" | "rejected";

/** A style function reading the class table through `classes()` (it changes at run time). */
export function labelStyle(classes: () => ProjectClass[]): (feature: FeatureLike) => Style {
  const cache = new Map<string, Style>();
  return (feature) => {
    const value = classValueOf(feature);
    const review = (feature.get("props") as { review_status?: string } | undefined)?.review_status ?? feature.get("review_status");
    const look: Look = feature.get("conflict") ? "conflict" : feature.get("pending") ? "pending" : review === "rejected" ? "rejected" : "normal";
    const color = classColor(classes(), value);
    const key = `${color.join(",")}|${look}`;
    let style = cache.get(key);
    if (!style) {
      style = makeStyle(color, look);
      cache.set(key, style);
    }
    return style;
  };
}

export function selectedStyle(classes: () => ProjectClass[]): (feature: FeatureLike) => Style[] {
  return (feature) => {
    const color = classColor(classes(), classValueOf(feature));
    return [
      new Style({ stroke: new Stroke({ color: "rgba(255,255,255,0.95)", width: 6 }) }),
      makeStyle(color, "selected"),
    ];
  };
}

function makeStyle(color: [number, number, number], look: Look): Style {
  const width = look === "selected" ? 3 : 2;
  const stroke = new Stroke({
    color: look === "conflict" ? "#c62828" : rgb(color),
    width,
    lineDash: look === "pending" || look === "conflict" ? [6, 4] : look === "rejected" ? [2, 4] : undefined,
  });
  // Rejected labels stay visible for a second look, but faint.
  const fill = new Fill({ color: rgb(color, look === "selected" ? 0.35 : look === "rejected" ? 0.05 : 0.2) });
  return new Style({
    stroke,
    fill,
    image: new CircleStyle({ radius: look === "selected" ? 7 : 5, fill: new Fill({ color: rgb(color, 0.85) }), stroke: new Stroke({ color: "#fff", width: 1.5 }) }),
  });
}
