// One run: metrics, training curves (inline SVG), confusion matrix whose cells open their
// images, per-class (or per-label, with live thresholds) figures, worst mistakes and
// label-error candidates linked to the Label page. Every name is shown with textContent.
"use strict";

const RUN = decodeURIComponent(location.pathname.split("/")[2] || "");
const API = "/api/runs/" + encodeURIComponent(RUN);
const SVG = "http://www.w3.org/2000/svg";
const DEBOUNCE_MS = 250;
const state = { classes: [], thresholds: [], timer: null, asked: 0 };

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function figure(value) {
  return typeof value === "number" ? (Number.isInteger(value) ? String(value) : value.toFixed(3)) : "–";
}

async function getJson(address) {
  const response = await fetch(address);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.detail || String(response.status));
  return body;
}

function say(text) {
  document.getElementById("message").textContent = text;
}

// --- image cards --------------------------------------------------------------------------

function card(image, extra) {
  const box = element("figure", null, "card");
  box.tabIndex = 0;
  box.dataset.path = image.path;
  const picture = element("img");
  picture.loading = "lazy";
  picture.alt = "";
  picture.src = `${API}/images/${image.row}?size=thumb`;
  const name = element("div", image.path.split("/").slice(-2).join("/"), "card-name");
  name.title = image.path;
  box.append(picture, name);
  box.append(element("div", "true: " + (image.given || "(none)")));
  box.append(element("div", "predicted: " + (image.predicted || "(none)"),
    image.given === image.predicted ? "" : "bad"));
  if (extra) box.append(element("div", extra, "suggested"));
  const top = element("ol", null, "top");
  for (const [name, p] of image.top) top.append(element("li", `${name} ${p.toFixed(2)}`));
  box.append(top, labelLink(image));
  return box;
}

function labelLink(image) {
  if (!image.label_page) {
    const off = element("span", "Label: " + image.label_page_reason, "to-label disabled");
    off.setAttribute("aria-disabled", "true");
    return off;
  }
  const link = element("a", "Label ↗", "to-label");
  link.href = image.label_page;
  return link;
}

function showCards(container, images, empty) {
  container.replaceChildren(...images.map((image) => card(image, image.suggestedText)));
  if (!images.length) container.append(element("p", empty, "note"));
}

document.addEventListener("keydown", (event) => {
  const box = document.activeElement;
  if (event.key !== "l" || !box || !box.classList.contains("card")) return;
  const link = box.querySelector("a.to-label");
  if (link) location.href = link.href;
});

// --- metrics and curves -------------------------------------------------------------------

function metricsTable(metrics) {
  const table = document.getElementById("metrics");
  for (const [name, value] of Object.entries(metrics)) {
    const values = typeof value === "number" ? { [name]: value } : null;
    const nested = value && typeof value === "object" && !Array.isArray(value) && name.startsWith("top_k")
      ? Object.fromEntries(Object.entries(value).map(([k, v]) => [`${name} ${k}`, v]))
      : null;
    for (const [title, number] of Object.entries(values || nested || {})) {
      const row = element("tr");
      row.append(element("th", title), element("td", figure(number), "number"));
      table.append(row);
    }
  }
}

function svg(tag, attributes) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  return node;
}

function chart(title, history, series) {
  const width = 420, height = 220, pad = 36;
  const root = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, class: "chart" });
  const values = series.flatMap(([key]) => history.map((row) => row[key])).filter(Number.isFinite);
  if (!values.length) return root;
  const low = Math.min(...values), high = Math.max(...values);
  const x = (i) => pad + (i * (width - 2 * pad)) / Math.max(history.length - 1, 1);
  const y = (v) => height - pad - ((v - low) * (height - 2 * pad)) / (high - low || 1);
  root.append(svg("rect", { x: pad, y: pad, width: width - 2 * pad, height: height - 2 * pad, class: "frame" }));
  const heading = svg("text", { x: pad, y: 20, class: "title" });
  heading.textContent = title;
  root.append(heading);
  for (const [value, at] of [[high, pad], [low, height - pad]]) {
    const label = svg("text", { x: 2, y: at + 4, class: "axis" });
    label.textContent = Math.abs(value) < 0.01 && value !== 0 ? value.toExponential(1) : value.toPrecision(3);
    root.append(label);
  }
  const epochs = svg("text", { x: width - pad, y: height - 10, class: "axis", "text-anchor": "end" });
  epochs.textContent = `${history.length} epochs`;
  root.append(epochs);
  series.forEach(([key, colour], n) => {
    const points = history.map((row, i) => [x(i), row[key]]).filter(([, v]) => Number.isFinite(v));
    const line = svg("polyline", {
      points: points.map(([px, v]) => `${px},${y(v)}`).join(" "), stroke: colour, class: "series",
    });
    const legend = svg("text", { x: width - pad - 200 + 105 * n, y: 20, fill: colour, class: "axis" });
    legend.textContent = key.replace("_", " ");
    root.append(line, legend);
  });
  return root;
}

