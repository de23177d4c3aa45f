import SatmeterCashu
import SatmeterLedger
import SatmeterSupport

/// The admin JSON API under `/admin/api/` (the dashboard in `admin/` is its only client).
/// `POST login` and `GET session` are open; everything else needs a session cookie, and every
/// method but GET also the CSRF token and a JSON body. Errors are `APIError`s like everywhere else.
///
///     POST   login                {password}          → {csrf_token, expires_at} + cookies
///     GET    session                                  → {authenticated, csrf_token?, expires_at?}
///     POST   logout
///     GET    keys?q=&kind=&limit=&offset=             → {total, keys}
///     POST   keys                 {balance_msat, label, expires_at, spend_limit_msat, allowed_models}
///     GET    keys/ID                                  → key, children, recent requests
///     PATCH  keys/ID              {label, expires_at, spend_limit_msat, allowed_models, refund_address, disabled}
///     POST   keys/ID/children     {label, spend_limit_msat, allowed_models, expires_at}
///     POST   keys/ID/withdraw     {amount_sat | all: true, mint?} → {token, amount_sat, fee_sat, mint, balance_msat}
///     GET    pricing                                  → settings
///     PUT    pricing              {settings that change}
///     GET    models                                   → models with their prices
///     POST   models/price         {model, currency, prompt, completion, reason}
///     GET    reports/NAME?days=N                      → tables
///     GET    requests?limit=N                         → the newest request-log records
struct AdminAPI {
    let handler: GatewayHandler
    let exchange: Exchange

    var ledger: Ledger { handler.ledger }
    var config: SatmeterConfig { handler.services.config }

    func run() throws(APIError) {
        // One label for every admin path: failed logins show in /metrics, reports leave them out.
        exchange.record.route = "admin"
        let route = AdminRoute(exchange.path)
        let method = exchange.method
        let cookies = AdminAuth.parseCookies(exchange.header("Cookie"))
        let auth = AdminAuth(ledger: ledger, config: config.admin, now: Clock.now())
        switch (method, route) {
        case ("POST", .login): return try login(auth)
        case ("GET", .session): return session(auth, cookies)
        default: break
        }
        let session = try auth.session(cookies: cookies)
        if method != "GET" {
            try auth.checkCSRF(session, header: exchange.header("X-CSRF-Token"), cookies: cookies)
            // Sec-Fetch-Site is set by browsers on every request; another site's page never passes.
            if let site = exchange.header("Sec-Fetch-Site"), site != "same-origin", site != "none" {
                throw .forbidden("Cross-site admin requests are refused.")
            }
        }
        let keys = AdminKeysAPI(api: self)
        switch (method, route) {
        case ("POST", .logout):
            try auth.logout(session)
            send(["ok": true], headers: AdminAuth.cookies(sessionID: nil, session: nil, maxAge: 0))
        case ("GET", .keys): try keys.list()
        case ("POST", .keys): try keys.create()
        case let ("GET", .key(id)): try keys.show(id)
        case let ("PATCH", .key(id)): try keys.update(id)
        case let ("POST", .keyChildren(id)): try keys.createChild(id)
        case let ("POST", .keyWithdraw(id)): try keys.withdraw(id)
        case ("GET", .pricing): try AdminPricingAPI(api: self).settings()
        case ("PUT", .pricing): try AdminPricingAPI(api: self).updateSettings()
        case ("GET", .models): try AdminPricingAPI(api: self).models()
        case ("POST", .modelPrice): try AdminPricingAPI(api: self).setModelPrice()
        case let ("GET", .report(name)): try report(name)
        case ("GET", .requests): try requests()
        case let (_, .loop(action)): try AdminPricingLoopAPI(api: self).run(method, action)
        case (_, .unknown): throw .notFound(exchange.path)
        default: throw .methodNotAllowed(method)
        }
    }

    // MARK: Login

    private func login(_ auth: AdminAuth) throws(APIError) {
        let body = try body()
        guard let password = body["password"]?.stringValue else { throw .invalidRequest("'password' is required") }
        let client = exchange.io.param("REMOTE_ADDR") ?? "unknown"
        let (id, session) = try auth.login(password: password, client: client)
        send(["authenticated": true, "csrf_token": .string(session.csrfToken), "expires_at": .int(session.expiresAt)],
             headers: AdminAuth.cookies(sessionID: id, session: session, maxAge: config.admin.sessionSeconds))
    }

