// The Results list: every run the app was given, with its headline figures from metrics.json.
// Names and errors are shown with textContent only.
"use strict";

function cell(row, text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  row.append(td);
  return td;
}

function figure(value) {
  return typeof value === "number" ? value.toFixed(3) : "–";
}

function headerRow(metricNames) {
  const row = document.createElement("tr");
  for (const title of ["Run", "Data", "Model", "Date", "Images", ...metricNames]) {
    const th = document.createElement("th");
    th.textContent = title;
    row.append(th);
  }
  return row;
}

function runRow(run, metricNames) {
  const row = document.createElement("tr");
  row.dataset.run = run.name;
  const link = document.createElement("a");
  link.href = "/runs/" + encodeURIComponent(run.name);
  link.textContent = run.name;
  cell(row, "").append(link);
  cell(row, run.data || "–", "path");
  cell(row, run.model || "–");
  cell(row, run.date ? run.date.slice(0, 16).replace("T", " ") : "–");
  cell(row, run.n_images ?? "–");
  if (run.error) {
    const td = cell(row, run.error, "error");
    td.colSpan = Math.max(metricNames.length, 1);
    return row;
  }
  for (const name of metricNames) cell(row, figure(run.metrics[name]), "number");
  return row;
}

async function showRuns() {
  const message = document.getElementById("message");
  const response = await fetch("/api/runs");
  if (!response.ok) {
    message.textContent = "cannot list the runs: " + response.status;
    return;
  }
  const { runs } = await response.json();
  const metricNames = [...new Set(runs.flatMap((run) => Object.keys(run.metrics)))];
  document.querySelector("#runs thead").append(headerRow(metricNames));
  const body = document.querySelector("#runs tbody");
  for (const run of runs) body.append(runRow(run, metricNames));
  message.textContent = runs.length
    ? ""
    : "No runs: start the app with --run RUN_DIR or --runs-dir runs/.";
}

document.addEventListener("DOMContentLoaded", showRuns);
