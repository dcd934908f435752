// Models: each model group's deployments (provider, upstream model,
// api_base without credentials, prices per 1M tokens, limits) and the
// group's last 24 hours (requests, error rate, p50 / p95).

import { h, table } from "../dom.js";
import * as api from "../api.js";
import * as f from "../format.js";
import { header, card } from "./common.js";

const price = (v) => (v == null ? "—" : "$" + v.toLocaleString("en-US", { maximumFractionDigits: 4 }));

export default async function models(main) {
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
      ], m.deployments, "No deployment.")));
  }
}
