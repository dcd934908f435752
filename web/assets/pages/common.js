// Pieces several pages share.

import { h } from "../dom.js";

export function header(title, ...actions) {
  return h("header", { class: "page-head" }, h("h1", {}, title), h("div", { class: "actions" }, actions));
}

// A number tile; `value` is the exact figure (tests and screen readers read
// data-value), `text` how it shows.
export function tile(label, text, value, sub, id) {
  return h("div", { class: "tile", "data-tile": id || label, "data-value": value == null ? "" : String(value) },
    h("div", { class: "tile-label" }, label),
    h("div", { class: "tile-value" }, text),
    sub ? h("div", { class: "tile-sub muted" }, sub) : null);
}

export function card(title, ...body) {
  return h("section", { class: "card" }, title ? h("h2", {}, title) : null, body);
}

// The page a key's row leads to. The master key is no key row (there is no
// key page for it; the server marks its rows `master`): its row leads to its
// logs instead.
export function keyHref(r) {
  return r.master ? "#/logs?key=" + encodeURIComponent(r.key) : "#/keys/" + encodeURIComponent(r.key);
}

export function status(text, kind) {
  return h("span", { class: "badge " + (kind || "") }, text);
}

// ISO range for a preset, in whole UTC hours.
export function presetRange(preset, now = new Date()) {
  const hour = new Date(now); hour.setUTCMinutes(0, 0, 0);
  const end = new Date(hour.getTime() + 3600e3);
  const day = new Date(now); day.setUTCHours(0, 0, 0, 0);
  switch (preset) {
    case "24h": return { start: new Date(end - 24 * 3600e3), end };
    case "7d": return { start: new Date(day - 6 * 86400e3), end };
    case "mtd": return { start: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)), end };
    case "30d": default: return { start: new Date(day - 29 * 86400e3), end };
  }
}
