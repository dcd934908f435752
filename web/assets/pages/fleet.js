// Fleet and settings: every data plane's applied snapshot, heartbeat and
// NACKs; the config file's state (its last load error first, when there is
// one) and the config in force with secrets redacted; the dashboard's
// session settings.

import { h, table } from "../dom.js";
import * as api from "../api.js";
import * as f from "../format.js";
import { header, card, status } from "./common.js";

export default async function fleet(main) {
  main.append(header("Fleet & settings"));
  const d = await api.get("fleet");
  if (d.config.last_error) {
    main.append(h("div", { class: "card error-box", role: "alert", id: "config-error" },
      h("strong", {}, "The config file did not load: "), d.config.last_error,
      h("div", { class: "muted small" }, `The last config that loaded (${f.when(d.config.last_loaded_at)}) stays in force until the file is fixed.`)));
  }
  const snap = d.control_plane.snapshot;
  main.append(card("Control plane", h("dl", { class: "facts" },
    h("dt", {}, "Version"), h("dd", {}, d.control_plane.version),
    h("dt", {}, "Published snapshot"), h("dd", {}, snap ? `v${snap.version} · ${snap.content_hash.slice(0, 12)} · ${f.when(snap.created_at)}` : "none"),
    h("dt", {}, "Write waits for the fleet"), h("dd", {}, `up to ${f.ms(d.control_plane.apply_wait_ms)}`))));
  main.append(card("Data planes", table([
    { label: "Node", cell: n => h("code", {}, n.node_id) },
    { label: "Connection", cell: n => (n.connected ? status("connected", "good") : status("offline", "bad")) },
    { label: "Applied", cell: n => (n.applied_version != null ? `v${n.applied_version}` : "—") },
    { label: "Hash", cell: n => h("code", {}, (n.applied_hash || "—").slice(0, 12)) },
    { label: "In sync", cell: n => (n.in_sync ? status("yes", "good") : status("no", "warn")) },
    { label: "Last heartbeat", cell: n => f.when(n.last_seen) },
    { label: "Last NACK", cell: n => (n.last_nack_error ? h("span", { class: "error" }, `v${n.last_nack_version}: ${n.last_nack_error}`) : "—") },
    { label: "Software", cell: n => n.software_version || "—" },
  ], d.data_planes, "No data plane has connected yet.")));
  const c = d.config;
  main.append(card("Configuration", h("dl", { class: "facts" },
    h("dt", {}, "File"), h("dd", {}, h("code", {}, c.path)),
    h("dt", {}, "Last loaded"), h("dd", {}, f.when(c.last_loaded_at)),
    h("dt", {}, "Last load error"), h("dd", {}, c.last_error ? h("span", { class: "error" }, c.last_error) : "none"),
    h("dt", {}, "Warnings"), h("dd", {}, c.warnings && c.warnings.length ? h("ul", {}, c.warnings.map(w => h("li", {}, w))) : "none"))));
  main.append(card("Configuration in force (secrets redacted)", d.effective_config
    ? h("pre", { class: "config", id: "effective-config", tabindex: "0" }, JSON.stringify(d.effective_config, null, 2))
    : h("div", { class: "empty" }, "No config has loaded yet.")));
  main.append(card("Dashboard", h("dl", { class: "facts" },
    h("dt", {}, "Live sessions"), h("dd", {}, String(d.ui.sessions)),
    h("dt", {}, "Idle timeout"), h("dd", {}, `${Math.round(d.ui.idle_timeout_s / 60)} min`),
    h("dt", {}, "Session lifetime"), h("dd", {}, `${Math.round(d.ui.absolute_timeout_s / 3600)} h`),
    h("dt", {}, "Login"), h("dd", {}, `${d.ui.username} with the ${d.ui.password_source}`))));
}
