import SatmeterLedger
import SatmeterSupport

/// Keeps clients out of each other's Responses API objects. The upstream sees only the operator's
/// key, so it would hand any `resp_…` to anyone who names it: the gateway records who created
/// each one (`ResponseOwnerStore`) and forwards a by-id request or a `previous_response_id` only
/// for its creator (or the parent of the child key that created it). Anything else, unknown ids
/// included, gets the same 404, is not forwarded and costs nothing.
///
/// Whose it is: the account that paid for the `POST /v1/responses`. A key's, a Cashu token used
/// as the key's; for an `X-Cashu` payment, the account of that token, so whoever holds the token
/// can read it back by sending it as the key (`Authorization: Bearer cashuB…`). An `X-Cashu`
/// request cannot continue a conversation: it names no standing account (404).
struct ResponseOwnership {
    let handler: GatewayHandler

    /// Records the payer as the creator of the object in an upstream answer: a `POST /v1/responses`
    /// body, or a stream event carrying `response` (the first, `response.created`). False when the
    /// answer names no object.
    @discardableResult
    func recordCreator(in json: JSON, accountID: Int64) -> Bool {
        let object = json["response"] ?? json
        guard let id = object["id"]?.stringValue, (object["object"]?.stringValue ?? "response") == "response" else { return false }
        do {
            try handler.ledger.responseOwners.record(responseID: id, accountID: accountID)
        } catch {
            // Fails closed: an unrecorded object is no one's, so it cannot leak.
            Log.error("response \(id.prefix(64)): its creator was not recorded (\(error)); nobody can fetch it through the gateway")
        }
        return true
    }

    /// 404 unless `account` created `id` (or is the parent of the key that did).
    func requireOwned(_ id: String, by account: Account?) throws(APIError) {
        guard let account else { throw .responseNotFound(id) }
        let owned: Bool
        do { owned = try handler.ledger.responseOwners.owns(accountID: account.id, responseID: id) } catch { throw error.apiError }
        guard owned else { throw .responseNotFound(id) }
    }

    /// A `POST /v1/responses` that continues `previous_response_id` must come from its creator;
    /// checked before anything is paid or forwarded.
    ///
    /// `conversation` is refused outright: conversations are created through `/v1/conversations`,
    /// which the gateway does not serve, so any id a client names is one it cannot own (the
    /// operator's, or another client's made outside the gateway) and the upstream would extend it.
    func checkContinuation(of body: JSON, credential: Credential) throws(APIError) {
        if let conversation = body["conversation"], conversation != .null {
            throw .invalidRequest("'conversation' is not available through this gateway; continue with 'previous_response_id'")
        }
        guard let value = body["previous_response_id"], value != .null else { return }
        guard let id = value.stringValue else { throw .invalidRequest("'previous_response_id' must be a string") }
        try requireOwned(id, by: try standingAccount(credential))
    }

    /// The account a credential names without paying anything: an API key's, or the account of a
    /// Cashu token that was redeemed before (as a key or as an `X-Cashu` payment). An `X-Cashu`
    /// payment and no credential name none.
    func standingAccount(_ credential: Credential) throws(APIError) -> Account? {
        switch credential {
        case let .apiKey(key): return try handler.authenticate(key: key)
        case let .cashuKey(text): return try redeemedTokenAccount(text)
        case .perRequestToken, .none: return nil
        }
    }

    /// A token's account if the token was redeemed here; nothing is sent to the mint.
    func redeemedTokenAccount(_ text: String) throws(APIError) -> Account? {
        let token = try PaymentGate.readToken(text)
        let found: Account?
        do { found = try handler.ledger.accounts.account(keyHash: TokenAccount.keyHash(token)) } catch { throw error.apiError }
        guard let found, found.totalDepositedMsat > 0 else { return nil }
        if found.disabled { throw .keyDisabled }
        return found
    }
}
