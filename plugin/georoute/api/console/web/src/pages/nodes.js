// Nodes: the store and the nodes that share it (etcd), how far each is behind the store.
import { api } from "../api.js";
import { clear, debounce, fmtAgo, fmtTime, h } from "../util.js";

export function nodesPage(root) {
  const box = h("div", { testid: "nodes" });
  root.append(h("section.page.nodes-page", box));

  async function load() {
    try {
      const st = await api("/v1/status");
      const store = st.store || {};
      const nodes = store.nodes || [];
      clear(box,
        h("dl.facts", { testid: "status" },
          h("dt", "revision served"), h("dd", String(st.revision ?? "")),
          h("dt", "store"), h("dd", `${store.kind || "?"} at ${store.where || "?"}`),
          h("dt", "reachable"), h("dd", { class: store.reachable === false ? "error" : "" }, store.reachable === false ? "no" : "yes"),
          h("dt", "store revision"), h("dd", String(store.revision ?? "")),
          h("dt", "applied here"), h("dd", `${store.applied_revision ?? ""} (lag ${store.lag ?? 0})`),
          store.node ? [h("dt", "this node"), h("dd", store.node)] : null,
          h("dt", "catalog"), h("dd", `${st.zones ?? "?"} zones, ${st.names ?? "?"} names, ${st.edges ?? "?"} edges`)),
        nodes.length
          ? h("table.nodes", { testid: "nodes-table" },
            h("thead", h("tr", h("th", "node"), h("th", "applied revision"), h("th", "lag (revisions)"), h("th", "last seen"))),
            h("tbody", nodes.map((n) => {
              const lag = (store.revision ?? 0) - (n.applied_revision ?? 0);
              return h("tr", { testid: "node-row", "data-node": n.name, class: lag > 0 ? "behind" : "" },
                h("td", n.name, n.name === store.node ? " (this one)" : ""), h("td", String(n.applied_revision ?? "")),
                h("td", String(lag)), h("td", { title: fmtTime(n.at) }, n.at ? fmtAgo(n.at) : ""));
            })))
          : h("p", { testid: "nodes-single" }, `One node: this appliance, its ${store.kind || ""} store shared with no other node.`));
    } catch (e) {
      clear(box, h("p.error", e.message));
    }
  }
  const soon = debounce(load, 300);
  return { show: load, tick: load, onEvent: (ev) => ev.type === "change" && soon() };
}
