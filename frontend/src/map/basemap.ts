/**
 * An optional basemap under the rasters: any XYZ tile URL (the server's RASTERLAB_BASEMAP_URL,
 * OpenStreetMap by default). One tile is tried first; only when it loads is the layer added, so an
 * offline machine shows the plain background with no failing tile requests. On/off is kept per
 * browser.
 */
import type OlMap from "ol/Map";
import TileLayer from "ol/layer/Tile";
import XYZ from "ol/source/XYZ";
import { h } from "../ui/dom";

export const OSM_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png";
export const OSM_ATTRIBUTION = '© <a href="https://www.openstreetmap.org/copyright" target="_blank" rel="noopener">OpenStreetMap</a> contributors';
const STORAGE_KEY = "rasterlab.basemap";
const PROBE_TIMEOUT_MS = 6000;

export type BasemapState = "none" | "off" | "checking" | "on" | "offline";

/** The URL of tile 0/0/0 ({s} takes the first subdomain). */
export function firstTileUrl(template: string): string {
  return template.replace("{z}", "0").replace("{x}", "0").replace(/\{-?y\}/, "0").replace("{s}", "a");
}

export function probeTile(url: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<boolean> {
  return new Promise((resolve) => {
    const img = new Image();
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      img.onload = img.onerror = null;
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    img.onload = () => done(true);
    img.onerror = () => done(false);
    img.src = url;
  });
}

function stored(): boolean {
  try {
    return localStorage.getItem(STORAGE_KEY) !== "off";
  } catch {
    return true;
  }
}

function store(on: boolean): void {
  try {
    localStorage.setItem(STORAGE_KEY, on ? "on" : "off");
  } catch {
    // private mode: not kept
  }
}

/** The basemap layer and its footer control (a checkbox and a state word). */
export function basemapControl(map: OlMap, url: string, attribution: string): { el: HTMLElement; state(): BasemapState; dispose(): void } {
  let state: BasemapState = url ? "off" : "none";
  let layer: TileLayer<XYZ> | null = null;
  let probed: Promise<boolean> | null = null;
  const toggle = h("input", { type: "checkbox", testid: "basemap-toggle", disabled: !url });
  const label = h("span", { class: "basemap-state", testid: "basemap-state" });
  const el = h("label", { class: "basemap", title: url ? `Basemap tiles from ${url}` : "No basemap configured (RASTERLAB_BASEMAP_URL)" }, toggle, "Basemap", label);
  const render = (): void => {
    el.dataset.state = state;
    label.textContent = { none: "(none)", off: "", checking: "…", on: "", offline: "(offline)" }[state];
  };
  const show = async (on: boolean): Promise<void> => {
    store(on);
    if (!on) {
      layer?.setVisible(false);
      state = "off";
      return render();
    }
    state = "checking";
    render();
    probed ??= probeTile(firstTileUrl(url));
    const reachable = await probed;
    if (!toggle.checked) return;
    if (!reachable) {
      probed = null; // try again next time it is switched on
      state = "offline";
      toggle.checked = false;
      return render();
    }
    if (!layer) {
      layer = new TileLayer({ source: new XYZ({ url, attributions: attribution, maxZoom: 19, crossOrigin: null }), zIndex: -1, properties: { name: "basemap" } });
      map.addLayer(layer);
    }
    layer.setVisible(true);
    state = "on";
    render();
  };
  toggle.addEventListener("change", () => void show(toggle.checked));
  if (url && stored()) {
    toggle.checked = true;
    void show(true);
  }
  render();
  return {
    el,
    state: () => state,
    dispose: () => {
      if (layer) map.removeLayer(layer);
    },
  };
}