function curves(history) {
  const box = document.getElementById("curves");
  if (!history.length) {
    box.append(element("p", "No history.csv in this run.", "note"));
    return;
  }
  box.append(
    chart("loss", history, [["train_loss", "#7aa2f7"], ["valid_loss", "#e0b23a"]]),
    chart("accuracy", history, [["train_accuracy", "#7aa2f7"], ["valid_accuracy", "#e0b23a"]]),
  );
}

// --- single-label: confusion matrix and per-class figures ------------------------------

function confusion(metrics) {
  const classes = metrics.classes, matrix = metrics.confusion_matrix;
  if (!classes || !matrix) return;
  document.getElementById("confusion-section").hidden = false;
  const table = document.getElementById("confusion");
  const head = element("tr");
  head.append(element("th", ""), ...classes.map((name) => element("th", name)));
  table.append(head);
  const biggest = Math.max(1, ...matrix.flat());
  matrix.forEach((counts, i) => {
    const row = element("tr");
    row.append(element("th", classes[i]));
    counts.forEach((count, j) => {
      const td = element("td", null, i === j ? "diagonal" : "off");
      const button = element("button", String(count), "cell-button");
      button.type = "button";
      button.dataset.true = classes[i];
      button.dataset.predicted = classes[j];
      button.disabled = count === 0;
      button.style.setProperty("--share", (count / biggest).toFixed(3));
      button.addEventListener("click", () => openCell(classes[i], classes[j]));
      td.append(button);
      row.append(td);
    });
    table.append(row);
  });
}

async function openCell(trueClass, predicted) {
  const query = new URLSearchParams({ true: trueClass, predicted });
  const title = document.getElementById("cell-title");
  try {
    const { images } = await getJson(`${API}/cell?${query}`);
    title.textContent = `label ${trueClass}, predicted ${predicted}: ${images.length} images`;
    showCards(document.getElementById("cell-images"), images, "No images.");
  } catch (error) {
    title.textContent = "cannot open this cell: " + error.message;
  }
}

function perClass(metrics) {
  const table = document.getElementById("per-class");
  const head = element("tr");
  for (const title of ["class", "precision", "recall", "F1", "support"]) head.append(element("th", title));
  table.append(head);
  for (const [name, figures] of Object.entries(metrics.per_class || {})) {
    const row = element("tr");
    row.append(element("th", name));
    for (const key of ["precision", "recall", "f1", "support"]) {
      row.append(element("td", figure(figures[key]), "number"));
    }
    table.append(row);
  }
}

// --- multi-label: per-label figures with a threshold slider each ---------------------------

const COUNTED = ["tp", "fp", "fn", "precision", "recall", "f1"];

