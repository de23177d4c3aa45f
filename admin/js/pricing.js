// Settings → Pricing (global settings) and Models (per-model prices, bounded steps); the request log.
(function () {
  "use strict";
  const { api, h, sats, time, table, notice, act, route } = window.Satmeter;

  function field(labelText, input, hint) {
    return h("div", { class: "field" }, h("label", { for: input.id }, labelText), input, hint ? h("div", { class: "muted small" }, hint) : null);
  }

  route(/^\/settings\/pricing$/, async () => {
    const s = await api("GET", "pricing");
    const input = (id, value, attrs) => h("input", { id, name: id, value: String(value), ...(attrs || {}) });
    const inputs = {
      fixedEnabled: h("input", { id: "fixed_per_request_enabled", type: "checkbox", checked: s.fixed_per_request.enabled }),
      fixedSats: input("fixed_per_request_sats", s.fixed_per_request.sats, { inputmode: "decimal" }),
      prompt: input("fixed_prompt_sats_per_1k", s.fixed_per_token.prompt_sats_per_1k, { inputmode: "decimal" }),
      completion: input("fixed_completion_sats_per_1k", s.fixed_per_token.completion_sats_per_1k, { inputmode: "decimal" }),
      exchange: input("exchange_fee", s.exchange_fee, { inputmode: "decimal" }),
      upstream: input("upstream_fee", s.upstream_fee, { inputmode: "decimal" }),
      minCharge: input("min_charge_msat", s.min_charge_msat, { type: "number", min: "0", step: "1" }),
      baseFee: input("base_fee_msat", s.base_fee_msat, { type: "number", min: "0", step: "1" }),
    };
    const form = h("form", { class: "card", id: "pricing-form" },
      h("h2", {}, "Fixed per request"), h("label", { class: "check" }, inputs.fixedEnabled, " Charge one flat price for every request (overrides everything below)"),
      field("Sats per request", inputs.fixedSats),
      h("h2", {}, "Fixed per 1K tokens"), h("p", { class: "muted" }, "Both 0: off. Replaces dynamic prices for all models; explicit model prices still win."),
      field("Input (prompt) sats per 1K", inputs.prompt), field("Output (completion) sats per 1K", inputs.completion),
      h("h2", {}, "Fees (dynamic prices)"), field("Exchange fee (×)", inputs.exchange, "1 to 10; e.g. 1.005"), field("Upstream fee (×)", inputs.upstream, "Your markup; e.g. 1.05"),
      h("h2", {}, "Every request"), field("Minimum request cost (msat)", inputs.minCharge), field("Base fee (msat)", inputs.baseFee, "Added to token-priced requests"),
      h("button", { type: "submit", class: "primary" }, "Save"));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      act(form, async () => {
        const saved = await api("PUT", "pricing", {
          fixed_per_request: { enabled: inputs.fixedEnabled.checked, sats: inputs.fixedSats.value },
          fixed_per_token: { prompt_sats_per_1k: inputs.prompt.value, completion_sats_per_1k: inputs.completion.value },
          exchange_fee: inputs.exchange.value, upstream_fee: inputs.upstream.value,
          min_charge_msat: Number(inputs.minCharge.value), base_fee_msat: Number(inputs.baseFee.value),
        });
        form.prepend(notice("ok", saved.changed.length ? `Saved: ${saved.changed.map((c) => `${c.name} ${c.was} → ${c.now}`).join(", ")}. Workers use it within seconds.` : "Nothing changed."));
      });
    });
    return h("div", {}, h("div", { class: "page-head" }, h("h1", {}, "Settings · Pricing")), form);
  });

  function priceCell(model, sats) {
    return sats ? `${sats}` : "–";
  }

  route(/^\/settings\/models(?:\?q=([^&]*))?$/, async (q) => {
    const search = decodeURIComponent(q || "");
    const result = await api("GET", "models");
    const models = result.models.filter((m) => !search || m.id.includes(search));
    const box = h("input", { type: "search", id: "model-search", placeholder: "Filter models", value: search });
    const filter = h("form", { class: "inline" }, box, h("button", { type: "submit" }, "Filter"));
    filter.addEventListener("submit", (e) => { e.preventDefault(); location.hash = `#/settings/models?q=${encodeURIComponent(box.value)}`; });
    const status = h("div", { id: "model-status" });

    const rows = models.map((m) => {
      const usd = m.pricing || {};
      const perMillion = (v) => (v === undefined || v === null ? "" : String(+(Number(v) * 1e6).toPrecision(12)));
      const prompt = h("input", { class: "price", name: `prompt-${m.id}`, value: perMillion(usd.prompt), inputmode: "decimal", "aria-label": `${m.id} prompt USD per 1M` });
      const completion = h("input", { class: "price", name: `completion-${m.id}`, value: perMillion(usd.completion), inputmode: "decimal", "aria-label": `${m.id} completion USD per 1M` });
      const save = h("button", { type: "button", "data-model": m.id }, "Save");
      save.addEventListener("click", () => act(status, async () => {
        const changed = await api("POST", "models/price", { model: m.id, currency: "usd", prompt: prompt.value, completion: completion.value });
        status.replaceChildren(notice(changed.refused.length ? "error" : "ok",
          `${m.id}: now ${changed.price}.` + (changed.refused.length ? ` Refused beyond the bounds: ${changed.refused.join("; ")}` : "")));
      }));
      return [h("code", {}, m.id), m.pricing_mode, m.pricing_source + (m.managed ? " (edited)" : ""), prompt, completion,
        priceCell(m, m.sats_pricing && m.sats_pricing.prompt_per_1m), priceCell(m, m.sats_pricing && m.sats_pricing.completion_per_1m), save];
    });
    return h("div", {},
      h("div", { class: "page-head" }, h("h1", {}, "Settings · Models"), filter),
      h("p", { class: "muted" }, `Prices in USD per 1M tokens. One save moves a price at most +${result.bounds.max_increase_percent} / −${result.bounds.max_decrease_percent} from the price in force (save again to go further); every change is archived as a change note.`),
      status,
      table(["model", "mode", "source", "prompt $/1M", "completion $/1M", "prompt sat/1M", "completion sat/1M", ""], rows, { empty: "No models." }));
  });

  route(/^\/requests$/, async () => {
    const { requests } = await api("GET", "requests?limit=200");
    return h("div", {}, h("div", { class: "page-head" }, h("h1", {}, "Request log")),
      table(["time", "route", "model", "status", "key", "pricing", "tokens in/out", "paid", "cost (sat)", "upstream", "ms"],
        requests.map((r) => [time(r.created_at), r.route, r.model || "", String(r.status) + (r.error_code ? ` ${r.error_code}` : ""),
          r.key_id === null ? "–" : h("a", { href: `#/keys/${r.key_id}` }, String(r.key_id)), r.pricing_source || "",
          `${r.prompt_tokens ?? "–"} / ${r.completion_tokens ?? "–"}`, r.payment_settled ? "yes" : "no", sats(r.cost_msat),
          r.upstream_status === null ? "–" : `${r.upstream_status} in ${r.upstream_ms} ms`, String(r.total_ms)]), { empty: "No requests yet." }));
  });
})();
