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
        guard let (key, funded) = try create(tokenFromBody()) else { return }
        exchange.send(status: 200, json: ["api_key": .string(key), "balance": .int(funded.balanceMsat), "created_at": .int(funded.createdAt)])
    }

    /// A new key funded by `token`; `prepare` applies the holder's settings before any value moves.
    /// nil: the answer (mint unreachable mid-swap, with the key) has been sent already.
    func create(_ token: Token, prepare: (Account) throws(APIError) -> Void = { _ in }) throws(APIError) -> (String, Account)? {
        let ledger = handler.ledger
        let wallet = try handler.wallet()
        // No key is written for a token that is plainly not money.
        do { try wallet.verifyBeforeWriting(token) } catch { throw error.apiError }
        let key: String
        let account: Account
        do { (key, account) = try ledger.accounts.createKey(balanceMsat: 0, limits: handler.services.config.ecashKeyLimits) } catch { throw error.apiError }
        do { try prepare(account) } catch {
            try? ledger.accounts.setDisabled(accountID: account.id, true)
            throw error
        }
        do {
            try wallet.receive(token, creditAccountID: account.id, requestID: exchange.requestID)
        } catch {
            if case .mintUnavailable = error {
                // The swap may have happened: the key gets the value when recovery finishes it, so the
                // client must learn the key now. (If the swap did not happen, top the key up later.)
                var body = Exchange.errorBody(error.apiError)
                body.set("api_key", .string(key))
                exchange.send(status: error.apiError.status, json: body)
                return nil
            }
            if NodeWallet.isFinalRefusal(error) {
                // The mint refused the token: the key nobody was told goes, with the failed attempt.
                _ = try? ledger.wallet.forgetRefusedReceive(inputKey: TokenAccount.receiveKey(token), accountID: account.id)
            } else {
                try? ledger.accounts.setDisabled(accountID: account.id, true)  // an empty key nobody knows; kept for the books
            }
            throw error.apiError
        }
        return (key, try reload(account.id))
    }

    /// `POST /v1/wallet/topup {"cashu_token"}` with a bearer key.
    func topup() throws(APIError) {
        let account = try handler.authenticate(exchange)
        let token = try tokenFromBody()
        let wallet = try handler.wallet()
        do { try wallet.verifyBeforeWriting(token) } catch { throw error.apiError }
        let credited: Int64
        do { credited = try wallet.receive(token, creditAccountID: account.id, requestID: exchange.requestID) } catch {
            if NodeWallet.isFinalRefusal(error) { _ = try? handler.ledger.wallet.forgetRefusedReceive(inputKey: TokenAccount.receiveKey(token), accountID: nil) }
            throw error.apiError
        }
        let after = try reload(account.id)
        exchange.send(status: 200, json: ["msats": .int(credited), "balance": .int(after.balanceMsat)])
    }

    /// `POST /v1/wallet/withdraw {"amount": sats, "mint"?}`: part of the balance as a `cashuB` token.
    /// The mint's input fee for the swap is taken from the balance on top of `amount`.
    func withdraw() throws(APIError) {
        let account = try payerAccount()
        try refuseWhileBillsAreOpen(account)
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
        // A per-request payment still being served: its change is not known yet (Routstr answers 425 too).
        if account.kind == .token, account.reservedMsat > 0 { throw .refundPending }
        try refuseWhileBillsAreOpen(account)
        let wallet = try handler.wallet()
        let sent: SentToken?
        do { sent = try wallet.sendAll(accountID: account.id, mint: TokenAccount.mint(of: account), requestID: exchange.requestID) } catch {
            throw error.apiError
        }
        if let sent { return try respond(sent, accountID: account.id) }
        // Nothing left: replay the last token sent from this balance, if any.
        guard let last = try lastSentToken(accountID: account.id) else { throw .notFound("nothing to refund") }
        var replay: JSON = ["token": .string(last), "balance": .int(try reload(account.id).balanceMsat), "replayed": true]
        if let amount = try? Token.parse(last).totalAmount() { replay.set("sats", .string(String(amount))) }
        exchange.send(status: 200, json: replay, headers: [("X-Cashu", last)])
    }

    // MARK: Helpers

    /// The account paying or asking: a key, a token used as a key (Bearer cashu…), or the
    /// original `X-Cashu` token of a per-request payment.
    func payerAccount(allowTokenInBody: Bool = false) throws(APIError) -> Account {
        let credential = exchange.credential
        var text = credential.token
        if text == nil, allowTokenInBody, credential == .none {
            // No body is a request without a credential (401); a body must be a valid one.
            switch exchange.io.readBody(limit: 256 * 1024) {
            case .tooLarge: throw .bodyTooLarge(limitBytes: 256 * 1024)
            case let .complete(bytes): if !bytes.isEmpty { text = try Exchange.jsonBody(bytes)["cashu_token"]?.stringValue }
            }
        }
        guard let text else { return try handler.authenticate(exchange, allowExpired: true) }
        let token = try PaymentGate.readToken(text)
        let account = try handler.existingAccount({ ledger throws(LedgerError) in try ledger.accounts.account(keyHash: TokenAccount.keyHash(token)) },
                                                  orElse: .notFound("this token was never used here"))
        // A disabled token account is frozen like a disabled key: it cannot cash out.
        if account.disabled { throw .keyDisabled }
        return account
    }

    private func tokenFromBody() throws(APIError) -> Token {
        try Self.token(in: exchange, named: ["cashu_token", "token"])
    }

    /// A client's token from the query string (Routstr's clients send `?cashu_token=` with an empty
    /// body) or else from the JSON body, under the first of `names` present.
    static func token(in exchange: Exchange, named names: [String]) throws(APIError) -> Token {
        let query = AdminQuery.parse(exchange.io.query)
        var text: String?
        if let fromQuery = names.lazy.compactMap({ query[$0] }).first {
            // An unencoded '+' arrives as a space; tokens never contain spaces.
            text = String(fromQuery.map { $0 == " " ? "+" : $0 })
        } else {
            let body = try exchange.readJSONBody(limit: 256 * 1024)
            text = names.lazy.compactMap { body[$0]?.stringValue }.first
        }
        guard let text else { throw .invalidRequest("'\(names[0])' is required") }
        return try PaymentGate.readToken(String(text.filter { !$0.isWhitespace }))
    }

    private func respond(_ sent: SentToken, accountID: Int64) throws(APIError) {
        let after = try reload(accountID)
        exchange.send(status: 200, json: [
            "token": .string(sent.token), "amount": .int(Int64(sent.amountSat)), "fee": .int(Int64(sent.feeSat)), "unit": "sat",
            "sats": .string(String(sent.amountSat)),  // Routstr's field (a string there)
            "mint": .string(sent.mint), "balance": .int(after.balanceMsat),
        ], headers: [("X-Cashu", sent.token)])
    }

    private func lastSentToken(accountID: Int64) throws(APIError) -> String? {
        do { return try handler.ledger.wallet.lastSentToken(accountID: accountID) } catch { throw error.apiError }
    }

    func reload(_ id: Int64) throws(APIError) -> Account {
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
