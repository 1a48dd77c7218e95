/** The "Layers" project panel: upload form and the raster layer list. */
import type { Raster } from "../api/types";
import { registerProjectPanel, type ProjectContext } from "../panels/registry";
import { append, h } from "../ui/dom";
import { layerItem, type LayerItem } from "./layerItem";
import { uploadForm } from "./uploadForm";

function mountLayersPanel(container: HTMLElement, ctx: ProjectContext): void {
  const list = h("ul", { class: "layer-list", testid: "layer-list" });
  const empty = h("p", { class: "muted small", testid: "layers-empty" }, "No rasters yet.");
  const fitAll = h(
    "button",
    { type: "button", class: "btn btn-small", title: "Zoom to all rasters", testid: "layers-fit", onclick: () => ctx.rasterLayers.fitAll() },
    "Fit all",
  );
  const items = new Map<number, LayerItem>();
  // Rasters uploaded from this page: zoom to each when it becomes ready.
  const zoomWhenReady = new Set<number>();

  const onRasters = (rasters: Raster[]): void => {
    const seen = new Set<number>();
    rasters.forEach((raster, index) => {
      seen.add(raster.id);
      let item = items.get(raster.id);
      if (item) item.update(raster);
      else {
        item = layerItem(ctx, raster, () => void ctx.reloadRasters());
        items.set(raster.id, item);
      }
      // Move only rows out of place: moving a row would blur an input someone is typing in.
      const at = list.children[index] ?? null;
      if (at !== item.el) list.insertBefore(item.el, at);
      if (raster.status !== "processing" && zoomWhenReady.delete(raster.id) && raster.status === "ready") {
        ctx.rasterLayers.zoomTo(raster.id);
      }
    });
    for (const [id, item] of items) {
      if (!seen.has(id)) {
        item.el.remove();
        items.delete(id);
      }
    }
    empty.hidden = rasters.length > 0;
  };
  ctx.events.on("rasters", onRasters);

  append(
    container,
    ctx.canEdit
      ? h(
          "div",
          { class: "panel-section" },
          h("h3", {}, "Add raster"),
          uploadForm(ctx, (raster) => {
            zoomWhenReady.add(raster.id);
            void ctx.reloadRasters();
          }),
        )
      : null,
    h("div", { class: "panel-section" }, h("div", { class: "section-head" }, h("h3", {}, "Rasters"), fitAll), empty, list),
  );
  onRasters(ctx.rasters());
}

registerProjectPanel({ id: "layers", title: "Layers", order: 10, mount: mountLayersPanel });
