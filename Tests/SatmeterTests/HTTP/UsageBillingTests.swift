import Testing
@testable import SatmeterGateway
@testable import SatmeterPricing
@testable import SatmeterSupport

/// The request path's reading of an upstream answer: errors under 200, reasoning silences,
/// and the catalog's cache price for operator-written prices.
@Suite("Gateway: errors under 200, reasoning silences, cache rates")
struct UsageBillingTests {
    static func json(_ text: String) throws -> JSON { try JSON.parse(Array(text.utf8)) }

    @Test(arguments: [
        (nil, #"{"error":{"code":502,"message":"Provider returned error"}}"#, "Provider returned error"),
        ("error", #"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#, "Overloaded"),
        (nil, #"{"choices":[{"delta":{"content":""},"finish_reason":"error"}]}"#, "the upstream ended its answer with finish_reason \"error\""),
        (nil, #"{"type":"response.failed","response":{"error":{"code":"server_error","message":"boom"}}}"#, "boom"),
        ("error", #"{"type":"error","code":"rate_limit","message":"slow down"}"#, "slow down"),
    ] as [(String?, String, String)])
    func errorsUnder200AreRecognised(event: String?, body: String, message: String) throws {
        #expect(ErrorUnder200.message(event: event, json: try Self.json(body)) == message)
    }

    @Test(arguments: [
        #"{"id":"x","object":"chat.completion.chunk","choices":[{"delta":{"content":"hi"},"finish_reason":null}]}"#,
        #"{"object":"response","status":"completed","error":null,"output":[]}"#,
        #"{"type":"response.completed","response":{"error":null,"usage":{"input_tokens":1,"output_tokens":1}}}"#,
    ])
    func ordinaryAnswersAreNotErrors(body: String) throws {
        #expect(ErrorUnder200.message(json: try Self.json(body)) == nil)
    }

    @Test func reasoningSilencesGetTheLongerBound() throws {
        var upstream = UpstreamConfig()
        upstream.streamIdleTimeoutSeconds = 2
        upstream.streamReasoningIdleTimeoutSeconds = 6
        let asked = StreamIdleLimit(upstream, reasoningRequested: true)
        #expect(asked.limit(sawOutput: false, lastWasReasoning: false) == 6000)
        #expect(asked.limit(sawOutput: true, lastWasReasoning: false) == 2000)
        #expect(asked.limit(sawOutput: true, lastWasReasoning: true) == 6000)
        let plain = StreamIdleLimit(upstream, reasoningRequested: false)
        #expect(plain.limit(sawOutput: false, lastWasReasoning: false) == 2000)
        #expect(plain.transportSeconds == 6)
        #expect(ReasoningSilence.requested(by: try Self.json(#"{"model":"o3","reasoning_effort":"high"}"#)))
        #expect(!ReasoningSilence.requested(by: try Self.json(#"{"model":"o3","reasoning_effort":null}"#)))
        #expect(ReasoningSilence.isReasoning(try Self.json(#"{"choices":[{"delta":{"reasoning_content":"hmm"}}]}"#)))
        #expect(!ReasoningSilence.carriesOutput(try Self.json(#"{"choices":[{"delta":{"role":"assistant","content":""}}]}"#)))
        #expect(ReasoningSilence.carriesOutput(try Self.json(#"{"choices":[{"delta":{"content":null,"tool_calls":[{"index":0}]}}]}"#)))
    }

    @Test func operatorPricesKeepTheCatalogsCacheDiscount() throws {
        // claude-3.5-sonnet lists cache reads at 10% and writes at 125% of its input price:
        // an operator's own $6 per 1M keeps those proportions, even for OpenAI-shaped usage.
        let yaml = "pricing:\n  min_charge_msat: 0\n  overrides:\n    anthropic/claude-3.5-sonnet: { prompt_usd_per_1m: 6, completion_usd_per_1m: 30 }\n"
        let quote = try PricingFixtures.engine(yaml).quote(PricingFixtures.chat("anthropic/claude-3.5-sonnet"))
        var usage = BilledUsage(promptTokens: 10_000, completionTokens: 0)
        usage.cachedPromptTokens = 10_000
        #expect(quote.cost(for: usage).promptMsat == 6_000)  // 10,000 × 0.6 msat, not the 50% default
        usage.cachedPromptTokens = 0
        usage.cacheWriteTokens = 10_000
        #expect(quote.cost(for: usage).promptMsat == 75_000)
    }
}
