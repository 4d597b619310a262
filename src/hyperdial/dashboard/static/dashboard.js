// hyperdial dashboard: a study list and a study page, kept live by polling the JSON API.
// Every value from the storage is written with textContent (never as HTML).
"use strict";

const POLL_MS = Number(new URLSearchParams(location.search).get("interval") || 2000);
let current = null;   // the study shown, with the version it is at
let timer = null;

const $ = (id) => document.getElementById(id);

function cell(row, text, numeric) {
  const td = row.insertCell();
  td.textContent = text === null || text === undefined ? "" : String(text);
  if (numeric) td.className = "num";
  return td;
}

// A number to 6 digits; an integer in full while a float holds it exactly (below 2**53), not
// a huge float, which is an integer too (1e20 would print 21 digits).
function fmt(value) {
  if (value === null || value === undefined) return "-";
  if (typeof value !== "number") return String(value);
  return Number.isSafeInteger(value) ? String(value) : value.toPrecision(6);
}

// A name as Plotly shows it: Plotly reads <b>, <br>, <a href> and the like in its titles and
// labels as markup, so a parameter or metric named so would be drawn bold, or as a link.
function plotText(text) {
  return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function params(obj) {
  return Object.entries(obj || {}).map(([k, v]) => `${k}=${fmt(v)}`).join(", ");
}

// A trial's parameters, each categorical's choice by its label in the parallel plot (JSON
// makes 1 and 1.0 one number and None null): `row` is the trial's index in study.trials.
function trialParams(study, row, obj) {
  return Object.entries(obj || {}).map(([k, v]) => {
    const position = study.choice_labels[k] ? study.params[k][row] : null;
    return `${k}=${position === null ? fmt(v) : study.choice_labels[k][position]}`;
  }).join(", ");
}

async function fetchJSON(url) {
  const response = await fetch(url, { cache: "no-store" });
  const body = await response.json();
  if (!response.ok) throw new Error(body.detail || response.statusText);
  return body;
}

function showError(message) {
  $("error").hidden = !message;
  $("error").textContent = message || "";
}

function setStatus(text) {
  $("status").textContent = `${text} · ${new Date().toLocaleTimeString()}`;
}

// -- the study list ------------------------------------------------------------------------
async function renderList() {
  const studies = await fetchJSON("/api/studies");
  $("list-title").textContent = `${studies.length} ${studies.length === 1 ? "study" : "studies"}`;
  const body = $("studies").tBodies[0];
  body.replaceChildren();
  for (const s of studies) {
    const row = body.insertRow();
    row.className = "study";
    row.dataset.name = s.name;
    row.onclick = () => { location.hash = `#/study/${encodeURIComponent(s.name)}`; };
    cell(row, s.name);
    cell(row, s.directions.join(", "));
    cell(row, s.n_trials, true);
    for (const state of ["COMPLETE", "PRUNED", "FAIL", "RUNNING"]) cell(row, s.states[state], true);
    cell(row, s.best ? fmt(s.best.values[0]) : s.n_pareto ? `front of ${s.n_pareto}` : "-", true);
    cell(row, s.last_activity ? new Date(s.last_activity).toLocaleString() : "-");
  }
}

// -- one study -------------------------------------------------------------------------------
function bestSoFar(values, maximize) {
  let best = null;
  return values.map((v) => {
    if (v !== null && (best === null || (maximize ? v > best : v < best))) best = v;
    return best;
  });
}

// An objective's axis title: its name (Study.set_metric_names), else its index, and direction.
function objectiveTitle(study, k) {
  const name = study.metric_names ? study.metric_names[k]
    : (study.directions.length === 1 ? "value" : `objective ${k}`);
  return plotText(`${name} (${study.directions[k]})`);
}

function plotHistory(study) {
  const t = study.trials;
  const done = t.number.map((_, i) => i).filter((i) => t.state[i] === "COMPLETE" && t.values[i]);
  const layout = { margin: { t: 40, r: 10 }, legend: { orientation: "h" } };
  if (study.directions.length === 1) {
    const x = done.map((i) => t.number[i]);
    const y = done.map((i) => t.values[i][0]);
    const feasible = done.map((i) => t.feasible[i]);
    Plotly.react("history", [
      { x, y, mode: "markers", name: "value",
        marker: { color: feasible.map((f) => (f ? "#1f77b4" : "#bbbbbb")) } },
      { x, y: bestSoFar(y.map((v, k) => (feasible[k] ? v : null)), study.directions[0] === "maximize"),
        mode: "lines", name: "best so far", line: { shape: "hv", color: "#d62728" } },
    ], { ...layout, title: { text: "Optimisation history" }, xaxis: { title: { text: "trial" } },
         yaxis: { title: { text: objectiveTitle(study, 0) } } });
  } else {
    const front = new Set(study.pareto);  // feasible trials only
    const trace = (name, color, keep) => {
      const rows = done.filter(keep);
      return { x: rows.map((i) => t.values[i][0]), y: rows.map((i) => t.values[i][1]),
               text: rows.map((i) => `trial ${t.number[i]}`), mode: "markers", name,
               marker: { color } };
    };
    Plotly.react("history", [
      trace("trial", "#9ecae1", (i) => t.feasible[i] && !front.has(t.number[i])),
      trace("Pareto front", "#d62728", (i) => front.has(t.number[i])),
      trace("infeasible", "#bbbbbb", (i) => !t.feasible[i]),
    ], { ...layout, title: { text: "Pareto front" },
      xaxis: { title: { text: objectiveTitle(study, 0) } },
      yaxis: { title: { text: objectiveTitle(study, 1) } } });
  }
}

function plotImportances(study) {
  if (!study.importances) {
    Plotly.react("importances", [], { title: { text: "Parameter importances" },
      annotations: [{ text: study.importances_note || "none yet", showarrow: false }],
      xaxis: { visible: false }, yaxis: { visible: false } });
    return;
  }
  const names = Object.keys(study.importances).reverse();
  Plotly.react("importances", [{ type: "bar", orientation: "h", y: names.map(plotText),
    x: names.map((n) => study.importances[n]) }],
    { title: { text: "Parameter importances (PED-ANOVA)" }, margin: { t: 40, l: 120, r: 10 },
      xaxis: { range: [0, 1] } });
}

function plotCurves(study) {
  const traces = study.curves.map((c) => ({ x: c.steps, y: c.values, mode: "lines",
    name: `trial ${c.number}`, line: { dash: c.state === "PRUNED" ? "dot" : "solid" } }));
  Plotly.react("curves", traces, { title: { text: "Intermediate values (latest 50 trials)" },
    showlegend: false, margin: { t: 40, r: 10 }, xaxis: { title: { text: "step" } } });
}

// A parallel axis' numbers, to 6 digits: Plotly's own format writes 1e299 as
// "1×10<sup>299</sup>", markup that a parallel axis prints as it is.
const NUMBER_TICKS = "~g";

// About five round values from low to high: the ticks of an axis given one of its own (Plotly
// then draws only those it is given).
function roundTicks(low, high) {
  const span = high - low;
  if (!(span > 0)) return [low];
  const unit = 10 ** Math.floor(Math.log10(span / 5));
  const step = [1, 2, 5, 10].map((m) => m * unit).find((s) => span / s <= 5);
  const first = Math.ceil(low / step - 1e-9);
  const count = Math.floor(high / step + 1e-9) - first + 1;
  return Array.from({ length: count }, (_, k) => Number(((first + k) * step).toPrecision(12)));
}

// A parameter's axis: a choice at its position (study.params holds positions) with the label
// the Python plots give it, a log scale as log10. A trial without the parameter (null) sits at
// "(not set)" below the axis' values: Plotly would draw null as 0, a value or the first choice.
function parallelDimension(study, name, column) {
  const dist = study.space[name];
  const scale = dist.log ? Math.log10 : (v) => v;
  const values = column.map((v) => (v === null ? null : scale(v)));
  const dim = { label: plotText(dist.log ? `log10(${name})` : name), values };
  let low, high;
  if (dist.type === "categorical") {
    const labels = study.choice_labels[name];
    [low, high] = [0, Math.max(labels.length - 1, 1)];
    Object.assign(dim, { tickvals: labels.map((_, k) => k), ticktext: labels });
  } else {
    [low, high] = [scale(dist.low), scale(dist.high)];
    dim.tickformat = NUMBER_TICKS;
  }
  dim.range = [low, high];
  if (!values.includes(null)) return dim;
  const unset = low - (dist.type === "categorical" ? 1 : (high - low) / 8 || 1);
  const tickvals = dim.tickvals || roundTicks(low, high);
  return { ...dim, values: values.map((v) => (v === null ? unset : v)), range: [unset, high],
           tickvals: [unset, ...tickvals],
           ticktext: ["(not set)", ...(dim.ticktext || tickvals.map(String))] };
}

// One axis per parameter (the first 12) and the value, a line per completed trial.
function plotParallel(study) {
  const t = study.trials;
  const done = t.number.map((_, i) => i).filter((i) => t.state[i] === "COMPLETE" && t.values[i]);
  const dimensions = Object.keys(study.space).slice(0, 12).map((name) =>
    parallelDimension(study, name, done.map((i) => study.params[name][i])));
  const objective = done.map((i) => t.values[i][0]);
  dimensions.push({ label: objectiveTitle(study, 0), values: objective, tickformat: NUMBER_TICKS });
  Plotly.react("parallel", [{ type: "parcoords", dimensions,
    line: { color: objective, colorscale: "Viridis", showscale: true,
            reversescale: study.directions[0] === "minimize" } }],
    { title: { text: "Parameters of completed trials", yref: "container", y: 1, yanchor: "top",
               pad: { t: 12 } },
      margin: { t: 90, l: 60, r: 60 } });  // the axes' names sit above them, below the title
}

function renderTrials(study, rowOf) {
  const body = $("trials").tBodies[0];
  body.replaceChildren();
  for (const t of study.recent) {
    const row = body.insertRow();
    row.className = "trial";
    cell(row, t.number, true);
    cell(row, t.state).className = `state-${t.state}`;
    cell(row, t.values ? t.values.map(fmt).join(", ") : "-", true);
    cell(row, trialParams(study, rowOf.get(t.number), t.params));
    cell(row, t.duration === null ? "-" : t.duration.toFixed(3), true);
    cell(row, params(t.user_attrs));
  }
}

function renderStudy(study) {
  const s = study.states;
  const rowOf = new Map(study.trials.number.map((number, i) => [number, i]));
  $("study-title").textContent = study.name;
  $("summary").textContent = `${study.n_trials} trials · ${s.COMPLETE} complete · ` +
    `${s.PRUNED} pruned · ${s.FAIL} failed · ${s.RUNNING} running · ${study.directions.join(", ")}`;
  $("best").textContent = study.best
    ? `Best: trial ${study.best.number}, value ${fmt(study.best.values[0])} ` +
      `(${trialParams(study, rowOf.get(study.best.number), study.best.params)})`
    : study.n_pareto ? `Pareto front: ${study.n_pareto} trials`
    : s.COMPLETE ? "No feasible trial yet: every completed trial breaks a constraint"
    : "No completed trial yet";
  plotHistory(study);
  plotImportances(study);
  plotCurves(study);
  plotParallel(study);
  renderTrials(study, rowOf);
}

// By query, not path: a browser resolves a study named "." or ".." in a path, as %2E too.
async function refreshStudy(name) {
  const since = current && current.name === name ? `&since=${current.version}` : "";
  const study = await fetchJSON(`/api/study?name=${encodeURIComponent(name)}${since}`);
  if (study.unchanged) return;
  current = { name, version: study.version };
  renderStudy(study);
}

// -- routing and polling ---------------------------------------------------------------------
// The study the address names, or null for the list; an error for a malformed name (it
// throws inside tick's try, so that the page shows it as any other).
function route() {
  const match = location.hash.match(/^#\/study\/(.+)$/);
  if (!match) return null;
  try {
    return decodeURIComponent(match[1]);
  } catch {
    throw new Error(`the address names no study: ${match[1]} is not percent-encoded text`);
  }
}

async function tick() {
  clearTimeout(timer);
  try {
    const name = route();
    $("list-view").hidden = name !== null;
    $("study-view").hidden = name === null;
    $("crumb").textContent = name === null ? "" : `/ ${name}`;
    if (name === null) { current = null; await renderList(); } else await refreshStudy(name);
    showError(null);
    setStatus("live");
  } catch (err) {
    showError(`Could not load: ${err.message}`);
    setStatus("retrying");
  }
  timer = setTimeout(tick, POLL_MS);
}

window.addEventListener("hashchange", () => { current = null; tick(); });
tick();
