/** The "Models" project panel: the model catalog (search, type filter, upload) and the item
 * view of one model package. Shows this project's models and those shared with everyone. */
import "./models.css";
import { ApiError } from "../api/http";
import type { UploadHandle } from "../api/upload";
import { registerProjectPanel, type ProjectContext } from "../panels/registry";
import { h, replace, setNotice } from "../ui/dom";
import { formatBytes } from "../ui/format";
import { progressBar } from "../ui/progress";
import { MODEL_TYPES, ModelsApi, type ModelPackage } from "./api";
import { modelView } from "./modelView";

type Scope = "project" | "all";

function message(err: unknown): string {
  return err instanceof ApiError ? err.detail : String(err);
}

function modelItem(pkg: ModelPackage, open: (id: number) => void): HTMLElement {
  const arch = [pkg.architecture || pkg.model_name, pkg.backbone].filter(Boolean).join(" · ");
  const swatches = pkg.classes
    .slice(0, 8)
    .map((c) => h("span", { class: "swatch", style: c.color ? `background: rgb(${c.color.join(",")})` : "", title: c.name }));
  return h(
    "li",
    { class: "model-item", testid: "model-item", "data-model-id": pkg.id, tabindex: 0, role: "button", onclick: () => open(pkg.id),
      onkeydown: (e: KeyboardEvent) => (e.key === "Enter" || e.key === " ") && open(pkg.id) },
    h(
      "div",
      { class: "model-item-head" },
      h("span", { class: "model-item-title", testid: "model-item-title" }, pkg.title),
      pkg.shared ? h("span", { class: "badge" }, "shared") : null,
      h("span", { class: `status ${pkg.runnable ? "status-ready" : "status-failed"}`, title: pkg.runnable_reason }, pkg.runnable ? "runnable" : "not runnable"),
    ),
    h("div", { class: "model-item-sub small muted" }, h("span", {}, pkg.model_type), arch ? h("span", {}, arch) : null, h("span", { class: "spacer" }), swatches),
  );
}

function uploadSection(ctx: ProjectContext, models: ModelsApi, onUploaded: (pkg: ModelPackage) => void, open: (id: number) => void): HTMLElement {
  const file = h("input", { type: "file", accept: ".dlpk,.zip", required: true, testid: "model-upload-file" });
  const submit = h("button", { type: "submit", class: "btn btn-small btn-primary", testid: "model-upload-submit" }, "Upload");
  const cancel = h("button", { type: "button", class: "btn btn-small btn-quiet", hidden: true }, "Cancel");
  const bar = progressBar("model-upload-progress");
  const text = h("span", { class: "muted small" });
  const progressRow = h("div", { class: "upload-progress", hidden: true }, bar.el, text);
  const notice = h("p", { class: "notice", hidden: true, testid: "model-upload-error" });
  const form = h("form", { class: "upload-form", testid: "model-upload-form" }, h("div", { class: "row" }, file, submit, cancel), progressRow, notice);
  let handle: UploadHandle<ModelPackage> | null = null;
  cancel.addEventListener("click", () => handle?.abort());
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const chosen = file.files?.[0];
    if (!chosen) {
      setNotice(notice, "Choose a .dlpk package first.");
      return;
    }
    setNotice(notice, "");
    submit.disabled = true;
    cancel.hidden = false;
    progressRow.hidden = false;
    bar.set(0);
    handle = models.upload(ctx.project.id, chosen, (p) => {
      bar.set(p.fraction);
      text.textContent = p.fraction !== null && p.fraction >= 1 ? "Checking the package…" : `${formatBytes(p.loaded)} / ${formatBytes(p.total || chosen.size)}`;
    });
    handle.promise
      .then((pkg) => {
        bar.set(1, "ok");
        progressRow.hidden = true;
        form.reset();
        onUploaded(pkg);
      })
      .catch((err: unknown) => {
        bar.set(null, "error");
        progressRow.hidden = true;
        setNotice(notice, message(err));
        // 409: the same file is already there; offer to open it.
        const existing = err instanceof ApiError && err.status === 409 ? (err.body as { id?: unknown } | null)?.id : undefined;
        if (typeof existing === "number") {
          notice.append(" ", h("a", { href: "#", testid: "model-upload-existing", onclick: (e: Event) => { e.preventDefault(); open(existing); } }, "Open it"));
        }
      })
      .finally(() => {
        handle = null;
        submit.disabled = false;
        cancel.hidden = true;
      });
  });
  return h("div", { class: "panel-section" }, h("h3", {}, "Upload a model package"), form);
}

