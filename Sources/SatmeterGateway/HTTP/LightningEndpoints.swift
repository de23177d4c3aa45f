import SatmeterCashu
import SatmeterLedger
import SatmeterSupport
import SatmeterWallet

/// Routstr's Lightning top-up API (RIP-08), at `/v1/balance/lightning/*` (nginx serves only `/v1/`):
/// - `POST …/invoice {"amount_sats", "purpose": "create"|"topup", "balance_limit"?, "validity_date"?}`
///   (a top-up needs `Bearer sk-…`): `{"invoice_id", "bolt11", "amount_sats", "expires_at", "payment_hash"}`;
/// - `GET …/invoice/{id}/status`: `{"status": "pending"|"paid"|"expired", "api_key", "amount_sats", "paid_at", …}`;
///   asking settles it (and so does the housekeeping sweep);
/// - `POST …/recover {"bolt11"}`: the same, found by the invoice;
/// - `POST …/withdraw {"invoice"} | {"address", "amount_sats"}` (ours, with a key): the balance out by
///   Lightning (NUT-05 melt; the key pays the fees, the unused fee reserve comes back).
/// A new key's `api_key` is derived from the invoice id (only hashes of both are stored), so it is
/// shown with the invoice and again with its status.
struct LightningEndpoints {
    let handler: GatewayHandler
    let exchange: Exchange

    enum Route: Equatable {
        case invoice, status(String), recover, withdraw
        case wrongMethod(String)

        init?(method: String, path: String) {
            let prefix = "/v1/balance/lightning/"
            guard path.hasPrefix(prefix) else { return nil }
            var rest = path.dropFirst(prefix.count)
            while rest.hasSuffix("/") { rest = rest.dropLast() }
            let parts = rest.split(separator: "/", omittingEmptySubsequences: false)
            let (expected, route): (String, Route)
            switch parts.count {
            case 1 where parts[0] == "invoice": (expected, route) = ("POST", .invoice)
            case 1 where parts[0] == "recover": (expected, route) = ("POST", .recover)
            case 1 where parts[0] == "withdraw": (expected, route) = ("POST", .withdraw)
            case 3 where parts[0] == "invoice" && parts[2] == "status" && !parts[1].isEmpty:
                (expected, route) = ("GET", .status(String(parts[1])))
            default: return nil
            }
            self = method == expected ? route : .wrongMethod(method)
        }
    }

    func run(_ route: Route) throws(APIError) {
        guard handler.services.config.cashu.enabled else { throw .invalidRequest("This node does not accept ecash or Lightning.") }
        switch route {
        case .invoice: try createInvoice()
        case let .status(id): try status(invoiceID: id)
        case .recover: try recover()
        case .withdraw: try withdraw()
        case let .wrongMethod(method): throw .methodNotAllowed(method)
        }
    }

    private func createInvoice() throws(APIError) {
        let body = try exchange.readJSONBody(limit: 64 * 1024)
        guard let amount = body["amount_sats"]?.int64Value, amount > 0, amount <= NodeWallet.maxInvoiceSats else {
            throw .invalidRequest("'amount_sats' must be a whole number from 1 to \(NodeWallet.maxInvoiceSats)")
        }
        let purposeText = body["purpose"]?.stringValue ?? "create"
        guard let purpose = LightningInvoice.Purpose(rawValue: purposeText) else { throw .invalidRequest("'purpose' is create or topup") }
        let invoiceID = RequestID.generate() + RequestID.generate()
        let ledger = handler.ledger
        let account: Account
        var apiKey: String?
        switch purpose {
        case .topup:
            let key = exchange.bearer ?? body["api_key"]?.stringValue
            guard let key else { throw .missingAPIKey }
            account = try handler.authenticate(key: key)
        case .create:
            var fields: [String: String] = [:]
            for name in ["balance_limit", "balance_limit_reset", "validity_date"] {
                if let value = body[name], value != .null { fields[name] = value.stringValue ?? value.int64Value.map(String.init) ?? "?" }
            }
            let settings = try KeySettings(fields: fields, headers: nil)
            let key = Self.apiKey(forInvoice: invoiceID)
            do {
                account = try ledger.accounts.createAccount(keyHash: APIKey.hash(key), hint: APIKey.hint(key), kind: .key, label: "lightning",
                                                            limits: handler.services.config.ecashKeyLimits)
            } catch { throw error.apiError }
            try settings.apply(to: account.id, ledger)
            apiKey = key
        }
        let wallet = try handler.wallet()
        let invoice: LightningInvoice
        do { invoice = try wallet.createInvoice(id: invoiceID, amountSat: amount, accountID: account.id, purpose: purpose) } catch {
            if purpose == .create { try? ledger.accounts.setDisabled(accountID: account.id, true) }
            throw error.apiError
        }
        var json: JSON = ["invoice_id": .string(invoiceID), "bolt11": .string(invoice.bolt11), "amount_sats": .int(amount),
                          "expires_at": .int(invoice.expiresAt), "payment_hash": Bolt11.paymentHash(invoice.bolt11).map { .string($0) } ?? .null,
                          "mint": .string(invoice.mint)]
        if let apiKey { json.set("api_key", .string(apiKey)) }
        exchange.send(status: 200, json: json, headers: [("Cache-Control", "no-store")])
    }

