// Overview (the landing page): spend today and this month against the
// proxy budget, the last 24 hours' requests, errors and latency, spend per
// day by model, requests and errors per hour, top keys, models and teams,
// the fleet, and budgets past 80 %. Three requests: one per widget group.

import { h, table, meter } from "../dom.js";
import * as api from "../api.js";
import * as f from "../format.js";
import { bars, lines } from "../chart.js";
import { header, tile, card, status, keyHref } from "./common.js";

export default async function overview(main, ctx) {
  main.append(header("Overview"));
  const now = new Date();
  const hour = new Date(now); hour.setUTCMinutes(0, 0, 0);
  const end = new Date(hour.getTime() + 3600e3);
  const day = new Date(now); day.setUTCHours(0, 0, 0, 0);
  const [o, byModel, hourly] = await Promise.all([
    api.get("overview"),
    api.get("usage/timeseries", { start: new Date(day - 29 * 86400e3).toISOString(), end: end.toISOString(), bucket: "day", group_by: "model", limit: 8 }),
    api.get("usage/timeseries", { start: new Date(end - 48 * 3600e3).toISOString(), end: end.toISOString(), bucket: "hour", tz_offset: f.browserOffset() }),
  ]);
  const d = o.last_24h;
  const errRate = d.count ? d.errors / d.count : null;
  const budget = o.max_budget;
  const fleet = o.fleet;
  main.append(h("div", { class: "tiles" },
    tile("Spend today (UTC)", f.usd(o.spend_today.spend), o.spend_today.spend_picos, `${f.int(o.spend_today.requests)} requests`, "spend_today"),
    tile("Month to date", f.usd(o.spend_month.spend), o.spend_month.spend_picos,
      budget ? h("span", {}, `of ${f.usd(budget)} budget `, meter(o.spend_month.spend, budget)) : "no proxy budget set", "spend_month"),
    tile("Requests (24 h)", f.int(d.count), d.count, null, "requests"),
    tile("Error rate (24 h)", f.pct(errRate), d.errors, `${f.int(d.errors)} failed`, "errors"),
    tile("Latency p50 / p95 (24 h)", `${f.ms(d.p50_ms)} / ${f.ms(d.p95_ms)}`, d.p50_ms, d.overhead_avg_ms != null ? `gateway overhead ${f.ms(d.overhead_avg_ms)} avg` : null, "latency"),
    tile("Data planes", `${fleet.connected} / ${fleet.data_planes}`, fleet.connected,
      `snapshot v${fleet.snapshot_version ?? "—"} · ${fleet.in_sync} in sync`, "fleet")));

  const spendSeries = byModel.series.map(sr => ({ key: sr.key, label: sr.label, values: sr.spend }));
  main.append(h("div", { class: "grid2" },
    card("Spend per day by model (30 days, UTC)", spendSeries.length
      ? bars(byModel.buckets, spendSeries, { fmt: f.usd, title: "Spend per day by model",
          onBar: (sr, bucket) => ctx.go("logs", { model: sr.key, start: bucket + "T00:00:00Z", end: new Date(Date.parse(bucket + "T00:00:00Z") + 86400e3).toISOString() }) })
      : h("div", { class: "empty" }, "No spend in the last 30 days yet.")),
    card(`Requests and errors per hour (48 h, ${f.browserZone()})`, hourly.series.length && hourly.totals.requests
      ? lines(hourly.buckets.map(b => b.slice(5)), [
          { label: "Requests", values: hourly.series[0].requests },
          { label: "Errors", values: hourly.series[0].errors }], { fmt: f.int, title: "Requests and errors per hour" })
      : h("div", { class: "empty" }, "No requests in the last 48 hours."))));

  const topTable = (rows, name, link) => table([
    { label: name, cell: r => link ? h("a", { href: link(r) }, r.label || "(none)") : (r.label || "(none)") },
    { label: "Spend", num: true, cell: r => h("span", { "data-picos": r.spend_picos }, f.usd(r.spend)) },
    { label: "Requests", num: true, cell: r => f.int(r.requests) },
  ], rows, `No ${name.toLowerCase()} spend yet.`);
  main.append(h("div", { class: "grid3" },
    card("Top keys (month to date)", topTable(o.top.key, "Key", keyHref)),
    card("Top models (month to date)", topTable(o.top.model, "Model", r => "#/logs?model=" + encodeURIComponent(r.key))),
    card("Top teams (month to date)", topTable(o.top.team, "Team", null))));

  main.append(card("Budgets above 80 %", table([
    { label: "Kind", cell: r => r.kind },
    { label: "Name", cell: r => r.name || f.short(r.id, 20) },
    { label: "Spend / budget", num: true, cell: r => `${f.usd(r.spend)} / ${f.usd(r.max_budget)}` },
    { label: "", cell: r => h("span", {}, meter(r.spend, r.max_budget), r.spend >= r.max_budget ? status("exhausted", "bad") : status("≥ 80 %", "warn")) },
  ], o.budget_alerts, "No key, team, user or customer is above 80 % of its budget.")));
}