function mountModelsPanel(container: HTMLElement, ctx: ProjectContext): () => void {
  const models = new ModelsApi(ctx.api);
  let scope: Scope = "project";
  let loadSeq = 0;
  let searchTimer = 0;

  const search = h("input", { type: "search", placeholder: "Search title, tags, architecture…", testid: "model-search" });
  const typeFilter = h("select", { testid: "model-type-filter", title: "Model type" }, h("option", { value: "" }, "All types"), MODEL_TYPES.map((t) => h("option", { value: t }, t)));
  const scopeSelect = h("select", { testid: "model-scope", title: "Which models" }, h("option", { value: "project" }, "This project + shared"), h("option", { value: "all" }, "All my projects + shared"));
  const list = h("ul", { class: "model-list", testid: "model-list" });
  const empty = h("p", { class: "muted small", testid: "models-empty", hidden: true }, "No models match.");
  const listError = h("p", { class: "notice", hidden: true, testid: "models-error" });
  const catalog = h(
    "div",
    { testid: "models-catalog" },
    ctx.canEdit ? uploadSection(ctx, models, (pkg) => { void load(); open(pkg.id); }, (id) => open(id)) : null,
    h("div", { class: "panel-section" }, h("div", { class: "section-head" }, h("h3", {}, "Models")), h("div", { class: "model-filters" }, search, h("div", { class: "row" }, typeFilter, scopeSelect)), listError, empty, list),
  );
  const detail = h("div", { hidden: true, testid: "model-detail" });

  async function load(): Promise<void> {
    const seq = ++loadSeq;
    try {
      const found = await models.list({ search: search.value, model_type: typeFilter.value });
      if (seq !== loadSeq) return; // a newer search answered first
      const shown = scope === "all" ? found : found.filter((m) => m.project === ctx.project.id || m.shared);
      replace(list, shown.map((m) => modelItem(m, open)));
      empty.hidden = shown.length > 0;
      setNotice(listError, "");
    } catch (err) {
      if (seq === loadSeq) setNotice(listError, message(err));
    }
  }

  function showCatalog(): void {
    detail.hidden = true;
    replace(detail);
    catalog.hidden = false;
  }

  function show(pkg: ModelPackage, saved = false): void {
    const view = modelView(models, pkg, {
      onBack: () => {
        showCatalog();
        void load();
      },
      onChanged: (updated) => show(updated, true),
      onDeleted: () => {
        showCatalog();
        void load();
      },
    }, saved);
    replace(detail, view);
    catalog.hidden = true;
    detail.hidden = false;
  }

  function open(id: number): void {
    models.get(id).then((pkg) => show(pkg), (err: unknown) => setNotice(listError, message(err)));
  }

  search.addEventListener("input", () => {
    window.clearTimeout(searchTimer);
    searchTimer = window.setTimeout(() => void load(), 250);
  });
  typeFilter.addEventListener("change", () => void load());
  scopeSelect.addEventListener("change", () => {
    scope = scopeSelect.value as Scope;
    void load();
  });

  container.append(catalog, detail);
  void load();
  const offs = [
    // Models trained or made elsewhere appear without a page reload (the list, not an open item).
    ctx.events.on("panel", (id) => id === "models" && !catalog.hidden && void load()),
    ctx.events.on("job", (job) => job.kind === "train_model" && job.status === "succeeded" && !catalog.hidden && void load()),
  ];
  return () => {
    window.clearTimeout(searchTimer);
    offs.forEach((off) => off());
  };
}

registerProjectPanel({ id: "models", title: "Models", order: 30, mount: mountModelsPanel });
