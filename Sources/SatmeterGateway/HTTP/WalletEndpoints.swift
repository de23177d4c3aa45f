import SatmeterCashu
import SatmeterLedger
import SatmeterSupport
import SatmeterWallet

/// Balance and ecash endpoints (Routstr-compatible shapes; amounts in msats unless named `_sat`).
struct WalletEndpoints {
    let handler: GatewayHandler
    let exchange: Exchange

    /// `GET /v1/wallet/balance`.
    func balance() throws(APIError) {
        let account = try payerAccount()
        var json = Self.describe(account)
        // A child key spends its parent's balance: that is what it has to spend.
        if let parentID = account.parentID, let parent = try? handler.ledger.accounts.account(id: parentID) {
            json.set("balance", .int(parent.balanceMsat))
            json.set("reserved", .int(parent.reservedMsat))
            json.set("shared_with_parent", true)
        }
        exchange.send(status: 200, json: json)
    }

    /// `POST /v1/wallet/create {"cashu_token"}`: a new API key funded by the token.
    func create() throws(APIError) {
        let token = try tokenFromBody()
        let ledger = handler.ledger
        let key: String
        let account: Account
        do { (key, account) = try ledger.accounts.createKey(balanceMsat: 0) } catch { throw error.apiError }
        let wallet = try handler.wallet()
        do {
            try wallet.receive(token, creditAccountID: account.id, requestID: exchange.requestID)
        } catch {
            if case .mintUnavailable = error {
                // The swap may have happened: the key gets the value when recovery finishes it, so the
                // client must learn the key now. (If the swap did not happen, top the key up later.)
                var body = Exchange.errorBody(error.apiError)
                body.set("api_key", .string(key))
                exchange.send(status: error.apiError.status, json: body)
                return
            }
            try? ledger.accounts.setDisabled(accountID: account.id, true)  // an empty key nobody knows; kept for the books
            throw error.apiError
        }
        let funded = try reload(account.id)
        exchange.send(status: 200, json: ["api_key": .string(key), "balance": .int(funded.balanceMsat), "created_at": .int(funded.createdAt)])
    }

    /// `POST /v1/wallet/topup {"cashu_token"}` with a bearer key.
    func topup() throws(APIError) {
        let account = try handler.authenticate(exchange)
        let token = try tokenFromBody()
        let wallet = try handler.wallet()
        let credited: Int64
        do { credited = try wallet.receive(token, creditAccountID: account.id, requestID: exchange.requestID) } catch { throw error.apiError }
        let after = try reload(account.id)
        exchange.send(status: 200, json: ["msats": .int(credited), "balance": .int(after.balanceMsat)])
    }

    /// `POST /v1/wallet/withdraw {"amount": sats, "mint"?}`: part of the balance as a `cashuB` token.
    /// The mint's input fee for the swap is taken from the balance on top of `amount`.
    func withdraw() throws(APIError) {
        let account = try payerAccount()
        let body = try exchange.readJSONBody(limit: 64 * 1024)
        guard let amount = body["amount"]?.int64Value else { throw .invalidRequest("'amount' must be a whole number of sats, at least 1") }
        let result = try Withdrawal(ledger: handler.ledger, wallet: try handler.wallet())
            .run(accountID: account.id, amountSat: amount, amountField: "amount", mint: body["mint"]?.stringValue, requestID: exchange.requestID)
        try respond(result.sent, accountID: account.id)
    }

    /// `POST /v1/wallet/refund`: everything left, as a token. With a key: the key's balance. With
    /// the original `X-Cashu` token (header, or `{"cashu_token"}`): the change a client did not get.
    /// Asking again after the balance is empty returns the same token again.
    func refund() throws(APIError) {
        let account = try payerAccount(allowTokenInBody: true)
        let wallet = try handler.wallet()
        let sent: SentToken?
        do { sent = try wallet.sendAll(accountID: account.id, mint: TokenAccount.mint(of: account), requestID: exchange.requestID) } catch {
            throw error.apiError
        }
        if let sent { return try respond(sent, accountID: account.id) }
        // Nothing left: replay the last token sent from this balance, if any.
        guard let last = try lastSentToken(accountID: account.id) else { throw .notFound("nothing to refund") }
        exchange.send(status: 200, json: ["token": .string(last), "balance": .int(try reload(account.id).balanceMsat), "replayed": true])
    }

    // MARK: Helpers

    /// The account paying or asking: a key, a token used as a key (Bearer cashu…), or the
    /// original `X-Cashu` token of a per-request payment.
    private func payerAccount(allowTokenInBody: Bool = false) throws(APIError) -> Account {
        let credential = exchange.credential
        var text = credential.token
        if text == nil, allowTokenInBody, credential == .none, let body = try? exchange.readJSONBody(limit: 256 * 1024) {
            text = body["cashu_token"]?.stringValue
        }
        guard let text else { return try handler.authenticate(exchange, allowExpired: true) }
        let token: Token
        do { token = try Token.parse(text) } catch { throw .invalidToken(error.description) }
        return try handler.existingAccount({ ledger throws(LedgerError) in try ledger.accounts.account(keyHash: TokenAccount.keyHash(token)) },
                                           orElse: .notFound("this token was never used here"))
    }

    private func tokenFromBody() throws(APIError) -> Token {
        let body = try exchange.readJSONBody(limit: 256 * 1024)
        guard let text = body["cashu_token"]?.stringValue ?? body["token"]?.stringValue else {
            throw .invalidRequest("'cashu_token' is required")
        }
        do { return try Token.parse(text) } catch { throw .invalidToken(error.description) }
    }

    private func respond(_ sent: SentToken, accountID: Int64) throws(APIError) {
        let after = try reload(accountID)
        exchange.send(status: 200, json: [
            "token": .string(sent.token), "amount": .int(Int64(sent.amountSat)), "fee": .int(Int64(sent.feeSat)), "unit": "sat",
            "mint": .string(sent.mint), "balance": .int(after.balanceMsat),
        ], headers: [("X-Cashu", sent.token)])
    }

    private func lastSentToken(accountID: Int64) throws(APIError) -> String? {
        do { return try handler.ledger.wallet.lastSentToken(accountID: accountID) } catch { throw error.apiError }
    }

    private func reload(_ id: Int64) throws(APIError) -> Account {
        try handler.existingAccount({ ledger throws(LedgerError) in try ledger.accounts.account(id: id) }, orElse: .invalidAPIKey)
    }

    static func describe(_ account: Account) -> JSON {
        [
            "balance": .int(account.balanceMsat),
            "reserved": .int(account.reservedMsat),
            "total_deposited": .int(account.totalDepositedMsat),
            "total_spent": .int(account.totalSpentMsat),
            "total_withdrawn": .int(account.totalWithdrawnMsat),
            "last_used": account.lastUsedAt.map { .int($0) } ?? .null,
            "unit": "msat",
        ]
    }
}
