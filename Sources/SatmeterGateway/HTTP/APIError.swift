import SatmeterCashu
import SatmeterLedger
import SatmeterSupport

/// Every error a client can see. Mapped to status, OpenAI `type` and `code` here and nowhere else.
public enum APIError: Error, Sendable, Equatable {
    case missingAPIKey
    case invalidAPIKey
    case keyDisabled
    case keyExpired
    /// Balances in msats; the message shows sats, as clients read them.
    case insufficientBalance(availableMsat: Int64, requiredMsat: Int64)
    /// No credential at all on a node that takes ecash: a NUT-18 payment request (`creqA…`) to pay.
    case paymentRequired(request: String)
    case invalidJSON(String)
    /// The same key twice in one JSON object (any depth): which copy counts is parser-dependent.
    case duplicateJSONKey(String)
    case invalidRequest(String)
    case unsupportedModel(String)
    case modelNotAllowed(String)
    /// The key's (or its parent key's) spending limit, msat.
    case spendingLimitReached(limitMsat: Int64)
    case bodyTooLarge(limitBytes: Int)
    case notFound(String)
    /// A Responses API object the requester did not create (or that does not exist): one answer for both.
    case responseNotFound(String)
    case methodNotAllowed(String)
    case upstreamFailed(String)
    case upstreamTimeout
    case priceUnavailable(String)
    case serviceUnavailable(String)
    // Cashu
    case invalidToken(String)
    case tokenAlreadySpent
    case untrustedMint(String)
    case tokenValueTooLow(valueMsat: Int64, requiredMsat: Int64)
    case mintUnavailable(String)
    case mintError(String)
    // Admin
    case unauthorized
    case forbidden(String)
    case tooManyRequests(retryAfterSeconds: Int)
    /// A key's requests or tokens per minute, or its concurrent streams (`RateLimitHeaders`).
    case rateLimited(RateLimitRefusal)
    /// A session product's window is used up (requests or tokens); it renews when the window ends.
    case sessionCapReached(product: String, retryAfterSeconds: Int)
    case conflict(String)
    /// The payment's request is still being served: its change is not known yet (retry shortly).
    case refundPending
    case internalError(String)

    public var status: Int {
        switch self {
        case .missingAPIKey, .invalidAPIKey, .keyDisabled, .keyExpired, .unauthorized: 401
        case .insufficientBalance, .paymentRequired, .tokenValueTooLow: 402
        case .invalidJSON, .duplicateJSONKey, .invalidRequest, .unsupportedModel, .invalidToken, .tokenAlreadySpent, .untrustedMint:
            400
        case .modelNotAllowed, .forbidden, .spendingLimitReached: 403
        case .notFound, .responseNotFound: 404
        case .methodNotAllowed: 405
        case .conflict: 409
        case .refundPending: 425
        case .bodyTooLarge: 413
        case .mintError: 422
        case .tooManyRequests, .rateLimited, .sessionCapReached: 429
        case .internalError: 500
        case .upstreamFailed: 502
        case .priceUnavailable, .serviceUnavailable, .mintUnavailable: 503
        case .upstreamTimeout: 504
        }
    }

    public var type: String {
        switch self {
        case .missingAPIKey, .invalidAPIKey, .keyDisabled, .keyExpired, .unauthorized: "authentication_error"
        case .insufficientBalance, .paymentRequired: "insufficient_balance"
        case .invalidJSON, .duplicateJSONKey, .invalidRequest, .unsupportedModel, .bodyTooLarge, .notFound, .responseNotFound, .methodNotAllowed:
            "invalid_request_error"
        case .modelNotAllowed, .forbidden, .spendingLimitReached: "permission_error"
        case .invalidToken, .tokenAlreadySpent, .untrustedMint, .tokenValueTooLow, .mintError: "cashu_error"
        case .mintUnavailable: "cashu_mint_unavailable"
        case .upstreamFailed, .upstreamTimeout: "upstream_error"
        case .priceUnavailable, .serviceUnavailable: "service_unavailable"
        case .tooManyRequests, .sessionCapReached: "rate_limit_error"
        // OpenAI's types for its own 429s: which limit was hit.
        case let .rateLimited(refusal): refusal.limit.rawValue
        case .conflict: "conflict"
        case .refundPending: "refund_pending"
        case .internalError: "server_error"
        }
    }

