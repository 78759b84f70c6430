// Explain: a client (address or prefix), a name and a type -> GET /v1/explain's decision, drawn
// as the path through nested pools (a step's depth is its nesting), and the answer.
import { api, qs } from "../api.js";
import { store } from "../store.js";
import { clear, fmtMs, h, rdata, rrtype } from "../util.js";
import { countryName } from "../worldmap.js";

export const TYPES = ["A", "AAAA", "CNAME", "TXT", "MX", "NS", "SOA", "SRV", "CAA", "HTTPS", "ANY"];

export function explainPage(root) {
  const client = h("input", { testid: "explain-client", placeholder: "81.2.69.0 or 81.2.69.0/24", value: "81.2.69.0", required: true });
  const name = h("input", { testid: "explain-name", placeholder: "www.example.net", value: "www.example.net", required: true });
  const type = h("select", { testid: "explain-type" }, TYPES.map((t) => h("option", t)));
  const out = h("div.explain-out", { testid: "explain-result" });
  const form = h("form.controls", { testid: "explain-form", onsubmit: (e) => { e.preventDefault(); run(); } },
    h("label", "client ", client), h("label", "name ", name), h("label", "type ", type),
    h("button", { type: "submit", testid: "explain-run" }, "Explain"));
  root.append(h("section.page.explain-page", form, out));

  async function run() {
    clear(out, h("p.muted", "asking…"));
    out.dataset.state = "loading";
    try {
      const r = await api("/v1/explain" + qs({ name: name.value.trim(), type: type.value, client: client.value.trim() }));
      clear(out, renderExplain(r));
      out.dataset.state = "done";
    } catch (e) {
      clear(out, h("p.error", { testid: "explain-error" }, e.message));
      out.dataset.state = "error";
    }
  }

  return {
    show() {},
    // explain(client, name, type): from other pages (Names).
    set(c, n, t) {
      if (c) client.value = c;
      if (n) name.value = n;
      if (t) type.value = t;
      run();
    },
  };
}

// renderExplain(r) draws one /v1/explain answer: the client, the binding, the steps, the answer.
export function renderExplain(r, testid = "explain-answer") {
  const loc = r.client_location || {};
  const answerEdges = edgesOf(r.answer || []);
  return h("div.explain",
    h("dl.facts",
      h("dt", "client"), h("dd", { testid: "explain-client-shown" }, r.client || "", r.network ? ` (network ${r.network})` : ""),
      h("dt", "located"), h("dd", loc.country ? [loc.city, loc.subdivision, countryName(loc.country), loc.continent].filter(Boolean).join(", ") : "not in the GeoIP database"),
      h("dt", "name"), h("dd", `${r.name || ""} ${r.type || ""}`, r.zone ? ` in zone ${r.zone}` : ""),
      h("dt", "binding"), h("dd", r.binding ? `${r.binding.name}: ${specText(r.binding.spec)} (${r.binding.source || ""})` : "none (the zone's own records)"),
      h("dt", "rcode"), h("dd", { testid: "explain-rcode" }, r.rcode || ""),
      h("dt", "TTL, ECS scope"), h("dd", `${r.ttl ?? "–"} s, /${r.ecs_scope ?? "–"}`)),
    (r.steps || []).length ? h("div.steps", { testid: "explain-steps" }, h("h3", "Decision"), drawSteps(r.steps, answerEdges)) : null,
    h("h3", "Answer"),
    h("ul.answer", { testid }, (r.answer || []).length ? (r.answer || []).map((rr) =>
      h("li", h("span.addr", { testid: "explain-address", "data-type": rrtype(rr) }, rdata(rr)), " ", h("span.mono.muted", rr)))
      : h("li.muted", "no records")),
    (r.authority || []).length ? [h("h4", "Authority"), h("ul.answer", r.authority.map((rr) => h("li.mono", rr)))] : null);
}

function specText(spec) {
  if (!spec) return "";
  if (spec.pool) return "pool " + spec.pool;
  if (spec.edge) return "edge " + spec.edge;
  if (spec.records) return spec.records.length + " records";
  return JSON.stringify(spec);
}

// edgesOf(answer) -> the ids of the edges whose addresses the answer holds.
function edgesOf(answer) {
  const addrs = new Set(answer.map(rdata));
  const ids = new Set();
  for (const e of store.edges.values()) if ((e.addresses || []).some((a) => addrs.has(a))) ids.add(e.id);
  return ids;
}

// drawSteps draws the path through nested pools: the outermost pool's step first (depth 0), and
// under each of its members that is a pool the step of that pool (depth + 1), nested, as the
// decision went; the members on the path (a pool whose step follows, an answered edge) marked.
// /v1/explain lists the steps innermost first: the tree is built from depth and pool names.
function drawSteps(steps, answerEdges) {
  const left = steps.map((st, i) => ({ st, i })).sort((a, b) => (a.st.depth ?? 0) - (b.st.depth ?? 0) || a.i - b.i);
  const used = new Set();
  const take = (depth, pool) => {
    const c = left.find((x) => !used.has(x) && (x.st.depth ?? 0) === depth && x.st.pool === pool);
    if (c) used.add(c);
    return c && c.st;
  };
  const box = (st) => {
    const depth = st.depth ?? 0;
    const el = h("div.step", { testid: "explain-step", "data-depth": depth, "data-pool": st.pool || "" },
      h("div.step-head",
        h("strong", "pool ", st.pool || "?"), " ", h("span.badge", st.policy || ""),
        st.rule !== undefined && st.rule !== null ? h("span.muted", " rule ", typeof st.rule === "object" ? JSON.stringify(st.rule) : String(st.rule)) : null,
        st.healthy === false ? h("span.badge.st-down", "no healthy member") : null),
      h("ol.members", (st.members || []).map((m) => {
        const [kind, id] = String(m.member || "").split(/\s+/, 2);
        const child = kind === "pool" ? take(depth + 1, id) : null;
        const onPath = !!child || (kind === "edge" && answerEdges.has(id));
        return h("li", { class: [onPath ? "onpath" : "", m.up === false ? "down" : ""].join(" "), "data-member": m.member || "" },
          h("span.member", m.member || ""),
          " ", m.up === false ? h("span.badge.st-down", "down") : h("span.badge.st-up", "up"),
          " ", m.score === null || m.score === undefined ? h("span.muted", "score unknown") : `${fmtMs(m.score)} ${m.unit || ""}`,
          m.source ? h("span.muted", " · " + m.source) : null,
          m.load !== undefined && m.load !== null ? h("span.muted", ` · load ${Math.round(m.load * 100)}%`) : null,
          m.note ? h("span.badge.st-drained", { "data-note": m.note }, m.note) : null,
          onPath ? h("span.path-mark", child ? " ↓" : " ✓ answered") : null,
          child ? box(child) : null);
      })));
    return el;
  };
  const out = [];
  for (const x of left) {
    if (used.has(x)) continue;
    used.add(x);
    out.push(box(x.st));
  }
  return out;
}
