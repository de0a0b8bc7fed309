// The top bar every page shares. A new page adds its [title, address] here.
"use strict";
const PAGES = [
  ["Label", "/label"],
  ["Results", "/runs"],
  ["Live", "/live"],
];

function buildTopBar() {
  const bar = document.getElementById("topbar");
  const brand = document.createElement("span");
  brand.className = "brand";
  brand.textContent = "imclass";
  bar.prepend(brand);
  const nav = document.createElement("nav");
  for (const [title, address] of PAGES) {
    const link = document.createElement("a");
    link.textContent = title;
    link.href = address;
    if (location.pathname === address || location.pathname.startsWith(address + "/")) {
      link.className = "current";
    }
    nav.append(link);
  }
  brand.after(nav);
}

document.addEventListener("DOMContentLoaded", buildTopBar);
