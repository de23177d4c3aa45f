import SatmeterCashu
import SatmeterLedger
import SatmeterSupport
import SatmeterWallet

/// Routstr's client API beside ours, so Routstr clients (routstr-chat, its SDKs, scripts) work by
/// changing only the base URL. Same paths, methods, parameters and field names as Routstr's
/// `/v1/balance/*` and `/v1/info`; amounts in msats as there. Errors stay OpenAI-shaped.
struct RoutstrEndpoints {
    let handler: GatewayHandler
    let exchange: Exchange

    private var wallet: WalletEndpoints { WalletEndpoints(handler: handler, exchange: exchange) }
    private var query: [String: String] { AdminQuery.parse(exchange.io.query) }

    func run(_ route: RoutstrRoute) throws(APIError) {
        switch route {
        case .create: try create()
        case .info: try info()
        case .topup: try topup()
        case .refund: try refund()
        case .childKey: try childKeys()
        case .nodeInfo: nodeInfo()
        case .providers: exchange.send(status: 200, json: ["providers": .array([])])  // no Nostr discovery here
        case .usage: try KeyHolderEndpoints(handler: handler, exchange: exchange).usage()
        case .rotate: try KeyHolderEndpoints(handler: handler, exchange: exchange).rotate()
        case .settings: try KeyHolderEndpoints(handler: handler, exchange: exchange).settings()
        case let .wrongMethod(method): throw .methodNotAllowed(method)
        }
    }

    /// `GET|POST /v1/balance/create?initial_balance_token=…` (or the same fields in a JSON body):
    /// a new key funded by the token. `Refund-LNURL` and `Key-Expiry-Time` headers, and the
    /// `balance_limit` (msat) and `validity_date` (unix time) fields, set the key up before it is funded.
    func create() throws(APIError) {
        var fields = query
        if fields["initial_balance_token"] == nil, exchange.method == "POST" {
            for (name, value) in try exchange.readJSONBody(limit: 256 * 1024).objectValue ?? [] where Self.createFields.contains(name) {
                if let text = try Self.text(of: value, name: name) { fields[name] = fields[name] ?? text }
            }
        }
        guard let text = fields["initial_balance_token"] ?? fields["cashu_token"] else {
            throw .invalidRequest("'initial_balance_token' is required")
        }
        let token = try PaymentGate.readToken(String(text.map { $0 == " " ? "+" : $0 }.filter { !$0.isWhitespace }))
        let settings = try KeySettings(fields: fields, headers: exchange)
        let ledger = handler.ledger
        guard let (key, funded) = try wallet.create(token, prepare: { account throws(APIError) in
            try settings.apply(to: account.id, ledger)
        }) else { return }
        exchange.send(status: 200, json: ["api_key": .string(key), "balance": .int(funded.balanceMsat), "created_at": .int(funded.createdAt)])
    }

    /// `GET /v1/balance/info` (and `/v1/balance`): Routstr's fields, plus ours. A token used as the
    /// key is redeemed on first sight, as Routstr does.
    func info() throws(APIError) {
        let credential = exchange.credential
        var account: Account
        if case .cashuKey = credential {
            let gate = PaymentGate(handler: handler, exchange: exchange)
            account = try gate.payer(for: credential, maxCostMsat: 0, model: "").account
        } else {
            account = try wallet.payerAccount()
        }
        let ledger = handler.ledger
        var json = WalletEndpoints.describe(account)
        // What named the account: the key, the token used as one, or the X-Cashu token.
        json.set("api_key", .string(credential.bearer ?? credential.token ?? ""))
        json.set("is_child", .bool(account.parentID != nil))
        json.set("total_requests", .int(account.requestCount))
        json.set("balance_limit", account.spendLimitMsat.map { .int($0) } ?? .null)
        json.set("balance_limit_reset", .null)
        json.set("validity_date", account.expiresAt.map { .int($0) } ?? .null)
        json.set("refund_address", account.refundAddress.map { .string($0) } ?? .null)
        if let parentID = account.parentID, let parent = try? ledger.accounts.account(id: parentID) {
            // A child key spends its parent's balance: that is what it has to spend.
            json.set("balance", .int(parent.balanceMsat))
            json.set("reserved", .int(parent.reservedMsat))
            json.set("parent_key_preview", .string(parent.hint))
        } else if account.kind == .key, let children = try? ledger.accounts.children(of: account.id), !children.isEmpty {
            // Keys are stored as hashes only: children are shown by their hint, not their key.
            json.set("child_keys", .array(children.map { child in
                ["key_hint": .string(child.hint), "total_requests": .int(child.requestCount), "total_spent": .int(child.totalSpentMsat),
                 "balance_limit": child.spendLimitMsat.map { .int($0) } ?? .null, "balance_limit_reset": .null,
                 "validity_date": child.expiresAt.map { .int($0) } ?? .null]
            }))
        }
        exchange.send(status: 200, json: json)
    }

