// Keys: one server-paginated request per page (50 rows, keyset cursors:
// page 1,000 costs what page 1 does), filtered by alias, team or user; create (the key shown once, in a dialog that takes it away
// when it closes), edit, block / unblock, regenerate, delete. Each write
// says on how many data planes it is in force.

import { h, table, dialog, field, meter, toast } from "../dom.js";
import * as api from "../api.js";
import * as f from "../format.js";
import { header, status } from "./common.js";

const PAGE = 50;

export function appliedText(applied) {
  return applied ? `in force on ${applied} data planes` : "no data plane connected";
}

function keyStatus(k) {
  if (k.blocked) return status("blocked", "bad");
  if (k.expires && Date.parse(k.expires) <= Date.now()) return status("expired", "warn");
  return status("active", "good");
}

function list(v) { return (v || "").split(",").map(s => s.trim()).filter(Boolean); }
function num(v) { return v === "" || v == null ? undefined : Number(v); }

// The create / edit form; `key` given = edit.
export function keyForm(key, onDone) {
  return (close) => {
    const alias = h("input", { name: "key_alias", value: key?.key_alias || "" });
    const models = h("input", { name: "models", value: (key?.models || []).join(", "), placeholder: "all models" });
    const team = h("input", { name: "team_id", value: key?.team_id || "" });
    const user = h("input", { name: "user_id", value: key?.user_id || "" });
    const budget = h("input", { name: "max_budget", type: "number", step: "any", min: "0", value: key?.max_budget ?? "" });
    const period = h("input", { name: "budget_duration", value: key?.budget_duration || "", placeholder: "30d" });
    const duration = h("input", { name: "duration", value: "", placeholder: "never" });
    const rpm = h("input", { name: "rpm_limit", type: "number", min: "0", value: key?.rpm_limit ?? "" });
    const tpm = h("input", { name: "tpm_limit", type: "number", min: "0", value: key?.tpm_limit ?? "" });
    const metadata = h("textarea", { name: "metadata", rows: 2, placeholder: '{"owner": "ci"}' }, key?.metadata && Object.keys(key.metadata).length ? JSON.stringify(key.metadata) : "");
    const error = h("p", { class: "error", role: "alert" });
    const form = h("form", {
      class: "form-grid",
      onsubmit: async (e) => {
        e.preventDefault();
        error.textContent = "";
        let meta;
        try { meta = metadata.value.trim() ? JSON.parse(metadata.value) : undefined; } catch { error.textContent = "Metadata must be a JSON object."; return; }
        const body = {
          key_alias: alias.value.trim() || undefined,
          models: models.value.trim() ? list(models.value) : (key ? [] : undefined),
          team_id: team.value.trim() || undefined, user_id: user.value.trim() || undefined,
          max_budget: num(budget.value), budget_duration: period.value.trim() || undefined,
          rpm_limit: num(rpm.value), tpm_limit: num(tpm.value), metadata: meta,
        };
        if (!key) body.duration = duration.value.trim() || undefined;
        try {
          const r = key ? await api.post(`keys/${encodeURIComponent(key.token)}/update`, body) : await api.post("keys", body);
          onDone(r, close);
        } catch (err) { error.textContent = err.message; }
      },
    },
      field("Alias", alias), field("Models", models, "Comma-separated; empty = every model"),
      field("Team id", team), field("User id", user),
      field("Max budget (USD)", budget), field("Budget period", period, "e.g. 30d, 1mo"),
      key ? null : field("Expires after", duration, "e.g. 30d; empty = never"),
      field("RPM limit", rpm), field("TPM limit", tpm),
      field("Metadata (JSON)", metadata),
      error,
      h("div", { class: "dialog-actions" },
        h("button", { type: "button", onclick: close }, "Cancel"),
        h("button", { type: "submit", class: "primary" }, key ? "Save" : "Create key")));
    return form;
  };
}

// Shows a new key once. Closing the dialog removes it from the page.
export function showSecret(title, secret, applied, onClosed) {
  const d = dialog(title, (close) => h("div", { class: "secret" },
    h("p", {}, "Copy this key now: it is shown once and cannot be shown again."),
    h("div", { class: "secret-row" },
      h("code", { class: "secret-value", "data-secret": "" }, secret),
      h("button", { type: "button", onclick: async () => { try { await navigator.clipboard.writeText(secret); toast("Copied."); } catch { toast("Select the key and copy it.", "bad"); } } }, "Copy")),
    h("p", { class: "muted" }, "The key is ", appliedText(applied), "."),
    h("div", { class: "dialog-actions" }, h("button", { type: "button", class: "primary", onclick: close }, "Done"))));
  d.addEventListener("close", () => { secret = null; if (onClosed) onClosed(); });
}

