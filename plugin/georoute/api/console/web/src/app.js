// The georoute console: a token login, a tab per page (hash routes), one event stream that
// keeps every page live.
import { api, auth } from "./api.js";
import { offAll, on, refreshEdges, startEvents, stopEvents, store } from "./store.js";
import { clear, h } from "./util.js";
import { mapPage } from "./pages/map.js";
import { routingPage } from "./pages/routing.js";
import { explainPage } from "./pages/explain.js";
import { timelinePage } from "./pages/timeline.js";
import { namesPage } from "./pages/names.js";
import { nodesPage } from "./pages/nodes.js";

const PAGES = [
  ["map", "Map", mapPage],
  ["routing", "Routing", routingPage],
  ["explain", "Explain", explainPage],
  ["timeline", "Health timeline", timelinePage],
  ["names", "Names", namesPage],
  ["nodes", "Nodes", nodesPage],
];

const app = document.getElementById("app");
let views = null; // id -> {el, page}
let current = null;
let timers = [];

function loginView(msg) {
  const input = h("input", { type: "password", testid: "token-input", autocomplete: "current-password", placeholder: "API token", required: true });
  const err = h("p.error", { testid: "login-error" }, msg || "");
  const form = h("form.login", { testid: "login-form", onsubmit: async (e) => {
    e.preventDefault();
    err.textContent = "";
    const token = input.value.trim();
    sessionStorage.setItem("georoute.token", token);
    try {
      await api("/v1/status", { login: true });
      auth.set(token);
    } catch (x) {
      sessionStorage.removeItem("georoute.token");
      err.textContent = x.status === 401 ? "this token is not accepted" : x.message;
    }
  } },
  h("h1", "georoute console"),
  h("p", "The API token (read scope to look, write scope to drain). It is kept in this tab's session storage only."),
  input, h("button", { type: "submit", testid: "login" }, "Log in"), err);
  clear(app, form);
  input.focus();
}

function consoleView() {
  const tabs = h("nav.tabs", PAGES.map(([id, label]) => h("a.tab", { href: "#/" + id, testid: "tab-" + id, "data-page": id }, label)));
  const live = h("span.live", { testid: "live", "data-state": store.live }, "○ live");
  const logout = h("button.link", { testid: "logout", onclick: () => auth.set("") }, "log out");
  const main = h("main");
  clear(app, h("header", h("span.brand", "georoute"), tabs, h("span.right", live, logout)), main);
  views = {};
  for (const [id, , make] of PAGES) {
    const el = h("div.view", { testid: "page-" + id, "data-page": id });
    el.hidden = true;
    main.append(el);
    views[id] = { el, page: make(el) };
  }
  const setLive = (st, detail) => {
    live.dataset.state = st;
    live.textContent = st === "connected" ? "● live" : st === "connecting" ? "◌ connecting…" : "○ not live";
    live.title = detail || "";
  };
  setLive(store.live);
  on("live", setLive);
  on("event", (ev) => current && views[current].page.onEvent && views[current].page.onEvent(ev));
  route();
}

function route() {
  if (!views) return;
  const id = (location.hash.match(/^#\/(\w+)/) || [])[1];
  const want = views[id] ? id : "map";
  if (want !== id) history.replaceState(null, "", "#/" + want);
  for (const [vid, v] of Object.entries(views)) v.el.hidden = vid !== want;
  for (const a of document.querySelectorAll(".tab")) a.classList.toggle("active", a.dataset.page === want);
  current = want;
  document.title = `georoute · ${PAGES.find((p) => p[0] === want)[1]}`;
  document.body.dataset.page = want;
  views[want].page.show && views[want].page.show();
}

function start() {
  for (const t of timers) clearInterval(t);
  timers = [];
  if (!auth.token) {
    stopEvents();
    views = null;
    current = null;
    store.lastId = 0;
    store.events = [];
    loginView();
    return;
  }
  offAll();
  consoleView();
  refreshEdges().then(startEvents);
  // Answers in the last minute and probe RTTs change without an event: read them now and then.
  timers.push(setInterval(refreshEdges, 15000));
  timers.push(setInterval(() => current && views[current].page.tick && views[current].page.tick(), 10000));
}

window.addEventListener("hashchange", route);
auth.onChange(start);
start();
