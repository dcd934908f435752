// Logs: filters, one page per request (keyset: "Older" carries the last
// row's cursor), a drawer fed by the row itself (no extra request), and a
// live tail over one server-sent-events stream.

import { h, table, field, clear } from "../dom.js";
import * as api from "../api.js";
import * as f from "../format.js";
import { header, status } from "./common.js";

const FILTERS = [["key", "Key alias or hash"], ["team_id", "Team id"], ["user_id", "User id"], ["end_user", "End user"], ["model", "Model"], ["status", "Status"], ["error_type", "Error type"], ["request_id", "Request id"], ["start", "From (ISO)"], ["end", "To (ISO)"]];

export function logColumns(open) {
  return [
    { label: "Time", cell: r => f.when(r.startTime) },
    { label: "Status", cell: r => (r.status === "success" ? status("ok", "good") : status(r.metadata?.error_information?.error_class || "failed", "bad")) },
    { label: "Key", cell: r => r.metadata?.user_api_key_alias || f.short(r.api_key, 10) },
    { label: "Model", cell: r => r.model_group },
    { label: "Tokens", num: true, cell: r => `${f.int(r.prompt_tokens)} → ${f.int(r.completion_tokens)}` },
    { label: "Cost", num: true, cell: r => h("span", { "data-picos": r.spend_picos }, f.usd(r.spend)) },
    { label: "Duration", num: true, cell: r => f.ms(r.request_duration_ms) },
    { label: "Request id", cell: r => open ? h("button", { type: "button", class: "link", onclick: () => open(r) }, f.short(r.request_id, 18)) : h("code", {}, f.short(r.request_id, 18)) },
  ];
}

function drawer(row, onClose) {
  const m = row.metadata || {};
  const facts = [
    ["Request id", row.request_id], ["Status", row.status], ["Error", m.error_information ? `${m.error_information.error_class} (${m.error_information.error_code})` : "—"],
    ["Start", row.startTime], ["End", row.endTime], ["First token", row.completionStartTime || "—"], ["Duration", f.ms(row.request_duration_ms)],
    ["Gateway overhead", f.ms(m.litellm_overhead_time_ms)], ["Model group", row.model_group], ["Deployment", row.model_id], ["Provider", row.custom_llm_provider],
    ["API base", row.api_base || "—"], ["Key", m.user_api_key_alias || row.api_key], ["Team", row.team_id || "—"], ["User", row.user || "—"], ["End user", row.end_user || "—"],
    ["Tokens in / cached / out", `${row.prompt_tokens} / ${m.usage_object?.prompt_tokens_details?.cached_tokens ?? 0} / ${row.completion_tokens}`],
    ["Cost", f.usd(row.spend)], ["Retries / fallbacks", `${m.attempted_retries ?? 0} / ${m.attempted_fallbacks ?? 0}`], ["Stream", row.stream ? "yes" : "no"],
    ["Trace id", m.trace_id || row.trace_id || "—"], ["Data plane", m.node_id || "—"], ["Tags", (row.request_tags || []).join(", ") || "—"],
  ];
  const close = h("button", { type: "button", class: "icon", "aria-label": "Close details", onclick: onClose }, "×");
  const aside = h("aside", { class: "drawer", role: "dialog", "aria-modal": "false", "aria-labelledby": "drawer-title", tabindex: "-1",
    onkeydown: (e) => { if (e.key === "Escape") onClose(); } },
    h("div", { class: "dialog-head" }, h("h2", { id: "drawer-title" }, "Request"), close),
    h("dl", { class: "facts" }, facts.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, String(v ?? "—"))])));
  setTimeout(() => close.focus());
  return aside;
}

export default async function logs(main, ctx) {
  const p = ctx.params;
  const filters = Object.fromEntries(FILTERS.map(([k]) => [k, p.get(k) || ""]));
  const cursor = p.get("cursor") || "";
  const inputs = Object.fromEntries(FILTERS.map(([k]) => [k, k === "status"
    ? h("select", { name: k }, [["", "any"], ["success", "success"], ["failure", "failure"]].map(([v, l]) => h("option", { value: v, selected: v === filters[k] }, l)))
    : h("input", { name: k, value: filters[k] })]));
  const tailButton = h("button", { type: "button", "aria-pressed": "false" }, "Live tail");
  main.append(header("Logs", tailButton));
  main.append(h("form", { class: "filters", role: "search", onsubmit: (e) => { e.preventDefault(); ctx.go("logs", Object.fromEntries(Object.entries(inputs).map(([k, el]) => [k, el.value.trim()]))); } },
    FILTERS.map(([k, label]) => field(label, inputs[k])), h("button", { type: "submit" }, "Filter")));

  const data = await api.get("logs", Object.assign({ cursor, limit: 50 }, filters));
  const host = h("div", { class: "logs-host" });
  let open = null;
  const show = (row) => {
    if (open) open.remove();
    open = drawer(row, () => { open.remove(); open = null; });
    host.append(open);
  };
  let rows = data.rows.slice();
  const tableBox = h("div", {});
  const draw = () => { clear(tableBox); tableBox.append(table(logColumns(show), rows, Object.values(filters).some(Boolean) ? "No request matches these filters." : "No requests yet.", show)); };
  draw();
  host.append(tableBox);
  main.append(host);
  main.append(h("nav", { class: "pager", "aria-label": "Pages of logs" },
    cursor ? h("button", { type: "button", onclick: () => ctx.go("logs", filters) }, "← Newest") : null,
    h("span", { class: "muted" }, `${rows.length} shown`),
    data.next_cursor ? h("button", { type: "button", onclick: () => ctx.go("logs", Object.assign({}, filters, { cursor: data.next_cursor })) }, "Older →") : null));

  let source = null;
  const stop = () => { if (source) { source.close(); source = null; } tailButton.setAttribute("aria-pressed", "false"); tailButton.textContent = "Live tail"; };
  tailButton.addEventListener("click", () => {
    if (source) { stop(); return; }
    const streamFilters = Object.assign({}, filters); delete streamFilters.start; delete streamFilters.end;
    source = new EventSource(api.url("logs/stream", streamFilters));
    source.addEventListener("log", (e) => {
      const row = JSON.parse(e.data);
      if (rows.some(r => r.request_id === row.request_id)) return;
      rows = [row].concat(rows).slice(0, 200);
      draw();
    });
    source.addEventListener("error", () => { /* EventSource reconnects by itself */ });
    tailButton.setAttribute("aria-pressed", "true");
    tailButton.textContent = "Stop live tail";
  });
  ctx.onLeave(stop);
}
