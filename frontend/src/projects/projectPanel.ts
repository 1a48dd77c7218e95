/** The "Project" panel: name and description, class schema, members and roles, delete. */
import { ApiError } from "../api/http";
import type { Member, Project, Role } from "../api/types";
import { registerProjectPanel, type ProjectContext } from "../panels/registry";
import { navigate } from "../router";
import { append, h, replace, setNotice } from "../ui/dom";
import { icon } from "../ui/icons";

const ROLES: Role[] = ["viewer", "reviewer", "editor", "owner"];

function message(err: unknown): string {
  return err instanceof ApiError ? err.detail : String(err);
}

function detailsForm(ctx: ProjectContext): HTMLElement {
  const project: Project = ctx.project;
  const name = h("input", { value: project.name, maxlength: 200, disabled: !ctx.canEdit, testid: "project-edit-name" });
  const description = h("textarea", { rows: 3, disabled: !ctx.canEdit, testid: "project-edit-description" });
  description.value = project.description;
  const save = h("button", { type: "submit", class: "btn btn-small btn-primary", hidden: !ctx.canEdit, testid: "project-save" }, "Save");
  const notice = h("p", { class: "notice", hidden: true });
  const form = h("form", { class: "form" }, h("label", {}, "Name", name), h("label", {}, "Description", description), notice, h("div", { class: "actions" }, save));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    save.disabled = true;
    ctx.api
      .updateProject(project.id, { name: name.value.trim(), description: description.value.trim() })
      .then((p) => {
        Object.assign(ctx.project, p);
        ctx.events.emit("project", ctx.project);
        setNotice(notice, "Saved.", "info");
      })
      .catch((err: unknown) => setNotice(notice, message(err)))
      .finally(() => {
        save.disabled = false;
      });
  });
  return form;
}

function classTable(project: Project): HTMLElement {
  if (!project.classes.length) return h("p", { class: "muted small" }, "No classes defined yet.");
  return h(
    "table",
    { class: "grid compact", testid: "class-table" },
    h("thead", {}, h("tr", {}, h("th", {}, "Value"), h("th", {}, "Name"), h("th", {}, "Color"))),
    h(
      "tbody",
      {},
      project.classes.map((c) =>
        h("tr", {}, h("td", {}, c.value), h("td", {}, c.name), h("td", {}, h("span", { class: "swatch", style: `background: rgb(${c.color.join(",")})` }))),
      ),
    ),
  );
}

function membersSection(ctx: ProjectContext): { el: HTMLElement; load(): void } {
  const isOwner = ctx.project.role === "owner";
  const tbody = h("tbody", {});
  const notice = h("p", { class: "notice", hidden: true, testid: "member-error" });
  const load = (): void => {
    ctx.api
      .listMembers(ctx.project.id)
      .then((members) => replace(tbody, members.map(row)))
      .catch((err: unknown) => setNotice(notice, message(err)));
  };
  const row = (m: Member): HTMLElement => {
    const self = m.username === ctx.user.username;
    const remove = h("button", { type: "button", class: "icon-btn danger", title: `Remove ${m.username} from the project`, testid: "member-remove", hidden: !isOwner || self }, icon("close"));
    remove.addEventListener("click", () => {
      if (!window.confirm(`Remove ${m.username} from this project?`)) return;
      ctx.api.removeMember(ctx.project.id, m.username).then(load, (err: unknown) => setNotice(notice, message(err)));
    });
    // Owners change roles in place; a project keeps at least one owner (the server says so).
    const role = isOwner
      ? h("select", { class: "role-select", testid: "member-role-select", title: "Role" }, ROLES.map((r) => h("option", { value: r, selected: r === m.role }, r)))
      : h("span", { class: `badge role-${m.role}` }, m.role);
    if (role instanceof HTMLSelectElement) {
      role.addEventListener("change", () => {
        setNotice(notice, "");
        ctx.api.addMember(ctx.project.id, m.username, role.value as Role).then(load, (err: unknown) => {
          setNotice(notice, message(err));
          load();
        });
      });
    }
    return h("tr", { testid: "member-row", "data-username": m.username, "data-role": m.role },
      h("td", {}, m.username, m.email ? h("div", { class: "muted small" }, m.email) : null), h("td", {}, role), h("td", { class: "right" }, remove));
  };
  const section = h("div", {}, h("table", { class: "grid compact", testid: "member-list" }, tbody), notice);
  if (isOwner) {
    const username = h("input", { placeholder: "username or e-mail", required: true, testid: "member-username", "data-label": "a username or e-mail" });
    const role = h("select", { testid: "member-role" }, ROLES.map((r) => h("option", { value: r }, r)));
    role.value = "editor";
    const invite = h("input", { type: "checkbox", testid: "member-invite" });
    const invited = h("p", { class: "notice notice-info", hidden: true, testid: "member-invited" });
    const form = h("form", { class: "member-form" },
      h("div", { class: "row" }, username, role, h("button", { type: "submit", class: "btn btn-small", testid: "member-add" }, "Add")),
      h("label", { class: "check small", title: "For an e-mail address without an account: make one, with a one-time password to pass on" }, invite, h("span", {}, "Invite: make an account for a new e-mail")),
      invited);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      setNotice(notice, "");
      invited.hidden = true;
      ctx.api.addMember(ctx.project.id, username.value.trim(), role.value as Role, invite.checked).then(
        (m) => {
          username.value = "";
          if (m.password) {
            invited.textContent = `Account “${m.username}” made. Give them this one-time password (shown once): ${m.password}`;
            invited.dataset.password = m.password;
            invited.hidden = false;
          }
          load();
        },
        (err: unknown) => setNotice(notice, message(err)),
      );
    });
    section.append(form);
  }
  load();
  return { el: section, load };
}

function deleteButton(ctx: ProjectContext): HTMLElement | null {
  if (ctx.project.role !== "owner") return null;
  const notice = h("p", { class: "notice", hidden: true });
  const btn = h("button", { type: "button", class: "btn btn-small btn-danger", testid: "project-delete" }, "Delete project");
  btn.addEventListener("click", () => {
    if (!window.confirm(`Delete project “${ctx.project.name}” with all its rasters, layers and jobs?`)) return;
    ctx.api.deleteProject(ctx.project.id).then(() => navigate("/"), (err: unknown) => setNotice(notice, message(err)));
  });
  return h("div", {}, btn, notice);
}

function mountProjectPanel(container: HTMLElement, ctx: ProjectContext): () => void {
  const del = deleteButton(ctx);
  const classes = h("div", { testid: "project-classes" }, classTable(ctx.project));
  const members = membersSection(ctx);
  append(
    container,
    h("div", { class: "panel-section" }, h("h3", {}, "Project"), detailsForm(ctx)),
    h("div", { class: "panel-section" }, h("h3", {}, "Classes"), classes),
    h("div", { class: "panel-section" }, h("h3", {}, "Members"), members.el),
    del && h("div", { class: "panel-section" }, del),
  );
  const offs = [
    // The schema edited in the Labels tab (or by a teammate there): show it at once.
    ctx.events.on("project", (p) => replace(classes, classTable(p))),
    ctx.events.on("panel", (id) => {
      if (id !== "project") return;
      members.load();
      ctx.api.getProject(ctx.project.id).then((p) => {
        Object.assign(ctx.project, p);
        replace(classes, classTable(ctx.project));
      }, () => undefined);
    }),
  ];
  return () => offs.forEach((off) => off());
}

registerProjectPanel({ id: "project", title: "Project", order: 90, mount: mountProjectPanel });
