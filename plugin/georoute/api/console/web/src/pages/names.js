// Names: a zone's names, searched on the server (q=, a substring) and paged with its cursor (a
// million names stay fast: the page never holds more than one page); a click shows the name's
// binding and its answer for a client, from GET /v1/explain.
import { api, qs } from "../api.js";
import { clear, debounce, h, list } from "../util.js";
import { renderExplain, TYPES } from "./explain.js";

const PAGE = 50;

export function namesPage(root) {
  const zoneSel = h("select", { testid: "names-zone", onchange: () => first() });
  const search = h("input", { type: "search", testid: "names-search", placeholder: "search names (substring)", oninput: debounce(() => first(), 250) });
  const prev = h("button", { testid: "names-prev", onclick: () => back(), disabled: true }, "← previous");
  const next = h("button", { testid: "names-next", onclick: () => forward(), disabled: true }, "next →");
  const pageInfo = h("span.muted", { testid: "names-page" });
  const tbody = h("tbody", { testid: "names-list" });
  const detail = h("aside.panel", { testid: "name-detail" }, h("p.muted", "Click a name for its binding and its answer."));
  root.append(h("section.page.names-page",
    h("div.main",
      h("div.controls", h("label", "zone ", zoneSel), search, prev, next, pageInfo),
      h("table.names", h("thead", h("tr", h("th", "name"), h("th", "bound to"), h("th", "source"))), tbody)),
    h("div.side", detail)));

  let cursors = [""]; // cursors[i] is where page i starts
  let nextCursor = "";
  let seq = 0;

  async function loadZones() {
    try {
      const zs = list(await api("/v1/zones"), "zones").map((z) => (typeof z === "string" ? z : z.zone || z.name));
      const cur = zoneSel.value;
      clear(zoneSel, zs.map((z) => h("option", { value: z }, z)));
      if (zs.includes(cur)) zoneSel.value = cur;
      else first();
    } catch (e) {
      clear(tbody, h("tr", h("td.error", { colspan: 3 }, "zones: " + e.message)));
    }
  }

  function first() {
    cursors = [""];
    load();
  }
  function forward() {
    if (!nextCursor) return;
    cursors.push(nextCursor);
    load();
  }
  function back() {
    if (cursors.length > 1) cursors.pop();
    load();
  }

  async function load() {
    const zone = zoneSel.value;
    if (!zone) return;
    const my = ++seq;
    const cursor = cursors[cursors.length - 1];
    tbody.dataset.state = "loading";
    try {
      const r = await api(`/v1/zones/${encodeURIComponent(zone)}/names` + qs({ limit: PAGE, cursor, q: search.value.trim() }));
      if (my !== seq) return;
      const names = list(r, "names");
      nextCursor = r.next || "";
      clear(tbody, names.map((n) => h("tr.clickable", { testid: "name-row", "data-name": n.name, onclick: () => show(zone, n.name) },
        h("td.mono", n.name), h("td", bound(n)), h("td.muted", n.source || ""))));
      if (!names.length) tbody.append(h("tr", h("td.muted", { colspan: 3 }, "no names")));
      prev.disabled = cursors.length <= 1;
      next.disabled = !nextCursor;
      pageInfo.textContent = `page ${cursors.length}, ${names.length} names`;
      tbody.dataset.state = "done";
    } catch (e) {
      if (my !== seq) return;
      clear(tbody, h("tr", h("td.error", { colspan: 3 }, e.message)));
      tbody.dataset.state = "error";
    }
  }

  async function show(zone, name) {
    const client = h("input", { testid: "name-client", value: "81.2.69.0", placeholder: "client address or prefix" });
    const type = h("select", { testid: "name-type" }, TYPES.map((t) => h("option", t)));
    const out = h("div", { testid: "name-explain" });
    const binding = h("pre.json", { testid: "name-binding" }, "…");
    const ask = async () => {
      clear(out, h("p.muted", "asking…"));
      try {
        const qname = name.replace(/^\*\./, "wildcard-test.");
        clear(out, qname !== name ? h("p.muted", `(asked for ${qname}, a name the wildcard covers)`) : null,
          renderExplain(await api("/v1/explain" + qs({ name: qname, type: type.value, client: client.value.trim() })), "name-answer"));
      } catch (e) {
        clear(out, h("p.error", e.message));
      }
    };
    clear(detail, h("h2", { testid: "name-title" }, name), h("h3", "Binding"), binding,
      h("form.controls", { onsubmit: (e) => { e.preventDefault(); ask(); } }, h("label", "client ", client), type, h("button", { type: "submit", testid: "name-ask" }, "Answer for this client")),
      out);
    try {
      binding.textContent = JSON.stringify(await api(`/v1/zones/${encodeURIComponent(zone)}/names/${encodeURIComponent(name)}`), null, 2);
    } catch (e) {
      binding.textContent = e.message;
    }
    ask();
  }

  return {
    show: () => loadZones(),
    onEvent: (ev) => { if (ev.type === "change" && (ev.kind === "names" || ev.kind === "zones")) refresh(); },
  };
  function refresh() {
    clearTimeout(refresh.t);
    refresh.t = setTimeout(ev => (zoneSel.value ? load() : loadZones()), 500);
  }
}

function bound(n) {
  if (n.pool) return "pool " + n.pool;
  if (n.edge) return "edge " + n.edge;
  if (n.records) return `${n.records.length} record${n.records.length === 1 ? "" : "s"}`;
  return "";
}
