/** The map's view of a detections accuracy run: true positives blue (not a class colour), false positives red, missed
 * ground truth dashed orange (ids from /api/accuracy/{job}/outcomes/, shapes from the layers). */
import VectorLayer from "ol/layer/Vector";
import VectorSource from "ol/source/Vector";
import { Fill, Stroke, Style } from "ol/style";
import type Feature from "ol/Feature";
import { LabelsApi } from "../labeling/api";
import { geojson } from "../labeling/mapLayers";
import type { ProjectContext } from "../panels/registry";
import { outcomes } from "./api";

const MAX_FEATURES = 50_000;
export const OUTCOME_STYLES: Record<string, Style> = {
  tp: new Style({ stroke: new Stroke({ color: "#2166ac", width: 3 }), fill: new Fill({ color: "rgba(33,102,172,0.2)" }) }),
  fp: new Style({ stroke: new Stroke({ color: "#d73027", width: 3 }), fill: new Fill({ color: "rgba(215,48,39,0.2)" }) }),
  missed: new Style({ stroke: new Stroke({ color: "#fc8d59", width: 3, lineDash: [6, 4] }), fill: new Fill({ color: "rgba(252,141,89,0.15)" }) }),
};

export interface OutcomesLayer {
  setVisible(on: boolean): void;
  counts(): Record<string, number>;
}

/** Loads once, then toggles; removed from the map with the page. */
export async function outcomesLayer(ctx: ProjectContext, jobId: number): Promise<OutcomesLayer> {
  const labels = new LabelsApi(ctx.api);
  const found = await outcomes(ctx.api.http, jobId);
  const [detections, truth] = await Promise.all([
    labels.features(found.detections_layer, { limit: MAX_FEATURES }),
    labels.features(found.ground_truth_layer, { limit: MAX_FEATURES }),
  ]);
  const tp = new Set(found.true_positives), fp = new Set(found.false_positives), missed = new Set(found.missed);
  const source = new VectorSource();
  const add = (fc: typeof detections, pick: (id: number) => string | null): void => {
    for (const f of fc.features) {
      const outcome = pick(f.id);
      if (!outcome) continue;
      const feature = geojson.readFeature(f) as Feature;
      feature.set("outcome", outcome);
      source.addFeature(feature);
    }
  };
  add(detections, (id) => (tp.has(id) ? "tp" : fp.has(id) ? "fp" : null));
  add(truth, (id) => (missed.has(id) ? "missed" : null));
  const layer = new VectorLayer({ source, zIndex: 55, style: (f) => OUTCOME_STYLES[f.get("outcome") as string] });
  layer.set("accuracyJob", jobId);
  ctx.map.addLayer(layer);
  ctx.onDispose(() => ctx.map.removeLayer(layer));
  const tally = (): Record<string, number> => {
    const out: Record<string, number> = { tp: 0, fp: 0, missed: 0 };
    for (const f of source.getFeatures()) out[f.get("outcome") as string] += 1;
    return out;
  };
  return { setVisible: (on) => layer.setVisible(on), counts: tally };
}
