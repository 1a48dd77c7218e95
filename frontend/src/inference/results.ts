/** Results of inference jobs on the map: detections layers (class colours, confidence slider)
 * and classified rasters (legend, opacity), with export links. */
import VectorLayer from "ol/layer/Vector";
import VectorSource from "ol/source/Vector";
import { Fill, Stroke, Style } from "ol/style";
import type Feature from "ol/Feature";
import { accuracyTool } from "../accuracy/tool";
import type { Job, ProjectClass, Raster } from "../api/types";
import { LabelsApi } from "../labeling/api";
import { geojson } from "../labeling/mapLayers";
import type { Layer } from "../labeling/types";
import type { ProjectContext } from "../panels/registry";
import { h } from "../ui/dom";
import { layerExportUrl } from "./api";

const MAX_FEATURES = 20_000;

function rgb(color: number[] | null | undefined, alpha = 1): string {
  const [r, g, b] = color ?? [255, 200, 0];
  return `rgba(${r},${g},${b},${alpha})`;
}

function legend(classes: ProjectClass[], testid: string): HTMLElement {
  return h("ul", { class: "inference-legend", testid },
    classes.map((c) => h("li", {}, h("span", { class: "swatch", style: `background: ${rgb(c.color)}` }), ` ${c.value} · ${c.name}`)));
}

/** The score threshold a detection job ran with (0 when it did not say: show everything). */
export function thresholdOf(job: Pick<Job, "params">): number {
  const args = job.params?.arguments as Record<string, unknown> | undefined;
  const t = Number(args?.threshold ?? args?.score_threshold);
  return Number.isFinite(t) && t >= 0 && t <= 1 ? t : 0;
}

export interface DetectionsOptions {
  /** Where the confidence filter starts: the threshold the job ran with. */
  minConfidence: number;
  /** Drawn on the map at first (earlier runs are listed but off). */
  visible: boolean;
  job?: Job;
}

/** A detections layer drawn from /api/layers/{id}/features/, filtered client-side by confidence. */
export function detectionsResult(ctx: ProjectContext, layer: Layer, options: DetectionsOptions = { minConfidence: 0, visible: true }): HTMLElement {
  const labels = new LabelsApi(ctx.api);
  const colors = new Map(layer.classes.map((c) => [c.value, c.color]));
  let minConfidence = options.minConfidence;
  const styles = new Map<number | null, Style>();
  const styleOf = (value: number | null): Style => {
    let style = styles.get(value);
    if (!style) {
      const color = value === null ? null : colors.get(value);
      style = new Style({ stroke: new Stroke({ color: rgb(color), width: 2 }), fill: new Fill({ color: rgb(color, 0.12) }) });
      styles.set(value, style);
    }
    return style;
  };
  const source = new VectorSource();
  const vector = new VectorLayer({
    source,
    zIndex: 50,
    style: (feature) => {
      const confidence = feature.get("confidence") as number | null;
      if (confidence !== null && confidence !== undefined && confidence < minConfidence) return undefined;
      return styleOf((feature.get("class_value") as number | null) ?? null);
    },
  });
  ctx.map.addLayer(vector);
  ctx.onDispose(() => ctx.map.removeLayer(vector));
  const count = h("span", { class: "muted small", testid: "result-count" }, "Loading…");
  const shown = (): number => source.getFeatures().filter((f: Feature) => ((f.get("confidence") as number | null) ?? 1) >= minConfidence).length;
  labels.features(layer.id, { limit: MAX_FEATURES }).then((fc) => {
    source.addFeatures(geojson.readFeatures(fc) as Feature[]);
    count.textContent = `${shown()} of ${layer.feature_count} shown`;
  }, (err: unknown) => (count.textContent = String(err)));
  const value = h("span", { class: "small", testid: "confidence-value" }, minConfidence.toFixed(2));
  const slider = h("input", { type: "range", min: 0, max: 1, step: 0.01, value: String(minConfidence), testid: "confidence-slider",
    oninput: () => {
      minConfidence = Number(slider.value);
      value.textContent = minConfidence.toFixed(2);
      vector.changed();
      count.textContent = `${shown()} of ${layer.feature_count} shown`;
    } });
  const visible = h("input", { type: "checkbox", checked: options.visible, testid: "result-visible", title: "Show on the map", onchange: () => vector.setVisible(visible.checked) });
  vector.setVisible(options.visible);
  const when = options.job?.finished_at ? new Date(options.job.finished_at).toLocaleString() : "";
  return h("div", { class: "inference-result", testid: "inference-result", "data-layer-id": layer.id },
    h("div", { class: "result-head" }, visible, h("strong", { class: "ellipsis", title: when }, layer.name), h("span", { class: "spacer" }), count),
    h("label", { class: "result-slider small" }, h("span", {}, "Min. confidence"), slider, value),
    legend(layer.classes, "result-legend"),
    h("div", { class: "row small" },
      h("a", { href: layerExportUrl(layer.id, "geojson"), download: true, testid: "export-geojson" }, "GeoJSON"), " · ",
      h("a", { href: layerExportUrl(layer.id, "gpkg"), download: true, testid: "export-gpkg" }, "GeoPackage"), " · ",
      h("a", { href: "#", onclick: (e: Event) => { e.preventDefault(); ctx.showPanel("labels"); } }, "Edit in Labels")),
    accuracyTool(ctx, { layer }));
}

/** A classified raster: the raster layers show it; here its legend and opacity. */
export function classifiedResult(ctx: ProjectContext, raster: Raster): HTMLElement {
  const opacity = h("input", { type: "range", min: 0, max: 1, step: 0.05, value: "0.7", testid: "classified-opacity",
    oninput: () => ctx.rasterLayers.setOpacity(raster.id, Number(opacity.value)) });
  ctx.rasterLayers.setOpacity(raster.id, 0.7);
  return h("div", { class: "inference-result", testid: "inference-result", "data-raster-id": raster.id },
    h("div", { class: "row" }, h("strong", {}, raster.name), h("span", { class: "spacer" }),
      h("a", { href: "#", onclick: (e: Event) => { e.preventDefault(); ctx.rasterLayers.zoomTo(raster.id); } }, "Zoom to")),
    h("label", { class: "row small" }, "Opacity ", opacity),
    legend(raster.classes ?? [], "result-legend"),
    accuracyTool(ctx, { raster }));
}
