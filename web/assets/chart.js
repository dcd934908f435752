// Hand-drawn SVG charts: stacked bars and lines, with a legend and a
// <title> per mark (hover or screen reader). No library, no inline style.

import { h, s } from "./dom.js";

export const PALETTE = ["#2f6fed", "#16a34a", "#f59e0b", "#db2777", "#7c3aed", "#0891b2", "#dc2626", "#65a30d", "#ea580c", "#475569"];

const PAD = { l: 96, r: 10, t: 12, b: 30 };
// viewBox sizes: a half-width card's chart, and a full-width one (the same
// text size on screen either way).
const SIZE = { normal: [640, 230], wide: [1280, 300] };
let W = 640, H = 230;
function size(wide) { [W, H] = SIZE[wide ? "wide" : "normal"]; }

function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  const m = v / p;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

function axes(svg, max, fmt, labels) {
  const ih = H - PAD.t - PAD.b;
  for (let i = 0; i <= 4; i++) {
    const y = PAD.t + ih - (ih * i) / 4;
    svg.append(s("line", { x1: PAD.l, x2: W - PAD.r, y1: y, y2: y, class: "grid" }));
    svg.append(s("text", { x: PAD.l - 6, y: y + 4, class: "tick", "text-anchor": "end" }, fmt((max * i) / 4)));
  }
  const iw = W - PAD.l - PAD.r;
  const every = Math.max(1, Math.ceil(labels.length / 8));
  labels.forEach((l, i) => {
    if (i % every) return;
    const x = PAD.l + (iw * (i + 0.5)) / labels.length;
    svg.append(s("text", { x, y: H - 8, class: "tick", "text-anchor": "middle" }, l.length >= 10 ? l.slice(5) : l));
  });
}

function legend(series) {
  return h("ul", { class: "legend" }, series.map((sr, i) => {
    const sw = h("span", { class: "swatch c" + (i % PALETTE.length) });
    return h("li", {}, sw, sr.label);
  }));
}

export function bars(labels, series, { fmt = String, onBar, title, wide } = {}) {
  size(wide);
  const totals = labels.map((_, i) => series.reduce((a, sr) => a + (sr.values[i] || 0), 0));
  const max = niceMax(Math.max(0, ...totals));
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", "aria-label": title || "chart" });
  axes(svg, max, fmt, labels);
  const iw = W - PAD.l - PAD.r, ih = H - PAD.t - PAD.b;
  const bw = Math.max(2, (iw / labels.length) * 0.7);
  labels.forEach((label, i) => {
    let acc = 0;
    series.forEach((sr, k) => {
      const v = sr.values[i] || 0;
      if (!v) return;
      const y0 = PAD.t + ih - (ih * acc) / max;
      acc += v;
      const y1 = PAD.t + ih - (ih * acc) / max;
      const x = PAD.l + (iw * (i + 0.5)) / labels.length - bw / 2;
      const rect = s("rect", {
        x: x.toFixed(1), y: y1.toFixed(1), width: bw.toFixed(1), height: Math.max(0.5, y0 - y1).toFixed(1),
        fill: PALETTE[k % PALETTE.length], class: "bar" + (onBar ? " link" : ""),
        "data-bucket": label, "data-series": sr.key ?? sr.label, tabindex: onBar ? "0" : null,
      }, s("title", {}, `${sr.label} · ${label}: ${fmt(v)}`));
      if (onBar) {
        rect.addEventListener("click", () => onBar(sr, label));
        rect.addEventListener("keydown", (e) => { if (e.key === "Enter") onBar(sr, label); });
      }
      svg.append(rect);
    });
  });
  return h("figure", { class: "chart-box" }, svg, series.length > 1 ? legend(series) : null);
}

export function lines(labels, series, { fmt = String, title, wide } = {}) {
  size(wide);
  const max = niceMax(Math.max(0, ...series.flatMap(sr => sr.values)));
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", "aria-label": title || "chart" });
  axes(svg, max, fmt, labels);
  const iw = W - PAD.l - PAD.r, ih = H - PAD.t - PAD.b;
  series.forEach((sr, k) => {
    const pts = sr.values.map((v, i) => `${(PAD.l + (iw * (i + 0.5)) / labels.length).toFixed(1)},${(PAD.t + ih - (ih * (v || 0)) / max).toFixed(1)}`);
    svg.append(s("polyline", { points: pts.join(" "), fill: "none", stroke: PALETTE[k % PALETTE.length], "stroke-width": "2", class: "line" }));
    sr.values.forEach((v, i) => {
      if (!v) return;
      const [x, y] = pts[i].split(",");
      svg.append(s("circle", { cx: x, cy: y, r: "2.5", fill: PALETTE[k % PALETTE.length] }, s("title", {}, `${sr.label} · ${labels[i]}: ${fmt(v)}`)));
    });
  });
  return h("figure", { class: "chart-box" }, svg, legend(series));
}
