// GraphStepper's front end: one ES module, used two ways.
//  * As an anywidget module (`export default { render }`): the model is the kernel-synced widget model.
//  * Inlined into a self-contained HTML snippet (stepper.py turns `export default` into a variable): the model is
//    a small local object holding the state embedded as JSON, so exported HTML steps with no kernel and no CDN.
// Everything a step shows was computed in Python (widgets/steps.py). The SVG is inserted once; a step only
// rewrites the text of the nodes it touches and moves a few CSS classes, which keeps a step far under a frame
// even on a 500-node graph.
// Keyboard and screen readers: every control is a native button/select/range in Tab order; on the stepper
// itself (and its graph) Left/Right step, Home/End jump, Space plays or pauses. A polite live region says each
// step in words (the step's `speech`, widgets/speech.py); the text table is the graph for those who cannot
// see the drawing, and the reduced-motion setting turns the highlight transitions off (stepper.css).

const SLOT_CLASS = ["adc-val", "adc-der"];
const STATE_CLASSES = ["adc-s-val", "adc-s-der", "adc-s-done"];
const SPEEDS = [0.5, 1, 2, 4, 8, 16];

function localModel(state) {
  // The subset of the anywidget model API the view uses, for pages with no kernel.
  const listeners = {};
  return {
    get: (key) => state[key],
    set: (key, value) => {
      state[key] = value;
      (listeners["change:" + key] || []).slice().forEach((cb) => cb());
    },
    save_changes: () => {},
    on: (name, cb) => (listeners[name] = listeners[name] || []).push(cb),
    off: (name, cb) => {
      listeners[name] = (listeners[name] || []).filter((f) => f !== cb);
    },
  };
}

