// The Label page: keyboard first. Every change is sent to /api/labels one at a time, in order;
// "saved" shows only once the server has answered every one (it answers after the fsync).
// File and class names only ever reach the page through textContent; so does the sources' text
// (manifest.csv of imclass collect), which came from the internet.
// With a run, the model's suggestion for an unlabelled image is pre-selected: Enter accepts it.
"use strict";

const PREFETCH = 3;
const ASK_AGAIN_MS = 300;  // a suggestion not computed yet: asked for again this much later
const state = {
  images: [], classes: [], multilabel: false, index: 0, progress: null,
  pending: null,          // the classes pre-selected or toggled on the current image, before Enter
  run: null,              // the run whose suggestions are shown (null: none)
  suggestions: {},        // path -> {labels, top, confidence}, or null for an unreadable file
  sources: {},            // path -> {provider, licence, licence_url, creator, page_url}
  asking: false, order: "name",
  undo: [],               // this tab's changes, newest last: {seq, path}
  queue: Promise.resolve(), unsaved: 0,
  grid: false, gridFilter: null, gridItems: [], gridIndex: 0,
};
const $ = (id) => document.getElementById(id);

function imageUrl(path, size) {
  return "/api/images/" + path.split("/").map(encodeURIComponent).join("/") + "?size=" + size;
}

async function api(address, body) {
  const options = body === undefined ? {} : {
    method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body),
  };
  const response = await fetch(address, {credentials: "same-origin", ...options});
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(answer.detail ? String(answer.detail) : response.statusText);
  return answer;
}

function showStatus(kind, text) {
  const status = $("save-status");
  status.dataset.state = kind;
  status.textContent = text;
}

function showMessage(text) { $("message").textContent = text; }

// --- saving ----------------------------------------------------------------------------------

function enqueue(send) {
  state.unsaved += 1;
  showStatus("saving", "saving…");
  state.queue = state.queue.then(send).then(
    () => { state.unsaved -= 1; if (state.unsaved === 0) showStatus("saved", "saved"); },
    (error) => {
      state.unsaved -= 1;
      showStatus("error", "not saved");
      showMessage("Not saved: " + error.message);
    });
}

function applyAnswer(answer) {
  const image = state.images.find((item) => item.path === answer.image.path);
  if (image) Object.assign(image, answer.image);
  state.progress = answer.progress;
  if (answer.replaced_unseen) {
    showMessage("Replaced a change made in another tab to " + answer.image.path);
  }
  render();
}

function save(image, labels, exclude) {
  Object.assign(image, {labels, exclude});  // shown at once; confirmed by the answer
  enqueue(async () => {
    const answer = await api("/api/labels",
      {image: image.path, labels, exclude, seen: image.version});
    state.undo.push({seq: answer.seq, path: image.path});
    applyAnswer(answer);
  });
}

function undo() {
  enqueue(async () => {  // in the queue: the changes sent before it have their numbers by then
    const last = state.undo.pop();
    if (!last) { showMessage("Nothing to undo in this tab."); return; }
    const answer = await api("/api/undo", {seq: last.seq});
    applyAnswer(answer);
    if (!state.grid) go(state.images.findIndex((item) => item.path === last.path));
  });
}

// --- moving ----------------------------------------------------------------------------------

function go(index) {
  if (state.images.length === 0) return;
  state.index = Math.max(0, Math.min(state.images.length - 1, index));
  state.pending = null;
  preselect();
  render();
  prefetch();
  askSuggestions();
}

function nextUnlabelled() {
  const count = state.images.length;
  for (let step = 1; step <= count; step++) {
    const index = (state.index + step) % count;
    const image = state.images[index];
    if (!image.exclude && image.labels.length === 0) { go(index); return; }
  }
  showMessage("Every image is labelled or excluded.");
}

function prefetch() {
  for (let step = 1; step <= PREFETCH; step++) {
    const image = state.images[state.index + step];
    if (image) new Image().src = imageUrl(image.path, "display");
  }
}

// --- suggestions -----------------------------------------------------------------------------

function isLeft(image) { return !image.exclude && image.labels.length === 0; }

// An unlabelled image's suggested classes become the pending choice, unless one is made already.
function preselect() {
  const image = state.images[state.index];
  const suggestion = image && state.suggestions[image.path];
  if (state.pending !== null || !suggestion || !isLeft(image)) return;
  const labels = suggestion.labels.filter((name) => state.classes.includes(name));
  if (labels.length > 0) state.pending = labels;
}