function perLabel(run) {
  document.getElementById("per-class-title").textContent = "Per label";
  document.getElementById("threshold-note").append(element("p",
    "Move a label's threshold: its counts are recomputed on this run's predictions.", "note"));
  state.classes = run.classes.length ? run.classes : Object.keys(run.counts);
  state.thresholds = [...run.thresholds];
  const perLabelFigures = (run.metrics_json || {}).per_label || {};
  const table = document.getElementById("per-class");
  const head = element("tr");
  for (const title of ["label", "AP", "support", "threshold", "", ...COUNTED]) head.append(element("th", title));
  table.append(head);
  state.classes.forEach((name, c) => {
    const row = element("tr");
    row.dataset.label = name;
    const slider = element("input", null, "threshold");
    Object.assign(slider, { type: "range", min: "0", max: "1", step: "0.01" });
    slider.value = String(state.thresholds[c]);
    slider.setAttribute("aria-label", `threshold of ${name}`);
    const shown = element("td", state.thresholds[c].toFixed(2), "number threshold-value");
    slider.addEventListener("input", () => {
      state.thresholds[c] = Number(slider.value);
      shown.textContent = state.thresholds[c].toFixed(2);
      askCounts();
    });
    const figures = perLabelFigures[name] || {};
    row.append(element("th", name), element("td", figure(figures.average_precision), "number"),
      element("td", figure(figures.support), "number"), shown);
    const sliderCell = element("td");
    sliderCell.append(slider);
    row.append(sliderCell);
    for (const key of COUNTED) {
      const td = element("td", null, "number count");
      td.dataset.key = key;
      if (["tp", "fp", "fn"].includes(key)) {
        const button = element("button", "", "cell-button");
        button.type = "button";
        button.addEventListener("click", () => openCount(name, key));
        td.append(button);
      }
      row.append(td);
    }
    table.append(row);
  });
  showCounts(run.counts);
}

function showCounts(counts) {
  for (const row of document.querySelectorAll("#per-class tr[data-label]")) {
    const figures = counts[row.dataset.label] || {};
    for (const td of row.querySelectorAll("td.count")) {
      const target = td.querySelector("button") || td;
      target.textContent = figure(figures[td.dataset.key]);
    }
  }
}

function askCounts() {
  clearTimeout(state.timer);
  state.timer = setTimeout(async () => {
    const asked = ++state.asked;
    const query = new URLSearchParams({ thresholds: state.thresholds.join(",") });
    try {
      const { counts } = await getJson(`${API}/counts?${query}`);
      if (asked === state.asked) showCounts(counts);  // an older answer never overwrites a newer
    } catch (error) {
      say("cannot recount: " + error.message);
    }
  }, DEBOUNCE_MS);
}

async function openCount(label, outcome) {
  const query = new URLSearchParams({ label, outcome, thresholds: state.thresholds.join(",") });
  const title = document.getElementById("count-title");
  try {
    const { images } = await getJson(`${API}/label-cell?${query}`);
    title.textContent = `${label}: ${outcome} at these thresholds, ${images.length} images`;
    showCards(document.getElementById("count-images"), images, "No images.");
  } catch (error) {
    title.textContent = "cannot open these images: " + error.message;
  }
}

// --- the page -----------------------------------------------------------------------------

function facts(run) {
  document.title = `${run.name} · Results · imclass`;
  document.getElementById("run-name").textContent = run.name;
  const parts = [run.model, run.data && "data " + run.data, run.date && run.date.slice(0, 16).replace("T", " "),
    run.n_images !== null && run.n_images !== undefined && `${run.n_images} images`,
    run.multilabel ? "multi-label" : "single-label"];
  document.getElementById("run-facts").textContent = parts.filter(Boolean).join(" · ");
}

async function showRun() {
  let run;
  try {
    run = await getJson(API);
  } catch (error) {
    say("cannot open this run: " + error.message);
    return;
  }
  facts(run);
  const problems = Object.entries(run.errors || {}).map(([part, why]) => `${part}: ${why}`);
  say([run.error, ...problems].filter(Boolean).join("; "));
  const metrics = run.metrics_json || {};
  metricsTable(metrics);
  curves(run.history || []);
  if (run.multilabel && run.counts && run.thresholds) perLabel(run);
  else {
    confusion(metrics);
    perClass(metrics);
  }
  showCards(document.getElementById("worst"), run.worst_mistakes || [], "No mistakes.");
  const candidates = (run.label_errors || []).map((image) => ({
    ...image,
    suggestedText: `suggested: ${image.suggested || "(none)"}` + (image.label ? ` (${image.label})` : ""),
  }));
  showCards(document.getElementById("label-errors"), candidates, "No label-error candidates.");
}

document.addEventListener("DOMContentLoaded", showRun);
