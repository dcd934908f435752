// Teams, internal users and customers: lists with spend against budget,
// create, edit and delete (admins only); a team's page with its spend per
// day, members and roles (added and removed there), settings and keys.

import { h, table, dialog, field, meter, toast } from "../dom.js";
import * as api from "../api.js";
import * as f from "../format.js";
import { bars } from "../chart.js";
import { header, status, tile, card, presetRange } from "./common.js";
import { appliedText } from "./keys.js";

const reload = () => window.dispatchEvent(new HashChangeEvent("hashchange"));
const num = (v) => (v === "" || v == null ? undefined : Number(v));

// A create or edit form: fields [name, label, type?]; `initial` (edit)
// fills them. Empty fields are left out (on edit: left as they are), except
// an edit's empty model list, which is every model.
function formDialog(title, path, fields, initial, verb) {
  dialog(title, (close) => {
    const value = (name) => {
      const v = initial ? initial[name] : undefined;
      return Array.isArray(v) ? v.join(", ") : v ?? "";
    };
    const inputs = fields.map(([name, label, type]) => [name, label, h("input", { name, type: type || "text", step: type === "number" ? "any" : null, value: value(name) })]);
    const error = h("p", { class: "error", role: "alert" });
    return h("form", { class: "form-grid", onsubmit: async (e) => {
      e.preventDefault();
      const body = {};
      for (const [name, , el] of inputs) {
        const v = el.value.trim();
        if (name === "models" && initial) { body.models = v.split(",").map(s => s.trim()).filter(Boolean); continue; }
        if (v === "") continue;
        body[name] = el.type === "number" ? num(v) : name === "models" ? v.split(",").map(s => s.trim()).filter(Boolean) : v;
      }
      try { const r = await api.post(path, body); close(); toast(`${verb}: ${appliedText(r.applied)}.`, "good"); reload(); }
      catch (err) { error.textContent = err.message; }
    } },
      inputs.map(([, label, el]) => field(label, el)), error,
      h("div", { class: "dialog-actions" }, h("button", { type: "button", onclick: close }, "Cancel"), h("button", { type: "submit", class: "primary" }, initial ? "Save" : "Create")));
  });
}

const createDialog = (title, path, fields) => formDialog(title, path, fields, null, "Created");
const editButton = (ctx, title, path, fields, row) => (ctx.canWrite
  ? h("button", { type: "button", class: "small", onclick: () => formDialog(title, path, fields, row, "Saved") }, "Edit")
  : null);
const rowActions = (...buttons) => h("div", { class: "row-actions" }, buttons);

const TEAM_FIELDS = [["team_alias", "Alias"], ["models", "Models (comma-separated; empty = every model)"], ["max_budget", "Max budget (USD)", "number"], ["budget_duration", "Budget period"], ["rpm_limit", "RPM limit", "number"], ["tpm_limit", "TPM limit", "number"]];
const USER_EDIT_FIELDS = [["user_email", "Email"], ["user_role", "Role (proxy_admin, proxy_admin_viewer, internal_user, internal_user_viewer)"], ["models", "Models (comma-separated; empty = every model)"], ["max_budget", "Max budget (USD)", "number"], ["budget_duration", "Budget period"], ["rpm_limit", "RPM limit", "number"], ["tpm_limit", "TPM limit", "number"]];
const CUSTOMER_EDIT_FIELDS = [["alias", "Alias"], ["max_budget", "Max budget (USD)", "number"], ["budget_duration", "Budget period"], ["rpm_limit", "RPM limit", "number"], ["tpm_limit", "TPM limit", "number"]];

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
  main.append(header("Teams", ctx.canWrite ? h("button", { type: "button", class: "primary", onclick: () => createDialog("Create team", "teams", TEAM_FIELDS) }, "Create team") : null));
  const data = await api.get("teams");
  main.append(table([
    { label: "Team", cell: t => h("a", { href: "#/teams/" + encodeURIComponent(t.team_id) }, t.team_alias || t.team_id) },
    { label: "Id", cell: t => h("code", {}, f.short(t.team_id, 16)) },
    { label: "Members", num: true, cell: t => f.int((t.members_with_roles || []).length) },
    { label: "Models", cell: t => (t.models && t.models.length ? t.models.join(", ") : "all") },
    { label: "Spend / budget", num: true, cell: spendCell },
    { label: "Status", cell: t => (t.blocked ? status("blocked", "bad") : status("active", "good")) },
    { label: "", cell: t => (ctx.canWrite ? rowActions(
      editButton(ctx, "Edit team", `teams/${encodeURIComponent(t.team_id)}/update`, TEAM_FIELDS, t),
      deleteButton(ctx, "team", t.team_alias || t.team_id, `teams/${encodeURIComponent(t.team_id)}/delete`)) : null) },
  ], data.teams, "No teams yet."));
}

