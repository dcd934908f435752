// One key: its settings, spend per day (30 days), latency percentiles and
// its last requests — three requests, each from the rollup or one index.

import { h, table } from "../dom.js";
import * as api from "../api.js";
import * as f from "../format.js";
import { bars } from "../chart.js";
import { header, tile, card, presetRange } from "./common.js";
import { actions } from "./keys.js";
import { logColumns } from "./logs.js";

export default async function keyDetail(main, ctx) {
  const token = ctx.parts[1];
  const { start, end } = presetRange("30d");
  const range = { start: start.toISOString(), end: end.toISOString() };
  const [k, spend, latency, recent] = await Promise.all([
    api.get("keys/" + encodeURIComponent(token)),
    api.get("usage/timeseries", Object.assign({ group_by: "key", id: token, bucket: "day" }, range)),
    api.get("usage/latency", Object.assign({ group_by: "key", id: token }, range)),
    api.get("logs", { key: token, limit: 20 }),
  ]);
  const reload = () => window.dispatchEvent(new HashChangeEvent("hashchange"));
  main.append(header(`Key ${k.key_alias || k.key_name}`, actions(k, ctx, reload)));
  main.append(h("p", { class: "muted" }, h("a", { href: "#/keys" }, "← All keys")));
  const l = latency.rows[0] || {};
  main.append(h("div", { class: "tiles" },
    tile("Spend (all time)", f.usd(k.spend), k.spend, k.max_budget != null ? `budget ${f.usd(k.max_budget)}` : "no budget", "key_spend"),
    tile("Requests (30 days)", f.int(spend.totals.requests), spend.totals.requests, `${f.int(spend.totals.errors)} failed`, "key_requests"),
    tile("Latency p50 / p95 / p99", `${f.ms(l.p50_ms)} / ${f.ms(l.p95_ms)} / ${f.ms(l.p99_ms)}`, l.p50_ms, "30 days", "key_latency"),
    tile("Status", k.blocked ? "Blocked" : "Active", k.blocked ? "blocked" : "active", k.expires ? "expires " + f.when(k.expires) : "never expires", "key_status")));
  const series = spend.series.map(sr => ({ key: sr.key, label: sr.label, values: sr.spend }));
  main.append(card("Spend per day (30 days, UTC)", spend.totals.requests ? bars(spend.buckets, series, { fmt: f.usd, title: "Spend per day", wide: true }) : h("div", { class: "empty" }, "No requests with this key in the last 30 days.")));
  main.append(card("Settings", h("dl", { class: "facts" },
    ["token", "key_name", "team_id", "user_id", "models", "max_budget", "budget_duration", "rpm_limit", "tpm_limit", "created_at"].flatMap(name => [
      h("dt", {}, name), h("dd", {}, Array.isArray(k[name]) ? (k[name].length ? k[name].join(", ") : "all") : (k[name] ?? "—"))]))));
  main.append(card("Last requests", table(logColumns(), recent.rows, "No requests with this key yet.")));
}