    /// `POST /v1/balance/topup` with `cashu_token` in the query or the JSON body: `{"msats"}`.
    func topup() throws(APIError) {
        let account = try handler.authenticate(exchange)
        let token = try WalletEndpoints.token(in: exchange, named: ["cashu_token", "token"])
        let nodeWallet = try handler.wallet()
        let credited: Int64
        do {
            credited = try nodeWallet.receive(token, creditAccountID: account.parentID ?? account.id, requestID: exchange.requestID)
        } catch { throw error.apiError }
        let after = try wallet.reload(account.parentID ?? account.id)
        exchange.send(status: 200, json: ["msats": .int(credited), "balance": .int(after.balanceMsat)])
    }

    /// `POST /v1/balance/refund`: as `/v1/wallet/refund`, except that a key with a refund address
    /// (`Refund-LNURL` at create) is paid there by Lightning, as Routstr does: `{"recipient", "sats", "fee_sats"}`.
    func refund() throws(APIError) {
        guard case let .apiKey(key) = exchange.credential else { return try wallet.refund() }
        let account = try handler.authenticate(key: key, allowExpired: true)
        guard let address = account.refundAddress, account.parentID == nil else { return try wallet.refund() }
        try wallet.refuseWhileBillsAreOpen(account)
        let nodeWallet = try handler.wallet()
        let paid: NodeWallet.PayoutResult
        do { paid = try nodeWallet.refundToLightning(account) } catch {
            switch error {
            case .nothingToPay: throw .invalidRequest("No balance to refund (a Lightning refund needs more than 2 sats)")
            case let .lnurl(why): throw .serviceUnavailable("The refund address cannot be paid now (\(why)); nothing was taken.")
            case let .mint(why): throw .mintUnavailable(why)
            }
        }
        let after = try wallet.reload(account.id)
        exchange.send(status: 200, json: ["recipient": .string(address), "sats": .string(String(paid.amountSat)),
                                          "fee_sats": .int(paid.feeSat), "balance": .int(after.balanceMsat)])
    }

    /// `POST /v1/balance/child-key {"count": 1…50, "balance_limit"?, "validity_date"?}`: keys that
    /// spend this key's balance. Free here (`child_key_cost_msats` is 0 in `/v1/info`).
    func childKeys() throws(APIError) {
        let parent = try handler.authenticate(exchange)
        let body = try exchange.readJSONBody(limit: 64 * 1024)
        guard let count = body["count"]?.int64Value, (1...50).contains(count) else {
            throw .invalidRequest("Count must be between 1 and 50.")
        }
        var fields: [String: String] = [:]
        for name in ["balance_limit", "balance_limit_reset", "validity_date"] {
            if let value = body[name], let text = try Self.text(of: value, name: name) { fields[name] = text }
        }
        let settings = try KeySettings(fields: fields, headers: nil)
        let ledger = handler.ledger
        var keys: [JSON] = []
        do {
            for _ in 0..<count {
                let (key, _) = try ledger.accounts.createChildKey(parentID: parent.id, spendLimitMsat: settings.balanceLimitMsat,
                                                         expiresAt: settings.expiresAt)
                keys.append(.string(key))
            }
        } catch { throw error.apiError }
        let balance = try wallet.reload(parent.id).balanceMsat
        exchange.send(status: 200, json: ["api_keys": .array(keys), "count": .int(count), "cost_msats": 0, "cost_sats": 0,
                                          "parent_balance": .int(balance), "parent_balance_sats": .int(balance / 1000)])
    }

    static let createFields: Set<String> = ["initial_balance_token", "cashu_token", "balance_limit", "balance_limit_reset", "validity_date"]

    /// A body field as the query would carry it: a string, or a number's own digits (so a limit
    /// past Int64 is refused as one, not dropped); nil for null. Anything else is refused.
    static func text(of value: JSON, name: String) throws(APIError) -> String? {
        switch value {
        case .null: nil
        case let .string(text), let .number(text): text
        case .bool, .array, .object: throw .invalidRequest("'\(name)' must be a string or a number")
        }
    }

