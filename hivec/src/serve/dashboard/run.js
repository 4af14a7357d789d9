// The run page, `/runs/{id}`: the step graph coloured by state, the attempts on a timeline
// per agent instance, a step's details, cancel and retry; kept live by the run's events.
"use strict";

(() => {
  const { el } = Hive;
  // A node of the graph and the room around it, in SVG units.
  const W = 168, H = 24, GAP_X = 44, GAP_Y = 8, PAD = 12;
  const STATES = ["waiting", "running", "succeeded", "failed", "cancelled"];

  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const json = (v) => JSON.stringify(v, null, 2);
  /** The top-level step an event's step (`a`, `a[3]`, `a/b`) belongs to. */
  const topOf = (key) => key.split("/")[0].replace(/\[\d+\]$/, "");

  /** Reads the run's server-sent events with fetch (so the token goes in a header), from
   *  the start and, after a dropped connection, from the last one seen; ends at `run`. */
  async function follow(id, onEvent) {
    let last = null;
    for (;;) {
      try {
        const extra = last ? { "Last-Event-ID": last } : {};
        const res = await fetch(`/v1/runs/${encodeURIComponent(id)}/events`, { headers: Hive.headers(extra) });
        if (res.status === 401 || res.status === 404) return;
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            let name = "message", data = "", eventId = null;
            for (const line of block.split("\n")) {
              if (line.startsWith("id:")) eventId = line.slice(3).trim();
              else if (line.startsWith("event:")) name = line.slice(6).trim();
              else if (line.startsWith("data:")) data += line.slice(5).replace(/^ /, "");
            }
            if (eventId) last = eventId;
            if (data) {
              onEvent(name, JSON.parse(data));
              if (name === "run") return;
            }
          }
        }
      } catch (e) {
        // Dropped: try again from the last event.
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  /** Lays the steps out in columns by layer and draws them into `box` as one SVG, with
   *  pan (drag) and zoom (wheel, buttons). Returns the node elements, by step index. */
  function drawGraph(box, steps, onSelect) {
    const rows = [];
    const at = steps.map((s) => {
      const row = rows[s.layer] || 0;
      rows[s.layer] = row + 1;
      return [PAD + s.layer * (W + GAP_X), PAD + row * (H + GAP_Y)];
    });
    let edges = "", nodes = "";
    steps.forEach((s, i) => {
      const [x, y] = at[i];
      for (const d of s.deps) {
        const [dx, dy] = at[d];
        edges += `M${dx + W},${dy + H / 2}L${x},${y + H / 2}`;
      }
      const label = s.name.length > 20 ? s.name.slice(0, 19) + "…" : s.name;
      nodes += `<g class="node waiting" data-step="${esc(s.name)}" data-state="waiting" data-index="${i}" transform="translate(${x},${y})">` +
        `<rect width="${W}" height="${H}"></rect><text x="8" y="16">${esc(label)}${s.map ? " ⟳" : ""}</text>` +
        `<title>${esc(s.name)}: ${esc(s.calls)}${s.map ? " (for each)" : ""}</title></g>`;
    });
    const width = PAD * 2 + rows.length * (W + GAP_X), height = PAD * 2 + Math.max(1, ...rows) * (H + GAP_Y);
    // A small graph takes only the room it needs; a large one half the window, and pans.
    box.style.height = Math.max(120, Math.min(window.innerHeight * 0.52, height + 16)) + "px";
    box.innerHTML = `<svg xmlns="http://www.w3.org/2000/svg"><g class="view"><path class="edges" d="${edges}"></path>${nodes}</g></svg>`;
    const svg = box.firstChild, view = svg.firstChild;
    const shown = { x: 0, y: 0, k: 1 };
    const apply = () => view.setAttribute("transform", `translate(${shown.x},${shown.y}) scale(${shown.k})`);
    const fit = () => {
      const k = Math.min(1, box.clientWidth / width, box.clientHeight / height);
      // Too small to read: start readable at the top left, the rest a pan away.
      Object.assign(shown, k < 0.45 ? { x: 0, y: 0, k: 1 } : { x: (box.clientWidth - width * k) / 2, y: 0, k });
      apply();
    };
    const zoom = (factor, cx, cy) => {
      const k = Math.min(4, Math.max(0.02, shown.k * factor));
      shown.x = cx - ((cx - shown.x) * k) / shown.k;
      shown.y = cy - ((cy - shown.y) * k) / shown.k;
      shown.k = k;
      apply();
    };
    box.addEventListener("wheel", (e) => {
      e.preventDefault();
      const r = box.getBoundingClientRect();
      zoom(Math.exp(-e.deltaY / 400), e.clientX - r.left, e.clientY - r.top);
    }, { passive: false });
    let drag = null;
    box.addEventListener("pointerdown", (e) => { drag = { x: e.clientX, y: e.clientY, moved: false }; });
    box.addEventListener("pointermove", (e) => {
      if (!drag) return;
      const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
      if (!drag.moved && Math.abs(dx) + Math.abs(dy) < 4) return;
      drag.moved = true;
      shown.x += dx; shown.y += dy; drag.x = e.clientX; drag.y = e.clientY;
      apply();
    });
    box.addEventListener("pointerup", (e) => {
      const node = e.target.closest && e.target.closest(".node");
      if (drag && !drag.moved && node) onSelect(Number(node.dataset.index));
      drag = null;
    });
    fit();
    const centre = () => [box.clientWidth / 2, box.clientHeight / 2];
    return {
      nodes: Array.from(view.querySelectorAll(".node")),
      fit,
      zoomIn: () => zoom(1.25, ...centre()),
      zoomOut: () => zoom(0.8, ...centre()),
      show: (i) => {
        const [x, y] = at[i];
        shown.x = box.clientWidth / 2 - (x + W / 2) * shown.k;
        shown.y = box.clientHeight / 2 - (y + H / 2) * shown.k;
        apply();
      },
    };
  }

  Hive.runPage = async function (main, id) {
    const path = `/v1/runs/${encodeURIComponent(id)}`;
    const [run, graph] = await Promise.all([Hive.api(path), Hive.api(path + "/graph")]);
    const steps = graph.steps.map((info) => ({ info, state: "waiting", attempts: [], nested: [] }));
    const byName = new Map(steps.map((s, i) => [s.info.name, i]));
    const lanes = new Map(); // agent#instance → attempts
    const logs = new Map(); // agent#instance → its stderr lines, {at_ms, line}
    let status = run.status, selected = null;

    const statusBox = el("span", { id: "run-status" });
    const message = el("span", { id: "message", class: "muted" });
    const cancel = el("button", { id: "cancel" }, "Cancel");
    const retry = el("button", { id: "retry" }, "Retry");
    const counts = el("div", { class: "counts", id: "counts" });
    const graphBox = el("div", { class: "graph", id: "graph" });
    const timeline = el("div", { class: "timeline", id: "timeline" });
    const details = el("div", { class: "details", id: "details" }, el("p", { class: "muted" }, "Click a step to see its attempts, input and output."));
    const summary = el("div", { class: "details", id: "summary" });
    const tool = (label, f) => el("button", { onclick: f, type: "button" }, label);
    let g = null;
    const search = el("input", { type: "search", placeholder: "find a step", "aria-label": "find a step" });
    search.addEventListener("change", () => {
      const i = byName.get(search.value.trim());
      if (i !== undefined) { g.show(i); select(i); }
    });
    main.append(
      el("div", { class: "run-head" },
        el("a", { href: "/" }, "← Runs"), el("h1", {}, id), el("span", {}, run.workflow), statusBox,
        el("div", { class: "actions" }, message, cancel, retry)),
      el("div", { class: "run-grid" },
        el("section", { class: "panel wide" },
          el("div", { class: "graph-tools" },
            el("h2", {}, "Steps"), counts,
            tool("Fit", () => g.fit()), tool("+", () => g.zoomIn()), tool("−", () => g.zoomOut()), search,
            el("span", { class: "legend" }, ...STATES.map((s) => el("span", {}, el("i", { style: `background:var(--${s})` }), s)))),
          graphBox),
        el("section", { class: "panel" }, el("h2", {}, "Attempts by agent instance"), timeline),
        el("section", { class: "panel" }, el("h2", {}, "Step"), details),
        el("section", { class: "panel wide" }, el("h2", {}, "Run"), summary)));
    g = drawGraph(graphBox, graph.steps, (i) => select(i));

    function showStatus() {
      statusBox.replaceChildren(Hive.badge(status));
      cancel.disabled = status !== "running";
      retry.disabled = status === "running" || status === "succeeded";
    }
    function showSummary(r) {
      const parts = [el("dl", {},
        el("dt", {}, "submitted"), el("dd", {}, Hive.time(r.submitted_at_ms)),
        el("dt", {}, "took"), el("dd", {}, Hive.duration(r.elapsed_ms) || "running"))];
      if (r.inputs) parts.push(el("h2", {}, "Inputs"), el("pre", {}, json(r.inputs)));
      if (r.output !== undefined) parts.push(el("h2", {}, "Output"), el("pre", { id: "run-output" }, json(r.output)));
      if (r.error) parts.push(el("h2", {}, "Error"), el("pre", { class: "error", id: "run-error" }, r.error.message || json(r.error)));
      summary.replaceChildren(...parts);
    }
    showStatus();
    showSummary(run);

    async function act(verb, button) {
      button.disabled = true;
      message.className = "muted";
      message.textContent = verb + "…";
      try {
        const r = await Hive.api(`${path}/${verb}`, { method: "POST" });
        message.textContent = verb === "cancel" ? "cancelling" : "retried";
        if (verb === "retry" && r && r.id && r.id !== id) location.href = "/runs/" + encodeURIComponent(r.id);
      } catch (e) {
        message.className = "error";
        message.textContent = e.message;
        showStatus();
      }
    }
    cancel.onclick = () => act("cancel", cancel);
    retry.onclick = () => act("retry", retry);

    // Changes are drawn once per frame, however many events came in it.
    const dirty = new Set();
    let frame = 0, ended = false, laneChanged = false, lastLanes = 0;
    function touch(i) {
      dirty.add(i);
      if (!frame) frame = requestAnimationFrame(flush);
    }
    function flush() {
      frame = 0;
      for (const i of dirty) {
        const s = steps[i], node = g.nodes[i];
        if (!node) continue;
        node.setAttribute("class", `node ${s.state}${i === selected ? " selected" : ""}`);
        node.dataset.state = s.state;
      }
      if (selected !== null && dirty.has(selected)) showStep(selected);
      dirty.clear();
      const n = Object.fromEntries(STATES.map((s) => [s, 0]));
      for (const s of steps) n[s.state]++;
      counts.replaceChildren(...STATES.filter((s) => n[s]).map((s) => el("span", { "data-count": s }, `${n[s]} ${s}`)));
      const now = performance.now();
      if (laneChanged && (ended || now - lastLanes > 300)) {
        laneChanged = false;
        lastLanes = now;
        drawTimeline();
      }
      // Marked the frame after the run's end was drawn: the page is complete and painted.
      if (ended && !document.body.dataset.ready) {
        requestAnimationFrame(() => { document.body.dataset.ready = String(Math.round(performance.now())); });
      }
    }

    function drawTimeline() {
      let end = 1;
      const now = Date.now();
      const live = (a) => a.duration_us ?? Math.max(0, (now - a.at_ms) * 1000);
      for (const list of lanes.values()) for (const a of list) end = Math.max(end, a.started_us + live(a));
      const names = [...lanes.keys()].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
      const bar = (a) =>
        `<b class="${a.state}" data-step="${esc(a.step)}" style="left:${(a.started_us / end) * 100}%;width:${(live(a) / end) * 100}%"` +
        ` title="${esc(a.step)} #${a.attempt} ${a.state} ${Hive.duration(Math.round(live(a) / 1000))}"></b>`;
      timeline.innerHTML = names.map((who) => {
        // An instance running several tasks at once gets a row for each, as the trace does.
        const rows = [], ends = [];
        for (const a of [...lanes.get(who)].sort((x, y) => x.started_us - y.started_us)) {
          let r = ends.findIndex((e) => e <= a.started_us);
          if (r < 0) { r = ends.length; ends.push(0); rows.push([]); }
          ends[r] = a.started_us + live(a);
          rows[r].push(a);
        }
        return rows.map((row, r) =>
          `<div class="lane"><span class="who">${r ? "" : esc(who)}</span><span class="track">${row.map(bar).join("")}</span></div>`).join("");
      }).join("") || `<p class="muted">No attempts yet.</p>`;
    }
    timeline.addEventListener("click", (e) => {
      const i = e.target.dataset && byName.get(topOf(e.target.dataset.step || ""));
      if (i !== undefined) { g.show(i); select(i); }
    });

    function select(i) {
      const before = selected;
      selected = i;
      if (before !== null) touch(before);
      touch(i);
      showStep(i);
    }
    function showStep(i) {
      const s = steps[i];
      const parts = [el("h2", {}, s.info.name), el("dl", {},
        el("dt", {}, "state"), el("dd", { id: "step-state" }, Hive.badge(s.state)),
        el("dt", {}, "calls"), el("dd", {}, `${s.info.calls} (${s.info.kind}${s.info.map ? ", for each" : ""})`))];
      if (s.attempts.length) {
        parts.push(el("strong", {}, "Attempts"), el("ol", {}, ...s.attempts.map((a) =>
          el("li", {}, `${a.agent} #${a.attempt}: ${a.state}`,
            a.duration_us !== undefined ? ` in ${Hive.duration(Math.round(a.duration_us / 1000))}` : "",
            a.error ? el("div", { class: "error" }, a.error) : null))));
      }
      // An instance's lines while it ran one of the step's attempts (it may have run others).
      const lines = s.attempts.flatMap((a) => (logs.get(a.agent) || [])
        .filter((l) => l.at_ms >= a.from_ms - 5 && l.at_ms <= (a.to_ms ?? Infinity))
        .map((l) => `${a.agent}  ${l.line}`));
      if (lines.length) parts.push(el("strong", {}, "Agent log"), el("pre", { id: "step-log" }, lines.join("\n")));
      if (s.input !== undefined) parts.push(el("strong", {}, "Input"), el("pre", {}, json(s.input)));
      if (s.output !== undefined) parts.push(el("strong", {}, "Output"), el("pre", { id: "step-output" }, json(s.output)));
      if (s.error) parts.push(el("strong", {}, "Error"), el("pre", { class: "error" }, s.error));
      if (s.nested.length) {
        parts.push(el("strong", {}, "Steps of the called workflow"), el("ol", {}, ...s.nested.map((n) =>
          el("li", {}, `${n.step}: ${n.state}`, n.error ? el("div", { class: "error" }, n.error) : null))));
      }
      details.replaceChildren(...parts);
    }

    function onEvent(name, d) {
      if (name === "run") {
        status = d.status;
        ended = true;
        if (message.textContent === "cancelling") message.textContent = "";
        showStatus();
        showSummary(Object.assign({}, run, d));
        // Steps left running when the run ended were stopped with it.
        steps.forEach((s, i) => { if (s.state === "running") { s.state = "cancelled"; touch(i); } });
        laneChanged = true;
        touch(0);
        return;
      }
      if (name === "log") {
        if (!logs.has(d.agent)) logs.set(d.agent, []);
        logs.get(d.agent).push(d);
        if (selected !== null && steps[selected].attempts.some((a) => a.agent === d.agent)) touch(selected);
        return;
      }
      const i = byName.get(topOf(d.step));
      if (i === undefined) return;
      const s = steps[i];
      if (name === "step") {
        if (d.step === s.info.name) {
          s.state = d.state;
          if ("output" in d) s.output = d.output;
          if (d.error) s.error = d.error;
        } else {
          const known = s.nested.find((n) => n.step === d.step);
          if (known) Object.assign(known, d); else s.nested.push(Object.assign({}, d));
        }
      } else if (name === "attempt") {
        let a = d.state === "started" ? null
          : s.attempts.find((x) => x.state === "started" && x.step === d.step && x.agent === d.agent && x.attempt === d.attempt);
        if (!a) {
          a = Object.assign({ from_ms: d.at_ms }, d);
          s.attempts.push(a);
          if (!lanes.has(d.agent)) lanes.set(d.agent, []);
          lanes.get(d.agent).push(a);
        } else {
          Object.assign(a, d, { to_ms: d.at_ms });
        }
        if (d.input !== undefined && s.input === undefined) s.input = d.input;
        laneChanged = true;
      }
      touch(i);
    }
    if (steps.length === 0) touch(0);
    follow(id, onEvent);
    // Attempts still running grow on the timeline.
    setInterval(() => { if (!ended && lanes.size) { laneChanged = true; touch(0); } }, 1000);
  };
})();
