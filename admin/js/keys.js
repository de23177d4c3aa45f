// Keys: list and search, create, and one key's page (expiry, refund address, limit, models,
// disable, child keys, withdraw as a cashuB token with a copy button and a QR code).
(function () {
  "use strict";
  const { api, h, sats, time, table, notice, act, route } = window.Satmeter;

  function status(key) {
    if (key.disabled) return h("span", { class: "badge off" }, "disabled");
    if (key.expired) return h("span", { class: "badge warn" }, "expired");
    return h("span", { class: "badge ok" }, "active");
  }

  route(/^\/keys(?:\?q=([^&]*))?$/, async (q) => {
    const search = decodeURIComponent(q || "");
    const result = await api("GET", `keys?limit=200&q=${encodeURIComponent(search)}`);
    const box = h("input", { type: "search", id: "key-search", placeholder: "Search by id, hint or label", value: search });
    const searchForm = h("form", { class: "inline" }, box, h("button", { type: "submit" }, "Search"));
    searchForm.addEventListener("submit", (e) => { e.preventDefault(); location.hash = `#/keys?q=${encodeURIComponent(box.value)}`; });

    const label = h("input", { name: "label", placeholder: "Label" });
    const balance = h("input", { name: "balance", type: "number", min: "0", step: "1", placeholder: "Balance (sat)" });
    const created = h("div", {});
    const createForm = h("form", { class: "inline", id: "create-key" }, label, balance, h("button", { type: "submit", class: "primary" }, "Create key"));
    createForm.addEventListener("submit", (e) => {
      e.preventDefault();
      act(createForm, async () => {
        const key = await api("POST", "keys", { label: label.value || null, balance_msat: Math.round(Number(balance.value || 0) * 1000) });
        created.replaceChildren(notice("ok", "Key created. It is shown only now:"), h("code", { class: "secret" }, key.api_key),
          h("p", {}, h("a", { href: `#/keys/${key.id}` }, `Open key ${key.id}`)));
      });
    });

    return h("div", {},
      h("div", { class: "page-head" }, h("h1", {}, "Keys"), searchForm),
      h("section", { class: "card" }, createForm, created),
      h("p", { class: "muted" }, `${result.total} key(s)${search ? ` matching “${search}”` : ""}`),
      table(["id", "key", "label", "kind", "balance (sat)", "spent (sat)", "created", "last used", "expires", "status"],
        result.keys.map((k) => [h("a", { href: `#/keys/${k.id}` }, String(k.id)), h("code", {}, k.hint), k.label || "",
          k.parent_id ? `child of ${k.parent_id}` : k.kind, sats(k.balance_msat), sats(k.total_spent_msat), time(k.created_at),
          time(k.last_used_at), k.expires_at ? time(k.expires_at) : "never", status(k)]), { empty: "No keys." }));
  });

  function field(labelText, input, hint) {
    return h("div", { class: "field" }, h("label", {}, labelText), input, hint ? h("div", { class: "muted small" }, hint) : null);
  }

  function settingsForm(key, reload) {
    const expires = h("input", { type: "datetime-local", name: "expires_at",
      value: key.expires_at ? new Date(key.expires_at * 1000).toISOString().slice(0, 16) : "" });
    const refund = h("input", { name: "refund_address", placeholder: "name@domain or lnurl1…", value: key.refund_address || "" });
    const limit = h("input", { name: "spend_limit", type: "number", min: "0", step: "any", placeholder: "no limit",
      value: key.spend_limit_msat === null ? "" : String(key.spend_limit_msat / 1000) });
    const models = h("input", { name: "allowed_models", placeholder: "any model (e.g. gpt-4o*, text-embedding-3-small)",
      value: (key.allowed_models || []).join(", ") });
    const label = h("input", { name: "label", value: key.label || "" });
    // Rate limits: empty is unlimited.
    const rateLimit = (name, value) => h("input", { name, type: "number", min: "1", step: "1", placeholder: "unlimited",
      value: value === null || value === undefined ? "" : String(value) });
    const rpm = rateLimit("requests_per_minute", key.requests_per_minute);
    const tpm = rateLimit("tokens_per_minute", key.tokens_per_minute);
    const streams = rateLimit("concurrent_streams", key.concurrent_streams);
    const form = h("form", { class: "card", id: "key-settings" }, h("h2", {}, "Settings"),
      field("Label", label),
      field("Expires (UTC)", expires, "Empty: never. An expired key stops working; its balance stays withdrawable here."),
      field("Refund address", refund, "Where the balance of this key should go when it expires."),
      field("Spending limit (sat)", limit, "Charged plus in flight, over the key's life. A parent's limit counts its children."),
      field("Allowed models", models, "Comma-separated ids or patterns. Empty: every model."),
      field("Requests per minute", rpm, "Over the last 60 s. Empty: unlimited. Over the limit: 429."),
      field("Tokens per minute", tpm, "Prompt estimate plus completion limit at admission, billed tokens once settled."),
      field("Concurrent streams", streams, "Streaming requests open at once."),
      h("button", { type: "submit", class: "primary" }, "Save"));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      act(form, async () => {
        await api("PATCH", `keys/${key.id}`, {
          label: label.value || null,
          expires_at: expires.value ? Math.floor(Date.parse(expires.value + ":00Z") / 1000) : null,
          refund_address: refund.value.trim() || null,
          spend_limit_msat: limit.value === "" ? null : Math.round(Number(limit.value) * 1000),
          allowed_models: models.value.trim() ? models.value.split(",").map((m) => m.trim()).filter(Boolean) : null,
          requests_per_minute: rpm.value === "" ? null : Number(rpm.value),
          tokens_per_minute: tpm.value === "" ? null : Number(tpm.value),
          concurrent_streams: streams.value === "" ? null : Number(streams.value),
        });
        reload();
      });
    });
    return form;
  }

  function withdrawForm(key) {
    const amount = h("input", { type: "number", min: "1", step: "1", name: "amount_sat", placeholder: "all" });
    const result = h("div", { id: "withdraw-result" });
    const form = h("form", { class: "card", id: "withdraw" }, h("h2", {}, "Withdraw as ecash"),
      h("p", { class: "muted" }, `Balance ${sats(key.balance_msat)} sat. The mint's fee is taken from the balance.`),
      h("div", { class: "inline" }, amount, h("button", { type: "submit", class: "primary" }, "Withdraw")), result);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      act(form, async () => {
        const body = amount.value ? { amount_sat: Number(amount.value) } : { all: true };
        const sent = await api("POST", `keys/${key.id}/withdraw`, body);
        const token = h("textarea", { class: "token", id: "withdrawn-token", readonly: true, rows: 9 }, sent.token);
        const copy = h("button", { type: "button", id: "copy-token" }, "Copy");
        copy.addEventListener("click", async () => {
          try { await navigator.clipboard.writeText(sent.token); } catch (_) { token.select(); document.execCommand("copy"); }
          copy.textContent = "Copied";
        });
        const qr = h("div", { class: "qr", id: "token-qr" });
        qr.innerHTML = window.SatmeterQR.svg(sent.token, 3);
        result.replaceChildren(notice("ok", `${sent.amount_sat} sat sent from ${sent.mint} (fee ${sent.fee_sat} sat). New balance ${sats(sent.balance_msat)} sat.`),
          h("div", { class: "token-box" }, qr, h("div", { class: "grow" }, token, copy)));
      });
    });
    return form;
  }

  function childForm(key, reload) {
    const label = h("input", { name: "child_label", placeholder: "Label" });
    const limit = h("input", { name: "child_limit", type: "number", min: "0", step: "any", placeholder: "Spending limit (sat)" });
    const out = h("div", {});
    const form = h("form", { class: "inline", id: "create-child" }, label, limit, h("button", { type: "submit" }, "Create child key"));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      act(form, async () => {
        const child = await api("POST", `keys/${key.id}/children`, { label: label.value || null,
          spend_limit_msat: limit.value === "" ? null : Math.round(Number(limit.value) * 1000) });
        out.replaceChildren(notice("ok", "Child key created. It is shown only now:"), h("code", { class: "secret" }, child.api_key));
        setTimeout(reload, 0);
      });
    });
    return h("div", {}, form, out);
  }

  route(/^\/keys\/(\d+)$/, async (id) => {
    const key = await api("GET", `keys/${id}`);
    const reload = () => window.Satmeter.navigate();
    const toggle = h("button", { type: "button", id: "toggle-disabled", class: key.disabled ? "" : "danger" }, key.disabled ? "Enable" : "Disable");
    toggle.addEventListener("click", () => act(toggle.parentElement, async () => {
      await api("PATCH", `keys/${key.id}`, { disabled: !key.disabled });
      reload();
    }));
    const facts = [["Key", h("code", {}, key.hint)], ["Kind", key.parent_id ? h("a", { href: `#/keys/${key.parent_id}` }, `child of key ${key.parent_id}`) : key.kind],
      ["Balance", `${sats(key.balance_msat)} sat`], ["Held", `${sats(key.reserved_msat)} sat`], ["Spent", `${sats(key.total_spent_msat)} sat`],
      ["Deposited", `${sats(key.total_deposited_msat)} sat`], ["Withdrawn", `${sats(key.total_withdrawn_msat)} sat`], ["Requests", String(key.requests)],
      ["Created", time(key.created_at)], ["Last used", time(key.last_used_at)], ["Expires", key.expires_at ? time(key.expires_at) : "never"],
      ["Refund address", key.refund_address || "–"], ["Status", status(key)]];
    return h("div", {},
      h("div", { class: "page-head" }, h("h1", {}, `Key ${key.id}${key.label ? ` · ${key.label}` : ""}`), h("div", {}, toggle)),
      key.expired && key.balance_msat > 0 ? notice("error", key.refund_address
        ? `Expired with ${sats(key.balance_msat)} sat left: Satmeter sends it to ${key.refund_address} (tried every 30 s).`
        : `Expired with ${sats(key.balance_msat)} sat left: withdraw it below and send it to its owner.`) : null,
      h("div", { class: "grid" },
        h("section", { class: "card" }, h("h2", {}, "Facts"), h("dl", { class: "facts" }, facts.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]))),
        settingsForm(key, reload),
        key.parent_id ? null : withdrawForm(key),
        key.parent_id || key.kind !== "key" ? null : h("section", { class: "card" }, h("h2", {}, "Child keys"),
          h("p", { class: "muted" }, "Child keys spend this key's balance, each within its own limit and models."),
          table(["id", "key", "label", "spent (sat)", "limit (sat)", "status"], key.children.map((c) => [h("a", { href: `#/keys/${c.id}` }, String(c.id)),
            h("code", {}, c.hint), c.label || "", sats(c.total_spent_msat), c.spend_limit_msat === null ? "–" : sats(c.spend_limit_msat), status(c)]),
          { empty: "No child keys." }), childForm(key, reload))),
      h("section", { class: "card" }, h("h2", {}, "Latest requests"),
        table(["time", "model", "status", "cost (sat)", "tokens in/out"], key.recent_requests.map((r) => [time(r.created_at), r.model || "", String(r.status),
          sats(r.cost_msat), `${r.prompt_tokens ?? "–"} / ${r.completion_tokens ?? "–"}`]), { empty: "No requests yet." })));
  });
})();
