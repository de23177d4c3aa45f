import SatmeterPricing
import SatmeterSupport
import SatmeterUpstream

extension Settler {
    /// The quote to charge with: the frozen one, or, when the upstream names another model
    /// than the one asked for (routers, fallbacks), that model's price on the same route. A
    /// served model that cannot be priced, or only by the route's `fallback` for unknown models,
    /// keeps the requested model's price.
    func quoteForServedModel() -> PriceQuote {
        guard let served = ServedModel.repricing(requested: quote.model, served: servedModel), var request = pricingRequest
        else { return quote }
        request.model = served
        request.body.set("model", .string(served))
        guard let repriced = try? handler.services.pricing.quote(request), repriced.source != .fallback || quote.source == .fallback else {
            Log.info("request \(exchange.requestID): served model \(served) has no price of its own; priced as \(quote.model)")
            return quote
        }
        return repriced
    }

    /// A non-streaming error under HTTP 200. Without usage: nothing charged, our 502 with the
    /// upstream's message (a status inside the body, as OpenRouter writes it, may be about the
    /// gateway's own account). With usage (a generation that failed part way): the provider
    /// bills it, so it is charged, and the body goes to the client as it came, with the cost.
    func failUnder200(_ message: String, reported: BilledUsage?, response: HTTPResponse) throws(APIError) {
        exchange.record.errorCode = "upstream_error_under_200"
        guard let reported else {
            release(because: "upstream error under 200: \(message)")
            throw .upstreamFailed("the upstream answered 200 with an error: \(message)")
        }
        let receipt = settle(usage: reported, estimated: false)
        exchange.send(status: response.status, body: response.body, contentType: "application/json", headers: receipt?.headers ?? [])
    }
}

/// How long a stream may stay silent. `: keep-alive` comments are not progress: only events
/// with data are. While the model is known to be reasoning (the request asked for reasoning
/// and no output has arrived yet — a role chunk is not output —, or the last event was a
/// reasoning delta) the longer `stream_reasoning_idle_timeout_seconds` applies.
struct StreamIdleLimit {
    var idleMillis: Int64
    var reasoningMillis: Int64
    var reasoningRequested: Bool

    init(_ upstream: UpstreamConfig, reasoningRequested: Bool) {
        idleMillis = Int64(upstream.streamIdleTimeoutSeconds) * 1000
        reasoningMillis = Int64(max(upstream.streamReasoningIdleTimeoutSeconds, upstream.streamIdleTimeoutSeconds)) * 1000
        self.reasoningRequested = reasoningRequested
    }

    /// The limit for the silence after what has been seen so far.
    func limit(sawOutput: Bool, lastWasReasoning: Bool) -> Int64 {
        lastWasReasoning || (reasoningRequested && !sawOutput) ? reasoningMillis : idleMillis
    }

    /// The transport's own limit: the longest silence any phase allows.
    var transportSeconds: Double { Double(max(idleMillis, reasoningMillis)) / 1000 }
}

enum ReasoningSilence {
    /// True when the request asks for reasoning (OpenAI `reasoning_effort`, Responses and
    /// OpenRouter `reasoning`, Anthropic-style `thinking`).
    static func requested(by body: JSON) -> Bool {
        ["reasoning_effort", "reasoning", "thinking"].contains { body[$0] != nil && body[$0] != .null }
    }

    /// True when a stream event carries reasoning (`reasoning_content` or `reasoning` deltas,
    /// Responses `response.reasoning…` events): a silence after it is the model thinking.
    static func isReasoning(_ json: JSON) -> Bool {
        if let type = json["type"]?.stringValue, type.hasPrefix("response.reasoning") { return true }
        guard let delta = json["choices"]?.arrayValue?.first?["delta"] else { return false }
        let hasText = { (key: String) in (delta[key]?.stringValue).map { !$0.isEmpty } ?? false }
        return (hasText("reasoning_content") || hasText("reasoning")) && !hasText("content")
    }

    /// True when a stream event carries answer text or a tool call (not a role chunk, not reasoning).
    static func carriesOutput(_ json: JSON) -> Bool {
        if let type = json["type"]?.stringValue { return type.hasPrefix("response.output_text") || type.hasPrefix("response.function_call") }
        guard let choice = json["choices"]?.arrayValue?.first else { return false }
        if let text = choice["text"]?.stringValue, !text.isEmpty { return true }
        let delta = choice["delta"]
        if let content = delta?["content"]?.stringValue, !content.isEmpty { return true }
        return delta?["tool_calls"] != nil && delta?["tool_calls"] != .null
    }
}

extension Endpoint {
    /// Chat and completions streams take `stream_options.include_usage`; the Responses API
    /// reports usage in `response.completed` without being asked.
    var acceptsStreamOptions: Bool { self == .chatCompletions || self == .completions }
}