    private func status(invoiceID: String) throws(APIError) {
        guard let invoice = try lookup({ ledger throws(LedgerError) in
            try ledger.lightning.lightningInvoice(idHash: NodeWallet.invoiceHash(invoiceID))
        }) else { throw .notFound("invoice") }
        respond(try handler.wallet().settleInvoice(invoice), invoiceID: invoiceID)
    }

    private func recover() throws(APIError) {
        let body = try exchange.readJSONBody(limit: 64 * 1024)
        guard let bolt11 = body["bolt11"]?.stringValue, !bolt11.isEmpty, bolt11.utf8.count < 4096 else {
            throw .invalidRequest("'bolt11' is required")
        }
        guard let invoice = try lookup({ ledger throws(LedgerError) in try ledger.lightning.lightningInvoice(bolt11: bolt11) }) else {
            throw .notFound("invoice")
        }
        respond(try handler.wallet().settleInvoice(invoice), invoiceID: body["invoice_id"]?.stringValue)
    }

    private func withdraw() throws(APIError) {
        let account = try handler.authenticate(exchange, allowExpired: true)
        guard account.parentID == nil else { throw .forbidden("A child key spends its parent's balance and cannot withdraw it.") }
        try WalletEndpoints(handler: handler, exchange: exchange).refuseWhileBillsAreOpen(account)
        let body = try exchange.readJSONBody(limit: 16 * 1024)
        let wallet = try handler.wallet()
        let paid: NodeWallet.PayoutResult
        do {
            if let invoice = body["invoice"]?.stringValue, invoice.lowercased().hasPrefix("ln"), invoice.utf8.count < 4096 {
                paid = try wallet.withdrawToInvoice(account, invoice: invoice)
            } else if let text = body["address"]?.stringValue, let address = LightningAddress(text), RefundAddress.isValid(text) {
                guard let amount = body["amount_sats"]?.int64Value, amount > 0 else { throw PayoutError.lnurl("'amount_sats' is required") }
                paid = try wallet.withdrawToAddress(account, address: address, budgetSat: amount)
            } else {
                throw APIError.invalidRequest("send {\"invoice\": \"lnbc…\"} or {\"address\": \"name@domain\", \"amount_sats\": N}")
            }
        } catch let error as PayoutError {
            switch error {
            case .nothingToPay: throw .insufficientBalance(availableMsat: account.balanceMsat, requiredMsat: account.balanceMsat + 1000)
            case let .lnurl(why): throw .invalidRequest(why)
            case let .mint(why): throw .mintUnavailable(why)
            }
        } catch let error as APIError {
            throw error
        } catch {
            throw .internalError("\(error)")
        }
        let after = try WalletEndpoints(handler: handler, exchange: exchange).reload(account.id)
        exchange.send(status: 200, json: ["amount_sats": .int(paid.amountSat), "fee_sats": .int(paid.feeSat), "balance": .int(after.balanceMsat)])
    }

    private func lookup(_ find: (Ledger) throws(LedgerError) -> LightningInvoice?) throws(APIError) -> LightningInvoice? {
        do { return try find(handler.ledger) } catch { throw error.apiError }
    }

    /// Routstr's status shape. The new key is shown only to whoever holds the invoice id.
    private func respond(_ invoice: LightningInvoice, invoiceID: String?) {
        let status = switch invoice.state {
        case .unpaid, .minting: "pending"
        case .paid: "paid"
        case .expired: "expired"
        }
        var apiKey: JSON = .null
        if invoice.purpose == .create, let invoiceID, NodeWallet.invoiceHash(invoiceID) == invoice.idHash {
            apiKey = .string(Self.apiKey(forInvoice: invoiceID))
        }
        exchange.send(status: 200, json: [
            "status": .string(status), "api_key": apiKey, "amount_sats": .int(invoice.amountSat),
            "paid_at": invoice.paidAt.map { .int($0) } ?? .null, "created_at": .int(invoice.createdAt), "expires_at": .int(invoice.expiresAt),
        ], headers: [("Cache-Control", "no-store")])
    }

    /// The key a `create` invoice funds: derived from the invoice id, which only the client holds.
    static func apiKey(forInvoice invoiceID: String) -> String {
        "sk-" + Hex.encode(Digest.sha256("satmeter lightning key " + invoiceID))
    }
}
