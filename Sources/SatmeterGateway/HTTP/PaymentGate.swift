import SatmeterCashu
import SatmeterLedger
import SatmeterSupport
import SatmeterWallet

/// Decides who pays for a request, and with what:
/// - `Authorization: Bearer sk-…`: an API key's balance;
/// - `Authorization: Bearer cashuA…/cashuB…`: a Cashu token used as the key. Its first use redeems
///   it into an account named after the token's proofs; later uses draw on that same balance;
/// - `X-Cashu: cashuB…` (NUT-24): pays for this one request; change comes back in `X-Cashu`;
/// - nothing: 401, or, when the node accepts ecash, 402 with a NUT-18 payment request.
struct PaymentGate {
    let handler: GatewayHandler
    let exchange: Exchange

    /// The credential the request carries, checked against what this node accepts before the
    /// body is read.
    func credential() throws(APIError) -> Credential {
        let credential = exchange.credential
        let takesEcash = handler.services.config.cashu.enabled
        switch credential {
        case .perRequestToken: guard takesEcash else { throw .invalidRequest("This node does not accept ecash.") }
        case .cashuKey: guard takesEcash else { throw .invalidAPIKey }
        case .none: guard takesEcash else { throw .missingAPIKey }
        case .apiKey: break
        }
        return credential
    }

    /// The account that pays, after pricing (a per-request token must cover `maxCostMsat`).
    func payer(for credential: Credential, maxCostMsat: Int64, model: String) throws(APIError) -> Payer {
        switch credential {
        case let .apiKey(key):
            return Payer(account: try handler.authenticate(key: key), perRequest: false)
        case let .cashuKey(text):
            let token = try parse(text)
            let account = try redeem(token, requireUnused: false, minimumMsat: nil)
            if account.disabled { throw .keyDisabled }
            return Payer(account: account, perRequest: false)
        case let .perRequestToken(text):
            let token = try parse(text)
            let account = try redeem(token, requireUnused: true, minimumMsat: maxCostMsat)
            return Payer(account: account, perRequest: true)
        case .none:
            throw .paymentRequired(request: paymentRequest(maxCostMsat: maxCostMsat, model: model))
        }
    }

    private func parse(_ text: String) throws(APIError) -> Token { try Self.readToken(text) }

    /// The largest token taken (see `Token.maxSats`).
    static let maxTokenSats = Token.maxSats

    /// A client's token, refused (400) before anything converts its amounts if they cannot be a
    /// balance. Every path that reads a client's token (bearer, X-Cashu, wallet bodies, refund) comes here.
    static func readToken(_ text: String) throws(APIError) -> Token {
        let token: Token
        do { token = try Token.parse(text) } catch { throw .invalidToken(error.description) }
        do { try token.checkBounds() } catch { throw .invalidToken(error.description) }
        return token
    }

    /// The account behind a token; redeems the token into it on first use.
    /// `requireUnused`: a per-request payment may not reuse a token already redeemed.
    private func redeem(_ token: Token, requireUnused: Bool, minimumMsat: Int64?) throws(APIError) -> Account {
        let ledger = handler.ledger
        let wallet = try handler.wallet()
        let keyHash = TokenAccount.keyHash(token)
        let existing: Account?
        do { existing = try ledger.accounts.account(keyHash: keyHash) } catch { throw error.apiError }
        if let existing, existing.totalDepositedMsat > 0 {
            if requireUnused { throw .tokenAlreadySpent }
            return existing
        }
        // Nothing is written for a token until it has passed every check short of the swap.
        do { try wallet.verifyBeforeWriting(token) } catch { throw error.apiError }
        if let minimumMsat {
            // Check the value before taking the token, so a short payment costs the client nothing.
            let net: (total: UInt64, fee: UInt64)
            do { net = try wallet.netValue(of: token) } catch { throw error.apiError }
            // netValue bounded the token, so these fit; a figure that does not is refused, not trapped on.
            guard let value = Sat(exactly: net.total - net.fee)?.msat, let fee = Sat(exactly: net.fee)?.msat else {
                throw .invalidToken("the token's amounts are out of range")
            }
            guard value.value >= minimumMsat else {
                let required = Msat(minimumMsat).adding(fee) ?? Msat(.max)
                throw .tokenValueTooLow(valueMsat: value.value, requiredMsat: required.value)
            }
        }
        var account: Account
        if let existing {
            account = existing
        } else {
            do {
                // The label keeps the token's mint: change and refunds go back from the same mint.
                account = try ledger.accounts.createAccount(keyHash: keyHash, hint: TokenAccount.hint(token), kind: .token, label: token.mint,
                                                            limits: handler.services.config.ecashKeyLimits)
            } catch {
                // Another request created it a moment ago: use that one.
                guard let raced = try? ledger.accounts.account(keyHash: keyHash) else { throw error.apiError }
                account = raced
            }
        }
        do {
            try wallet.receive(token, creditAccountID: account.id, requestID: exchange.requestID)
        } catch {
            if error == .alreadySpent || error == .inFlight, !requireUnused, let now = try? ledger.accounts.account(id: account.id), now.totalDepositedMsat > 0 {
                return now  // a concurrent first use redeemed it into this same account
            }
            if NodeWallet.isFinalRefusal(error) {
                // The mint refused it: nothing of this request stays (no account to answer later).
                _ = try? ledger.wallet.forgetRefusedReceive(inputKey: TokenAccount.receiveKey(token), accountID: account.id)
            }
            throw error.apiError
        }
        return try handler.existingAccount({ ledger throws(LedgerError) in try ledger.accounts.account(id: account.id) },
                                           orElse: .internalError("account vanished"))
    }

    /// NUT-18 payment request for the 402: amount in sats covering the maximum cost and a typical
    /// input fee, the unit, and the mints we accept.
    func paymentRequest(maxCostMsat: Int64, model: String) -> String {
        let config = handler.services.config.cashu
        let sats = Self.requestSats(maxCostMsat: maxCostMsat)
        let request = PaymentRequest(id: nil, amount: sats, unit: NodeWallet.unit, singleUse: true, mints: config.mints,
                                     description: "satmeter: \(model)", transports: nil, lock: nil)
        return request.encoded()
    }

    /// The cost in whole sats, rounded up, plus one. Pricing saturates at Int64.max msat (an absurd
    /// BTC price), so this must not add before it divides.
    static func requestSats(maxCostMsat: Int64) -> UInt64 {
        let msat = UInt64(max(0, maxCostMsat))
        return msat / 1000 + (msat % 1000 == 0 ? 1 : 2)
    }
}

struct Payer {
    var account: Account
    /// Paid by an `X-Cashu` token for this request only: the rest goes back as change.
    var perRequest: Bool
}

/// Accounts that belong to a Cashu token rather than an API key.
enum TokenAccount {
    /// Named after the token's proofs, so the same proofs in any encoding reach the same account.
    static func keyHash(_ token: Token) -> String { "cashu:" + receiveKey(token) }

    /// The input key the wallet's receive operation for this token carries.
    static func receiveKey(_ token: Token) -> String {
        StoredProof.inputKey(token.proofs.map { StoredProof(mint: token.mint, keysetID: $0.keysetID, amount: Int64(clamping: $0.amount), secret: $0.secret, c: $0.C) })
    }

    /// The mint a token account was paid from (kept in its label); nil for API keys, whose
    /// label is the operator's.
    static func mint(of account: Account) -> String? {
        account.kind == .token ? account.label : nil
    }

    static func hint(_ token: Token) -> String {
        "cashu \((try? token.totalAmount()) ?? 0) sat"
    }
}
