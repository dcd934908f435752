// Small DOM helpers: elements built with properties (never innerHTML with
// data, so nothing from the API is ever parsed as HTML).

export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v == null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "text") el.textContent = v;
    else if (k in el && typeof v !== "string") el[k] = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

const SVG = "http://www.w3.org/2000/svg";
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v != null) el.setAttribute(k, v);
  for (const c of children.flat()) if (c != null) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

// A table: columns [{label, cell(row) -> node|string, num?}], rows, and the
// text shown when there are none.
export function table(columns, rows, empty, onRow) {
  if (!rows.length) return h("div", { class: "empty" }, empty);
  return h("div", { class: "table-wrap" },
    h("table", {},
      h("thead", {}, h("tr", {}, columns.map(c => h("th", { class: c.num ? "num" : "", scope: "col" }, c.label)))),
      h("tbody", {}, rows.map(r => {
        const tr = h("tr", {}, columns.map(c => h("td", { class: c.num ? "num" : "" }, c.cell(r))));
        if (onRow) {
          tr.classList.add("clickable");
          tr.tabIndex = 0;
          tr.addEventListener("click", (e) => { if (!e.target.closest("button,a")) onRow(r); });
          tr.addEventListener("keydown", (e) => { if (e.key === "Enter" && e.target === tr) onRow(r); });
        }
        return tr;
      }))));
}

// A modal dialog (the native <dialog>: focus is trapped, Escape closes it).
// `build(close)` returns the body; the dialog is removed from the DOM when
// closed, so nothing it showed stays in the page.
export function dialog(title, build) {
  const d = h("dialog", { class: "dialog", "aria-labelledby": "dialog-title" });
  const close = () => { d.close(); };
  d.addEventListener("close", () => d.remove());
  append(d, [
    h("div", { class: "dialog-head" },
      h("h2", { id: "dialog-title" }, title),
      h("button", { class: "icon", type: "button", "aria-label": "Close", onclick: close }, "×")),
    build(close),
  ]);
  document.body.append(d);
  d.showModal();
  const first = d.querySelector("input,select,textarea,button:not(.icon)");
  if (first) first.focus();
  return d;
}

export function field(label, input, hint) {
  const id = "f-" + Math.random().toString(36).slice(2, 9);
  input.id = id;
  return h("div", { class: "field" },
    h("label", { for: id }, label),
    input,
    hint ? h("small", { class: "muted" }, hint) : null);
}

export function meter(value, max) {
  if (max == null || !(max > 0)) return null;
  const pct = Math.min(100, (100 * value) / max);
  const bar = h("span", { class: "meter-fill" + (pct >= 100 ? " over" : pct >= 80 ? " warn" : "") });
  bar.style.width = pct.toFixed(1) + "%";
  return h("span", { class: "meter", role: "meter", "aria-valuenow": pct.toFixed(0), "aria-valuemin": "0", "aria-valuemax": "100", title: pct.toFixed(1) + " %" }, bar);
}

let toastTimer;
export function toast(text, kind) {
  let t = document.getElementById("toast");
  if (!t) { t = h("div", { id: "toast", role: "status", "aria-live": "polite" }); document.body.append(t); }
  t.className = "toast " + (kind || "");
  t.textContent = text;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.className = "toast hidden"; }, 6000);
}
