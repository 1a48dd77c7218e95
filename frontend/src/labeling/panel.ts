/**
 * The "Labels" project panel: pick a layer, a class and a tool, draw and edit labels with
 * teammates live (presence, live updates, conflict banner), the attribute table with counts per
 * class, the class schema editor, import and export.
 *
 * Keys while the panel is shown: 1-9 pick a class (and reclassify the selection), V select,
 * R rectangle, C circle, P polygon, F freehand, O point, B buffered point, Del/Backspace delete the
 * selection, A accept / X reject the selection (review), Esc cancel, Ctrl+Z undo.
 */
import "./labeling.css";
import type Feature from "ol/Feature";
import { createEmpty, extend, isEmpty } from "ol/extent";
import type Geometry from "ol/geom/Geometry";
import { ApiError } from "../api/http";
import type { ProjectClass } from "../api/types";
import { registerProjectPanel, type ProjectContext } from "../panels/registry";
import { connectionBadge } from "../ui/connection";
import { append, h, replace, setNotice } from "../ui/dom";
import { lonLatBoundsToExtent } from "../map/map";
import { LabelsApi } from "./api";
import { classEditor, classPicker } from "./classes";
import { Editor, type Tool } from "./editing";
import { LabelMap } from "./mapLayers";
import { LayerLive } from "./sync";
import { reviewBox } from "./review";
import { labelTable } from "./table";
import { rasterGrid, TOOLS, toolbar } from "./toolbar";
import type { ApiFeature, Layer, PresenceUser } from "./types";

interface Session {
  layer: Layer;
  labels: LabelMap;
  editor: Editor;
  live: LayerLive;
  counts: Map<number, number>;
}

function message(err: unknown): string {
  return err instanceof ApiError ? err.detail : String(err);
}

