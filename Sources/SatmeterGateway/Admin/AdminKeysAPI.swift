import SatmeterLedger
import SatmeterSupport

/// `/admin/api/keys…`: the Keys page. Each call reads its JSON, calls `KeyAdmin` (which the
/// CLI calls too) and answers with the key as `KeyAdmin.describe` shows it.
struct AdminKeysAPI {
    let api: AdminAPI

    private func admin() throws(APIError) -> KeyAdmin { KeyAdmin(ledger: api.ledger) }

    func list() throws(APIError) {
        let query = api.query
        let kindText = query["kind"] ?? ""
        let kind = Account.Kind(rawValue: kindText)
        guard kindText.isEmpty || kind != nil else { throw .invalidRequest("kind is key or token") }
        let limit = min(max(Int(query["limit"] ?? "") ?? 50, 1), 500)
        let offset = max(Int(query["offset"] ?? "") ?? 0, 0)
        let admin = try admin()
        api.send(try mapped { () throws(LedgerError) in try admin.list(search: query["q"], kind: kind, limit: limit, offset: offset) })
    }

    func create() throws(APIError) {
        let body = try api.body()
        let balance = try mapped { () throws(LedgerError) in try Self.optionalInt(body["balance_msat"], "balance_msat") } ?? 0
        guard balance >= 0 else { throw .invalidRequest("balance_msat must not be negative") }
        let admin = try admin()
        let created = try mapped { () throws(LedgerError) -> JSON in
            var created = try admin.create(balanceMsat: balance, label: try Self.optionalString(body["label"], "label"),
                                           expiresAt: try Self.optionalInt(body["expires_at"], "expires_at"),
                                           spendLimitMsat: try Self.optionalInt(body["spend_limit_msat"], "spend_limit_msat"),
                                           allowedModels: try Self.models(body["allowed_models"]),
                                           limits: try Self.limits(in: body, over: KeyLimits()) ?? KeyLimits())
            // The operator's own decision per key: its granted credit may leave as ecash.
            if body["withdrawable_grant"]?.boolValue == true, let id = created["id"]?.int64Value {
                try admin.ledger.accounts.setGrantWithdrawable(accountID: id, true)
                created.set("withdrawable_grant", true)
            }
            return created
        }
        Log.info("admin: key \(created["id"]?.int64Value ?? 0) created")
        api.send(created, status: 201)
    }

    func show(_ id: Int64) throws(APIError) {
        let admin = try admin()
        guard let json = try mapped({ () throws(LedgerError) in try admin.detail(id) }) else { throw .notFound("key \(id)") }
        api.send(json)
    }

    /// Only the fields present change; `null` clears a setting.
    func update(_ id: Int64) throws(APIError) {
        let body = try api.body()
        let ledger = api.ledger
        try mapped { () throws(LedgerError) in
            guard let account = try ledger.accounts.account(id: id) else { throw .unknownAccount }
            if let limits = try Self.limits(in: body, over: account.limits) { try ledger.accounts.setKeyLimits(accountID: id, limits) }
            if let v = body["label"] { try ledger.accounts.setLabel(accountID: id, try Self.optionalString(v, "label")) }
            if let v = body["expires_at"] { try ledger.accounts.setExpiry(accountID: id, try Self.optionalInt(v, "expires_at")) }
            if let v = body["spend_limit_msat"] { try ledger.accounts.setSpendLimit(accountID: id, try Self.optionalInt(v, "spend_limit_msat")) }
            if let v = body["allowed_models"] { try ledger.accounts.setAllowedModels(accountID: id, try Self.models(v)) }
            if let v = body["refund_address"] { try ledger.accounts.setRefundAddress(accountID: id, try Self.optionalString(v, "refund_address")) }
            if let v = body["disabled"] {
                guard let flag = v.boolValue else { throw .invalidKeySetting("disabled must be true or false") }
                try ledger.accounts.setDisabled(accountID: id, flag)
            }
        }
        Log.info("admin: key \(id) updated (\((body.objectValue ?? []).map(\.0).joined(separator: ", ")))")
        try show(id)
    }

    func createChild(_ parentID: Int64) throws(APIError) {
        let body = try api.body()
        let admin = try admin()
        let created = try mapped { () throws(LedgerError) in
            try admin.createChild(parentID: parentID, label: try Self.optionalString(body["label"], "label"),
                                    spendLimitMsat: try Self.optionalInt(body["spend_limit_msat"], "spend_limit_msat"),
                                    allowedModels: try Self.models(body["allowed_models"]),
                                    expiresAt: try Self.optionalInt(body["expires_at"], "expires_at"))
        }
        Log.info("admin: child key \(created["id"]?.int64Value ?? 0) of key \(parentID) created")
        api.send(created, status: 201)
    }

    func withdraw(_ id: Int64) throws(APIError) {
        let body = try api.body()
        let all = body["all"]?.boolValue ?? false
        let amount = try mapped { () throws(LedgerError) in try Self.optionalInt(body["amount_sat"], "amount_sat") }
        guard all != (amount != nil) else { throw .invalidRequest("send either amount_sat or all: true") }
        let mint = body["mint"]?.stringValue
        api.send(try admin().withdraw(accountID: id, amountSat: amount, mint: mint, wallet: try api.handler.wallet(),
                                      requestID: api.exchange.requestID))
    }

    // MARK: Reading fields

    private func mapped<T>(_ body: () throws(LedgerError) -> T) throws(APIError) -> T {
        do { return try body() } catch {
            if error == .unknownAccount { throw .notFound("no such key") }
            throw error.apiError
        }
    }

    static func optionalInt(_ value: JSON?, _ name: String) throws(LedgerError) -> Int64? {
        guard let value, value != .null else { return nil }
        guard let n = value.int64Value else { throw .invalidKeySetting("\(name) must be a whole number or null") }
        return n
    }

    static func optionalString(_ value: JSON?, _ name: String) throws(LedgerError) -> String? {
        guard let value, value != .null else { return nil }
        guard let text = value.stringValue else { throw .invalidKeySetting("\(name) must be text or null") }
        return text.isEmpty ? nil : text
    }

    static func models(_ value: JSON?) throws(LedgerError) -> [String]? {
        guard let value, value != .null else { return nil }
        guard let items = value.arrayValue, items.count <= 200 else { throw .invalidKeySetting("allowed_models must be a list of model ids or null") }
        return try items.map { item throws(LedgerError) in
            guard let text = item.stringValue else { throw .invalidKeySetting("allowed_models must be a list of model ids or null") }
            return text
        }
    }
}
