import SatmeterLedger
import SatmeterPricing
import SatmeterSupport

/// OpenAI's rate-limit headers for a key with limits, on every answer that went through
/// admission (and on its 429): `x-ratelimit-{limit,remaining,reset}-{requests,tokens}`, plus
/// the same for streams (satmeter's own: OpenAI has no stream limit). Only limits that are set.
enum RateLimitHeaders {
    static func headers(_ state: RateLimitState) -> [(String, String)] {
        var headers: [(String, String)] = []
        let reset = "\(state.resetSeconds)s"
        if let limit = state.limits.requestsPerMinute {
            headers += [("x-ratelimit-limit-requests", String(limit)), ("x-ratelimit-remaining-requests", String(max(0, limit - state.requests))),
                        ("x-ratelimit-reset-requests", reset)]
        }
        if let limit = state.limits.tokensPerMinute {
            headers += [("x-ratelimit-limit-tokens", String(limit)), ("x-ratelimit-remaining-tokens", String(max(0, limit - state.tokens))),
                        ("x-ratelimit-reset-tokens", reset)]
        }
        if let limit = state.limits.concurrentStreams, let streams = state.streams {
            headers += [("x-ratelimit-limit-streams", String(limit)), ("x-ratelimit-remaining-streams", String(max(0, limit - streams)))]
        }
        return headers
    }

    /// A 429's headers: the state as it was (this request not counted) and when to retry.
    static func refusal(_ refusal: RateLimitRefusal) -> [(String, String)] {
        [("Retry-After", String(refusal.retryAfterSeconds))] + headers(refusal.state)
    }

    /// OpenAI's wording, which clients and people recognise.
    static func message(_ refusal: RateLimitRefusal) -> String {
        let state = refusal.state
        switch refusal.limit {
        case .requests:
            return "Rate limit reached for requests per min (RPM) on this key: Limit \(state.limits.requestsPerMinute ?? 0), "
                + "Used \(state.requests), Requested 1. Please try again in \(refusal.retryAfterSeconds)s."
        case .tokens:
            let limit = state.limits.tokensPerMinute ?? 0
            if refusal.requested > limit {
                return "Request too large for tokens per min (TPM) on this key: Limit \(limit), Requested \(refusal.requested) "
                    + "(prompt estimate plus completion limit). Lower max_tokens or the prompt."
            }
            return "Rate limit reached for tokens per min (TPM) on this key: Limit \(limit), Used \(state.tokens), "
                + "Requested \(refusal.requested). Please try again in \(refusal.retryAfterSeconds)s."
        case .streams:
            return "Concurrent stream limit reached on this key: Limit \(state.limits.concurrentStreams ?? 0), Open \(state.streams ?? 0). "
                + "Close a stream or try again shortly."
        }
    }
}

extension ProxiedRequest {
    /// What a request counts against its key's tokens per minute when admitted: the prompt
    /// estimate (about four bytes a token) plus the completion limit reserved. Settling replaces
    /// it with the billed tokens.
    func admittedTokens(_ quote: PriceQuote) -> Int64 {
        Int64(PromptEstimate.adding(PromptEstimate.tokens(inTextBytes: promptTokenBound), max(0, quote.reservedUsage.completionTokens)))
    }
}

extension PaymentGate {
    /// A per-request token's account is new (no requests, no streams): only a request above the
    /// ecash tokens-per-minute can never pass. 429 before the token is taken.
    func checkFreshAccountLimits(_ admission: Admission) throws(APIError) {
        let limits = handler.services.config.ecashKeyLimits
        guard let limit = limits.tokensPerMinute, admission.tokens > limit else { return }
        let state = RateLimitState(limits: limits, requests: 0, tokens: 0, streams: nil, oldestInWindow: nil, now: Clock.now())
        throw .rateLimited(RateLimitRefusal(limit: .tokens, state: state, requested: admission.tokens))
    }
}
