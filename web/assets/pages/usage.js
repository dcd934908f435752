// Usage: a range (presets or custom days) shown in UTC or the browser's
// timezone, grouped by model, key, team, user, end user or provider:
// spend, tokens and requests over time, totals, CSV export. A bar opens
// the logs of that group and bucket. One request per view.

import { h, table, field } from "../dom.js";
import * as api from "../api.js";
import * as f from "../format.js";
import { bars } from "../chart.js";
import { header, tile, card, presetRange, keyHref } from "./common.js";

const GROUPS = [["global", "Nothing (whole proxy)"], ["model", "Model"], ["key", "Key"], ["team", "Team"], ["user", "User"], ["end_user", "End user"], ["provider", "Provider"]];
const MANY = new Set(["key", "user", "end_user"]);
const LOG_FILTER = { model: "model", key: "key", team: "team_id", user: "user_id", end_user: "end_user" };

export default async function usage(main, ctx) {
  const p = ctx.params;
  const tz = p.get("tz") || "utc";
  const group = p.get("group_by") || "model";
  // Keys, users and end users are many: their default range is month to
  // date, which the monthly rollup answers by an index walk; others' is 30 days.
  const chosen = p.get("range") || "";
  const preset = chosen || (MANY.has(group) ? "mtd" : "30d");
  const bucket = p.get("bucket") || "day";
  let start, end;
  if (preset === "custom" && p.get("from") && p.get("to")) {
    start = new Date(p.get("from") + "T00:00:00Z");
    end = new Date(Date.parse(p.get("to") + "T00:00:00Z") + 86400e3);
  } else {
    ({ start, end } = presetRange(preset));
  }
  const offset = tz === "local" ? f.browserOffset() : 0;
  if (tz === "local" && preset !== "24h") {
    // Whole local days: move the UTC range by the offset.
    start = new Date(start.getTime() - offset * 60e3);
    end = new Date(end.getTime() - offset * 60e3);
  }
  const query = { start: start.toISOString(), end: end.toISOString(), bucket, tz_offset: offset, group_by: group, limit: 10 };

  // A range the user picked stays when the grouping changes; the default follows it.
  const set = (changes) => ctx.go("usage", Object.assign({ range: chosen, tz, group_by: group, bucket, from: p.get("from"), to: p.get("to") }, changes));
  const select = (options, value, onchange) => {
    const el = h("select", { onchange: (e) => onchange(e.target.value) }, options.map(([v, l]) => h("option", { value: v, selected: v === value }, l)));
    return el;
  };
  const from = h("input", { type: "date", value: p.get("from") || start.toISOString().slice(0, 10) });
  const to = h("input", { type: "date", value: p.get("to") || new Date(end - 1).toISOString().slice(0, 10) });
  const csv = h("a", { class: "button", href: api.url("usage/export.csv", query).toString(), download: "tollgate-usage.csv" }, "Export CSV");
  main.append(header("Usage", csv));
  main.append(h("form", { class: "filters", onsubmit: (e) => { e.preventDefault(); set({ range: "custom", from: from.value, to: to.value }); } },
    field("Range", select([["24h", "Last 24 hours"], ["7d", "Last 7 days"], ["30d", "Last 30 days"], ["mtd", "Month to date"], ["custom", "Custom"]], preset, v => set({ range: v }))),
    field("From", from), field("To", to),
    h("button", { type: "submit" }, "Apply"),
    field("Timezone", select([["utc", "UTC"], ["local", f.browserZone()]], tz, v => set({ tz: v }))),
    field("Group by", select(GROUPS, group, v => set({ group_by: v }))),
    field("Bucket", select([["day", "Day"], ["hour", "Hour"]], bucket, v => set({ bucket: v })))));

  const data = await api.get("usage/timeseries", query);
  const t = data.totals;
  main.append(h("p", { class: "muted" }, `${f.when(data.start)} → ${f.when(data.end)} · buckets in ${tz === "local" ? f.browserZone() : "UTC"}`));
  main.append(h("div", { class: "tiles", id: "usage-totals" },
    tile("Spend", f.usd(t.spend), t.spend_picos, null, "spend"),
    tile("Requests", f.int(t.requests), t.requests, `${f.int(t.errors)} failed`, "requests"),
    tile("Tokens in", f.int(t.prompt_tokens), t.prompt_tokens, `${f.int(t.cached_tokens)} cached`, "prompt_tokens"),
    tile("Tokens out", f.int(t.completion_tokens), t.completion_tokens, null, "completion_tokens")));

  const series = (metric) => data.series.map(sr => ({ key: sr.key, label: sr.label, values: sr[metric] }));
  const onBar = group === "global" ? (sr, b) => ctx.go("logs", logRange(b)) : (sr, b) => ctx.go("logs", Object.assign(logRange(b), { [LOG_FILTER[group] || "model"]: sr.key }));
  const logRange = (b) => {
    const s = bucket === "day" ? Date.parse(b + "T00:00:00Z") - offset * 60e3 : Date.parse(b.replace(" ", "T") + ":00Z") - offset * 60e3;
    const len = bucket === "day" ? 86400e3 : 3600e3;
    return { start: new Date(s).toISOString(), end: new Date(s + len).toISOString() };
  };
  const none = h("div", { class: "empty" }, "No usage in this range.");
  main.append(h("div", { class: "grid2" },
    card("Spend", t.requests ? bars(data.buckets, series("spend"), { fmt: f.usd, onBar, title: "Spend over time" }) : none),
    card("Requests", t.requests ? bars(data.buckets, series("requests"), { fmt: f.int, onBar, title: "Requests over time" }) : none.cloneNode(true))));
  main.append(h("div", { class: "grid2" }, card("Tokens", t.requests ? bars(data.buckets, [
    { label: "Tokens in", values: data.buckets.map((_, i) => data.series.reduce((a, sr) => a + sr.prompt_tokens[i], 0)) },
    { label: "Tokens out", values: data.buckets.map((_, i) => data.series.reduce((a, sr) => a + sr.completion_tokens[i], 0)) },
  ], { fmt: f.int, title: "Tokens over time" }) : none.cloneNode(true)),
    card("Errors", t.errors ? bars(data.buckets, series("errors"), { fmt: f.int, onBar, title: "Errors over time" }) : h("div", { class: "empty" }, "No failed requests in this range."))));

  main.append(card(`By ${GROUPS.find(g => g[0] === group)[1].toLowerCase()}`, table([
    { label: "Name", cell: r => group === "key" ? h("a", { href: keyHref(r) }, r.label) : (r.label || "(none)") },
    { label: "Spend", num: true, cell: r => h("span", { "data-picos": r.totals.spend_picos }, f.usd(r.totals.spend)) },
    { label: "Requests", num: true, cell: r => f.int(r.totals.requests) },
    { label: "Errors", num: true, cell: r => f.int(r.totals.errors) },
    { label: "Tokens in", num: true, cell: r => f.int(r.totals.prompt_tokens) },
    { label: "Cached", num: true, cell: r => f.int(r.totals.cached_tokens) },
    { label: "Tokens out", num: true, cell: r => f.int(r.totals.completion_tokens) },
  ], data.series, "No usage in this range.")));
}