export async function act(action, key, reload) {
  const name = key.key_alias || key.key_name;
  const path = `keys/${encodeURIComponent(key.token)}/${action}`;
  if (action === "delete") {
    dialog("Delete key", (close) => {
      const typed = h("input", { name: "confirm", autocomplete: "off" });
      const error = h("p", { class: "error", role: "alert" });
      return h("form", { onsubmit: async (e) => {
        e.preventDefault();
        if (typed.value !== name) { error.textContent = `Type ${name} to confirm.`; return; }
        try { const r = await api.post(path); close(); toast(`Deleted ${name}: ${appliedText(r.applied)}.`, "good"); reload(); }
        catch (err) { error.textContent = err.message; }
      } },
        h("p", {}, "Requests with this key will be refused everywhere. This cannot be undone."),
        field(`Type ${name} to confirm`, typed), error,
        h("div", { class: "dialog-actions" }, h("button", { type: "button", onclick: close }, "Cancel"), h("button", { type: "submit", class: "danger" }, "Delete")));
    });
    return;
  }
  try {
    const r = await api.post(path);
    if (action === "regenerate") {
      showSecret("Regenerated key", r.data.key, r.applied, reload);
    } else {
      toast(`${action === "block" ? "Blocked" : "Unblocked"} ${name}: ${appliedText(r.applied)}.`, "good");
      reload();
    }
  } catch (err) { toast(err.message, "bad"); }
}

export function actions(k, ctx, reload) {
  if (!ctx.canWrite) return null;
  return h("div", { class: "row-actions" },
    h("button", { type: "button", class: "small", onclick: () => dialog("Edit key", keyForm(k, (r, close) => { close(); toast(`Saved: ${appliedText(r.applied)}.`, "good"); reload(); })) }, "Edit"),
    k.blocked
      ? h("button", { type: "button", class: "small", onclick: () => act("unblock", k, reload) }, "Unblock")
      : h("button", { type: "button", class: "small", onclick: () => act("block", k, reload) }, "Block"),
    h("button", { type: "button", class: "small", onclick: () => act("regenerate", k, reload) }, "Regenerate"),
    h("button", { type: "button", class: "small danger", onclick: () => act("delete", k, reload) }, "Delete"));
}

export default async function keys(main, ctx) {
  const p = ctx.params;
  // The cursor of this page (the previous page's last key, or the next
  // page's first) and its number, for the pager's text.
  const cursor = { after: p.get("after") || "", before: p.get("before") || "" };
  const page = Math.max(1, Number(p.get("n") || 1));
  const filters = { key_alias: p.get("key_alias") || "", team_id: p.get("team_id") || "", user_id: p.get("user_id") || "" };
  const reload = () => window.dispatchEvent(new HashChangeEvent("hashchange"));
  const create = ctx.canWrite ? h("button", { class: "primary", type: "button", onclick: () => dialog("Create key", keyForm(null, (r, close) => { close(); showSecret("Your new key", r.data.key, r.applied, reload); })) }, "Create key") : null;
  main.append(header("Keys", create));
  const inputs = Object.fromEntries(Object.entries(filters).map(([k, v]) => [k, h("input", { name: k, value: v })]));
  main.append(h("form", { class: "filters", role: "search", onsubmit: (e) => { e.preventDefault(); ctx.go("keys", Object.fromEntries(Object.entries(inputs).map(([k, el]) => [k, el.value.trim()]))); } },
    field("Alias", inputs.key_alias), field("Team id", inputs.team_id), field("User id", inputs.user_id),
    h("button", { type: "submit" }, "Search")));
  const data = await api.get("keys", Object.assign({ size: PAGE }, cursor, filters));
  main.append(table([
    { label: "Alias", cell: k => h("a", { href: "#/keys/" + encodeURIComponent(k.token) }, k.key_alias || "(no alias)") },
    { label: "Key", cell: k => h("code", {}, k.key_name) },
    { label: "Team", cell: k => k.team_id || "—" },
    { label: "User", cell: k => k.user_id || "—" },
    { label: "Models", cell: k => (k.models && k.models.length ? k.models.join(", ") : "all") },
    { label: "Spend / budget", num: true, cell: k => h("span", {}, f.usd(k.spend), k.max_budget != null ? ` / ${f.usd(k.max_budget)} ` : "", meter(k.spend, k.max_budget)) },
    { label: "RPM / TPM", num: true, cell: k => `${k.rpm_limit ?? "—"} / ${k.tpm_limit ?? "—"}` },
    { label: "Expires", cell: k => (k.expires ? f.when(k.expires) : "never") },
    { label: "Status", cell: keyStatus },
    { label: "", cell: k => actions(k, ctx, reload) },
  ], data.keys, Object.values(filters).some(Boolean) ? "No key matches these filters." : "No keys yet." + (ctx.canWrite ? " Create one to get started." : "")));
  const pages = Math.max(1, Math.ceil(data.total_count / PAGE));
  // Back to the first page the list starts over without a cursor.
  const nav = (n, at) => ctx.go("keys", Object.assign({}, filters, n > 1 ? Object.assign({ n }, at) : {}));
  main.append(h("nav", { class: "pager", "aria-label": "Pages of keys" },
    h("button", { type: "button", disabled: !data.prev_before, onclick: () => nav(page - 1, { before: data.prev_before }) }, "← Previous"),
    h("span", { class: "muted" }, `Page ${f.int(Math.min(page, pages))} of ${f.int(pages)} · ${f.int(data.total_count)} keys`),
    h("button", { type: "button", disabled: !data.next_after, onclick: () => nav(page + 1, { after: data.next_after }) }, "Next →")));
}
