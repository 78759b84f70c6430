// DOM helpers: elements are built, never parsed from strings, so no data reaches innerHTML and
// no inline style attribute exists for the CSP to block (styles are classes, or element.style).

const SVG = "http://www.w3.org/2000/svg";

// h("div.card", {testid: "x", onclick: fn}, child, "text", [more]) builds an HTML element.
export function h(spec, attrs, ...children) {
  return build(document.createElement(tag(spec)), spec, attrs, children);
}

// s("circle", {cx: 1}) builds an SVG element.
export function s(spec, attrs, ...children) {
  return build(document.createElementNS(SVG, tag(spec)), spec, attrs, children);
}

function tag(spec) {
  return spec.split(".")[0] || "div";
}

function build(el, spec, attrs, children) {
  const classes = spec.split(".").slice(1);
  if (classes.length) el.setAttribute("class", classes.join(" "));
  if (attrs && (typeof attrs !== "object" || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "testid") el.setAttribute("data-testid", v);
    else if (k === "class") el.setAttribute("class", [el.getAttribute("class"), v].filter(Boolean).join(" "));
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "value" && "value" in el) el.value = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

// clear(el, ...children) replaces el's children.
export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export function fmtTime(t) {
  if (!t) return "";
  const d = new Date(t);
  if (isNaN(d)) return String(t);
  return d.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

export function fmtAgo(t, now = Date.now()) {
  const ms = now - new Date(t).getTime();
  if (!isFinite(ms)) return "";
  const sec = Math.max(0, Math.round(ms / 1000));
  if (sec < 60) return sec + " s ago";
  if (sec < 3600) return Math.round(sec / 60) + " min ago";
  if (sec < 86400) return (sec / 3600).toFixed(1) + " h ago";
  return (sec / 86400).toFixed(1) + " d ago";
}

export function fmtMs(x) {
  if (x === null || x === undefined || !isFinite(x)) return "–";
  return x < 10 ? x.toFixed(1) : String(Math.round(x));
}

// debounce(fn, ms) runs fn once, ms after the last call.
export function debounce(fn, ms) {
  let t;
  return (...a) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...a), ms);
  };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// addresses of an answer's records ("www.example.net. 30 IN A 192.0.2.11" -> "192.0.2.11").
export function rdata(rr) {
  const f = String(rr).trim().split(/\s+/);
  return f.length >= 5 ? f.slice(4).join(" ") : String(rr);
}

export function rrtype(rr) {
  const f = String(rr).trim().split(/\s+/);
  return f.length >= 5 ? f[3] : "";
}

export function list(x, key) {
  if (Array.isArray(x)) return x;
  if (x && Array.isArray(x[key])) return x[key];
  return [];
}

// coalesce(fn) returns a function that runs fn once, soon, however often it is called meanwhile.
export function coalesce(fn, ms = 0) {
  let pending = false;
  return () => {
    if (pending) return;
    pending = true;
    setTimeout(() => {
      pending = false;
      fn();
    }, ms);
  };
}
