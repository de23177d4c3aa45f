import SatmeterPricing
import SatmeterSupport

/// A request that names no completion limit is bounded by the limit satmeter reserved for: it is
/// written into the forwarded body (`max_completion_tokens` for chat, `max_tokens` for
/// completions, `max_output_tokens` for responses), so the upstream cannot generate, and bill, more than was reserved.
///
/// Not written when the reservation came from the model's context length (what is left after
/// the prompt): that can exceed the model's output limit, which upstreams refuse, and the
/// context bounds the output anyway.
enum CompletionLimit {
    static func write(into body: inout JSON, request: ProxiedRequest, quote: PriceQuote, endpoint: Endpoint) {
        guard !request.clientLimitsCompletion, endpoint != .embeddings else { return }
        if quote.price.maxCompletionTokens == nil, let context = quote.price.contextLength, context > request.promptTokenBound { return }
        let choices = max(1, PricingEngine.choices(in: body) ?? 1)
        let perChoice = quote.reservedUsage.completionTokens / choices
        guard perChoice >= 1 else { return }
        let field = endpoint == .completions ? "max_tokens" : endpoint == .responses ? "max_output_tokens" : "max_completion_tokens"
        body.set(field, .int(Int64(min(perChoice, ProxiedRequest.completionTokenCeiling))))
    }
}
