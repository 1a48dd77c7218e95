/**
 * Drawing and editing labels: draw rectangle / circle (drag or two clicks), polygon, freehand
 * polygon, point and buffered point; select, reshape (drag a vertex or an edge), move (drag inside),
 * snap to other labels and optionally to the raster's pixel grid, delete, reclassify and undo of
 * your own edits. Every change goes to the API with the
 * version the map holds; a 409 is handed to `onConflict` (the panel shows the banner).
 * Writes to one feature run one after the other, so quick edits never race each other.
 */
import Feature from "ol/Feature";
import type OlMap from "ol/Map";
import type { Coordinate } from "ol/coordinate";
import { getCenter } from "ol/extent";
import type Geometry from "ol/geom/Geometry";
import type Point from "ol/geom/Point";
import Draw from "ol/interaction/Draw";
import Modify from "ol/interaction/Modify";
import Select from "ol/interaction/Select";
import Snap from "ol/interaction/Snap";
import Translate from "ol/interaction/Translate";
import type { ProjectClass } from "../api/types";
import { ApiError } from "../api/http";
import { ConflictError, type LabelsApi } from "./api";
import { propsOf, toApiGeometry, versionOf, type LabelMap } from "./mapLayers";
import { ShapeDraw } from "./shapeDraw";
import { boxFrom, bufferPoint, circleFrom, snapGeometry, type PixelGrid } from "./shapes";
import { selectedStyle } from "./style";
import type { ApiFeature, GeoJsonGeometry } from "./types";

export type Tool = "select" | "rectangle" | "circle" | "polygon" | "freehand" | "point" | "buffer";

type UndoEntry =
  | { kind: "create"; id: number }
  | { kind: "update"; id: number; geometry: GeoJsonGeometry; classValue: number | null }
  | { kind: "delete"; geometry: GeoJsonGeometry; classValue: number | null; raster: number | null };

const UNDO_DEPTH = 50;

export interface EditorOptions {
  map: OlMap;
  labels: LabelMap;
  api: LabelsApi;
  classes: () => ProjectClass[];
  currentClass: () => number | null;
  onConflict: (feature: Feature<Geometry> | null, current: ApiFeature | null, message: string) => void;
  onError: (message: string) => void;
  /** Selection or undo stack changed. */
  onState: () => void;
  /** Radius of the "buffer" tool's circles, in metres on the ground. */
  bufferMeters?: () => number;
  /** The pixel grid to snap to at a map coordinate, or null (snapping off / no raster there). */
  snapGrid?: (at: Coordinate) => PixelGrid | null;
}

export class Editor {
  readonly select: Select;
  private readonly modify: Modify;
  private readonly translate: Translate;
  private readonly snap: Snap;
  private draw: Draw | ShapeDraw | null = null;
  private toolValue: Tool = "select";
  private readonly undoStack: UndoEntry[] = [];
  private readonly queues = new Map<number | string, Promise<unknown>>();
  private readonly before = new Map<Feature<Geometry>, { geometry: GeoJsonGeometry; version: number | undefined }>();
  private enabled = true;
  private shown = true;
  private drawing = false;
  /** The version each of our own writes produced, per feature. */
  private readonly ownVersions = new Map<number, number>();

  constructor(private readonly o: EditorOptions) {
    const layer = o.labels.vector;
    this.select = new Select({ layers: [layer], style: selectedStyle(() => o.labels.classTable(o.classes())), hitTolerance: 4 });
    this.modify = new Modify({ features: this.select.getFeatures() });
    this.translate = new Translate({ features: this.select.getFeatures() });
    this.snap = new Snap({ source: o.labels.source });
    this.select.on("select", () => o.onState());
    const start = (features: Feature<Geometry>[]): void => {
      for (const f of features) {
        const geometry = f.getGeometry();
        if (geometry) this.before.set(f, { geometry: toApiGeometry(geometry), version: versionOf(f) });
      }
    };
    const end = (features: Feature<Geometry>[]): void => features.forEach((f) => this.saveGeometry(f));
    this.modify.on("modifystart", (e) => start(e.features.getArray() as Feature<Geometry>[]));
    this.modify.on("modifyend", (e) => end(e.features.getArray() as Feature<Geometry>[]));
    this.translate.on("translatestart", (e) => start(e.features.getArray() as Feature<Geometry>[]));
    this.translate.on("translateend", (e) => end(e.features.getArray() as Feature<Geometry>[]));
    // The last added sees events first: Modify takes a press on a vertex or an edge (reshape),
    // Translate a press inside a selected feature (move), Select the clicks.
    for (const interaction of [this.select, this.translate, this.modify]) o.map.addInteraction(interaction);
    o.map.addInteraction(this.snap);
  }

