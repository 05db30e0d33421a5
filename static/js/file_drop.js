// File inputs people may also drop files on (config/kit/widgets.py DropFileInput): the zone lights
// up under a dragged file, dropped files become the input's files (added to those already
// chosen when it takes several), and the list under the zone names each with its size, flags
// one over the limit and offers to remove it. Without this script the input still works.
(function () {
  "use strict";

  if (window.adtFileDrop) {
    return; // one copy per page, however many inputs include it
  }
  window.adtFileDrop = true;

  function size(bytes) {
    const units = ["B", "KB", "MB", "GB"];
    let value = bytes;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit += 1;
    }
    return `${unit ? value.toFixed(1) : value} ${units[unit]}`;
  }

  function setFiles(input, files) {
    const transfer = new DataTransfer();
    for (const file of files) {
      transfer.items.add(file);
    }
    input.files = transfer.files;
    input.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function render(box, input) {
    const list = box.querySelector(".adt-drop-list");
    const limit = Number(box.dataset.maxBytes || 0);
    list.replaceChildren();
    Array.from(input.files).forEach((file, index) => {
      const item = document.createElement("li");
      const name = document.createElement("span");
      name.className = "adt-drop-name";
      name.textContent = file.name;
      const about = document.createElement("span");
      about.className = "adt-drop-size";
      about.textContent = size(file.size);
      item.append(name, about);
      if (limit && file.size > limit) {
        item.classList.add("adt-drop-too-large");
        about.textContent += ` · ${box.dataset.tooLarge}`;
      }
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "adt-drop-remove material-symbols-outlined";
      remove.textContent = "close";
      remove.setAttribute("aria-label", `${box.dataset.remove} ${file.name}`);
      remove.addEventListener("click", () => {
        setFiles(input, Array.from(input.files).filter((_, at) => at !== index));
        input.focus();
      });
      item.append(remove);
      list.append(item);
    });
  }

  function enhance(box) {
    const input = box.querySelector("input[type=file]");
    const zone = box.querySelector(".adt-drop-zone");
    let depth = 0; // dragenter/dragleave fire for every child the file passes over

    input.addEventListener("change", () => render(box, input));
    zone.addEventListener("dragenter", (event) => {
      event.preventDefault();
      depth += 1;
      zone.classList.add("adt-drop-over");
    });
    zone.addEventListener("dragover", (event) => {
      event.preventDefault();
      event.dataTransfer.dropEffect = "copy";
    });
    zone.addEventListener("dragleave", () => {
      depth = Math.max(0, depth - 1);
      if (!depth) {
        zone.classList.remove("adt-drop-over");
      }
    });
    zone.addEventListener("drop", (event) => {
      event.preventDefault();
      depth = 0;
      zone.classList.remove("adt-drop-over");
      const dropped = Array.from(event.dataTransfer.files);
      if (!dropped.length) {
        return;
      }
      if ("multiple" in box.dataset) {
        setFiles(input, [...Array.from(input.files), ...dropped]);
      } else {
        setFiles(input, dropped.slice(0, 1));
      }
    });
    render(box, input); // files a browser kept after going back
    box.dataset.fileDropReady = ""; // dropping works from here on
  }

  function start() {
    document.querySelectorAll("[data-file-drop]").forEach(enhance);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