    /// `GET /v1/info`: who this node is and which mints it takes.
    func nodeInfo() {
        let node = NodeIdentity.current
        exchange.send(status: 200, json: [
            "name": .string(node.name), "description": .string(node.description), "version": .string(NodeIdentity.version),
            "npub": node.npub.map { .string($0) } ?? .null,
            "mints": .array(handler.services.config.cashu.mints.map { .string($0) }),
            "http_url": node.httpURL.map { .string($0) } ?? .null, "onion_url": node.onionURL.map { .string($0) } ?? .null,
            "child_key_cost_msats": 0,
        ])
    }
}

/// What a holder may set on a key when creating it, in Routstr's names.
struct KeySettings {
    var balanceLimitMsat: Int64?
    var expiresAt: Int64?
    var refundAddress: String?

    /// `headers`: the `Refund-LNURL` and `Key-Expiry-Time` request headers, on create.
    init(fields: [String: String], headers: Exchange?) throws(APIError) {
        if let text = fields["balance_limit"] {
            guard let limit = Int64(text), limit >= 0 else { throw .invalidRequest("'balance_limit' must be a whole number of msats") }
            balanceLimitMsat = limit
        }
        if fields["balance_limit_reset"].map({ !$0.isEmpty }) ?? false {
            throw .invalidRequest("'balance_limit_reset' is not supported here: a limit applies to everything the key spends")
        }
        expiresAt = try Self.unixTime(fields["validity_date"], name: "validity_date")
        if let headers {
            refundAddress = headers.header("Refund-LNURL").flatMap { $0.isEmpty ? nil : $0 }
            if let refundAddress, !RefundAddress.isValid(refundAddress) {
                throw .invalidRequest("Invalid Refund-LNURL: a Lightning address (name@domain) or an LNURL")
            }
            if let expiry = try Self.unixTime(headers.header("Key-Expiry-Time"), name: "Key-Expiry-Time") {
                guard refundAddress != nil else { throw .invalidRequest("Refund-LNURL header required when using Key-Expiry-Time") }
                expiresAt = min(expiresAt ?? expiry, expiry)
            }
        }
    }

    private static func unixTime(_ text: String?, name: String) throws(APIError) -> Int64? {
        guard let text, !text.isEmpty else { return nil }
        guard let seconds = Int64(text), seconds > 0, seconds < 100_000_000_000 else {
            throw .invalidRequest("Invalid \(name): must be a valid Unix timestamp")
        }
        return seconds
    }

    func apply(to accountID: Int64, _ ledger: Ledger) throws(APIError) {
        do {
            if let balanceLimitMsat { try ledger.accounts.setSpendLimit(accountID: accountID, balanceLimitMsat) }
            if let expiresAt { try ledger.accounts.setExpiry(accountID: accountID, expiresAt) }
            if let refundAddress { try ledger.accounts.setRefundAddress(accountID: accountID, refundAddress) }
        } catch { throw error.apiError }
    }
}

/// Routstr's paths, each with the methods Routstr accepts (its `/v1/wallet` mount included,
/// where our own endpoints do not already answer).
enum RoutstrRoute: Equatable {
    case create, info, topup, refund, childKey, nodeInfo, providers
    case usage, rotate, settings  // ours: self-service for key holders
    case wrongMethod(String)

    init?(method: String, path: String) {
        var normalized = path
        while normalized.count > 1, normalized.hasSuffix("/") { normalized.removeLast() }
        // POST /v1/wallet/create and GET /v1/wallet are ours already (the same shapes, JSON bodies).
        if normalized == "/v1/wallet/create", method == "GET" { self = .create; return }
        guard let (methods, route) = Self.table[normalized] else { return nil }
        self = methods.contains(method) ? route : .wrongMethod(method)
    }

    private static let table: [String: ([String], RoutstrRoute)] = [
        "/v1/balance/create": (["GET", "POST"], .create),
        "/v1/balance/info": (["GET"], .info),
        "/v1/balance": (["GET"], .info),
        "/v1/wallet/info": (["GET"], .info),
        "/v1/balance/topup": (["POST"], .topup),
        "/v1/balance/refund": (["POST"], .refund),
        "/v1/balance/child-key": (["POST"], .childKey),
        "/v1/wallet/child-key": (["POST"], .childKey),
        "/v1/info": (["GET"], .nodeInfo),
        "/v1/providers": (["GET"], .providers),
        "/v1/balance/usage": (["GET"], .usage),
        "/v1/balance/rotate": (["POST"], .rotate),
        "/v1/balance/settings": (["POST"], .settings),
    ]
}
