// The dashboard of `hivec serve`: the token, the API, the runs list and the agents page.
// The run page is run.js. Every page is drawn from the API; nothing is fetched elsewhere.
"use strict";

const Hive = (() => {
  const TOKEN = "hive-token";

  // A `?token=` in a link is taken once, kept for this tab, and removed from the address.
  const url = new URL(location.href);
  if (url.searchParams.has("token")) {
    sessionStorage.setItem(TOKEN, url.searchParams.get("token"));
    url.searchParams.delete("token");
    history.replaceState(null, "", url.pathname + url.search + url.hash);
  }

  function headers(extra) {
    const h = Object.assign({}, extra);
    const token = sessionStorage.getItem(TOKEN);
    if (token) h.Authorization = "Bearer " + token;
    return h;
  }

  /** The JSON of `path`, or an Error with the server's message; a 401 asks for a token. */
  async function api(path, options = {}) {
    const res = await fetch(path, { ...options, headers: headers(options.headers) });
    const body = await res.json().catch(() => null);
    if (res.status === 401) login(body && body.error ? body.error.message : "");
    if (!res.ok) {
      const err = new Error(body && body.error ? body.error.message : `${res.status} ${res.statusText}`);
      err.status = res.status;
      throw err;
    }
    return body;
  }

  function login(message) {
    const form = document.getElementById("login");
    if (!form.hidden) return;
    document.getElementById("main").hidden = true;
    form.hidden = false;
    document.getElementById("login-error").textContent =
      sessionStorage.getItem(TOKEN) ? message : "";
    form.onsubmit = (e) => {
      e.preventDefault();
      sessionStorage.setItem(TOKEN, document.getElementById("login-token").value.trim());
      location.reload();
    };
  }

  /** An element: `el("td", {class: "id"}, "text", child)`. */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children) {
      if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
    }
    return node;
  }

  function badge(status) {
    return el("span", { class: "badge " + status, "data-status": status }, status);
  }

  function time(ms) {
    return ms ? new Date(ms).toLocaleString() : "";
  }

  function duration(ms) {
    if (ms === undefined || ms === null) return "";
    if (ms < 1000) return ms + " ms";
    if (ms < 60000) return (ms / 1000).toFixed(1) + " s";
    return Math.floor(ms / 60000) + " min " + Math.round((ms % 60000) / 1000) + " s";
  }

  const STATUSES = ["running", "succeeded", "failed", "cancelled"];

  /** `/`: the runs, newest first, filtered by `?status=`, refreshed every 2 s. */
  async function runsPage(main) {
    const status = new URL(location.href).searchParams.get("status") || "";
    const select = el("select", { id: "status-filter", "aria-label": "status" },
      el("option", { value: "" }, "all statuses"),
      ...STATUSES.map((s) => el("option", { value: s, selected: s === status }, s)));
    select.onchange = () => {
      const u = new URL(location.href);
      if (select.value) u.searchParams.set("status", select.value);
      else u.searchParams.delete("status");
      history.replaceState(null, "", u);
      refresh();
    };
    const body = el("tbody");
    const note = el("p", { class: "muted" });
    main.append(
      el("div", { class: "toolbar" }, el("h1", {}, "Runs"), select),
      el("div", { class: "panel" },
        el("table", { id: "runs" },
          el("thead", {}, el("tr", {}, ...["run", "workflow", "status", "submitted", "took"].map((h) => el("th", {}, h)))),
          body),
        note));
    async function refresh() {
      const query = select.value ? "?status=" + encodeURIComponent(select.value) : "";
      try {
        const { runs } = await api("/v1/runs" + query);
        body.replaceChildren(...runs.reverse().map((r) =>
          el("tr", { "data-run": r.id },
            el("td", { class: "id" }, el("a", { href: "/runs/" + encodeURIComponent(r.id) }, r.id)),
            el("td", {}, r.workflow),
            el("td", {}, badge(r.status)),
            el("td", {}, time(r.submitted_at_ms)),
            el("td", {}, duration(r.elapsed_ms)))));
        note.textContent = runs.length ? "" : "No runs" + (select.value ? " " + select.value : "") + " yet.";
      } catch (e) {
        note.textContent = e.message;
      }
    }
    await refresh();
    setInterval(refresh, 2000);
  }

  /** `/agents`: the agents the workflows' plans declare, with what the runs in flight have of
   *  them now (`/v1/agents`): instances by state, tasks in flight, slots and utilisation; and
   *  with `--redis` the workers, with the age of their last heartbeat. */
  async function agentsPage(main) {
    main.append(el("h1", {}, "Agents"));
    let declared, live, workers, queues, letters;
    try {
      declared = (await api("/v1/workflows")).agents;
      const view = await api("/v1/agents");
      live = view.agents || [];
      workers = view.workers;
      queues = view.queues || {};
      letters = (await api("/v1/dlq")).letters || [];
    } catch (e) {
      if (e.status === 401) return;
      throw e;
    }
    const now = new Map(live.map((a) => [a.name, a]));
    const names = [...new Set([...declared.map((a) => a.name), ...live.map((a) => a.name)])];
    const plan = new Map(declared.map((a) => [a.name, a]));
    const states = (a) => {
      if (!a) return "none";
      const by = {};
      for (const i of a.instances) by[i.state] = (by[i.state] || 0) + 1;
      return a.instances.length + " (" + Object.entries(by).map(([k, n]) => n + " " + k).join(", ") + ")";
    };
    const percent = (u) => (u === null || u === undefined ? "" : Math.round(u * 100) + "%");
    const heard = (a) => {
      const ages = (a ? a.instances : []).map((i) => i.heartbeat_age_ms).filter((m) => m !== null && m !== undefined);
      return ages.length ? duration(Math.max(...ages)) + " ago" : "";
    };
    const columns = ["agent", "kind", "provides", "concurrency", "instances now", "in flight", "slots", "utilisation", "last heard"];
    const row = (name) => {
      const p = plan.get(name) || {};
      const a = now.get(name);
      return [name, p.kind || "", (p.provides || []).join(", "), p.concurrency ?? "",
        states(a), a ? a.in_flight : 0, a && a.slots !== null ? a.slots : "", a ? percent(a.utilisation) : "", heard(a)];
    };
    main.append(
      el("p", { class: "muted" }, names.length + " agents; " + live.length + " with instances in the runs in flight."),
      el("div", { class: "panel" },
        el("table", { id: "agents" },
          el("thead", {}, el("tr", {}, ...columns.map((c) => el("th", {}, c)))),
          el("tbody", {}, ...names.map((name) =>
            el("tr", { "data-agent": name }, ...row(name).map((v) => el("td", {}, String(v)))))))));
    if (workers) main.append(workersPanel(workers));
    main.append(queuesPanel(queues), lettersPanel(letters));
  }

  /** Tasks waiting now per target, over the runs in flight. */
  function queuesPanel(queues) {
    const rows = Object.entries(queues);
    return el("div", {},
      el("h2", {}, "Queues"),
      el("p", { class: "muted" }, rows.reduce((n, [, d]) => n + d, 0) + " tasks waiting."),
      rows.length ? el("div", { class: "panel" },
        el("table", { id: "queues" },
          el("thead", {}, el("tr", {}, el("th", {}, "target"), el("th", {}, "waiting"))),
          el("tbody", {}, ...rows.map(([target, depth]) =>
            el("tr", { "data-target": target }, el("td", {}, target), el("td", {}, String(depth))))))) : null);
  }

  /** The dead letters, newest first; with `--redis` each can be requeued, then its run
   *  retried. */
  function lettersPanel(letters) {
    const note = el("p", { class: "muted" }, letters.length + " dead letters.");
    const requeue = (letter, button) => async () => {
      button.disabled = true;
      try {
        const r = await api("/v1/dlq/" + encodeURIComponent(letter.id) + "/requeue", { method: "POST" });
        note.replaceChildren("Requeued " + r.requeued + ": it is sent again when ",
          el("a", { href: "/runs/" + encodeURIComponent(r.run) }, "its run"), " is retried.");
        button.closest("tr").remove();
      } catch (e) {
        note.textContent = e.message;
        button.disabled = false;
      }
    };
    const columns = ["run", "agent", "capability", "deliveries", "error", ""];
    return el("div", {},
      el("h2", {}, "Dead letters"),
      note,
      letters.length ? el("div", { class: "panel" },
        el("table", { id: "letters" },
          el("thead", {}, el("tr", {}, ...columns.map((c) => el("th", {}, c)))),
          el("tbody", {}, ...letters.slice().reverse().map((l) => {
            const button = l.id ? el("button", { class: "requeue" }, "Requeue") : null;
            if (button) button.onclick = requeue(l, button);
            return el("tr", { "data-letter": l.id || "" },
              el("td", { class: "id" }, el("a", { href: "/runs/" + encodeURIComponent(l.run) }, l.run)),
              el("td", {}, l.agent || ""), el("td", {}, l.capability || ""),
              el("td", {}, String(l.deliveries ?? "")), el("td", {}, l.error || ""),
              el("td", {}, button));
          })))) : null);
  }

  /** The workers of distributed mode: what each hosts and how old its last heartbeat is. */
  function workersPanel(workers) {
    const hosted = (w) => Object.entries(w.agents)
      .map(([name, a]) => name + " ×" + a.instances + (a.free !== undefined ? " (" + a.free + " free)" : ""))
      .join(", ");
    const age = (w) => (w.heartbeat_age_ms === null ? "" : duration(w.heartbeat_age_ms));
    const columns = ["worker", "pid", "hosts", "heartbeat", "last heartbeat", "state"];
    return el("div", {},
      el("h2", {}, "Workers"),
      el("p", { class: "muted" }, workers.length + " registered in Redis."),
      el("div", { class: "panel" },
        el("table", { id: "workers" },
          el("thead", {}, el("tr", {}, ...columns.map((c) => el("th", {}, c)))),
          el("tbody", {}, ...workers.map((w) =>
            el("tr", { "data-worker": w.id },
              ...[w.id, w.pid ?? "", hosted(w), w.heartbeat_ms === null ? "" : duration(w.heartbeat_ms),
                age(w) ? age(w) + " ago" : "", w.stale ? "stale" : "live"].map((v) => el("td", {}, String(v)))))))));
  }

  async function start() {
    const main = document.getElementById("main");
    const path = location.pathname;
    if (sessionStorage.getItem(TOKEN)) {
      const out = document.getElementById("logout");
      out.hidden = false;
      out.onclick = () => { sessionStorage.removeItem(TOKEN); location.reload(); };
    }
    const run = path.match(/^\/runs\/([^/]+)$/);
    try {
      if (run) {
        await Hive.runPage(main, decodeURIComponent(run[1]));
      } else if (path === "/agents") {
        document.getElementById("nav-agents").classList.add("here");
        await agentsPage(main);
      } else {
        document.getElementById("nav-runs").classList.add("here");
        await runsPage(main);
      }
    } catch (e) {
      if (e.status !== 401) main.append(el("p", { class: "error" }, e.message));
    }
  }

  return { api, headers, el, badge, time, duration, start };
})();

window.addEventListener("DOMContentLoaded", () => Hive.start());
