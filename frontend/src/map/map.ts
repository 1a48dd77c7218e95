/** The project map: Web Mercator view, scale line, lon/lat readout and the attribution of an
 * optional basemap (map/basemap.ts; the control hides itself while nothing needs crediting). */
import OlMap from "ol/Map";
import View from "ol/View";
import { defaults as defaultControls } from "ol/control/defaults";
import MousePosition from "ol/control/MousePosition";
import ScaleLine from "ol/control/ScaleLine";
import { format as formatCoordinate } from "ol/coordinate";
import type { Extent } from "ol/extent";
import { transformExtent } from "ol/proj";

/** Web Mercator is undefined past ~85.05 degrees. */
const MAX_LAT = 85.0511;

export function createMap(target: HTMLElement, mousePositionTarget: HTMLElement): OlMap {
  const mousePosition = new MousePosition({
    projection: "EPSG:4326",
    // "lon, lat" with 6 decimals (~0.1 m), the order GIS users read in EPSG:4326 tools.
    coordinateFormat: (c) => (c ? formatCoordinate(c, "Lon {x}°, Lat {y}°", 6) : ""),
    placeholder: "Lon –, Lat –",
    target: mousePositionTarget,
    className: "mouse-position",
  });
  return new OlMap({
    target,
    layers: [],
    controls: defaultControls({ attributionOptions: { collapsible: false } }).extend([
      new ScaleLine({ units: "metric" }),
      mousePosition,
    ]),
    view: new View({ projection: "EPSG:3857", center: [0, 0], zoom: 2, maxZoom: 24 }),
  });
}

/** [w, s, e, n] in EPSG:4326 -> an extent in EPSG:3857 (latitudes clamped). */
export function lonLatBoundsToExtent(bounds: [number, number, number, number]): Extent {
  const [w, s, e, n] = bounds;
  const clamp = (v: number): number => Math.max(-MAX_LAT, Math.min(MAX_LAT, v));
  return transformExtent([w, clamp(s), e, clamp(n)], "EPSG:4326", "EPSG:3857");
}

export function fitExtent(map: OlMap, extent: Extent, maxZoom = 22): void {
  map.getView().fit(extent, { padding: [32, 32, 32, 32], maxZoom, duration: 0 });
}
