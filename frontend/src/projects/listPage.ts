/** `/`: the user's projects with their role, and a form to create one. */
import { ApiError } from "../api/http";
import type { Project } from "../api/types";
import { navigate, projectPath } from "../router";
import type { AppContext, Page } from "../shell";
import { h, replace, setNotice } from "../ui/dom";
import { PALETTE } from "../labeling/classes";
import type { ProjectClass } from "../api/types";

/** "Tree, Snag" -> classes 1 and 2 in the palette's colours (duplicates and blanks dropped). */
export function classesFrom(text: string): ProjectClass[] {
  const names = [...new Set(text.split(",").map((n) => n.trim()).filter(Boolean))];
  return names.map((name, i) => ({ value: i + 1, name, color: PALETTE[i % PALETTE.length]! }));
}
import { formatDateTime } from "../ui/format";

export function mountProjectsPage(outlet: HTMLElement, app: AppContext): Page {
  app.setCrumb(null);
  app.setStatus(null);
  document.title = "Projects · Rasterlab";
  let disposed = false;

  const tbody = h("tbody", {});
  const listNotice = h("p", { class: "notice", hidden: true, testid: "projects-error" });
  const table = h(
    "table",
    { class: "grid", testid: "project-list" },
    h("thead", {}, h("tr", {}, h("th", {}, "Name"), h("th", {}, "Description"), h("th", {}, "Role"), h("th", {}, "Created"))),
    tbody,
  );
  const empty = h("p", { class: "muted", hidden: true, testid: "projects-empty" }, "No projects yet: create one.");

  const nameInput = h("input", { name: "name", required: true, maxlength: 200, placeholder: "e.g. Osceola trees", testid: "project-name" });
  const descInput = h("textarea", { name: "description", rows: 3, placeholder: "What is mapped, where, from which imagery", testid: "project-description" });
  const classesInput = h("input", { name: "classes", placeholder: "e.g. Tree, Snag, Building (optional)", testid: "project-classes-input" });
  const submit = h("button", { type: "submit", class: "btn btn-primary", testid: "project-create" }, "Create project");
  const formNotice = h("p", { class: "notice", hidden: true, testid: "project-create-error" });
  const form = h(
    "form",
    { class: "card form", testid: "project-form" },
    h("h2", {}, "New project"),
    h("label", {}, "Name", nameInput),
    h("label", {}, "Description", descInput),
    h("label", { title: "Class names, comma separated; they get values 1, 2, ... and distinct colours. Editable later in the Labels tab." }, "Classes", classesInput),
    formNotice,
    h("div", { class: "actions" }, submit),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit.disabled = true;
    setNotice(formNotice, "");
    app.api
      .createProject({ name: nameInput.value.trim(), description: descInput.value.trim(), classes: classesFrom(classesInput.value) })
      .then((project) => navigate(projectPath(project.id)))
      .catch((err: unknown) => setNotice(formNotice, err instanceof ApiError ? err.detail : String(err)))
      .finally(() => {
        submit.disabled = false;
      });
  });

  replace(
    outlet,
    h(
      "div",
      { class: "page page-projects" },
      h("section", { class: "card" }, h("h1", {}, "Projects"), listNotice, table, empty),
      form,
    ),
  );

  const render = (projects: Project[]): void => {
    replace(
      tbody,
      projects.map((p) =>
        h(
          "tr",
          { testid: "project-row", "data-project-id": p.id },
          h("td", {}, h("a", { href: projectPath(p.id), "data-link": true, testid: "project-link" }, p.name)),
          h("td", { class: "muted ellipsis", title: p.description }, p.description),
          h("td", {}, h("span", { class: `badge role-${p.role}`, testid: "project-role" }, p.role)),
          h("td", { class: "muted nowrap" }, formatDateTime(p.created_at)),
        ),
      ),
    );
    empty.hidden = projects.length > 0;
    table.hidden = projects.length === 0;
  };

  app.api
    .listProjects()
    .then((projects) => !disposed && render(projects))
    .catch((err: unknown) => setNotice(listNotice, err instanceof ApiError ? err.detail : String(err)));

  nameInput.focus();
  return {
    dispose() {
      disposed = true;
    },
  };
}
