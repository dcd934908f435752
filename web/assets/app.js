// Boot, login, layout and the hash router (`#/keys`, `#/logs?model=x`):
// hash routes need no server fallback and survive any base path.

import { h, clear, field } from "./dom.js";
import * as api from "./api.js";
import overview from "./pages/overview.js";
import usage from "./pages/usage.js";
import keys from "./pages/keys.js";
import keyDetail from "./pages/key_detail.js";
import { teams, teamDetail, users, customers } from "./pages/org.js";
import logs from "./pages/logs.js";
import models from "./pages/models.js";
import fleet from "./pages/fleet.js";

const PAGES = [
  { path: "overview", label: "Overview", render: overview },
  { path: "usage", label: "Usage", render: usage },
  { path: "keys", label: "Keys", render: keys },
  { path: "teams", label: "Teams", render: teams },
  { path: "users", label: "Users", render: users },
  { path: "customers", label: "Customers", render: customers },
  { path: "models", label: "Models", render: models },
  { path: "logs", label: "Logs", render: logs },
  { path: "fleet", label: "Fleet & settings", render: fleet },
];

const root = document.getElementById("app");
let session = null;
let config = {};
let cleanup = null;

export function route() {
  const raw = location.hash.replace(/^#\/?/, "");
  const [path, query] = raw.split("?");
  return { parts: (path || "overview").split("/").map(decodeURIComponent), params: new URLSearchParams(query || "") };
}

export function go(path, params) {
  const q = params ? new URLSearchParams(Object.entries(params).filter(([, v]) => v !== "" && v != null)).toString() : "";
  location.hash = "#/" + path + (q ? "?" + q : "");
}

function loginPage(message) {
  clear(root);
  root.className = "login";
  const user = h("input", { name: "username", autocomplete: "username", value: "admin", required: true });
  const pass = h("input", { name: "password", type: "password", autocomplete: "current-password", required: true });
  const error = h("p", { class: "error", role: "alert" }, message || "");
  const form = h("form", {
    class: "card login-card",
    onsubmit: async (e) => {
      e.preventDefault();
      error.textContent = "";
      const button = form.querySelector("button");
      button.disabled = true;
      try {
        const r = await api.call("login", { method: "POST", body: { username: user.value, password: pass.value }, quiet401: true });
        pass.value = "";
        start(r.data);
      } catch (err) {
        error.textContent = err.message;
      } finally {
        button.disabled = false;
      }
    },
  },
    h("div", { class: "brand big" }, h("span", { class: "logo", "aria-hidden": "true" }, "T"), "Tollgate"),
    h("h1", {}, "Log in"),
    h("p", { class: "muted" }, "Username ", h("code", {}, "admin"), " and the proxy's master key (or UI_USERNAME / UI_PASSWORD). A viewer logs in with their user id and key."),
    field("Username", user),
    field("Password or key", pass),
    error,
    h("button", { class: "primary", type: "submit" }, "Log in"),
    h("p", { class: "muted small" }, "Version ", config.version || "?"));
  root.append(form);
  user.focus();
}

async function logout() {
  try { await api.post("logout"); } catch { /* the session may be gone already */ }
  session = null;
  api.setSession(null);
  loginPage("You are logged out.");
}

function layout() {
  root.className = "shell";
  clear(root);
  const nav = h("nav", { class: "sidebar", "aria-label": "Pages" },
    h("div", { class: "brand" }, h("span", { class: "logo", "aria-hidden": "true" }, "T"), "Tollgate"),
    h("ul", {}, PAGES.map(p => h("li", {}, h("a", { href: "#/" + p.path, "data-page": p.path }, p.label)))),
    h("div", { class: "who" },
      h("div", {}, h("strong", {}, session.user_id)),
      h("div", { class: "muted small" }, session.role === "proxy_admin" ? "Admin" : "Viewer (read only)"),
      h("button", { class: "link", type: "button", onclick: logout }, "Log out")));
  const main = h("main", { id: "main", tabindex: "-1" });
  root.append(nav, main);
  return main;
}

async function render() {
  if (!session) return;
  const main = document.getElementById("main") || layout();
  const r = route();
  let page = PAGES.find(p => p.path === r.parts[0]);
  let renderer = page ? page.render : null;
  if (r.parts[0] === "keys" && r.parts[1]) renderer = keyDetail;
  if (r.parts[0] === "teams" && r.parts[1]) renderer = teamDetail;
  if (!renderer) { page = PAGES[0]; renderer = overview; }
  document.querySelectorAll(".sidebar a").forEach(a => a.classList.toggle("active", a.dataset.page === r.parts[0]));
  if (cleanup) { try { cleanup(); } catch { /* ignore */ } cleanup = null; }
  // A render still waiting for its data when the next one starts writes
  // into its own view, which is no longer in the page.
  clear(main);
  const view = h("div", { class: "view" });
  main.append(view);
  const ctx = { session, canWrite: session.role === "proxy_admin", params: r.params, parts: r.parts, go, onLeave: (fn) => { cleanup = fn; } };
  try {
    await renderer(view, ctx);
    // Every widget has its data: what a test (or a screen reader) waits on.
    view.dataset.ready = "true";
  } catch (err) {
    if (err.status !== 401) view.append(h("div", { class: "card error-box", role: "alert" }, "Could not load this page: ", err.message));
  }
}

function start(s) {
  if (!location.hash) history.replaceState(null, "", "#/overview");
  session = s;
  api.setSession(s);
  layout();
  render();
}

api.whenLoggedOut(() => {
  if (cleanup) { try { cleanup(); } catch { /* ignore */ } cleanup = null; }
  session = null;
  api.setSession(null);
  loginPage("Your session ended: log in again.");
});
window.addEventListener("hashchange", render);

(async () => {
  try { config = await api.get("../config.json").catch(() => ({})); } catch { config = {}; }
  try {
    const r = await api.call("session", { quiet401: true });
    if (r.data && r.data.logged_in) start(r.data); else loginPage();
  } catch {
    loginPage();
  }
})();