// The server answers at once with what it knows and puts the rest first in its line.
async function askSuggestions() {
  if (!state.run || state.asking) return;
  const wanted = state.images.slice(state.index, state.index + 1 + PREFETCH)
    .map((image) => image.path).filter((path) => !(path in state.suggestions));
  if (wanted.length === 0) return;
  state.asking = true;
  try {
    const answer = await api("/api/suggestions?" + new URLSearchParams(
      wanted.map((path) => ["image", path])));
    Object.assign(state.suggestions, answer.suggestions);
    if (answer.error) showMessage("No suggestions: " + answer.error);  // and no more asking
    else if (answer.pending.length > 0) setTimeout(askSuggestions, ASK_AGAIN_MS);
  } finally {
    state.asking = false;
  }
  if (!state.grid) { preselect(); render(); }
}

function percent(p) { return Math.round(p * 100) + "%"; }

function renderSuggestion(image) {
  const box = $("suggestion");
  box.hidden = !state.run;
  if (!state.run) return;
  const suggestion = state.suggestions[image.path];
  box.dataset.labels = suggestion ? suggestion.labels.join(",") : "";
  box.dataset.confidence = suggestion ? String(suggestion.confidence) : "";
  if (suggestion === undefined) box.textContent = "model: …";
  else if (suggestion === null) box.textContent = "model: cannot read this image";
  else box.textContent = "model: " + suggestion.top.map(([n, p]) => n + " " + percent(p)).join(" · ");
}

// --- keys ------------------------------------------------------------------------------------

function classKey(key) {
  const number = Number(key);
  return Number.isInteger(number) && number >= 1 && number <= 9
    ? state.classes[number - 1] : undefined;
}

function onKey(event) {
  if (event.target.closest("input, select, textarea") || event.ctrlKey || event.metaKey
      || event.altKey) return;
  const handled = state.grid ? gridKey(event.key) : viewerKey(event.key);
  if (handled || event.key === "?" || event.key === "g") event.preventDefault();
  if (event.key === "?") $("keys").classList.toggle("open");
  else if (event.key === "g") setGrid(!state.grid);
  else if (event.key === "u") undo();
}

function viewerKey(key) {
  const image = state.images[state.index];
  if (!image) return false;
  const name = classKey(key);
  if (name !== undefined && !state.multilabel) {
    save(image, [name], false);
    go(state.index + 1);
  } else if (name !== undefined) {
    const chosen = new Set(state.pending ?? image.labels);
    chosen.has(name) ? chosen.delete(name) : chosen.add(name);
    state.pending = state.classes.filter((c) => chosen.has(c));
    render();
  } else if (key === "Enter" && state.pending !== null) {
    save(image, state.pending, false);
    go(state.index + 1);
  } else if (key === "x") {
    save(image, image.labels, !image.exclude);
    go(state.index + 1);
  } else if (key === "ArrowRight") go(state.index + 1);
  else if (key === "ArrowLeft") go(state.index - 1);
  else if (key === "n") nextUnlabelled();
  else return false;
  return true;
}

// --- grid ------------------------------------------------------------------------------------

function setGrid(on) {
  state.grid = on;
  document.body.classList.toggle("grid-mode", on);
  $("mode-button").textContent = on ? "Single" : "Grid";
  if (on) buildGrid();
  else render();
}

function inFilter(image, filter) {
  if (filter === "(excluded)") return image.exclude;
  if (filter === "(left)") return !image.exclude && image.labels.length === 0;
  return !image.exclude && image.labels.includes(filter);
}

function buildGrid() {
  const filter = $("grid-filter").value;
  state.gridItems = state.images.filter((image) => inFilter(image, filter));
  state.gridIndex = 0;
  const grid = $("grid");
  grid.replaceChildren();
  state.gridItems.forEach((image, index) => {
    const cell = document.createElement("figure");
    cell.className = "cell";
    cell.dataset.index = index;
    const picture = document.createElement("img");
    picture.loading = "lazy";
    picture.alt = "";
    picture.src = imageUrl(image.path, "thumb");
    const caption = document.createElement("figcaption");
    const name = document.createElement("div");
    name.className = "cell-name";
    name.textContent = image.path;
    name.title = image.path;
    caption.append(name);
    const source = state.sources[image.path];
    if (source) caption.append(sourceLine(source));
    cell.append(picture, caption);
    cell.addEventListener("click", () => selectCell(index));
    cell.addEventListener("dblclick", () => openInViewer(index));
    grid.append(cell);
  });
  if (state.gridItems.length === 0) grid.textContent = "No images in " + filter + ".";
  selectCell(0);
}

