// The dashboard's plumbing: the admin API client (session cookie + CSRF header), DOM helpers,
// formatting, and the hash router.
(function (global) {
  "use strict";

  const state = { csrf: null };

  class ApiError extends Error {
    constructor(status, body) {
      super((body && body.error && body.error.message) || `HTTP ${status}`);
      this.status = status;
      this.code = body && body.error && body.error.code;
    }
  }

  function csrfFromCookie() {
    const match = document.cookie.split("; ").find((c) => c.startsWith("satmeter_csrf="));
    return match ? match.slice("satmeter_csrf=".length) : null;
  }

  /** Calls /admin/api/PATH; writes carry JSON and the CSRF token. Throws ApiError. */
  async function api(method, path, body) {
    const headers = { Accept: "application/json" };
    const init = { method, headers, credentials: "same-origin" };
    if (method !== "GET") {
      headers["Content-Type"] = "application/json";
      headers["X-CSRF-Token"] = state.csrf || csrfFromCookie() || "";
      init.body = JSON.stringify(body || {});
    }
    const response = await fetch("/admin/api/" + path, init);
    const data = await response.json().catch(() => null);
    if (response.status === 401 && path !== "login") {
      state.csrf = null;
      if (location.hash !== "#/login") location.hash = "#/login";
    }
    if (!response.ok) throw new ApiError(response.status, data);
    return data;
  }

  /** h("div", {class: "x", onclick: f}, child, "text", [children]) → an element. */
  function h(tag, attributes, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attributes || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else if (k === "value") el.value = v;
      else el.setAttribute(k, v === true ? "" : v);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      el.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
  }

  const sats = (msat) => (msat === null || msat === undefined ? "–" : (msat / 1000).toLocaleString("en-US", { maximumFractionDigits: 3 }));
  const time = (unix) => (unix ? new Date(unix * 1000).toISOString().replace("T", " ").slice(0, 16) + " UTC" : "–");

  function table(columns, rows, options) {
    const opts = options || {};
    return h("table", { class: "table" },
      h("thead", {}, h("tr", {}, columns.map((c) => h("th", {}, c)))),
      h("tbody", {}, rows.length === 0
        ? h("tr", {}, h("td", { colspan: columns.length, class: "muted" }, opts.empty || "Nothing yet."))
        : rows.map((cells, i) => h("tr", opts.rowAttributes ? opts.rowAttributes(i) : {}, cells.map((c) => h("td", {}, c))))));
  }

  function notice(kind, text) {
    return h("div", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" }, text);
  }

  /** Runs an async action from a form or button; shows its error next to `where`. */
  async function act(where, action) {
    const old = where.querySelector(":scope > .notice");
    if (old) old.remove();
    try {
      return await action();
    } catch (error) {
      where.prepend(notice("error", error.message));
      return undefined;
    }
  }

  const routes = [];
  function route(pattern, render) {
    routes.push({ pattern, render });
  }

  async function navigate() {
    const hash = location.hash.replace(/^#/, "") || "/dashboard";
    const main = document.getElementById("main");
    for (const { pattern, render } of routes) {
      const match = hash.match(pattern);
      if (!match) continue;
      document.querySelectorAll("nav a").forEach((a) => a.classList.toggle("active", hash.startsWith(a.getAttribute("href").slice(1))));
      main.replaceChildren(h("p", { class: "muted" }, "Loading…"));
      try {
        main.replaceChildren(await render(...match.slice(1)));
      } catch (error) {
        if (error.status !== 401) main.replaceChildren(notice("error", error.message));
      }
      return;
    }
    main.replaceChildren(notice("error", "No such page."));
  }

  global.Satmeter = { api, h, sats, time, table, notice, act, route, navigate, state, ApiError };
})(window);