  get tool(): Tool {
    return this.toolValue;
  }

  get canUndo(): boolean {
    return this.undoStack.length > 0;
  }

  selected(): Feature<Geometry>[] {
    return this.select.getFeatures().getArray().slice();
  }

  /** Viewers look only: no drawing or editing interactions. */
  setEnabled(enabled: boolean): void {
    this.enabled = enabled;
    this.modify.setActive(enabled);
    this.translate.setActive(enabled);
    this.snap.setActive(enabled);
    if (!enabled) this.setTool("select");
  }

  /** Another tab is shown: no tool of ours may take the map's clicks (e.g. an extent drawing). */
  setShown(shown: boolean): void {
    if (shown === this.shown) return;
    this.shown = shown;
    if (!shown) this.select.getFeatures().clear();
    this.setTool(shown ? this.toolValue : "select");
    if (!shown) this.select.setActive(false);
    this.modify.setActive(shown && this.enabled && this.toolValue === "select");
    this.translate.setActive(shown && this.enabled && this.toolValue === "select");
    this.snap.setActive(shown && this.enabled);
  }

  setTool(tool: Tool): void {
    if (tool !== "select" && (!this.enabled || !this.shown)) return;
    if (this.draw) {
      this.o.map.removeInteraction(this.draw);
      this.draw = null;
    }
    this.toolValue = tool;
    const drawing = tool !== "select";
    this.select.setActive(!drawing);
    this.modify.setActive(!drawing && this.enabled);
    this.translate.setActive(!drawing && this.enabled);
    if (drawing) {
      this.select.getFeatures().clear();
      this.draw = this.makeDraw(tool);
      this.o.map.addInteraction(this.draw);
      // Snap must come after the interactions it serves.
      this.o.map.removeInteraction(this.snap);
      this.o.map.addInteraction(this.snap);
    }
    this.o.onState();
  }

  /** Esc: drop the shape being drawn, else the selection. */
  cancel(): void {
    if (this.draw instanceof ShapeDraw && this.draw.drawing) {
      this.draw.abort();
      return;
    }
    if (this.draw instanceof Draw && this.drawing) {
      this.draw.abortDrawing();
      this.drawing = false;
      return;
    }
    this.select.getFeatures().clear();
    this.o.onState();
  }

  selectAndZoom(feature: Feature<Geometry>): void {
    if (this.toolValue !== "select") this.setTool("select");
    this.select.getFeatures().clear();
    this.select.getFeatures().push(feature);
    const geometry = feature.getGeometry();
    if (geometry) this.o.map.getView().fit(geometry.getExtent(), { padding: [80, 80, 80, 80], maxZoom: 21, duration: 250 });
    this.o.onState();
  }

  deleteSelected(): void {
    if (!this.enabled) return;
    const features = this.selected();
    this.select.getFeatures().clear();
    for (const f of features) {
      const id = f.getId() as number | undefined;
      if (id === undefined) continue;
      this.enqueue(id, async () => {
        const props = propsOf(f);
        await this.o.api.remove(this.o.labels.layer.id, id, versionOf(f) ?? 0);
        this.o.labels.remove(id);
        if (props) this.push({ kind: "delete", geometry: toApiGeometry(f.getGeometry()!), classValue: props.class_value, raster: props.raster });
      }, f);
    }
    this.o.onState();
  }

