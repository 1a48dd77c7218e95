/**
 * The project's ready rasters as XYZ tile layers on the map, with their display state
 * (visibility, opacity, band combination and stretch), kept across raster list refreshes.
 */
import type OlMap from "ol/Map";
import TileLayer from "ol/layer/Tile";
import XYZ from "ol/source/XYZ";
import type { Extent } from "ol/extent";
import { createEmpty, extend, isEmpty } from "ol/extent";
import type { ApiClient } from "../api/client";
import type { Raster } from "../api/types";
import { fitExtent, lonLatBoundsToExtent } from "./map";
import { defaultRenderSettings, tileUrlTemplate, type RenderSettings } from "./render";

const DEFAULT_MAX_ZOOM = 22;

interface Entry {
  raster: Raster;
  layer: TileLayer<XYZ>;
  settings: RenderSettings;
  extent: Extent;
}

export class RasterLayers {
  private readonly entries = new Map<number, Entry>();
  private readonly maxZooms = new Map<number, number>();

  constructor(
    private readonly map: OlMap,
    private readonly api: ApiClient,
  ) {}

  /**
   * Match the layers to `rasters` (ready ones get a layer, others lose theirs); the first raster
   * of the list is drawn on top. Returns the ids of rasters that got a new layer.
   */
  sync(rasters: Raster[]): number[] {
    const added: number[] = [];
    const wanted = new Set<number>();
    rasters.forEach((raster, index) => {
      if (raster.status !== "ready" || !raster.bounds) return;
      wanted.add(raster.id);
      let entry = this.entries.get(raster.id);
      if (!entry) {
        entry = this.create(raster);
        this.entries.set(raster.id, entry);
        this.map.addLayer(entry.layer);
        added.push(raster.id);
        void this.loadSource(raster.id);
      } else {
        entry.raster = raster;
      }
      entry.layer.setZIndex(rasters.length - index);
    });
    for (const [id, entry] of this.entries) {
      if (!wanted.has(id)) {
        this.map.removeLayer(entry.layer);
        this.entries.delete(id);
        this.maxZooms.delete(id);
      }
    }
    return added;
  }

  has(id: number): boolean {
    return this.entries.has(id);
  }

  layer(id: number): TileLayer<XYZ> | undefined {
    return this.entries.get(id)?.layer;
  }

  settings(id: number): RenderSettings | undefined {
    return this.entries.get(id)?.settings;
  }

  tileUrl(id: number): string | undefined {
    const entry = this.entries.get(id);
    return entry ? tileUrlTemplate(id, entry.settings) : undefined;
  }

  setVisible(id: number, visible: boolean): void {
    this.entries.get(id)?.layer.setVisible(visible);
  }

  setOpacity(id: number, opacity: number): void {
    this.entries.get(id)?.layer.setOpacity(opacity);
  }

  /** New band combination / stretch: a new tile URL, so the tiles reload. */
  setRender(id: number, settings: RenderSettings): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    entry.settings = { bands: [...settings.bands], rescale: settings.rescale.map((s) => [...s]) };
    entry.layer.getSource()?.setUrl(tileUrlTemplate(id, entry.settings));
  }

  zoomTo(id: number): void {
    const entry = this.entries.get(id);
    if (entry) fitExtent(this.map, entry.extent, this.maxZooms.get(id) ?? DEFAULT_MAX_ZOOM);
  }

  /** Fit the view to all raster layers; false when there are none. */
  fitAll(): boolean {
    const all = createEmpty();
    for (const entry of this.entries.values()) extend(all, entry.extent);
    if (isEmpty(all)) return false;
    fitExtent(this.map, all, DEFAULT_MAX_ZOOM);
    return true;
  }

  dispose(): void {
    for (const entry of this.entries.values()) this.map.removeLayer(entry.layer);
    this.entries.clear();
  }

  private create(raster: Raster): Entry {
    const settings = defaultRenderSettings(raster);
    const extent = lonLatBoundsToExtent(raster.bounds!);
    // No source until the TileJSON tells the zoom range (see loadSource): no tile is fetched twice.
    const layer = new TileLayer<XYZ>({
      // Tiles outside the footprint are transparent anyway; the extent saves requesting them.
      extent,
      properties: { rasterId: raster.id, title: raster.name },
    });
    return { raster, layer, settings, extent };
  }

  /**
   * Give the layer its XYZ source once the TileJSON is known: past its maxzoom OpenLayers
   * upsamples the last level instead of asking the server for ever finer tiles. The TileJSON is
   * optional: without it the default zoom range applies.
   */
  private async loadSource(id: number): Promise<void> {
    let maxZoom = DEFAULT_MAX_ZOOM;
    try {
      const tj = await this.api.tileJson(id);
      if (typeof tj.maxzoom === "number") maxZoom = Math.max(0, Math.round(tj.maxzoom));
    } catch {
      // keep the default
    }
    const entry = this.entries.get(id);
    if (!entry) return; // removed meanwhile
    this.maxZooms.set(id, maxZoom);
    entry.layer.setSource(
      new XYZ({ url: tileUrlTemplate(id, entry.settings), tileSize: 256, maxZoom, transition: 150 }),
    );
  }
}