// One team: spend per day (30 days), members and roles, settings, keys —
// two requests (the team with its keys, and its series from the rollup).
export async function teamDetail(main, ctx) {
  const id = ctx.parts[1];
  const path = `teams/${encodeURIComponent(id)}`;
  const { start, end } = presetRange("30d");
  const [t, spend] = await Promise.all([
    api.get(path),
    api.get("usage/timeseries", { group_by: "team", id, bucket: "day", start: start.toISOString(), end: end.toISOString() }),
  ]);
  const name = t.team_alias || t.team_id;
  main.append(header(`Team ${name}`, ctx.canWrite ? rowActions(
    editButton(ctx, "Edit team", `${path}/update`, TEAM_FIELDS, t),
    h("button", { type: "button", class: "small", onclick: async () => {
      try { const r = await api.post(`${path}/update`, { blocked: !t.blocked }); toast(`${t.blocked ? "Unblocked" : "Blocked"} ${name}: ${appliedText(r.applied)}.`, "good"); reload(); }
      catch (err) { toast(err.message, "bad"); }
    } }, t.blocked ? "Unblock" : "Block"),
    deleteButton(ctx, "team", name, `${path}/delete`)) : null));
  main.append(h("p", { class: "muted" }, h("a", { href: "#/teams" }, "← All teams")));
  const members = t.members_with_roles || [];
  main.append(h("div", { class: "tiles" },
    tile("Spend (all time)", f.usd(t.spend), t.spend, t.max_budget != null ? h("span", {}, `budget ${f.usd(t.max_budget)} `, meter(t.spend, t.max_budget)) : "no budget", "team_spend"),
    tile("Spend (30 days)", f.usd(spend.totals.spend), spend.totals.spend_picos, `${f.int(spend.totals.requests)} requests`, "team_spend_30d"),
    tile("Members", f.int(members.length), members.length, ((n) => `${f.int(n)} admin${n === 1 ? "" : "s"}`)(members.filter(m => m.role === "admin").length), "team_members"),
    tile("Keys", f.int(t.keys.length), t.keys.length, t.blocked ? "team blocked" : "team active", "team_keys")));
  const series = spend.series.map(sr => ({ key: sr.key, label: sr.label, values: sr.spend }));
  main.append(card("Spend per day (30 days, UTC)", spend.totals.requests ? bars(spend.buckets, series, { fmt: f.usd, title: "Spend per day", wide: true }) : h("div", { class: "empty" }, "No requests by this team in the last 30 days.")));

  const remove = (m) => h("button", { type: "button", class: "small danger", onclick: async () => {
    try { const r = await api.post(`${path}/members/${encodeURIComponent(m.user_id)}/delete`); toast(`Removed ${m.user_id}: ${appliedText(r.applied)}.`, "good"); reload(); }
    catch (err) { toast(err.message, "bad"); }
  } }, "Remove");
  let addForm = null;
  if (ctx.canWrite) {
    const user = h("input", { name: "member_user_id", required: true, autocomplete: "off" });
    const role = h("select", { name: "member_role" }, h("option", { value: "user" }, "user"), h("option", { value: "admin" }, "admin"));
    const error = h("p", { class: "error", role: "alert" });
    addForm = h("form", { class: "filters", onsubmit: async (e) => {
      e.preventDefault();
      try { const r = await api.post(`${path}/members`, { user_id: user.value.trim(), role: role.value }); toast(`Added ${user.value.trim()}: ${appliedText(r.applied)}.`, "good"); reload(); }
      catch (err) { error.textContent = err.message; }
    } }, field("User id", user), field("Role", role), h("button", { type: "submit" }, "Add member"), error);
  }
  main.append(h("div", { class: "grid2" },
    card("Members", table([
      { label: "User", cell: m => m.user_id },
      { label: "Email", cell: m => m.user_email || "—" },
      { label: "Role", cell: m => status(m.role || "user", m.role === "admin" ? "good" : "") },
      { label: "", cell: m => (ctx.canWrite ? remove(m) : null) },
    ], members, "No members yet."), addForm),
    card("Settings", h("dl", { class: "facts" },
      [["Id", t.team_id], ["Alias", t.team_alias], ["Models", (t.models || []).length ? t.models.join(", ") : "all"],
       ["Max budget", t.max_budget != null ? f.usd(t.max_budget) : "none"], ["Budget period", t.budget_duration],
       ["Budget resets", t.budget_reset_at ? f.when(t.budget_reset_at) : null], ["RPM / TPM", `${t.rpm_limit ?? "—"} / ${t.tpm_limit ?? "—"}`],
       ["Created", f.when(t.created_at)]].flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v ?? "—")])))));
  main.append(card("Keys", table([
    { label: "Alias", cell: k => h("a", { href: "#/keys/" + encodeURIComponent(k.token) }, k.key_alias || "(no alias)") },
    { label: "Key", cell: k => h("code", {}, k.key_name) },
    { label: "User", cell: k => k.user_id || "—" },
    { label: "Spend / budget", num: true, cell: k => h("span", {}, f.usd(k.spend), k.max_budget != null ? ` / ${f.usd(k.max_budget)} ` : "", meter(k.spend, k.max_budget)) },
    { label: "Status", cell: k => (k.blocked ? status("blocked", "bad") : status("active", "good")) },
  ], t.keys, "This team has no keys.")));
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
    { label: "", cell: u => (ctx.canWrite ? rowActions(
      editButton(ctx, `Edit user ${u.user_id}`, `users/${encodeURIComponent(u.user_id)}/update`, USER_EDIT_FIELDS, u),
      deleteButton(ctx, "user", u.user_id, `users/${encodeURIComponent(u.user_id)}/delete`)) : null) },
  ], data.users, "No users yet."));
  if (data.total_pages > 1) main.append(h("p", { class: "muted" }, `Showing the first 100 of ${f.int(data.total)} users.`));
}