  /** Give the selected features another class (keys 1-9 or the class buttons while selected). */
  classifySelected(value: number): boolean {
    const features = this.selected().filter((f) => f.getId() !== undefined && propsOf(f)?.class_value !== value);
    if (!this.enabled || features.length === 0) return false;
    for (const f of features) {
      const id = f.getId() as number;
      this.enqueue(id, async () => {
        const before = propsOf(f)?.class_value ?? null;
        const saved = await this.o.api.update(this.o.labels.layer.id, id, versionOf(f) ?? 0, { properties: { class_value: value } });
        this.applyOwn(saved);
        this.push({ kind: "update", id, geometry: saved.geometry, classValue: before });
      }, f);
    }
    return true;
  }

  /** Accept or reject the selected features ("" clears the review). */
  reviewSelected(status: "accepted" | "rejected" | ""): boolean {
    // Reviewers review without the editing tools (the panel offers this to reviewers and up).
    const features = this.selected().filter((f) => f.getId() !== undefined && (propsOf(f)?.review_status ?? "") !== status);
    if (features.length === 0) return false;
    for (const f of features) {
      const id = f.getId() as number;
      this.enqueue(id, async () => {
        const saved = await this.o.api.update(this.o.labels.layer.id, id, versionOf(f) ?? 0, { properties: { review_status: status } });
        this.applyOwn(saved);
        this.o.onState();
      }, f);
    }
    return true;
  }

  async undo(): Promise<void> {
    const entry = this.undoStack.pop();
    this.o.onState();
    if (!entry) return;
    const layerId = this.o.labels.layer.id;
    const held = (id: number): Feature<Geometry> | null => this.o.labels.source.getFeatureById(id) as Feature<Geometry> | null;
    try {
      if (entry.kind === "create") {
        const f = held(entry.id);
        await this.o.api.remove(layerId, entry.id, (f && versionOf(f)) ?? (await this.o.api.feature(layerId, entry.id)).properties.version);
        this.o.labels.remove(entry.id);
      } else if (entry.kind === "update") {
        const f = held(entry.id);
        const version = (f && versionOf(f)) ?? (await this.o.api.feature(layerId, entry.id)).properties.version;
        const saved = await this.o.api.update(layerId, entry.id, version, { geometry: entry.geometry, properties: { class_value: entry.classValue } });
        this.applyOwn(saved);
      } else {
        const saved = await this.o.api.create(layerId, entry.geometry, { class_value: entry.classValue, raster: entry.raster });
        this.applyOwn(saved);
      }
    } catch (err) {
      this.failed(err, null);
    }
  }

  dispose(): void {
    for (const i of [this.select, this.modify, this.translate, this.snap, this.draw]) if (i) this.o.map.removeInteraction(i);
  }

  // ------------------------------------------------------------------------------------------
  private makeDraw(tool: Tool): Draw | ShapeDraw {
    const source = this.o.labels.source;
    if (tool === "rectangle" || tool === "circle") {
      return new ShapeDraw(tool === "rectangle" ? boxFrom : circleFrom, (geometry) => {
        const feature = new Feature<Geometry>({ geometry });
        source.addFeature(feature);
        this.created(feature);
      });
    }
    const draw = new Draw({ source, type: tool === "polygon" || tool === "freehand" ? "Polygon" : "Point", freehand: tool === "freehand" });
    draw.on("drawstart", () => {
      this.drawing = true;
    });
    draw.on("drawabort", () => {
      this.drawing = false;
    });
    draw.on("drawend", (e) => this.created(e.feature as Feature<Geometry>));
    return draw;
  }

  /** The drawn geometry as saved: buffered (buffer tool), thinned (freehand), on the pixel grid. */
  private finish(geometry: Geometry): Geometry {
    let out = geometry;
    if (this.toolValue === "buffer" && out.getType() === "Point") {
      out = bufferPoint((out as Point).getCoordinates(), Math.max(0.01, this.o.bufferMeters?.() ?? 1));
    } else if (this.toolValue === "freehand") {
      // A freehand trace has a vertex per mouse event: keep those that shape it at this zoom.
      out = out.simplify(this.o.map.getView().getResolution() ?? 0);
    }
    const grid = this.o.snapGrid?.(getCenter(out.getExtent()));
    return grid ? snapGeometry(out, grid) : out;
  }

