/**
 * Rasterlab browser app entry: reads the page config, renders the shell and routes
 * `/` (projects) and `/projects/<id>/...` (project page with its panels).
 *
 * Project panels plug in with one import each (the module calls registerProjectPanel); the
 * order of the imports below is the order of the side-bar tabs of equal `order`.
 */
import "ol/ol.css";
import "./styles.css";
import "./rasters/layersPanel";
import "./jobs/jobsPanel";
import "./labeling/panel";
import "./models/modelsPanel";
import "./datasets/datasetsPanel";
import "./inference/panel";
import "./collections/panel";
import "./training/panel";
import "./projects/projectPanel";
import { ApiClient } from "./api/client";
import { csrfToken, readConfig } from "./config";
import { mountProjectPage } from "./projects/projectPage";
import { mountProjectsPage } from "./projects/listPage";
import { matchRoute, onNavigate, startRouter } from "./router";
import { renderShell, type Page } from "./shell";
import { h, replace } from "./ui/dom";
import { installFieldErrors } from "./ui/fieldErrors";

function start(): void {
  const root = document.getElementById("app");
  if (!root) throw new Error('rasterlab: the page has no <div id="app">');
  const config = readConfig();
  const api = new ApiClient(() => csrfToken(config));
  const { outlet, ctx } = renderShell(root, config, api);
  installFieldErrors();

  let page: Page | null = null;
  const render = (): void => {
    page?.dispose();
    page = null;
    const route = matchRoute(location.pathname);
    switch (route.name) {
      case "projects":
        page = mountProjectsPage(outlet, ctx);
        break;
      case "project":
        page = mountProjectPage(outlet, ctx, route.projectId);
        break;
      case "notFound":
        ctx.setCrumb(null);
        replace(outlet, h("div", { class: "page" }, h("div", { class: "card" }, h("h1", {}, "Page not found"), h("a", { href: "/", "data-link": true }, "Back to projects"))));
        break;
    }
  };
  onNavigate(render);
  startRouter();
  render();
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