// "openverse · CC BY 4.0 · Ann": the provider links to the image's page, the licence to its
// text; each part is text, the links http(s) only, opened in a new tab that gets neither this
// page (noopener) nor its address (noreferrer).
function sourceLine(source) {
  const line = document.createElement("div");
  line.className = "cell-source";
  const part = (kind, text, address) => {
    const link = webAddress(address);
    const element = document.createElement(link ? "a" : "span");
    element.className = "source-" + kind;
    element.textContent = text;
    if (link) Object.assign(element, {href: link, target: "_blank", rel: "noopener noreferrer"});
    return element;
  };
  const parts = [part("provider", source.provider, source.page_url),
    part("licence", source.licence || "licence unknown", source.licence_url)];
  if (source.creator) parts.push(part("creator", source.creator));
  parts.forEach((element, at) => line.append(...(at > 0 ? [" · ", element] : [element])));
  line.title = parts.map((element) => element.textContent).join(" · ");
  return line;
}

function webAddress(address) {
  try {
    const url = new URL(address);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

function selectCell(index) {
  const cells = $("grid").querySelectorAll(".cell");
  if (cells.length === 0) return;
  state.gridIndex = Math.max(0, Math.min(cells.length - 1, index));
  cells.forEach((cell, at) => cell.classList.toggle("selected", at === state.gridIndex));
  cells[state.gridIndex].scrollIntoView({block: "nearest"});
}

function openInViewer(index) {
  const path = state.gridItems[index].path;
  setGrid(false);
  go(state.images.findIndex((image) => image.path === path));
}

function gridColumns() {
  const cells = $("grid").querySelectorAll(".cell");
  if (cells.length < 2) return 1;
  const top = cells[0].offsetTop;
  const inFirstRow = [...cells].findIndex((cell) => cell.offsetTop !== top);
  return inFirstRow === -1 ? cells.length : inFirstRow;
}

function gridKey(key) {
  const image = state.gridItems[state.gridIndex];
  const name = classKey(key);
  const moves = {ArrowRight: 1, ArrowLeft: -1, ArrowDown: gridColumns(), ArrowUp: -gridColumns()};
  if (key in moves) selectCell(state.gridIndex + moves[key]);
  else if (!image) return false;
  else if (name !== undefined) {
    const labels = !state.multilabel ? [name] : image.labels.includes(name)
      ? image.labels.filter((c) => c !== name) : state.classes.filter(
        (c) => c === name || image.labels.includes(c));
    save(image, labels, false);
    markCell();
  } else if (key === "x") { save(image, image.labels, !image.exclude); markCell(); }
  else if (key === "Enter") openInViewer(state.gridIndex);
  else return false;
  return true;
}

function markCell() {
  const cell = $("grid").querySelectorAll(".cell")[state.gridIndex];
  const filter = $("grid-filter").value;
  cell.classList.toggle("changed", !inFilter(state.gridItems[state.gridIndex], filter));
  renderSide();
}

// --- drawing ---------------------------------------------------------------------------------

function badge(text, kind) {
  const element = document.createElement("span");
  element.className = "badge " + kind;
  element.textContent = text;
  return element;
}

function render() {
  renderSide();
  if (state.grid) return;
  const image = state.images[state.index];
  if (!image) { $("image-name").textContent = "No images."; return; }
  const photo = $("photo");
  const address = imageUrl(image.path, "display");
  if (photo.getAttribute("src") !== address) photo.src = address;
  photo.alt = image.path;
  $("position").textContent = (state.index + 1) + " / " + state.images.length;
  $("image-name").textContent = image.path;
  const labels = $("image-labels");
  labels.replaceChildren();
  if (state.pending !== null) {
    for (const name of state.pending) labels.append(badge(name, "pending"));
    labels.append(badge(state.multilabel ? "Enter to confirm" : "Enter to accept", "pending"));
  } else {
    for (const name of image.labels) labels.append(badge(name, "label"));
  }
  if (image.exclude) labels.append(badge("excluded", "exclude"));
  labels.dataset.labels = image.labels.join(",");
  labels.dataset.exclude = String(image.exclude);
  labels.dataset.pending = (state.pending ?? []).join(",");
  renderSuggestion(image);
}

function renderSide() {
  const image = state.grid ? state.gridItems[state.gridIndex] : state.images[state.index];
  const list = $("classes");
  list.replaceChildren();
  state.classes.forEach((name, at) => {
    const item = document.createElement("li");
    const key = document.createElement("span");
    key.className = "key";
    key.textContent = at < 9 ? String(at + 1) : "";
    const title = document.createElement("span");
    title.textContent = name;
    const count = document.createElement("span");
    count.className = "count";
    count.textContent = String(state.progress?.per_class?.[name] ?? 0);
    item.append(key, title, count);
    if (image && image.labels.includes(name)) item.classList.add("on");
    if (state.pending?.includes(name)) item.classList.add("toggled");
    item.addEventListener("click", () => { if (at < 9) onKey({key: String(at + 1),
      target: document.body, preventDefault() {}}); });
    list.append(item);
  });
  for (const kind of ["labelled", "excluded", "left"]) {
    $("count-" + kind).textContent = String(state.progress?.[kind] ?? 0);
  }
}

function fillGridFilter() {
  const select = $("grid-filter");
  const chosen = select.value;
  select.replaceChildren();
  for (const name of [...state.classes, "(left)", "(excluded)"]) {
    const option = document.createElement("option");
    option.value = name;
    option.textContent = name;
    select.append(option);
  }
  if ([...select.options].some((option) => option.value === chosen)) select.value = chosen;
}

// --- loading ---------------------------------------------------------------------------------

// current: the image to stay on (or open: a ?path= link), else the first unlabelled one
async function load(current = state.images[state.index]?.path) {
  const answer = await api("/api/images?order=" + state.order);
  Object.assign(state, {
    images: answer.images, classes: answer.classes, multilabel: answer.multilabel,
    progress: answer.progress, run: answer.run,
  });
  $("kind").textContent = answer.multilabel ? "(multi-label: toggle, Enter)" : "";
  $("labels-file").textContent = "Labels: " + answer.labels_file;
  $("order-box").hidden = !state.run;
  fillGridFilter();
  const index = state.images.findIndex((image) => image.path === current);
  const pending = state.pending;
  go(index >= 0 ? index : state.images.findIndex(isLeft));
  if (index >= 0 && index === state.index && pending !== null) { state.pending = pending; render(); }
  if (state.unsaved === 0) showStatus("saved", "saved");
}

function changeOrder() {
  state.order = $("order").value;
  const address = new URL(location.href);
  address.searchParams.set("order", state.order);
  address.searchParams.delete("path");
  history.replaceState(null, "", address);
  load(null).catch((error) => showMessage(error.message));
}

async function addClass(event) {
  event.preventDefault();
  const input = $("new-class");
  try {
    const answer = await api("/api/classes", {name: input.value});
    state.classes = answer.classes;
    input.value = "";
    input.blur();
    fillGridFilter();
    render();
  } catch (error) {
    showMessage(error.message);
  }
}

// The moment each new image is on screen, for bench/app_latency.py: [{path, at}] in
// performance.now() time, taken when the <img> has loaded, at the start of the frame that
// paints it.
window.__imclassShown = [];

function markShown() {
  const path = $("photo").alt;
  requestAnimationFrame(() => window.__imclassShown.push({path, at: performance.now()}));
}

function start() {
  const query = new URLSearchParams(location.search);
  state.order = query.get("order") === "uncertain" ? "uncertain" : "name";
  $("order").value = state.order;
  $("order").addEventListener("change", changeOrder);
  $("photo").addEventListener("load", markShown);
  document.addEventListener("keydown", onKey);
  $("add-class").addEventListener("submit", addClass);
  $("mode-button").addEventListener("click", () => setGrid(!state.grid));
  $("grid-filter").addEventListener("change", () => { if (state.grid) buildGrid(); });
  $("keys-button").addEventListener("click", () => $("keys").classList.toggle("open"));
  // another tab may have labelled images meanwhile: their state, not ours, is shown on return
  window.addEventListener("focus", () => { if (state.unsaved === 0 && !state.grid) load(); });
  api("/api/sources").then((answer) => {
    state.sources = answer.sources;
    if (state.grid) buildGrid();
  }).catch((error) => showMessage("No image sources: " + error.message));
  load(query.get("path")).catch((error) => {
    showStatus("error", "not loaded");
    showMessage(error.message);
  });
}

document.addEventListener("DOMContentLoaded", start);
