/**
 * One label layer on the map: a bbox-loaded vector source (editable, GeoJSON from the API) and,
 * for large layers, vector tiles (MVT) at small zooms where a GeoJSON load would be too big.
 * Server features are applied by version, so loads, events and resyncs can arrive in any order.
 */
import Feature from "ol/Feature";
import type OlMap from "ol/Map";
import GeoJSON from "ol/format/GeoJSON";
import MVT from "ol/format/MVT";
import type Geometry from "ol/geom/Geometry";
import VectorLayer from "ol/layer/Vector";
import VectorTileLayer from "ol/layer/VectorTile";
import { bbox as bboxStrategy } from "ol/loadingstrategy";
import { transformExtent } from "ol/proj";
import VectorSource from "ol/source/Vector";
import VectorTileSource from "ol/source/VectorTile";
import type { ProjectClass } from "../api/types";
import type { LabelsApi } from "./api";
import { labelStyle } from "./style";
import { isNewer } from "./sync";
import type { ApiFeature, FeatureProperties, GeoJsonGeometry, Layer } from "./types";

/** Layers with more features than this draw from vector tiles below EDIT_MIN_ZOOM. */
export const BIG_LAYER = 20_000;
export const EDIT_MIN_ZOOM = 15;
const LOAD_LIMIT = 20_000;

export const geojson = new GeoJSON({ dataProjection: "EPSG:4326", featureProjection: "EPSG:3857" });

export function toApiGeometry(geometry: Geometry): GeoJsonGeometry {
  return geojson.writeGeometryObject(geometry, { decimals: 9 }) as unknown as GeoJsonGeometry;
}

export function propsOf(feature: Feature): FeatureProperties | undefined {
  return feature.get("props") as FeatureProperties | undefined;
}

export function versionOf(feature: Feature): number | undefined {
  return propsOf(feature)?.version;
}

export class LabelMap {
  readonly source: VectorSource<Feature<Geometry>>;
  readonly vector: VectorLayer<VectorSource<Feature<Geometry>>>;
  private tiles: VectorTileLayer | null = null;
  private minConfidence: number | null = null;
  private readonly abort = new AbortController();

  constructor(
    private readonly map: OlMap,
    private readonly api: LabelsApi,
    readonly layer: Layer,
    classes: () => ProjectClass[],
    /** The seq of each features answer (starts the live feed's bookkeeping). */
    private readonly onLoaded: (seq: number) => void,
    private readonly onChange: () => void,
  ) {
    const big = layer.feature_count > BIG_LAYER;
    this.source = new VectorSource<Feature<Geometry>>({
      strategy: bboxStrategy,
      loader: (extent, _resolution, projection, success, failure) => {
        const [w, s, e, n] = transformExtent(extent, projection, "EPSG:4326");
        const bbox: [number, number, number, number] = [Math.max(-180, w), Math.max(-90, s), Math.min(180, e), Math.min(90, n)];
        this.api
          .features(layer.id, { bbox, min_confidence: this.minConfidence ?? undefined, limit: LOAD_LIMIT }, this.abort.signal)
          .then((answer) => {
            this.onLoaded(answer.seq);
            const added = answer.features.map((f) => this.upsert(f)).filter((f): f is Feature<Geometry> => f !== null);
            success?.(added);
            this.onChange();
          })
          .catch((err: unknown) => {
            if (!(err instanceof DOMException && err.name === "AbortError")) console.warn("rasterlab: labels failed to load", err);
            failure?.();
          });
      },
    });
    this.vector = new VectorLayer({
      source: this.source,
      style: labelStyle(() => this.classTable(classes())),
      zIndex: 100,
      minZoom: big ? EDIT_MIN_ZOOM : undefined,
      properties: { name: `labels-${layer.id}` },
    });
    map.addLayer(this.vector);
    if (big) {
      this.tiles = new VectorTileLayer({
        source: this.tileSource(),
        style: labelStyle(() => this.classTable(classes())),
        zIndex: 99,
        maxZoom: EDIT_MIN_ZOOM,
        declutter: false,
      });
      map.addLayer(this.tiles);
    }
  }

  /** Classes used for colors: the project's, then the layer's own (a model's) table. */
  classTable(projectClasses: ProjectClass[]): ProjectClass[] {
    return this.layer.classes.length ? [...this.layer.classes, ...projectClasses] : projectClasses;
  }

  get isBig(): boolean {
    return this.tiles !== null;
  }

  /** Apply a server feature if newer than the one held; returns a newly added feature, else null. */
  upsert(api: ApiFeature, force = false): Feature<Geometry> | null {
    const conf = api.properties.confidence;
    if (this.minConfidence !== null && conf !== null && conf !== undefined && conf < this.minConfidence) {
      this.remove(api.id); // below the confidence filter
      return null;
    }
    const existing = this.source.getFeatureById(api.id) as Feature<Geometry> | null;
    if (existing && !force && !isNewer(api.properties.version, versionOf(existing))) return null;
    const geometry = geojson.readGeometry(api.geometry) as Geometry;
    if (existing) {
      existing.setGeometry(geometry);
      existing.set("props", api.properties);
      existing.unset("conflict");
      this.changedSoon();
      return null;
    }
    const feature = new Feature<Geometry>({ geometry });
    feature.setId(api.id);
    feature.set("props", api.properties);
    this.source.addFeature(feature);
    this.changedSoon();
    return feature;
  }

  remove(id: number): Feature<Geometry> | null {
    const existing = this.source.getFeatureById(id) as Feature<Geometry> | null;
    if (existing) {
      this.source.removeFeature(existing);
      this.changedSoon();
    }
    return existing;
  }

  /** Everything again from the server (after an import or a class remap). */
  reload(): void {
    this.source.clear(true);
    this.source.refresh();
    this.refreshTiles();
  }

  setMinConfidence(value: number | null): void {
    this.minConfidence = value;
    this.reload();
    if (this.tiles) this.tiles.setSource(this.tileSource());
  }

  refreshTiles(): void {
    this.tiles?.getSource()?.refresh();
  }

  redraw(): void {
    this.vector.changed();
    this.tiles?.changed();
  }

  dispose(): void {
    this.abort.abort();
    this.map.removeLayer(this.vector);
    if (this.tiles) this.map.removeLayer(this.tiles);
  }

  private tileTimer: ReturnType<typeof setTimeout> | null = null;

  private changedSoon(): void {
    this.onChange();
    if (!this.tiles || this.tileTimer) return;
    // Tiles are versioned by the layer's seq: refetch them at most every 2 s while edits flow.
    this.tileTimer = setTimeout(() => {
      this.tileTimer = null;
      this.refreshTiles();
    }, 2000);
  }

  private tileSource(): VectorTileSource {
    return new VectorTileSource({ format: new MVT(), url: this.api.tileUrl(this.layer.id, this.minConfidence), maxZoom: 22 });
  }
}
