// Start-up, login and logout.
(function () {
  "use strict";
  const { api, h, notice, route, navigate, state } = window.Satmeter;

  route(/^\/login$/, async () => {
    document.body.classList.add("logged-out");
    const session = await api("GET", "session");
    if (session.authenticated) {
      state.csrf = session.csrf_token;
      document.body.classList.remove("logged-out");
      location.hash = "#/dashboard";
      return h("p", {}, "Logged in.");
    }
    const password = h("input", { type: "password", id: "password", name: "password", autocomplete: "current-password", required: true, autofocus: true });
    const form = h("form", { class: "card login", id: "login-form" },
      h("h1", {}, "Satmeter admin"),
      session.password_set ? null : notice("error", "No admin password is set: run `satmeter admin set-password` on the server."),
      h("label", { for: "password" }, "Password"), password,
      h("button", { type: "submit", class: "primary" }, "Log in"));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      form.querySelector(".notice")?.remove();
      try {
        const result = await api("POST", "login", { password: password.value });
        state.csrf = result.csrf_token;
        document.body.classList.remove("logged-out");
        location.hash = "#/dashboard";
      } catch (error) {
        password.value = "";
        form.insertBefore(notice("error", error.status === 429 ? error.message : "Wrong password."), form.children[1]);
      }
    });
    return form;
  });

  document.getElementById("logout").addEventListener("click", async () => {
    try { await api("POST", "logout"); } catch (_) { /* the session is gone either way */ }
    state.csrf = null;
    location.hash = "#/login";
  });

  window.addEventListener("hashchange", navigate);
  (async () => {
    try {
      const session = await api("GET", "session");
      if (session.authenticated) {
        state.csrf = session.csrf_token;
        document.body.classList.remove("logged-out");
        if (!location.hash || location.hash === "#/login") location.hash = "#/dashboard";
      } else {
        location.hash = "#/login";
      }
    } catch (_) {
      location.hash = "#/login";
    }
    navigate();
  })();
})();
