// The Live page: camera frames (or a chosen or dropped image) go to /api/predict a few times a
// second, one request at a time; the top classes are shown over the picture. Class and model
// names only ever reach the page through textContent.
"use strict";

const FRAME_EVERY_MS = 250;  // at most 4 frames a second: a CPU model answers in ~50-100 ms
const FRAME_SIDE = 480;      // frames are scaled down to this longer side (models take ~260 px)
const state = {
  model: "imagenet", source: null, stream: null, timer: null, file: null,
  busy: false, generation: 0, loaded: new Set(), answers: 0,
};
const $ = (id) => document.getElementById(id);

function showStatus(kind, text) {
  const status = $("live-status");
  status.dataset.state = kind;
  status.textContent = text;
}

function showMessage(text) { $("message").textContent = text; }

async function loadModels() {
  const response = await fetch("/api/models", {credentials: "same-origin"});
  if (!response.ok) throw new Error("cannot list the models (" + response.status + ")");
  const select = $("model");
  for (const model of (await response.json()).models) {
    select.append(new Option(model.title, model.name));
  }
  const asked = new URLSearchParams(location.search).get("model");
  if (asked && [...select.options].some((option) => option.value === asked)) select.value = asked;
  state.model = select.value;
}

// --- asking the server -------------------------------------------------------------------------

async function classify(body, source) {
  const generation = state.generation;
  state.busy = true;
  if (!state.loaded.has(state.model)) showStatus("busy", "loading the model…");
  const started = performance.now();
  try {
    const address = "/api/predict?model=" + encodeURIComponent(state.model);
    const options = {method: "POST", credentials: "same-origin", body};
    if (body instanceof Blob && !(body instanceof File)) options.headers = {"Content-Type": body.type};
    const response = await fetch(address, options);
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(answer.detail ? String(answer.detail) : response.statusText);
    if (generation !== state.generation) return;  // the model or the source changed meanwhile
    state.loaded.add(answer.model);
    $("latency").textContent = Math.round(performance.now() - started) + " ms";
    showPredictions(answer, source);
    showMessage("");
    showStatus("live", source === "camera" ? "live" : "image");
  } catch (error) {
    if (generation !== state.generation) return;
    showStatus("error", "no prediction");
    showMessage(error.message);
  } finally {
    state.busy = false;
  }
}

function showPredictions(answer, source) {
  const list = $("predictions");
  list.replaceChildren();
  list.dataset.source = source;
  list.dataset.model = answer.model;
  state.answers += 1;
  list.dataset.answers = state.answers;  // answers shown so far: a test waits for the next one
  for (const {class: name, probability} of answer.predictions) {
    const item = document.createElement("li");
    item.dataset.class = name;
    item.dataset.probability = probability;
    const label = document.createElement("span");
    label.className = "name";
    label.textContent = name;
    const percent = document.createElement("span");
    percent.className = "percent";
    percent.textContent = (100 * probability).toFixed(1) + " %";
    const bar = document.createElement("span");
    bar.className = "bar";
    bar.style.width = (100 * probability).toFixed(1) + "%";
    item.append(label, percent, bar);
    list.append(item);
  }
}

function restart() {
  state.generation += 1;
  $("predictions").replaceChildren();
}

// --- the camera --------------------------------------------------------------------------------

async function startCamera() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    showStatus("error", "no camera");
    showMessage("This browser gives a camera only to https or localhost pages; choose or drop "
      + "an image instead.");
    return;
  }
  restart();
  state.source = "camera";
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({video: {width: {ideal: 640}}});
  } catch (error) {
    showStatus("error", "no camera");
    showMessage("No camera: " + error.message + ". Choose or drop an image instead.");
    return;
  }
  if (state.source !== "camera") {  // an image was chosen while the browser asked
    stream.getTracks().forEach((track) => track.stop());
    return;
  }
  state.stream = stream;
  document.body.classList.remove("still");
  $("camera").srcObject = stream;
  nextFrame();
}

function stopCamera() {
  clearTimeout(state.timer);
  if (state.stream) state.stream.getTracks().forEach((track) => track.stop());
  state.stream = null;
}

function nextFrame() {
  clearTimeout(state.timer);
  if (state.source !== "camera") return;
  const video = $("camera");
  if (state.busy || video.readyState < 2 || !video.videoWidth) {
    state.timer = setTimeout(nextFrame, 50);
    return;
  }
  const started = performance.now();
  grabFrame(video).then((frame) => classify(frame, "camera")).finally(() => {
    const wait = Math.max(0, FRAME_EVERY_MS - (performance.now() - started));
    state.timer = setTimeout(nextFrame, wait);
  });
}

function grabFrame(video) {
  const scale = Math.min(1, FRAME_SIDE / Math.max(video.videoWidth, video.videoHeight));
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(video.videoWidth * scale);
  canvas.height = Math.round(video.videoHeight * scale);
  canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
  return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.85));
}

// --- an image file -----------------------------------------------------------------------------

function classifyFile(file) {
  if (!file) return;
  stopCamera();
  restart();
  state.source = "file";
  state.file = file;
  const still = $("still");
  if (still.src) URL.revokeObjectURL(still.src);
  still.src = URL.createObjectURL(file);
  document.body.classList.add("still");
  const form = new FormData();
  form.append("file", file);
  classify(form, "file");
}

function listenForDrops() {
  const stage = $("stage");
  stage.addEventListener("dragover", (event) => {
    event.preventDefault();
    stage.classList.add("dragging");
  });
  stage.addEventListener("dragleave", () => stage.classList.remove("dragging"));
  stage.addEventListener("drop", (event) => {
    event.preventDefault();
    stage.classList.remove("dragging");
    classifyFile(event.dataTransfer.files[0]);
  });
}

async function start() {
  listenForDrops();
  $("file").addEventListener("change", (event) => classifyFile(event.target.files[0]));
  $("camera-button").addEventListener("click", startCamera);
  $("model").addEventListener("change", (event) => {
    state.model = event.target.value;
    restart();
    if (state.source === "file") classifyFile(state.file);
  });
  try {
    await loadModels();
  } catch (error) {
    showStatus("error", "no models");
    showMessage(error.message);
    return;
  }
  showStatus("idle", "ready");
  await startCamera();
}

document.addEventListener("DOMContentLoaded", start);
