/**
 * One raster in the layer list: visibility, name, status, opacity, zoom to, style (bands and
 * stretch), delete. Updated in place on each raster list change so open controls survive.
 */
import { ApiError } from "../api/http";
import type { Raster } from "../api/types";
import type { ProjectContext } from "../panels/registry";
import { h, replace } from "../ui/dom";
import { icon } from "../ui/icons";
import { shortNumber } from "../ui/format";
import { isClassified } from "../map/render";
import { renderControls } from "./renderControls";

export interface LayerItem {
  el: HTMLElement;
  update(raster: Raster): void;
}

function describe(r: Raster): string {
  const parts: string[] = [];
  if (r.width && r.height) parts.push(`${r.width}×${r.height}`);
  if (r.count) parts.push(`${r.count} × ${r.dtype ?? "?"}`);
  if (r.crs) parts.push(r.crs);
  if (r.resolution) parts.push(`cell ${shortNumber(r.resolution[0])}`);
  return parts.join(" · ");
}

export function layerItem(ctx: ProjectContext, initial: Raster, onDeleted: (id: number) => void): LayerItem {
  let raster = initial;
  const layers = ctx.rasterLayers;

  const visible = h("input", { type: "checkbox", title: "Show on the map", testid: "layer-visible" });
  const name = h("span", { class: "layer-name", testid: "layer-name" });
  const status = h("span", { class: "status", testid: "raster-status" });
  const zoom = h("button", { type: "button", class: "icon-btn", title: "Zoom to layer", testid: "layer-zoom" }, icon("target"));
  const styleBtn = h("button", { type: "button", class: "icon-btn", title: "Bands and stretch", testid: "layer-style" }, icon("sliders"));
  const del = h("button", { type: "button", class: "icon-btn danger", title: "Delete raster", hidden: !ctx.canEdit, testid: "layer-delete" }, icon("close"));
  const opacity = h("input", { type: "range", min: 0, max: 1, step: 0.05, value: "1", title: "Opacity", class: "opacity", testid: "layer-opacity" });
  const meta = h("div", { class: "layer-meta muted small", testid: "layer-meta" });
  const error = h("p", { class: "notice notice-error", hidden: true, testid: "raster-error" });
  const styleBox = h("div", { class: "layer-style", hidden: true });

  const el = h(
    "li",
    { class: "layer-item", testid: "layer-item" },
    h("div", { class: "layer-head" }, visible, name, status, zoom, styleBtn, del),
    h("div", { class: "layer-sub" }, h("span", { class: "muted small" }, "Opacity"), opacity, meta),
    error,
    styleBox,
  );

  visible.addEventListener("change", () => layers.setVisible(raster.id, visible.checked));
  opacity.addEventListener("input", () => layers.setOpacity(raster.id, Number(opacity.value)));
  zoom.addEventListener("click", () => layers.zoomTo(raster.id));
  styleBtn.addEventListener("click", () => {
    styleBox.hidden = !styleBox.hidden;
    styleBtn.classList.toggle("active", !styleBox.hidden);
  });
  del.addEventListener("click", () => {
    if (!window.confirm(`Delete raster “${raster.name}”? Its files are removed for everyone.`)) return;
    del.disabled = true;
    ctx.api
      .deleteRaster(raster.id)
      .then(() => onDeleted(raster.id))
      .catch((err: unknown) => {
        error.hidden = false;
        error.textContent = err instanceof ApiError ? err.detail : String(err);
      })
      .finally(() => {
        del.disabled = false;
      });
  });

  let styledFor: string | null = null;
  function update(next: Raster): void {
    raster = next;
    const ready = raster.status === "ready" && layers.has(raster.id);
    el.dataset.rasterId = String(raster.id);
    el.dataset.status = raster.status;
    el.dataset.tileUrl = layers.tileUrl(raster.id) ?? "";
    name.textContent = raster.name;
    name.title = raster.name;
    status.className = `status status-${raster.status}`;
    replace(status, raster.status === "processing" ? [h("span", { class: "spinner" }), "processing"] : raster.status);
    meta.textContent = describe(raster);
    error.hidden = raster.status !== "failed" || !raster.error;
    error.textContent = raster.status === "failed" ? raster.error : "";
    for (const c of [visible, zoom, styleBtn, opacity]) c.disabled = !ready;
    styleBtn.hidden = isClassified(raster);
    const layer = layers.layer(raster.id);
    if (layer) {
      visible.checked = layer.getVisible();
      opacity.value = String(layer.getOpacity());
    }
    // Build the style controls once the raster is ready (statistics known), and again if they change.
    const key = ready ? JSON.stringify([raster.count, raster.statistics]) : null;
    if (key !== styledFor) {
      styledFor = key;
      const settings = layers.settings(raster.id);
      replace(
        styleBox,
        ready && settings
          ? renderControls(raster, settings, (s) => {
              layers.setRender(raster.id, s);
              el.dataset.tileUrl = layers.tileUrl(raster.id) ?? "";
            })
          : null,
      );
      if (!ready) styleBox.hidden = true;
    }
  }

  update(initial);
  return { el, update };
}
