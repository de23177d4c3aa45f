// Cohorts: canary against control on one route, and the pricing loop (propose, canary, promote).
(function () {
  "use strict";
  const { api, h, time, table, notice, act, route } = window.Satmeter;

  const tableOf = (report, id) => report.tables.find((t) => t.id === id);
  const cell = (v) => (v === null || v === undefined ? "–" : String(v));
  const pct = (v) => (v === null || v === undefined ? "–" : `${v}%`);
  const pre = (text) => h("pre", { class: "small" }, text);

  /** The comparison tables of the cohorts report (or of the running canary). */
  function comparison(tables) {
    const t = (id) => tables.find((x) => x.id === id);
    const cohorts = t("cohorts"), models = t("models"), verdict = t("verdict");
    const col = (tbl, name) => tbl.columns.indexOf(name);
    const pick = (tbl, row, names) => names.map((n) => row[col(tbl, n)]);
    return [
      h("section", { class: "card" }, h("h2", {}, cohorts.title),
        table(["cohort", "requests", "402s", "converted", "conversion", "paid", "payment success", "upstream success", "settlement failures", "margin / request (msat)"],
          cohorts.rows.map((r) => {
            const [c, n, q, conv, convPct, settled, paySucc, upSucc, fail, mpr] = pick(cohorts, r,
              ["cohort", "requests", "payment_required", "converted", "conversion_pct", "settled", "payment_success_pct", "upstream_success_pct", "settlement_failures", "margin_per_request_msat"]);
            return [c, cell(n), cell(q), cell(conv), pct(convPct), cell(settled), pct(paySucc), pct(upSucc), cell(fail), cell(mpr)];
          }), { empty: "No requests on this route in this period." })),
      h("section", { class: "card" }, h("h2", {}, "Verdict"),
        table(["cohort", "verdict", "why"], verdict.rows.map((r) => [r[0], r[1], r[2]]), { empty: "No canary cohort in this period." })),
      h("section", { class: "card" }, h("h2", {}, models.title),
        table(["cohort", "model", "paid", "margin (msat)", "margin / request (msat)", "margin"],
          models.rows.map((r) => [r[0], r[1], cell(r[2]), cell(r[5]), cell(r[6]), pct(r[7])]))),
    ];
  }

  function loopCard(status) {
    const card = h("section", { class: "card", id: "pricing-loop" }, h("h2", {}, "Pricing loop"));
    const output = h("div", {});
    const run = (what, body) => act(card, async () => {
      const answer = await api("POST", `loop/${what}`, body || {});
      output.replaceChildren(notice("ok", `${what}: ${answer.verdict || answer.cohort || (answer.stopped ? "stopped" : "done")}`),
        ...(answer.decisions ? [table(["model", "decision"], answer.decisions.map((d) => [d.model, d.reason]))] : []),
        ...(answer.lines ? [h("ul", {}, answer.lines.map((l) => h("li", {}, l)))] : []),
        pre(answer.change_note || answer.proposal || ""), h("p", { class: "muted small" }, `note: ${answer.note}`));
    });
    if (status.canary) {
      const c = status.canary;
      card.append(h("p", {}, `Canary ${c.cohort} on ${c.route} since ${time(c.started_at)}: `, h("strong", {}, status.verdict)),
        h("ul", {}, status.lines.map((l) => h("li", {}, l))), pre(c.prices),
        h("button", { class: "primary", onclick: () => run("promote") }, "Promote to control"), " ",
        h("button", { onclick: () => run("stop", { reason: "stopped from the dashboard" }) }, "Stop canary"));
    } else {
      const header = h("input", { id: "canary-header", value: "x-pricing-version" });
      const value = h("input", { id: "canary-value", value: "v2" });
      card.append(h("p", { class: "muted" }, "No canary is running. Propose reads the request log and writes a bounded change; start it for one header cohort."),
        h("button", { onclick: () => run("propose", {}) }, "Propose"), " ",
        h("label", {}, "Header ", header), " ", h("label", {}, "= ", value), " ",
        h("button", { class: "primary", onclick: () => run("canary", { header: header.value, value: value.value }) }, "Start canary from the last proposal"));
    }
    card.append(output);
    return card;
  }

  route(/^\/cohorts(?:\?days=(\d+))?$/, async (daysText) => {
    const days = Number(daysText || 7);
    const [report, status] = await Promise.all([api("GET", `reports/cohorts?days=${days}`), api("GET", "loop")]);
    const periods = [1, 7, 30].map((n) => h("a", { href: `#/cohorts?days=${n}`, class: n === days ? "pill active" : "pill" }, n === 1 ? "24 h" : `${n} days`));
    return h("div", {},
      h("div", { class: "page-head" }, h("h1", {}, "Cohorts"), h("div", { class: "pills" }, periods)),
      loopCard(status), ...comparison(report.tables));
  });
})();
