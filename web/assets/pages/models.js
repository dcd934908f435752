// Models: each model group's deployments (provider, upstream model,
// api_base without credentials, prices per 1M tokens, limits) and the
// group's last 24 hours (requests, error rate, p50 / p95). "Check now"
// runs a deployment's health probe on the data plane serving the page and
// shows what it found there (with background health checks on, that data
// plane's router acts on it at once: "avoided by routing").

import { h, table, clear, append } from "../dom.js";
import * as api from "../api.js";
import * as f from "../format.js";
import { header, card, status } from "./common.js";

function healthCell(d) {
  const out = h("div", { class: "health", "data-deployment": d.id, role: "status", "aria-live": "polite" });
  const button = h("button", { type: "button", class: "small", onclick: async () => {
    button.disabled = true;
    button.textContent = "Checking…";
    try {
      const r = (await api.post(`models/${encodeURIComponent(d.id)}/check`)).data;
      clear(out);
      out.dataset.healthy = String(r.healthy);
      append(out, [
        r.healthy ? status("healthy", "good") : status("unhealthy", "bad"),
        r.cooling_down ? status("cooling down", "warn") : null,
        r.marked_unhealthy ? status("avoided by routing", "warn") : null,
        h("span", { class: "muted small" }, ` ${f.ms(r.latency_ms)} on ${r.node_id}`),
        r.error ? h("div", { class: "error small" }, r.error) : null,
        h("button", { type: "button", class: "link small", onclick: () => out.replaceWith(healthCell(d)) }, "again")]);
    } catch (err) {
      clear(out);
      out.append(h("div", { class: "error small" }, err.message), h("button", { type: "button", class: "link small", onclick: () => out.replaceWith(healthCell(d)) }, "retry"));
    }
  } }, "Check now");
  out.append(button);
  return out;
}

const price = (v) => (v == null ? "—" : "$" + v.toLocaleString("en-US", { maximumFractionDigits: 4 }));

export default async function models(main, ctx) {
  main.append(header("Models"));
  const data = await api.get("models");
  if (!data.models.length) { main.append(h("div", { class: "empty" }, "The config has no model_list entries.")); return; }
  for (const m of data.models) {
    const u = m.last_24h;
    main.append(card(null,
      h("div", { class: "model-head" },
        h("h2", {}, m.model_name),
        h("span", { class: "muted" }, `${f.int(u.requests)} requests (24 h) · ${u.requests ? f.pct(u.errors / u.requests) : "—"} errors · p50 ${f.ms(u.p50_ms)} · p95 ${f.ms(u.p95_ms)}`)),
      table([
        { label: "Deployment", cell: d => h("code", {}, f.short(d.id, 18)) },
        { label: "Provider", cell: d => String(d.provider) },
        { label: "Upstream model", cell: d => d.upstream_model },
        { label: "API base", cell: d => d.api_base || "provider default" },
        { label: "In / 1M", num: true, cell: d => price(d.input_per_million) },
        { label: "Out / 1M", num: true, cell: d => price(d.output_per_million) },
        { label: "Cached / 1M", num: true, cell: d => price(d.cached_per_million) },
        { label: "RPM / TPM", num: true, cell: d => `${d.rpm ?? "—"} / ${d.tpm ?? "—"}` },
        { label: "Order", num: true, cell: d => d.order ?? "—" },
        // A probe calls the provider with the deployment's credentials: an
        // admin's action (the API refuses viewers too).
        { label: "Health", cell: d => ctx.canWrite ? healthCell(d) : h("span", { class: "muted" }, "—") },
      ], m.deployments, "No deployment.")));
  }
}