    /// Always 200, so the dashboard's first look is not an error in anyone's logs.
    private func session(_ auth: AdminAuth, _ cookies: [String: String]) {
        guard let session = try? auth.session(cookies: cookies) else {
            let configured = ((try? ledger.admin.adminPasswordHash()) ?? nil) != nil
            return send(["authenticated": false, "password_set": .bool(configured)])
        }
        send(["authenticated": true, "csrf_token": .string(session.csrfToken), "expires_at": .int(session.expiresAt)])
    }

    // MARK: Reports and the request log

    private func report(_ name: String) throws(APIError) {
        let days = Int(query["days"] ?? "") ?? 7
        guard (1...3650).contains(days) else { throw .invalidRequest("days must be 1 to 3650") }
        var catalog = ReportCatalog(ledger: ledger)
        catalog.loop = handler.services.pricing.config.loop
        if let route = query["route"], !route.isEmpty { catalog.cohortRoute = route }
        let json: JSON?
        do { json = try catalog.json(name, days: days) } catch { throw error.apiError }
        guard let json else { throw .notFound(exchange.path) }
        send(json)
    }

    private func requests() throws(APIError) {
        let limit = min(max(Int(query["limit"] ?? "") ?? 100, 1), 1000)
        let ledger = ledger
        do { send(["requests": .array(try ledger.requestLog.recentRequests(limit: limit).map(\.json))]) } catch { throw error.apiError }
    }

    // MARK: Helpers

    var query: [String: String] { AdminQuery.parse(exchange.io.query) }

    /// The JSON body of a write; the content type must say JSON (an HTML form cannot).
    func body() throws(APIError) -> JSON {
        guard exchange.header("Content-Type")?.lowercased().hasPrefix("application/json") == true else {
            throw .invalidRequest("send Content-Type: application/json")
        }
        return try exchange.readJSONBody(limit: 64 * 1024)
    }

    func send(_ json: JSON, status: Int = 200, headers: [(String, String)] = []) {
        exchange.send(status: status, json: json, headers: [("Cache-Control", "no-store")] + headers)
    }

}

/// What a path under `/admin/api/` names.
enum AdminRoute: Equatable {
    case login, session, logout, keys, pricing, models, modelPrice, requests
    case key(Int64), keyChildren(Int64), keyWithdraw(Int64)
    case report(String)
    /// The pricing loop (`loop`, `loop/propose`, …).
    case loop(String?)
    case unknown

    init(_ path: String) {
        let parts = path.dropFirst("/admin/api".count).split(separator: "/").map(String.init)
        let id = parts.count >= 2 ? Int64(parts[1]).flatMap { $0 > 0 ? $0 : nil } : nil
        switch (parts.first ?? "", parts.count) {
        case ("login", 1): self = .login
        case ("session", 1): self = .session
        case ("logout", 1): self = .logout
        case ("keys", 1): self = .keys
        case ("keys", 2) where id != nil: self = .key(id!)
        case ("keys", 3) where id != nil && parts[2] == "children": self = .keyChildren(id!)
        case ("keys", 3) where id != nil && parts[2] == "withdraw": self = .keyWithdraw(id!)
        case ("pricing", 1): self = .pricing
        case ("models", 1): self = .models
        case ("models", 2) where parts[1] == "price": self = .modelPrice
        case ("reports", 2): self = .report(parts[1])
        case ("loop", 1): self = .loop(nil)
        case ("loop", 2): self = .loop(parts[1])
        case ("requests", 1): self = .requests
        default: self = .unknown
        }
    }
}

/// `a=1&b=x%20y` → ["a": "1", "b": "x y"].
enum AdminQuery {
    static func parse(_ query: String) -> [String: String] {
        var out: [String: String] = [:]
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map { decode(String($0)) }
            if let name = parts.first, out[name] == nil { out[name] = parts.count > 1 ? parts[1] : "" }
        }
        return out
    }

    static func decode(_ text: String) -> String {
        var bytes: [UInt8] = []
        var utf8 = Array(text.utf8)[...]
        while let c = utf8.popFirst() {
            if c == UInt8(ascii: "+") {
                bytes.append(0x20)
            } else if c == UInt8(ascii: "%"), utf8.count >= 2, let byte = Hex.decode(String(decoding: utf8.prefix(2), as: UTF8.self))?.first {
                bytes.append(byte)
                utf8 = utf8.dropFirst(2)
            } else {
                bytes.append(c)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
