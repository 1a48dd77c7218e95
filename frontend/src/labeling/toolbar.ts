/** The drawing toolbar of the Labels panel: tool buttons with their keys, undo, delete, the
 * buffer radius and the pixel-grid snap switch; the grid comes from the raster under a shape. */
import type { Coordinate } from "ol/coordinate";
import { toLonLat } from "ol/proj";
import type { Raster } from "../api/types";
import { h } from "../ui/dom";
import type { Tool } from "./editing";
import { gridOf, type PixelGrid } from "./shapes";

export const TOOLS: { tool: Tool; label: string; key: string; title: string }[] = [
  { tool: "select", label: "Select", key: "V", title: "Select (click), move (drag inside), reshape (drag a vertex or an edge)" },
  { tool: "rectangle", label: "Rectangle", key: "R", title: "Draw a rectangle: drag from corner to corner, or click two corners" },
  { tool: "circle", label: "Circle", key: "C", title: "Draw a circle: drag from the centre outwards, or click the centre and the rim" },
  { tool: "polygon", label: "Polygon", key: "P", title: "Draw a polygon: click the vertices, double-click (or click the first one) to finish" },
  { tool: "freehand", label: "Freehand", key: "F", title: "Draw a polygon freehand: hold the mouse button and trace the outline" },
  { tool: "point", label: "Point", key: "O", title: "Place a point" },
  { tool: "buffer", label: "Point + buffer", key: "B", title: "Place a point saved as a circle of the buffer radius" },
];

/** The pixel grid of the first visible ready raster under `at`, if any. */
export function rasterGrid(rasters: Raster[], visible: (id: number) => boolean, at: Coordinate): PixelGrid | null {
  const [lon, lat] = toLonLat(at);
  for (const r of rasters) {
    if (r.status !== "ready" || !r.bounds || !r.width || !r.height || !visible(r.id)) continue;
    const [w, s, e, n] = r.bounds;
    if (lon >= w && lon <= e && lat >= s && lat <= n) return gridOf(r.bounds, r.width, r.height);
  }
  return null;
}

export interface Toolbar {
  el: HTMLElement;
  render(tool: Tool | undefined, canUndo: boolean, selected: number): void;
  bufferMeters(): number;
  snapOn(): boolean;
}

export function toolbar(actions: { tool(tool: Tool): void; undo(): void; remove(): void }): Toolbar {
  const buttons = new Map<Tool, HTMLButtonElement>();
  const tools = h("div", { class: "row tools", testid: "labels-tools" },
    TOOLS.map(({ tool, label, key, title }) => {
      const btn = h("button", { type: "button", class: "btn btn-small", testid: `tool-${tool}`, title: `${title} (${key})` }, label);
      btn.addEventListener("click", () => actions.tool(tool));
      buttons.set(tool, btn);
      return btn;
    }));
  const undo = h("button", { type: "button", class: "btn btn-small", testid: "labels-undo", title: "Undo your last edit (Ctrl+Z)", disabled: true }, "Undo");
  const remove = h("button", { type: "button", class: "btn btn-small btn-danger", testid: "labels-delete", title: "Delete the selected labels (Del)", disabled: true }, "Delete");
  undo.addEventListener("click", () => actions.undo());
  remove.addEventListener("click", () => actions.remove());
  tools.append(h("span", { class: "spacer" }), undo, remove);
  const buffer = h("input", { type: "number", min: 0.1, step: 0.5, value: "2", class: "narrow", testid: "labels-buffer", title: "Radius of the point + buffer tool" });
  const snap = h("input", { type: "checkbox", testid: "labels-snap-pixels" });
  const options = h("div", { class: "row small tool-options" },
    h("label", { class: "row" }, "Buffer", buffer, "m"),
    h("label", { class: "row", title: "Put every vertex on a pixel corner of the raster under the shape" }, snap, "Snap to raster pixels"));
  return {
    el: h("div", {}, tools, options),
    render(tool, canUndo, selected) {
      for (const [t, btn] of buttons) btn.classList.toggle("active", tool === t);
      undo.disabled = !canUndo;
      remove.disabled = selected === 0;
    },
    bufferMeters: () => Number(buffer.value) || 1,
    snapOn: () => snap.checked,
  };
}
