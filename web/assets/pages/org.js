// Teams, internal users and customers: lists with spend against budget,
// create and delete (admins only).

import { h, table, dialog, field, meter, toast } from "../dom.js";
import * as api from "../api.js";
import * as f from "../format.js";
import { header, status } from "./common.js";
import { appliedText } from "./keys.js";

const reload = () => window.dispatchEvent(new HashChangeEvent("hashchange"));
const num = (v) => (v === "" || v == null ? undefined : Number(v));

function createDialog(title, path, fields) {
  dialog(title, (close) => {
    const inputs = fields.map(([name, label, type]) => [name, label, h("input", { name, type: type || "text", step: type === "number" ? "any" : null })]);
    const error = h("p", { class: "error", role: "alert" });
    return h("form", { class: "form-grid", onsubmit: async (e) => {
      e.preventDefault();
      const body = {};
      for (const [name, , el] of inputs) {
        const v = el.value.trim();
        if (v === "") continue;
        body[name] = el.type === "number" ? num(v) : name === "models" ? v.split(",").map(s => s.trim()).filter(Boolean) : v;
      }
      try { const r = await api.post(path, body); close(); toast(`Created: ${appliedText(r.applied)}.`, "good"); reload(); }
      catch (err) { error.textContent = err.message; }
    } },
      inputs.map(([, label, el]) => field(label, el)), error,
      h("div", { class: "dialog-actions" }, h("button", { type: "button", onclick: close }, "Cancel"), h("button", { type: "submit", class: "primary" }, "Create")));
  });
}

function deleteButton(ctx, what, name, path) {
  if (!ctx.canWrite) return null;
  return h("button", { type: "button", class: "small danger", onclick: () => dialog(`Delete ${what}`, (close) => h("div", {},
    h("p", {}, `Delete ${what} ${name}? Its keys are deleted with it.`),
    h("div", { class: "dialog-actions" },
      h("button", { type: "button", onclick: close }, "Cancel"),
      h("button", { type: "button", class: "danger", onclick: async () => {
        try { const r = await api.post(path); close(); toast(`Deleted ${name}: ${appliedText(r.applied)}.`, "good"); reload(); }
        catch (err) { toast(err.message, "bad"); }
      } }, "Delete")))) }, "Delete");
}

const spendCell = (r) => h("span", {}, f.usd(r.spend), r.max_budget != null ? ` / ${f.usd(r.max_budget)} ` : "", meter(r.spend, r.max_budget));

export async function teams(main, ctx) {
  main.append(header("Teams", ctx.canWrite ? h("button", { type: "button", class: "primary", onclick: () => createDialog("Create team", "teams",
    [["team_alias", "Alias"], ["models", "Models (comma-separated)"], ["max_budget", "Max budget (USD)", "number"], ["budget_duration", "Budget period"], ["rpm_limit", "RPM limit", "number"], ["tpm_limit", "TPM limit", "number"]]) }, "Create team") : null));
  const data = await api.get("teams");
  main.append(table([
    { label: "Team", cell: t => h("a", { href: "#/keys?team_id=" + encodeURIComponent(t.team_id) }, t.team_alias || t.team_id) },
    { label: "Id", cell: t => h("code", {}, f.short(t.team_id, 16)) },
    { label: "Members", num: true, cell: t => f.int((t.members_with_roles || []).length) },
    { label: "Models", cell: t => (t.models && t.models.length ? t.models.join(", ") : "all") },
    { label: "Spend / budget", num: true, cell: spendCell },
    { label: "Status", cell: t => (t.blocked ? status("blocked", "bad") : status("active", "good")) },
    { label: "", cell: t => deleteButton(ctx, "team", t.team_alias || t.team_id, `teams/${encodeURIComponent(t.team_id)}/delete`) },
  ], data.teams, "No teams yet."));
}

export async function users(main, ctx) {
  main.append(header("Users", ctx.canWrite ? h("button", { type: "button", class: "primary", onclick: () => createDialog("Create user", "users",
    [["user_id", "User id (empty: generated)"], ["user_email", "Email"], ["user_role", "Role (proxy_admin, proxy_admin_viewer, internal_user, internal_user_viewer)"], ["max_budget", "Max budget (USD)", "number"], ["budget_duration", "Budget period"]]) }, "Create user") : null));
  const data = await api.get("users", { page: 1, size: 100 });
  main.append(table([
    { label: "User", cell: u => h("a", { href: "#/keys?user_id=" + encodeURIComponent(u.user_id) }, u.user_id) },
    { label: "Email", cell: u => u.user_email || "—" },
    { label: "Role", cell: u => u.user_role || "—" },
    { label: "Teams", cell: u => (u.teams || []).join(", ") || "—" },
    { label: "Spend / budget", num: true, cell: spendCell },
    { label: "", cell: u => deleteButton(ctx, "user", u.user_id, `users/${encodeURIComponent(u.user_id)}/delete`) },
  ], data.users, "No users yet."));
  if (data.total_pages > 1) main.append(h("p", { class: "muted" }, `Showing the first 100 of ${f.int(data.total)} users.`));
}

export async function customers(main, ctx) {
  main.append(header("Customers", ctx.canWrite ? h("button", { type: "button", class: "primary", onclick: () => createDialog("Create customer", "customers",
    [["user_id", "End-user id"], ["alias", "Alias"], ["max_budget", "Max budget (USD)", "number"], ["budget_duration", "Budget period"]]) }, "Create customer") : null));
  const data = await api.get("customers");
  main.append(table([
    { label: "End user", cell: c => h("a", { href: "#/logs?end_user=" + encodeURIComponent(c.user_id) }, c.alias || c.user_id) },
    { label: "Id", cell: c => h("code", {}, c.user_id) },
    { label: "Spend / budget", num: true, cell: spendCell },
    { label: "Status", cell: c => (c.blocked ? status("blocked", "bad") : status("active", "good")) },
    { label: "", cell: c => deleteButton(ctx, "customer", c.alias || c.user_id, `customers/${encodeURIComponent(c.user_id)}/delete`) },
  ], data.customers, "No customers yet: they appear with their first request (the `user` field) or when created here."));
}