function mountLabelingPanel(container: HTMLElement, ctx: ProjectContext): () => void {
  const api = new LabelsApi(ctx.api);
  let classes: ProjectClass[] = ctx.project.classes;
  let session: Session | null = null;
  let disposed = false;

  // --- header: layer, live state, who is here
  const layerSelect = h("select", { testid: "labels-layer", title: "Layer" });
  const badge = connectionBadge();
  badge.el.dataset.testid = "labels-connection";
  const presence = h("div", { class: "presence", testid: "labels-presence" });
  const zoomBtn = h("button", { type: "button", class: "btn btn-small", testid: "labels-zoom", title: "Zoom to the whole layer" }, "Zoom to labels");

  // --- tools
  const bar = toolbar({ tool: (tool) => setTool(tool), undo: () => void session?.editor.undo(), remove: () => session?.editor.deleteSelected() });

  const picker = classPicker((value) => session?.editor.classifySelected(value));
  const total = h("span", { class: "muted small", testid: "labels-total" });

  // --- notices
  const conflictText = h("span", { testid: "conflict-text" });
  const conflictReload = h("button", { type: "button", class: "btn btn-small", testid: "conflict-reload" }, "Reload label");
  const conflictDismiss = h("button", { type: "button", class: "icon-btn", title: "Dismiss" }, "✕");
  const banner = h("div", { class: "conflict-banner", role: "alert", hidden: true, testid: "conflict-banner" }, conflictText, h("span", { class: "spacer" }), conflictReload, conflictDismiss);
  conflictDismiss.addEventListener("click", () => (banner.hidden = true));
  const notice = h("p", { class: "notice", hidden: true, testid: "labels-error" });
  const error = (text: string): void => setNotice(notice, text);

  // --- detections: confidence filter
  const confidence = h("input", { type: "range", min: 0, max: 1, step: 0.05, value: "0", testid: "labels-min-confidence" });
  const confidenceValue = h("span", { class: "small muted" }, "0 %");
  const confidenceRow = h("label", { class: "row small", hidden: true }, "Min. confidence", confidence, confidenceValue);
  let confidenceTimer: ReturnType<typeof setTimeout> | null = null;
  confidence.addEventListener("input", () => {
    confidenceValue.textContent = `${Math.round(Number(confidence.value) * 100)} %`;
    if (confidenceTimer) clearTimeout(confidenceTimer);
    confidenceTimer = setTimeout(() => session?.labels.setMinConfidence(Number(confidence.value) || null), 250);
  });

  const table = labelTable((feature) => session?.editor.selectAndZoom(feature));
  const canReview = ctx.canEdit || ctx.project.role === "reviewer";
  const reviews = reviewBox(canReview, (status) => session?.editor.reviewSelected(status), () => session && renderExportLinks(session.layer));

  // --- classes, import / export
  const editor = ctx.canEdit
    ? classEditor(api, ctx.project.id, () => classes, (next) => applyClasses(next))
    : null;
  const importFile = h("input", { type: "file", accept: ".geojson,.json,.gpkg,.zip", required: true, testid: "labels-import-file" });
  const importField = h("input", { placeholder: "class field (e.g. label)", testid: "labels-import-field" });
  const importRepair = h("input", { type: "checkbox", testid: "labels-import-repair" });
  const importBtn = h("button", { type: "submit", class: "btn btn-small", testid: "labels-import-submit" }, "Import");
  const importNotice = h("p", { class: "notice", hidden: true, testid: "labels-import-result" });
  // A form, so that a missing file is said next to the field (ui/fieldErrors.ts).
  const importForm = h("form", { class: "form" }, importFile, importField, h("label", { class: "check small" }, importRepair, h("span", {}, "Repair invalid geometries")), h("div", { class: "actions" }, importBtn), importNotice);
  importForm.addEventListener("submit", (e) => {
    e.preventDefault();
    const file = importFile.files?.[0];
    if (!session || !file) return setNotice(importNotice, "Choose a GeoJSON, GeoPackage or zipped Shapefile first.");
    importBtn.disabled = true;
    setNotice(importNotice, "Importing…", "info");
    api
      .importFile(session.layer.id, file, importField.value, importRepair.checked)
      .promise.then((r) => setNotice(importNotice, r.job !== undefined ? `Large file: importing as job #${r.job} (see Jobs).` : `Imported ${r.count} labels.`, "info"))
      .catch((err: unknown) => setNotice(importNotice, message(err)))
      .finally(() => (importBtn.disabled = false));
  });
  const exportLinks = h("span", { class: "row" });

  append(
    container,
    h("div", { class: "panel-section" }, h("div", { class: "section-head" }, h("h3", {}, "Layer"), badge.el), h("div", { class: "row" }, layerSelect, zoomBtn), presence, confidenceRow),
    h("div", { class: "panel-section" }, ctx.canEdit ? bar.el : h("p", { class: "muted small" }, ctx.project.role === "reviewer" ? "You review these labels (accept / reject below); editors and owners draw them." : "You can view these labels; editors and owners edit them."), banner, notice),
    h("div", { class: "panel-section" }, h("div", { class: "section-head" }, h("h3", {}, "Classes"), total), picker.el),
    h("div", { class: "panel-section" }, table.el),
    h("div", { class: "panel-section", testid: "labels-review" }, h("h3", {}, "Review"), reviews.el),
    editor && h("details", { class: "panel-section" }, h("summary", {}, "Edit classes"), editor.el),
    h(
      "details",
      { class: "panel-section" },
      h("summary", {}, "Import / export"),
      ctx.canEdit ? importForm : null,
      h("div", { class: "row small" }, "Export:", exportLinks),
    ),
  );

  // --- state
  function setTool(tool: Tool): void {
    if (!session || !ctx.canEdit) return;
    session.editor.setTool(tool);
  }

  function refreshState(): void {
    const s = session;
    bar.render(s?.editor.tool, s?.editor.canUndo ?? false, s ? s.editor.selected().length : 0);
    reviews.setSelection(s ? s.editor.selected().length : 0);
    renderTable();
  }

  let tableTimer: ReturnType<typeof setTimeout> | null = null;
  function renderTableSoon(): void {
    if (tableTimer) return;
    tableTimer = setTimeout(() => {
      tableTimer = null;
      renderTable();
    }, 60);
  }
  function renderTable(): void {
    if (!session) return;
    const selected = new Set(session.editor.selected().map((f) => f.getId() as number));
    table.render(session.labels.source.getFeatures() as Feature<Geometry>[], session.labels.classTable(classes), selected);
  }

  function renderCounts(): void {
    const s = session;
    if (!s) return;
    const table = s.labels.classTable(classes);
    picker.render(s.layer.kind === "labels" ? classes : table.filter((c, i) => table.findIndex((d) => d.value === c.value) === i), s.counts);
    const n = [...s.counts.values()].reduce((a, b) => a + b, 0);
    total.textContent = `${n} label${n === 1 ? "" : "s"}`;
  }

  let countsTimer: ReturnType<typeof setTimeout> | null = null;
  function refreshCountsSoon(): void {
    if (countsTimer) clearTimeout(countsTimer);
    countsTimer = setTimeout(() => {
      countsTimer = null;
      const s = session;
      if (!s) return;
      api.getLayer(s.layer.id).then((layer) => {
        if (session !== s) return;
        s.counts = countsOf(layer);
        s.layer.extent = layer.extent;
        reviews.render(layer);
        renderCounts();
      }, () => undefined);
    }, 1500);
  }

  function applyClasses(next: ProjectClass[]): void {
    classes = next;
    ctx.project.classes = next;
    // The Project tab and others show the schema too.
    ctx.events.emit("project", ctx.project);
    editor?.reset();
    renderCounts();
    session?.labels.redraw();
    renderTable();
  }

  function renderPresence(users: PresenceUser[]): void {
    replace(
      presence,
      h("span", { class: "muted small" }, "Here now:"),
      users.map((u) =>
        h("span", { class: `presence-user${u.username === ctx.user.username ? " me" : ""}`, testid: "presence-user", "data-username": u.username, title: `${u.connections} window${u.connections === 1 ? "" : "s"}` }, u.username),
      ),
    );
  }

  function showConflict(feature: Feature<Geometry> | null, current: ApiFeature | null, text: string): void {
    const s = session;
    if (!s) return;
    conflictText.textContent = text;
    banner.hidden = false;
    conflictReload.onclick = () => {
      const id = current?.id ?? (feature?.getId() as number | undefined);
      const fresh = current ? Promise.resolve(current) : id !== undefined ? api.feature(s.layer.id, id) : Promise.reject(new Error("nothing to reload"));
      fresh
        .then((f) => {
          s.labels.upsert(f, true);
          banner.hidden = true;
          renderTable();
        })
        .catch((err: unknown) => {
          if (err instanceof ApiError && err.status === 404 && id !== undefined) s.labels.remove(id);
          banner.hidden = true;
        });
    };
  }

  function close(): void {
    if (!session) return;
    session.live.dispose();
    session.editor.dispose();
    session.labels.dispose();
    session = null;
  }

  function open(layer: Layer): void {
    close();
    banner.hidden = true;
    setNotice(notice, "");
    const counts = countsOf(layer);
    let live: LayerLive | null = null;
    const labels = new LabelMap(ctx.map, api, layer, () => classes, (seq) => live?.loaded(seq), renderTableSoon);
    const s: Session = { layer, labels, counts, live: null as unknown as LayerLive, editor: null as unknown as Editor };
    s.editor = new Editor({
      map: ctx.map,
      labels,
      api,
      classes: () => classes,
      currentClass: () => picker.current(),
      onConflict: showConflict,
      onError: error,
      onState: refreshState,
      bufferMeters: () => bar.bufferMeters(),
      snapGrid: (at) => (bar.snapOn() ? rasterGrid(ctx.rasters(), (id) => ctx.rasterLayers.layer(id)?.getVisible() ?? false, at) : null),
    });
    s.editor.setEnabled(ctx.canEdit);
    s.editor.setShown(!container.hidden);
    live = new LayerLive(layer.id, api, {
      upsert: (f) => labels.upsert(f),
      remove: (id) => {
        const removed = labels.remove(id);
        if (removed) s.editor.select.getFeatures().remove(removed);
      },
      reload: () => {
        labels.reload();
        refreshCountsSoon();
      },
      presence: renderPresence,
      classes: (next) => applyClasses(next),
      renamed: (name) => {
        layer.name = name;
        const option = layerSelect.querySelector<HTMLOptionElement>(`option[value="${layer.id}"]`);
        if (option) option.textContent = name;
      },
      deleted: () => {
        error("This layer was deleted.");
        close();
      },
      state: (state) => badge.set(state),
      event: (event) => {
        // Quick local count; the layer's own counts follow shortly (refreshCountsSoon).
        if (event.type === "feature.created" || event.type === "feature.deleted") {
          const value = event.feature.properties.class_value;
          if (value !== null) {
            s.counts.set(value, Math.max(0, (s.counts.get(value) ?? 0) + (event.type === "feature.created" ? 1 : -1)));
            renderCounts();
          }
        }
        if (event.type.startsWith("feature.")) refreshCountsSoon();
      },
    });
    s.live = live;
    session = s;
    badge.set(live.state);
    confidenceRow.hidden = layer.kind === "labels";
    renderExportLinks(layer);
    reviews.render(layer);
    container.dataset.layerId = String(layer.id);
    renderCounts();
    refreshState();
  }

  function renderExportLinks(layer: Layer): void {
    const q = reviews.exportQuery();
    replace(
      exportLinks,
      h("a", { href: api.exportUrl(layer.id, "geojson") + q, download: "", testid: "labels-export-geojson" }, "GeoJSON"),
      h("a", { href: api.exportUrl(layer.id, "gpkg") + q, download: "", testid: "labels-export-gpkg" }, "GeoPackage"),
    );
  }

  zoomBtn.addEventListener("click", () => {
    const s = session;
    if (!s) return;
    // The whole layer, from the server's extent (the map holds only what is in view).
    api.getLayer(s.layer.id).then((layer) => {
      if (layer.extent) ctx.map.getView().fit(lonLatBoundsToExtent(layer.extent), { padding: [48, 48, 48, 48], maxZoom: 20, duration: 250 });
      else fitLoaded();
    }, fitLoaded);
  });
  function fitLoaded(): void {
    const features = session?.labels.source.getFeatures() ?? [];
    const extent = createEmpty();
    for (const f of features) {
      const g = f.getGeometry();
      if (g) extend(extent, g.getExtent());
    }
    if (!isEmpty(extent)) ctx.map.getView().fit(extent, { padding: [48, 48, 48, 48], maxZoom: 20, duration: 250 });
  }

  layerSelect.addEventListener("change", () => {
    const id = Number(layerSelect.value);
    api.getLayer(id).then((layer) => !disposed && open(layer), (err: unknown) => error(message(err)));
  });

  const onKey = (e: KeyboardEvent): void => {
    const s = session;
    if (!s || container.hidden || disposed) return;
    const target = e.target as HTMLElement | null;
    if (target && (["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName) || target.isContentEditable)) return;
    if ((e.ctrlKey || e.metaKey) && !e.shiftKey && e.key.toLowerCase() === "z") {
      e.preventDefault();
      void s.editor.undo();
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (/^[1-9]$/.test(e.key)) {
      const shown = s.layer.kind === "labels" ? classes : s.labels.classTable(classes);
      const cls = shown[Number(e.key) - 1];
      if (cls) {
        picker.pick(cls.value);
        s.editor.classifySelected(cls.value);
      }
    } else if (e.key === "Delete" || e.key === "Backspace") {
      e.preventDefault();
      s.editor.deleteSelected();
    } else if ((e.key === "a" || e.key === "x") && canReview && s.editor.selected().length) {
      s.editor.reviewSelected(e.key === "a" ? "accepted" : "rejected");
    } else if (e.key === "Escape") {
      s.editor.cancel();
      banner.hidden = true;
    } else {
      const tool = TOOLS.find((t) => t.key.toLowerCase() === e.key.toLowerCase());
      if (tool) setTool(tool.tool);
    }
  };
  document.addEventListener("keydown", onKey);

  /** The layer choice; opens the first labels layer unless one is open (still there). */
  function loadLayers(): Promise<void> {
    return api
      .listLayers(ctx.project.id)
      .then((layers) => {
        if (disposed) return;
        const openId = session?.layer.id;
        replace(layerSelect, layers.map((l) => h("option", { value: String(l.id) }, `${l.name}${l.kind === "labels" ? "" : ` (${l.kind})`}`)));
        if (openId !== undefined && layers.some((l) => l.id === openId)) {
          layerSelect.value = String(openId);
          return;
        }
        const first = layers.find((l) => l.kind === "labels") ?? layers[0];
        if (!first) return error("This project has no layers.");
        layerSelect.value = String(first.id);
        return api.getLayer(first.id).then((layer) => {
          if (!disposed) open(layer);
        });
      })
      .catch((err: unknown) => error(message(err)));
  }
  void loadLayers();
  const offs = [
    // Layers made elsewhere (a detection run, another user): refresh the choice.
    ctx.events.on("panel", (id) => {
      session?.editor.setShown(id === "labels");
      if (id === "labels") void loadLayers();
    }),
    ctx.events.on("job", (job) => job.status === "succeeded" && typeof job.result?.layer === "number" && void loadLayers()),
  ];

  return () => {
    disposed = true;
    offs.forEach((off) => off());
    document.removeEventListener("keydown", onKey);
    for (const t of [tableTimer, countsTimer, confidenceTimer]) if (t) clearTimeout(t);
    close();
  };
}

function countsOf(layer: Layer): Map<number, number> {
  return new Map(Object.entries(layer.class_counts ?? {}).filter(([k]) => k !== "None" && k !== "null").map(([k, n]) => [Number(k), n]));
}

registerProjectPanel({ id: "labels", title: "Labels", order: 15, mount: mountLabelingPanel });