function make(tag, attrs, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

let uniq = 0;

function mount(root, model) {
  const t0 = performance.now();
  const steps = model.get("steps");
  const n = steps.length;
  const staticSvg = root.querySelector("svg.adc-graph");
  const staticTable = root.querySelector("details.adc-table");
  const uid = "adcs" + (++uniq) + "-" + Math.random().toString(36).slice(2, 8);
  const heading = model.get("heading") || "";
  const reduceMotion = typeof matchMedia === "function" && matchMedia("(prefers-reduced-motion: reduce)").matches;
  root.dataset.motion = reduceMotion ? "reduce" : "full";
  root.classList.add("adc-stepper");
  root.setAttribute("tabindex", "0");
  root.setAttribute("role", "group");
  root.setAttribute("aria-label", "Graph stepper: " + heading);
  root.setAttribute("aria-describedby", uid + "-keys");
  // JupyterLab and Notebook 7 (Lumino) leave keys pressed in here to the stepper, not to notebook shortcuts.
  root.setAttribute("data-lm-suppress-shortcuts", "true");

  const header = make("div", { class: "adc-header" });
  header.append(make("span", { class: "adc-heading" }, heading));
  const counter = make("span", { class: "adc-counter" });
  header.append(counter);

  const bar = make("div", { class: "adc-toolbar", role: "group", "aria-label": "Step controls" });
  const btn = (cls, icon, label, title) => {
    const b = make("button", { class: "adc-btn " + cls, type: "button", title });
    const i = make("span", { class: "adc-icon", "aria-hidden": "true" }, icon);
    const t = make("span", { class: "adc-btn-label" }, label);
    if (cls === "adc-next") b.append(t, i);
    else b.append(i, t);
    bar.append(b);
    return b;
  };
  const resetBtn = btn("adc-reset", "\u21ba", "Reset", "Back to the start (Home)");
  const prevBtn = btn("adc-prev", "\u25c0", "Previous", "Previous step (Left arrow)");
  const playBtn = btn("adc-play", "\u25b6", "Play", "Play or pause the steps (Space)");
  const nextBtn = btn("adc-next", "\u25b6", "Next", "Next step (Right arrow)");
  const speedLabel = make("label", { class: "adc-speed-label" }, "Speed ");
  const speed = make("select", { class: "adc-speed", title: "Steps per second" });
  for (const s of SPEEDS) speed.append(make("option", { value: String(s) }, s + " step/s"));
  speed.value = String(model.get("speed") || 2);
  if (speed.selectedIndex < 0) speed.value = "2";
  speedLabel.append(speed);
  bar.append(speedLabel);
  const slider = make("input", { class: "adc-slider", type: "range", min: "0", max: String(n), step: "1",
                                 value: "0", "aria-label": "Step" });
  bar.append(slider);

  // The drawing scrolls when the graph is wide, so its box takes focus (keys step there too).
  const scroller = make("div", { class: "adc-graph-wrap", tabindex: "0", role: "region",
                                 "aria-label": "Graph drawing of " + heading + " (the table below says the same in text)" });
  if (staticSvg) scroller.append(staticSvg);
  else scroller.innerHTML = model.get("svg");
  const svg = scroller.querySelector("svg");

  const panel = make("div", { class: "adc-panel" });
  const panelTitle = make("div", { class: "adc-step-title" });
  const panelLines = make("div", { class: "adc-lines" });
  panel.append(panelTitle, panelLines);
  // What a screen reader says: one sentence per step, politely, after whatever it is reading.
  const live = make("div", { class: "adc-live", role: "status", "aria-live": "polite", "aria-atomic": "true" });
  const keys = make("div", { class: "adc-keys", id: uid + "-keys" },
                    "Keys: Left and Right arrows step, Home and End jump, Space plays or pauses.");
  let table = staticTable;
  if (!table) {
    const holder = document.createElement("div");
    holder.innerHTML = model.get("table") || "";
    table = holder.querySelector("details.adc-table");
  }
  root.replaceChildren(...[header, bar, scroller, panel, live, keys, table].filter(Boolean));

  // Index the drawing once: a step then reaches its nodes and edges through maps, never through selectors.
  const nodes = new Map();
  for (const g of svg.querySelectorAll("g.adc-node")) {
    const m = /translate\(([-\d.]+),([-\d.]+)\)/.exec(g.getAttribute("transform") || "");
    nodes.set(Number(g.dataset.node), {
      g, x: m ? +m[1] : 0, y: m ? +m[2] : 0,
      slots: SLOT_CLASS.map((c) => g.querySelector("text." + c)), state: null,
    });
  }
  // The drawing's name says what it is and where its text form is (its node titles are not read inside an img).
  svg.setAttribute("aria-label", `Computational graph of ${heading}: ${nodes.size} nodes. ` +
                   "The graph as a table, below, lists them.");
  const edges = new Map();
  for (const p of svg.querySelectorAll("path.adc-edge")) edges.set(p.dataset.edge, p);
  // The table's live cells (value and derivative of every node), kept in step with the drawing.
  const cells = new Map();
  if (table) {
    for (const td of table.querySelectorAll("td[data-slot]")) {
      cells.set(Number(td.dataset.node) * 3 + Number(td.dataset.slot), td);
    }
  }
  const plainMarker = svg.querySelector("marker[id$='-arrow-plain']");
  const hlMarker = svg.querySelector("marker[id$='-arrow-highlight']");
  const plainRef = plainMarker ? `url(#${plainMarker.id})` : null;
  const hlRef = hlMarker ? `url(#${hlMarker.id})` : null;

  // History of every (node, slot): the steps that set it and the text they set, for jumps of any length.
  const initial = new Map();
  for (const [nid, slot, text] of model.get("initial")) initial.set(nid * 3 + slot, text);
  const history = new Map();
  steps.forEach((s, i) => {
    for (const [nid, slot, text] of s.updates) {
      const key = nid * 3 + slot;
      let h = history.get(key);
      if (!h) history.set(key, (h = { at: [], text: [] }));
      h.at.push(i + 1);
      h.text.push(text);
    }
  });
  const textAt = (key, k) => {
    const h = history.get(key);
    if (!h || h.at[0] > k) return initial.has(key) ? initial.get(key) : "";
    let lo = 0, hi = h.at.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (h.at[mid] <= k) lo = mid;
      else hi = mid - 1;
    }
    return h.text[lo];
  };
  const apply = (key, text) => {
    const node = nodes.get(Math.floor(key / 3));
    if (!node) return;
    const slot = key % 3;
    const cell = cells.get(key);
    if (cell) {
      const shown = text ? text.replace(/^= /, "") : "not yet";
      if (cell.textContent !== shown) cell.textContent = shown;
    }
    if (slot < 2) {
      if (node.slots[slot] && node.slots[slot].textContent !== text) node.slots[slot].textContent = text;
    } else if (node.state !== text) {
      if (node.state) node.g.classList.remove("adc-s-" + node.state);
      if (text) node.g.classList.add("adc-s-" + text);
      node.state = text;
    }
  };
  for (const n0 of nodes.values()) n0.g.classList.remove(...STATE_CLASSES);
  for (const key of initial.keys()) apply(key, initial.get(key));

  let cur = 0;
  const highlight = (k, on) => {
    if (k < 1) return;
    const s = steps[k - 1];
    const node = nodes.get(s.node);
    if (node) node.g.classList.toggle("adc-current", on);
    for (const r of s.reads) {
      const rn = nodes.get(r);
      if (rn) rn.g.classList.toggle("adc-read", on);
    }
    for (const e of s.edges) {
      const p = edges.get(e);
      if (!p) continue;
      p.classList.toggle("adc-current-edge", on);
      if (hlRef) p.setAttribute("marker-end", on ? hlRef : plainRef);
      if (on) p.parentNode.appendChild(p); // drawn last, so the lit edge is on top of the others
    }
  };
  const showPanel = (k) => {
    counter.textContent = `step ${k} / ${n}`;
    panelLines.replaceChildren();
    if (k === 0) {
      panelTitle.textContent = model.get("intro") || "Press Next to take the first step.";
      return;
    }
    const s = steps[k - 1];
    panelTitle.textContent = s.title;
    for (const line of s.lines) {
      const cls = line.startsWith("expected ") ? (line.endsWith("matches") ? "adc-line adc-ok" : "adc-line adc-bad")
        : "adc-line";
      panelLines.append(make("div", { class: cls }, line));
    }
  };
  // The scroll box's size and position are cached (updated by scroll and resize events), so keeping the current
  // node in view never forces a layout in the middle of a step.
  // `scale`: drawn pixels per SVG unit, since the SVG shrinks to fit the box (graph_svg.py).
  const natural = svg.viewBox && svg.viewBox.baseVal ? svg.viewBox.baseVal.width : 0;
  const view = { left: 0, top: 0, w: 0, h: 0, sw: 0, sh: 0, scale: 1 };
  const measure = () => {
    view.scale = natural > 0 ? svg.getBoundingClientRect().width / natural || 1 : 1;
    view.left = scroller.scrollLeft;
    view.top = scroller.scrollTop;
    view.w = scroller.clientWidth;
    view.h = scroller.clientHeight;
    view.sw = scroller.scrollWidth;
    view.sh = scroller.scrollHeight;
  };
  scroller.addEventListener("scroll", () => {
    view.left = scroller.scrollLeft;
    view.top = scroller.scrollTop;
  }, { passive: true });
  const resizeObserver = typeof ResizeObserver === "function" ? new ResizeObserver(measure) : null;
  if (resizeObserver) resizeObserver.observe(scroller);
  // Writing scrollTop forces a layout on the spot, so the scroll waits for the next frame, which lays out anyway.
  let revealFrame = 0;
  const reveal = (k) => {
    if (k < 1 || (view.sh <= view.h + 2 && view.sw <= view.w + 2)) return;
    const node = nodes.get(steps[k - 1].node);
    if (!node) return;
    const x = node.x * view.scale, y = node.y * view.scale;
    const left = x < view.left || x + 150 * view.scale > view.left + view.w ? Math.max(0, x - view.w / 2) : null;
    const top = y < view.top || y + 74 * view.scale > view.top + view.h ? Math.max(0, y - view.h / 2) : null;
    if (left === null && top === null) return;
    if (left !== null) view.left = left;
    if (top !== null) view.top = top;
    cancelAnimationFrame(revealFrame);
    revealFrame = requestAnimationFrame(() => {
      if (left !== null) scroller.scrollLeft = left;
      if (top !== null) scroller.scrollTop = top;
    });
  };
  // A disabled button loses focus (and a keyboard user their place): the buttons at an end are only marked
  // aria-disabled and do nothing, so focus stays where it was.
  const disable = (b, off) => {
    b.setAttribute("aria-disabled", off ? "true" : "false");
    b.classList.toggle("adc-off", off);
  };
  const controls = () => {
    disable(prevBtn, cur === 0);
    disable(resetBtn, cur === 0);
    disable(nextBtn, cur === n);
    slider.value = String(cur);
    slider.setAttribute("aria-valuetext", `step ${cur} of ${n}`);
    root.dataset.step = String(cur);
  };
  let timer = null;
  const say = (k) => {
    live.textContent = k === 0 ? `Step 0 of ${n}: back at the start.` : `Step ${k} of ${n}. ${steps[k - 1].speech || steps[k - 1].title}`;
  };

  const goTo = (target, fromModel, quiet) => {
    const start = performance.now();
    const k = Math.max(0, Math.min(n, Math.round(Number(target) || 0)));
    if (k !== cur) {
      const lo = Math.min(cur, k), hi = Math.max(cur, k);
      const touched = new Set();
      for (let i = lo; i < hi; i++) for (const u of steps[i].updates) touched.add(u[0] * 3 + u[1]);
      for (const key of touched) apply(key, textAt(key, k));
      highlight(cur, false);
      highlight(k, true);
      cur = k;
      showPanel(k);
      reveal(k);
      // While playing fast, one sentence per step would pile up; the step playing stops at is said.
      if (!quiet && (timer === null || Number(speed.value) <= 1)) say(k);
    }
    controls();
    if (!fromModel && model.get("step") !== k) {
      model.set("step", k);
      model.save_changes();
    }
    root.dataset.lastStepMs = (performance.now() - start).toFixed(3);
  };

  const playIcon = playBtn.querySelector(".adc-icon"), playLabel = playBtn.querySelector(".adc-btn-label");
  const stop = () => {
    const was = timer !== null;
    if (timer !== null) clearInterval(timer);
    timer = null;
    playIcon.textContent = "\u25b6";
    playLabel.textContent = "Play";
    root.dataset.playing = "0";
    if (was) say(cur);
  };
  const play = () => {
    if (cur === n) goTo(0, false, true);
    playIcon.textContent = "\u25ae\u25ae";
    playLabel.textContent = "Pause";
    root.dataset.playing = "1";
    timer = setInterval(() => {
      goTo(cur + 1);
      if (cur >= n) stop();
    }, 1000 / Number(speed.value));
  };
  playBtn.addEventListener("click", () => (timer === null ? play() : stop()));
  speed.addEventListener("change", () => {
    model.set("speed", Number(speed.value));
    model.save_changes();
    if (timer !== null) {
      stop();
      play();
    }
  });
  nextBtn.addEventListener("click", () => cur < n && goTo(cur + 1));
  prevBtn.addEventListener("click", () => cur > 0 && goTo(cur - 1));
  resetBtn.addEventListener("click", () => {
    stop();
    goTo(0);
  });
  slider.addEventListener("input", () => goTo(slider.value));
  root.addEventListener("keydown", (ev) => {
    if (ev.altKey || ev.ctrlKey || ev.metaKey) return;
    const tag = ev.target.tagName;
    if (tag === "SELECT" || tag === "INPUT" || tag === "SUMMARY" || ev.target.closest("details.adc-table")) {
      return; // their own keys: the list, the slider (which steps with arrows, Home and End itself), the table
    }
    const onButton = tag === "BUTTON";
    if (ev.key === "ArrowRight") goTo(cur + 1);
    else if (ev.key === "ArrowLeft") goTo(cur - 1);
    else if (ev.key === "Home") goTo(0);
    else if (ev.key === "End") goTo(n);
    else if ((ev.key === " " || ev.key === "Spacebar") && !onButton) timer === null ? play() : stop();
    else return;
    ev.preventDefault();
    ev.stopPropagation();
  });
  const onModelStep = () => goTo(model.get("step"), true);
  model.on("change:step", onModelStep);

  showPanel(0);
  goTo(model.get("step") || 0, true, true);
  root.dataset.readyAt = performance.now().toFixed(1);
  root.dataset.ready = "1";
  root.dataset.renderMs = (performance.now() - t0).toFixed(1);
  return () => {
    stop();
    cancelAnimationFrame(revealFrame);
    if (resizeObserver) resizeObserver.disconnect();
    model.off("change:step", onModelStep);
  };
}

function render({ model, el }) {
  return mount(el, model);
}

export default { render, mount, localModel };