    public var code: String {
        switch self {
        case .missingAPIKey: "missing_api_key"
        case .invalidAPIKey: "invalid_api_key"
        case .keyDisabled: "key_disabled"
        case .keyExpired: "key_expired"
        // Routstr's code for a balance too small: its clients branch on it.
        case .insufficientBalance: "insufficient_balance"
        case .paymentRequired: "payment_required"
        case .invalidJSON: "invalid_json"
        case .duplicateJSONKey: "duplicate_key"
        case .invalidRequest: "invalid_request"
        case .unsupportedModel: "unsupported_model"
        case .modelNotAllowed: "model_not_allowed"
        case .spendingLimitReached: "spending_limit_reached"
        case .bodyTooLarge: "body_too_large"
        case .notFound, .responseNotFound: "not_found"
        case .methodNotAllowed: "method_not_allowed"
        case .upstreamFailed: "upstream_failed"
        case .upstreamTimeout: "upstream_timeout"
        case .priceUnavailable: "price_unavailable"
        case .serviceUnavailable: "service_unavailable"
        case .invalidToken: "invalid_cashu_token"
        case .tokenAlreadySpent: "cashu_token_already_spent"
        case .untrustedMint: "untrusted_mint"
        case .tokenValueTooLow: "payment_required"
        case .mintUnavailable: "cashu_mint_unreachable"
        case .mintError: "cashu_mint_error"
        case .unauthorized: "unauthorized"
        case .forbidden: "forbidden"
        case .tooManyRequests: "rate_limited"
        case .rateLimited: "rate_limit_exceeded"
        case .sessionCapReached: "session_cap_reached"
        case .conflict: "conflict"
        case .refundPending: "refund_pending"
        case .internalError: "internal_error"
        }
    }

    public var message: String {
        switch self {
        case .missingAPIKey: "Missing API key. Send 'Authorization: Bearer sk-...' or pay with an 'X-Cashu' token."
        case .invalidAPIKey: "Invalid API key."
        case .keyDisabled: "This API key is disabled."
        case .keyExpired: "This API key has expired."
        case let .insufficientBalance(available, required):
            "Insufficient balance. Current: \(Sats.display(available)) sats, Required: \(Sats.display(required)) sats"
        case .paymentRequired:
            "Payment required: send an API key (Authorization: Bearer sk-...) or an ecash token (X-Cashu: cashuB...); the X-Cashu response header holds a payment request."
        case let .invalidJSON(why): "Invalid JSON body: \(why)"
        case let .duplicateJSONKey(key): "Invalid JSON body: the key '\(key)' appears more than once in one object."
        case let .invalidRequest(why): why
        case let .unsupportedModel(model): "Unsupported model: \(model)"
        case let .modelNotAllowed(model): "This key may not use model \(model)"
        case let .spendingLimitReached(limit): "This key has reached its spending limit of \(Sats.display(limit)) sats."
        case let .bodyTooLarge(limit): "Request body too large (limit \(limit) bytes)."
        case let .notFound(what): what.hasPrefix("/") ? "Unknown endpoint: \(what)" : "Not found: \(what)"
        case let .responseNotFound(id): "No response found with id '\(id.prefix(64))'."
        case let .methodNotAllowed(method): "Method \(method) is not allowed here."
        case let .upstreamFailed(why): "Upstream request failed: \(why). You were not charged."
        case .upstreamTimeout: "Upstream timed out. You were not charged."
        case let .priceUnavailable(why): "Pricing is unavailable: \(why). Try again later."
        case let .serviceUnavailable(why): why
        case let .invalidToken(why): "Invalid Cashu token: \(why)"
        case .tokenAlreadySpent: "This Cashu token has already been spent."
        case let .untrustedMint(mint): "Mint not accepted here: \(mint)"
        case let .tokenValueTooLow(value, required):
            "Token value too low. Value: \(Sats.display(value)) sats, Required: \(Sats.display(required)) sats"
        case let .mintUnavailable(why): "The mint is unavailable: \(why). Your token was not lost; try again later."
        case let .mintError(why): "The mint refused the operation: \(why)"
        case .unauthorized: "Authentication required."
        case let .forbidden(why): why
        case let .tooManyRequests(seconds): "Too many attempts. Retry in \(seconds) s."
        case let .rateLimited(refusal): RateLimitHeaders.message(refusal)
        case let .sessionCapReached(product, seconds):
            "This key has used up its '\(product)' window (its request or token cap). Nothing was charged; the next window starts in \(seconds) s."
        case let .conflict(why): why
        case .refundPending: "Refund is pending: the request this token paid for is still running. Retry shortly."
        case let .internalError(why): "Internal error: \(why)"
        }
    }
}

extension APIError {
    /// The request field an error is about (OpenAI's `param`), when there is one.
    public var param: String? {
        switch self {
        case let .duplicateJSONKey(key): key
        default: nil
        }
    }
}
