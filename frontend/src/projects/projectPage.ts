/**
 * `/projects/<id>/`: a full-height map with a side bar whose tabs are the registered project
 * panels (Layers, Jobs, ... see panels/registry.ts). Owns the page's event bus, map, raster
 * layers, raster store and live job feed, and hands them to the panels as a ProjectContext.
 */
import { ApiError } from "../api/http";
import { EventBus, type ProjectEvents } from "../events";
import { JobFeed } from "../jobs/feed";
import { basemapControl } from "../map/basemap";
import { createMap } from "../map/map";
import { RasterLayers } from "../map/rasterLayers";
import { projectPanels, type ProjectContext } from "../panels/registry";
import { RasterStore } from "../rasters/store";
import type { AppContext, Page } from "../shell";
import { connectionBadge } from "../ui/connection";
import { h, replace } from "../ui/dom";

export function mountProjectPage(outlet: HTMLElement, app: AppContext, projectId: number): Page {
  const disposers: (() => void)[] = [];
  let disposed = false;
  app.setCrumb("…");
  app.setStatus(null);
  replace(outlet, h("div", { class: "page loading", testid: "project-loading" }, "Loading project…"));

  app.api
    .getProject(projectId)
    .then((project) => {
      if (disposed) return;
      app.setCrumb(project.name);
      document.title = `${project.name} · Rasterlab`;

      const tabs = h("div", { class: "tabs", role: "tablist" });
      const panelsEl = h("div", { class: "panels" });
      const mapEl = h("div", { class: "map", testid: "map" });
      const mouseEl = h("div", { class: "map-readout", testid: "mouse-position" });
      const footerRight = h("span", { class: "map-footer-right" });
      replace(
        outlet,
        h(
          "div",
          { class: "page-project", testid: "project-page", "data-project-id": project.id },
          h("aside", { class: "sidebar" }, tabs, panelsEl),
          h("div", { class: "map-wrap" }, mapEl, h("div", { class: "map-footer" }, mouseEl, h("span", { class: "spacer" }), footerRight)),
        ),
      );

      const events = new EventBus<ProjectEvents>();
      const map = createMap(mapEl, mouseEl);
      const rasterLayers = new RasterLayers(map, app.api);
      const rasterStore = new RasterStore(project.id, app.api, events);
      const basemap = basemapControl(map, app.config.basemapUrl, app.config.basemapAttribution);
      footerRight.append(basemap.el);
      disposers.push(() => {
        basemap.dispose();
        rasterStore.dispose();
        rasterLayers.dispose();
        map.setTarget(undefined);
        events.clear();
      });

      // Layers first, so panels listening to "rasters" find the map already in sync.
      let fitted = false;
      events.on("rasters", (rasters) => {
        const added = rasterLayers.sync(rasters);
        if (!fitted && added.length > 0) fitted = rasterLayers.fitAll();
      });

      events.on("project", (p) => {
        app.setCrumb(p.name);
        document.title = `${p.name} · Rasterlab`;
      });

      const badge = connectionBadge();
      badge.set("connecting");
      app.setStatus(badge.el);
      events.on("connection", (state) => badge.set(state));

      let feed: JobFeed | null = null;
      const tabButtons = new Map<string, HTMLButtonElement>();
      const panelEls = new Map<string, HTMLElement>();
      const showPanel = (id: string): void => {
        for (const [pid, btn] of tabButtons) {
          const active = pid === id;
          btn.classList.toggle("active", active);
          btn.setAttribute("aria-selected", String(active));
          panelEls.get(pid)!.hidden = !active;
        }
        events.emit("panel", id);
      };
      const ctx: ProjectContext = {
        project,
        map,
        api: app.api,
        events,
        user: app.config.user,
        canEdit: project.role === "owner" || project.role === "editor",
        rasterLayers,
        rasters: () => rasterStore.rasters,
        jobs: () => feed?.store.all() ?? [],
        connection: () => feed?.connection ?? "connecting",
        applyJob: (job) => feed?.apply(job),
        reloadRasters: () => rasterStore.load(),
        showPanel,
        onDispose: (fn) => disposers.push(fn),
      };

      for (const panel of projectPanels()) {
        const btn = h(
          "button",
          { type: "button", class: "tab", role: "tab", testid: `tab-${panel.id}`, onclick: () => showPanel(panel.id) },
          panel.title,
        );
        const container = h("section", { class: "panel", role: "tabpanel", testid: `panel-${panel.id}` });
        tabs.append(btn);
        panelsEl.append(container);
        tabButtons.set(panel.id, btn);
        panelEls.set(panel.id, container);
        try {
          const cleanup = panel.mount(container, ctx);
          if (typeof cleanup === "function") disposers.push(cleanup);
        } catch (err) {
          console.error(`rasterlab: panel "${panel.id}" failed to mount`, err);
          container.textContent = `This panel failed to load: ${String(err)}`;
        }
      }
      const first = projectPanels()[0];
      if (first) showPanel(first.id);

      // Data last, so every panel hears the first "rasters" and "jobs" events.
      feed = new JobFeed(project.id, app.api, events);
      disposers.push(() => feed?.dispose());
      rasterStore.load().catch((err: unknown) => console.warn("rasterlab: rasters failed to load", err));
    })
    .catch((err: unknown) => {
      if (disposed) return;
      app.setCrumb("");
      const text = err instanceof ApiError ? err.detail : String(err);
      replace(
        outlet,
        h(
          "div",
          { class: "page" },
          h("div", { class: "card" }, h("h1", {}, "Cannot open this project"), h("p", { class: "notice notice-error", testid: "project-error" }, text), h("a", { href: "/", "data-link": true }, "Back to projects")),
        ),
      );
    });

  return {
    dispose() {
      disposed = true;
      // Last registered, first undone: panels before the map they draw on.
      for (const fn of disposers.reverse()) {
        try {
          fn();
        } catch (err) {
          console.error("rasterlab: dispose failed", err);
        }
      }
      app.setStatus(null);
    },
  };
}