export async function customers(main, ctx) {
  main.append(header("Customers", ctx.canWrite ? h("button", { type: "button", class: "primary", onclick: () => createDialog("Create customer", "customers",
    [["user_id", "End-user id"], ["alias", "Alias"], ["max_budget", "Max budget (USD)", "number"], ["budget_duration", "Budget period"]]) }, "Create customer") : null));
  const data = await api.get("customers");
  // LiteLLM's shape keeps an end user's budget and limits in litellm_budget_table.
  main.append(table([
    { label: "End user", cell: c => h("a", { href: "#/logs?end_user=" + encodeURIComponent(c.user_id) }, c.alias || c.user_id) },
    { label: "Id", cell: c => h("code", {}, c.user_id) },
    { label: "Spend / budget", num: true, cell: spendCell },
    { label: "Status", cell: c => (c.blocked ? status("blocked", "bad") : status("active", "good")) },
    { label: "", cell: c => (ctx.canWrite ? rowActions(
      editButton(ctx, `Edit customer ${c.user_id}`, `customers/${encodeURIComponent(c.user_id)}/update`, CUSTOMER_EDIT_FIELDS, c),
      deleteButton(ctx, "customer", c.alias || c.user_id, `customers/${encodeURIComponent(c.user_id)}/delete`)) : null) },
  ], data.customers.map(c => Object.assign({}, c.litellm_budget_table || {}, c)), "No customers yet: they appear with their first request (the `user` field) or when created here."));
}