  private created(feature: Feature<Geometry>): void {
    this.drawing = false;
    const classValue = this.o.currentClass();
    const source = this.o.labels.source;
    if (classValue === null) {
      this.o.onError("Pick a class first (define the class schema below if it is empty).");
      // The Draw interaction adds the feature after this event: remove it right after.
      setTimeout(() => source.hasFeature(feature) && source.removeFeature(feature));
      return;
    }
    feature.set("pending", true);
    feature.set("props", { class_value: classValue, version: 0 });
    feature.setGeometry(this.finish(feature.getGeometry()!));
    const geometry = toApiGeometry(feature.getGeometry()!);
    const key = `draft-${Math.random()}`;
    this.enqueue(key, async () => {
      try {
        const saved = await this.o.api.create(this.o.labels.layer.id, geometry, { class_value: classValue });
        // The websocket event for it may have come first: keep one copy.
        if (source.getFeatureById(saved.id)) {
          if (source.hasFeature(feature)) source.removeFeature(feature);
          this.o.labels.upsert(saved);
        } else {
          feature.setId(saved.id);
          feature.unset("pending");
          this.applyOwn(saved);
        }
        this.ownVersions.set(saved.id, saved.properties.version);
        this.push({ kind: "create", id: saved.id });
      } catch (err) {
        if (source.hasFeature(feature)) source.removeFeature(feature);
        throw err;
      }
    }, null);
  }

  private saveGeometry(f: Feature<Geometry>): void {
    const before = this.before.get(f);
    this.before.delete(f);
    const id = f.getId() as number | undefined;
    const geometry = f.getGeometry();
    if (id === undefined || !geometry || !before) return;
    const grid = this.o.snapGrid?.(getCenter(geometry.getExtent()));
    if (grid) f.setGeometry(snapGeometry(geometry, grid));
    const after = toApiGeometry(f.getGeometry()!);
    if (JSON.stringify(after) === JSON.stringify(before.geometry)) return;
    this.enqueue(id, async () => {
      // The version read when the edit started, so that a change by someone else meanwhile is a
      // conflict; unless the map now holds a version our own previous write made.
      const held = versionOf(f);
      const version = held !== undefined && this.ownVersions.get(id) === held ? held : (before.version ?? held ?? 0);
      const saved = await this.o.api.update(this.o.labels.layer.id, id, version, { geometry: after });
      this.applyOwn(saved);
      this.push({ kind: "update", id, geometry: before.geometry, classValue: propsOf(f)?.class_value ?? null });
    }, f);
  }

  private applyOwn(saved: ApiFeature): void {
    this.ownVersions.set(saved.id, saved.properties.version);
    // Not forced: a newer version from someone else, already received, must stay.
    this.o.labels.upsert(saved);
  }

  private push(entry: UndoEntry): void {
    this.undoStack.push(entry);
    if (this.undoStack.length > UNDO_DEPTH) this.undoStack.shift();
    this.o.onState();
  }

  private enqueue(key: number | string, work: () => Promise<void>, feature: Feature<Geometry> | null): void {
    const previous = this.queues.get(key) ?? Promise.resolve();
    const next = previous.then(work).catch((err: unknown) => this.failed(err, feature));
    this.queues.set(key, next);
    void next.finally(() => {
      if (this.queues.get(key) === next) this.queues.delete(key);
    });
  }

  private failed(err: unknown, feature: Feature<Geometry> | null): void {
    if (err instanceof ConflictError) {
      if (feature) feature.set("conflict", true);
      this.o.onConflict(feature, err.current, err.detail);
    } else if (err instanceof ApiError && err.status === 404 && feature) {
      const id = feature.getId() as number | undefined;
      if (id !== undefined) this.o.labels.remove(id);
      this.o.onError("This label was deleted by someone else.");
    } else {
      this.o.onError(err instanceof ApiError ? err.detail : String(err));
    }
  }
}
