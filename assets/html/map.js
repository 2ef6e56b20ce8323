"use strict";
// ipatlas's interactive map: pan, zoom, hover and layer switching over the inline SVG.
(function () {
  const data = JSON.parse(document.getElementById("ipatlas-data").textContent);
  const svg = document.getElementById("map");
  const stage = document.getElementById("stage");
  const tip = document.getElementById("tip");
  const W = data.width;
  const H = data.height;
  const layers = {};
  data.layers.forEach(function (l) { layers[l.id] = l; });
  let current = data.shown;
  let view = { x: 0, y: 0, w: W, h: H };

  const fmt = function (n) { return Number(n).toLocaleString("en-US"); };
  const unit = function (n) { return Number(n) === 1 ? data.unit[0] : data.unit[1]; };
  const el = function (id) { return document.getElementById(id); };

  function setView(v) {
    const w = Math.min(Math.max(v.w, W / 64), W);
    const h = w * H / W;
    const x = Math.min(Math.max(v.x, 0), W - w);
    const y = Math.min(Math.max(v.y, 0), H - h);
    view = { x: x, y: y, w: w, h: h };
    svg.setAttribute("viewBox", [x, y, w, h].map(function (a) { return +a.toFixed(2); }).join(" "));
  }

  // Zooms by `factor` keeping the map point (cx, cy) where it is.
  function zoom(factor, cx, cy) {
    if (cx === undefined) { cx = view.x + view.w / 2; cy = view.y + view.h / 2; }
    const w = Math.min(Math.max(view.w / factor, W / 64), W);
    const k = w / view.w;
    setView({ x: cx - (cx - view.x) * k, y: cy - (cy - view.y) * k, w: w });
  }

  function toMap(evt) {
    const m = svg.getScreenCTM();
    if (!m) { return { x: 0, y: 0 }; }
    const p = new DOMPoint(evt.clientX, evt.clientY).matrixTransform(m.inverse());
    return { x: p.x, y: p.y };
  }

  function show(id) {
    if (!layers[id]) { return; }
    current = id;
    const l = layers[id];
    svg.setAttribute("class", "show-" + id);
    el("subtitle").textContent = l.subtitle;
    el("bar-label").textContent = l.barLabel;
    el("scale-name").textContent = l.scaleName;
    el("ramp").style.background = "linear-gradient(to right, " + data.ramp.join(", ") + ")";
    const ticks = el("ticks");
    ticks.textContent = "";
    l.ticks.forEach(function (t) {
      const s = document.createElement("span");
      s.style.left = (t[0] * 100) + "%";
      s.textContent = t[1];
      ticks.appendChild(s);
    });
    el("nodata").hidden = id !== "countries";
    const notes = el("notes");
    notes.textContent = "";
    l.notes.concat(data.dropped).forEach(function (n) {
      const li = document.createElement("li");
      li.textContent = n;
      notes.appendChild(li);
    });
    el("attribution").textContent = l.attributions.concat(["ipatlas"]).join(" · ");
    document.querySelectorAll("#layers input").forEach(function (r) { r.checked = r.value === id; });
    hideTip();
  }

  function share(n, layer) {
    const total = layers[layer] ? layers[layer].total : 0;
    if (!total) { return ""; }
    const p = Number(n) / total * 100;
    return " (" + (p >= 0.1 ? p.toFixed(1) : p.toPrecision(2)) + "% of drawn)";
  }

  function deg(v, pos, neg) {
    const a = Math.abs(v);
    return (+a.toFixed(4)) + "°" + (v < 0 ? neg : pos);
  }

  // The words for a feature under the pointer, or "" for none.
  function describe(target) {
    if (!target || !target.dataset) { return ""; }
    const d = target.dataset;
    const inLand = target.parentNode && target.parentNode.id === "land";
    if (inLand) {
      if (!d.k) { return ""; }
      const name = data.names[d.k] || d.k;
      if (!d.n) { return name + " (" + d.k + "): no data"; }
      let s = name + " (" + d.k + "): " + fmt(d.n) + " " + unit(d.n) + share(d.n, "countries");
      if (d.v) { s += ", " + fmt(d.v) + " per million people"; }
      return s;
    }
    if (d.n === undefined) { return ""; }
    const count = fmt(d.n) + " " + unit(d.n) + share(d.n, current);
    if (d.b) {
      const b = d.b.split(",").map(Number);
      const lat1 = Math.min(b[1] + data.cell, 90);
      const lon1 = Math.min(b[0] + data.cell, 180);
      return "Cell " + deg(b[1], "N", "S") + " to " + deg(lat1, "N", "S") + ", " +
        deg(b[0], "E", "W") + " to " + deg(lon1, "E", "W") + ": " + count;
    }
    if (d.h) { return "H3 cell " + d.h + " (resolution " + data.h3 + "): " + count; }
    if (d.l) {
      const p = d.l.split(",").map(Number);
      return "Pixel at " + deg(p[0], "N", "S") + ", " + deg(p[1], "E", "W") + ": " + count;
    }
    return count;
  }

  function hideTip() { tip.hidden = true; }

  let drag = null;
  svg.addEventListener("pointerdown", function (evt) {
    drag = { x: evt.clientX, y: evt.clientY, view: view, moved: false };
    svg.setPointerCapture(evt.pointerId);
  });
  svg.addEventListener("pointermove", function (evt) {
    if (drag && (drag.moved || Math.abs(evt.clientX - drag.x) + Math.abs(evt.clientY - drag.y) > 3)) {
      drag.moved = true;
      svg.classList.add("dragging");
      const m = svg.getScreenCTM();
      const s = m ? m.a : 1;
      setView({ x: drag.view.x - (evt.clientX - drag.x) / s, y: drag.view.y - (evt.clientY - drag.y) / s, w: drag.view.w });
      hideTip();
      return;
    }
    tipAt(evt);
  });
  // The tip for the feature under a pointer (hover, or a tap on a touch screen).
  function tipAt(evt) {
    const text = describe(document.elementFromPoint(evt.clientX, evt.clientY));
    if (!text) { hideTip(); return; }
    const r = stage.getBoundingClientRect();
    tip.textContent = text;
    tip.hidden = false;
    const x = evt.clientX - r.left + 14;
    tip.style.left = Math.max(0, Math.min(x, r.width - tip.offsetWidth - 4)) + "px";
    tip.style.top = (evt.clientY - r.top + 14) + "px";
  }
  function endDrag() { drag = null; svg.classList.remove("dragging"); }
  svg.addEventListener("pointerup", function (evt) {
    if (drag && !drag.moved) { tipAt(evt); }
    endDrag();
  });
  svg.addEventListener("pointercancel", endDrag);
  svg.addEventListener("pointerleave", hideTip);
  svg.addEventListener("wheel", function (evt) {
    evt.preventDefault();
    const p = toMap(evt);
    zoom(evt.deltaY < 0 ? 1.25 : 0.8, p.x, p.y);
  }, { passive: false });
  svg.addEventListener("dblclick", function (evt) {
    const p = toMap(evt);
    zoom(2, p.x, p.y);
  });

  document.querySelectorAll("#tools [data-zoom]").forEach(function (b) {
    b.addEventListener("click", function () {
      const z = b.dataset.zoom;
      if (z === "in") { zoom(1.5); } else if (z === "out") { zoom(1 / 1.5); } else { setView({ x: 0, y: 0, w: W }); }
    });
  });
  document.addEventListener("keydown", function (evt) {
    if (evt.key === "+" || evt.key === "=") { zoom(1.5); }
    if (evt.key === "-") { zoom(1 / 1.5); }
    if (evt.key === "0") { setView({ x: 0, y: 0, w: W }); }
  });
  document.querySelectorAll("#layers input").forEach(function (r) {
    r.addEventListener("change", function () { show(r.value); });
  });

  // The view as a PNG: the SVG (with its own style and the page's colours) drawn to a canvas.
  el("download").addEventListener("click", function () {
    const copy = svg.cloneNode(true);
    const scale = 2;
    copy.setAttribute("width", Math.round(W * scale));
    copy.setAttribute("height", Math.round(H * scale));
    const css = getComputedStyle(document.documentElement);
    const vars = ["--bg", "--ocean", "--land", "--border", "--outline", "--graticule", "--text"]
      .map(function (v) { return v + ":" + css.getPropertyValue(v).trim(); }).join(";");
    const style = document.createElementNS("http://www.w3.org/2000/svg", "style");
    style.textContent = "svg{" + vars + "}";
    copy.insertBefore(style, copy.firstChild);
    const blob = new Blob([new XMLSerializer().serializeToString(copy)], { type: "image/svg+xml" });
    const url = URL.createObjectURL(blob);
    const img = new Image();
    img.onload = function () {
      const c = document.createElement("canvas");
      c.width = Math.round(W * scale);
      c.height = Math.round(H * scale);
      c.getContext("2d").drawImage(img, 0, 0, c.width, c.height);
      URL.revokeObjectURL(url);
      c.toBlob(function (png) {
        const a = document.createElement("a");
        a.href = URL.createObjectURL(png);
        a.download = "ipatlas-map.png";
        a.click();
      });
    };
    img.src = url;
  });

  show(current);
  window.ipatlas = { data: data, show: show, describe: describe, zoom: zoom, view: function () { return Object.assign({}, view); } };
})();
