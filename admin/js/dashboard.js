// Dashboards: money, margin, conversion, unknown models and fallback prices, settlements, the wallet.
(function () {
  "use strict";
  const { api, h, sats, table, route } = window.Satmeter;
  const { line, bars } = window.SatmeterCharts;

  const column = (t, name) => t.columns.indexOf(name);
  const series = (t, name, scale) => t.rows.map((r) => [r[0], r[column(t, name)] === null ? null : Number(r[column(t, name)]) / (scale || 1)]);
  const tableOf = (report, id) => report.tables.find((t) => t.id === id);

  function card(title, ...content) {
    return h("section", { class: "card chart-card" }, h("h2", {}, title), ...content);
  }

  function stat(label, value, hint) {
    return h("div", { class: "stat" }, h("div", { class: "stat-value" }, value), h("div", { class: "stat-label" }, label), hint ? h("div", { class: "muted small" }, hint) : null);
  }

  route(/^\/dashboard(?:\?days=(\d+))?$/, async (daysText) => {
    const days = Number(daysText || 7);
    const [summary, margin, conversion, pricing, settlement, revenue, wallet] = await Promise.all(
      ["summary", "margin", "conversion", "pricing", "settlement", "revenue", "wallet"].map((name) => api("GET", `reports/${name}?days=${days}`)));
    const money = tableOf(summary, "money");
    const m = Object.fromEntries(money.columns.map((c, i) => [c, money.rows[0][i]]));
    const day = tableOf(summary, "last_24h");
    const d = Object.fromEntries(day.columns.map((c, i) => [c, day.rows[0][i]]));
    const walletNow = tableOf(wallet, "now").rows;
    const walletSat = walletNow.find((r) => r[0] === "all mints")[1];

    const byModel = tableOf(margin, "by_model");
    const byProvider = tableOf(margin, "by_provider");
    const marginBars = (t) => bars(t.rows.slice(0, 12).map((r) => ({ label: String(r[0]), values: [r[2] / 1000, r[3] / 1000, r[4] / 1000] })),
      ["revenue (sat)", "upstream cost (sat)", "margin (sat)"]);
    const convModel = tableOf(conversion, "by_model");
    const convCohort = tableOf(conversion, "by_cohort");
    const pricingSeries = tableOf(pricing, "series");
    const settlementSeries = tableOf(settlement, "series");
    const revenueSeries = tableOf(revenue, "series");
    const history = tableOf(wallet, "series");

    const periods = [1, 7, 30, 90].map((n) => h("a", { href: `#/dashboard?days=${n}`, class: n === days ? "pill active" : "pill" }, n === 1 ? "24 h" : `${n} days`));
    return h("div", { class: "dashboard" },
      h("div", { class: "page-head" }, h("h1", {}, "Dashboard"), h("div", { class: "pills" }, periods)),
      h("div", { class: "stats" },
        stat("owed to users (sat)", sats(m.owed_msat), `${sats(m.reserved_msat)} held for requests in flight`),
        stat("node wallet (sat)", walletSat.toLocaleString("en-US"), walletSat * 1000 >= m.owed_msat ? "covers what is owed" : "less than what is owed"),
        stat("earned (sat)", sats(m.earned_msat), "all time"),
        stat("revenue 24 h (sat)", sats(d.revenue_msat), `upstream cost ${sats(d.upstream_cost_msat)}`),
        stat("requests 24 h", String(d.requests), `${d.paid} paid, ${d.payment_required} × 402, ${d.errors} errors`),
        stat("keys", String(m.keys), m.expired_keys_with_balance ? `${m.expired_keys_with_balance} expired with ${sats(m.expired_balance_msat)} sat left` : "")),
      h("div", { class: "grid" },
        card("Revenue over time", line([
          { name: "revenue (sat)", points: series(revenueSeries, "revenue_msat", 1000) },
          { name: "upstream cost (sat)", points: series(revenueSeries, "upstream_cost_msat", 1000) },
          { name: "margin (sat)", points: series(revenueSeries, "margin_msat", 1000) }], { title: "revenue" })),
        card("Node wallet vs owed to users", line([
          { name: "wallet (sat)", points: history.rows.map((r) => [r[0], r[1]]) },
          { name: "owed (sat)", points: history.rows.map((r) => [r[0], r[2] / 1000]) }], { title: "wallet" }),
          table(["", "unspent sat", "pending sat"], walletNow.map((r) => [r[0], r[1], r[2] ?? ""]))),
        card("Margin by model", marginBars(byModel)),
        card("Margin by provider", marginBars(byProvider)),
        card("402 → paid conversion by model", table(["model", "402s", "paid with ecash", "all paid", "conversion"],
          convModel.rows.map((r) => [r[0], r[1], r[2], r[3], r[4] === null ? "–" : `${r[4]}%`]))),
        card("402 → paid conversion by hour or day", line([{ name: "conversion %", points: series(convCohort, "conversion_pct") }], { percent: true, title: "conversion" })),
        card("Unknown-model rate", line([{ name: "unknown model %", points: series(pricingSeries, "unknown_model_pct") }], { percent: true, title: "unknown models" })),
        card("Fallback-price hit rate", line([{ name: "fallback price %", points: series(pricingSeries, "fallback_pct") }], { percent: true, title: "fallback" })),
        card("Settlement failures and timeouts", line([
          { name: "settlement failure %", points: series(settlementSeries, "failure_pct") },
          { name: "upstream timeout %", points: series(settlementSeries, "timeout_pct") }], { percent: true, title: "settlement" }))));
  });
})();
