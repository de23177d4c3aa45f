import Testing
@testable import SatmeterSupport

/// Each provider's usage object, as its API reference shows it, read into one normalised shape.
@Suite("Billed usage: every provider's usage shape")
struct BilledUsageJSONTests {
    static func usage(_ text: String) throws -> BilledUsage {
        try #require(BilledUsage(json: try JSON.parse(Array(text.utf8))))
    }

    @Test func openAIChatCachedReasoningAndAudioAreInsideTheTotals() throws {
        let u = try Self.usage("""
        {"prompt_tokens":2006,"completion_tokens":300,"total_tokens":2306,
         "prompt_tokens_details":{"cached_tokens":1920,"audio_tokens":50},
         "completion_tokens_details":{"reasoning_tokens":192,"audio_tokens":0}}
        """)
        #expect((u.promptTokens, u.completionTokens) == (2006, 300))
        #expect((u.cachedPromptTokens, u.audioPromptTokens, u.reasoningTokens) == (1920, 50, 192))
        #expect(u.cacheConvention == .openAI)
    }

    @Test func responsesAPINamesThemInputAndOutput() throws {
        let u = try Self.usage("""
        {"input_tokens":328,"input_tokens_details":{"cached_tokens":128},"output_tokens":52,
         "output_tokens_details":{"reasoning_tokens":20},"total_tokens":380}
        """)
        #expect((u.promptTokens, u.completionTokens, u.cachedPromptTokens, u.reasoningTokens) == (328, 52, 128, 20))
        #expect(u.cacheConvention == .openAI)
    }

    @Test func anthropicCacheCountsAreOutsideInputTokens() throws {
        let u = try Self.usage("""
        {"input_tokens":50,"cache_creation_input_tokens":1000,"cache_read_input_tokens":9000,"output_tokens":200}
        """)
        #expect((u.promptTokens, u.cachedPromptTokens, u.cacheWriteTokens, u.completionTokens) == (10_050, 9000, 1000, 200))
        #expect(u.cacheConvention == .anthropic)
    }

    @Test func anthropicFieldsBesidePromptTokensFollowTheTotal() throws {
        let inside = try Self.usage("""
        {"prompt_tokens":10050,"completion_tokens":200,"total_tokens":10250,"cache_read_input_tokens":9000,"cache_creation_input_tokens":1000}
        """)
        #expect((inside.promptTokens, inside.cachedPromptTokens, inside.cacheWriteTokens) == (10_050, 9000, 1000))
        let outside = try Self.usage("""
        {"prompt_tokens":50,"completion_tokens":200,"total_tokens":10250,"cache_read_input_tokens":9000,"cache_creation_input_tokens":1000}
        """)
        #expect((outside.promptTokens, outside.cachedPromptTokens) == (10_050, 9000))
    }

    @Test func reasoningReportedBesideCompletionIsAdded() throws {
        let u = try Self.usage("""
        {"prompt_tokens":10,"completion_tokens":5,"total_tokens":115,"completion_tokens_details":{"reasoning_tokens":100}}
        """)
        #expect((u.completionTokens, u.reasoningTokens) == (105, 100))
        let inside = try Self.usage("""
        {"prompt_tokens":10,"completion_tokens":105,"total_tokens":115,"completion_tokens_details":{"reasoning_tokens":100}}
        """)
        #expect((inside.completionTokens, inside.reasoningTokens) == (105, 100))
    }

    @Test func tokensOnlyInTheTotalAreReasoning() throws {
        // Gemini's OpenAI-compatible usage: thinking tokens in total_tokens, not in completion_tokens.
        let u = try Self.usage(#"{"prompt_tokens":10,"completion_tokens":20,"total_tokens":530}"#)
        #expect((u.promptTokens, u.completionTokens, u.reasoningTokens) == (10, 520, 500))
        let details = try Self.usage(#"{"prompt_tokens":10,"completion_tokens":20,"total_tokens":30,"prompt_tokens_details":null}"#)
        #expect((details.completionTokens, details.reasoningTokens, details.cachedPromptTokens) == (20, 0, 0))
    }

    @Test func deepSeekCacheHitsAndOpenRouterCost() throws {
        let deepseek = try Self.usage("""
        {"prompt_tokens":1000,"completion_tokens":10,"total_tokens":1010,"prompt_cache_hit_tokens":800,"prompt_cache_miss_tokens":200}
        """)
        #expect(deepseek.cachedPromptTokens == 800)
        let openrouter = try Self.usage("""
        {"prompt_tokens":194,"completion_tokens":2,"total_tokens":196,"cost":0.00014,"prompt_tokens_details":{"cached_tokens":0}}
        """)
        #expect(openrouter.providerCostUSD == "0.00014")
    }

    @Test func impossiblePartsAreClampedToTheirTotals() throws {
        let u = try Self.usage("""
        {"prompt_tokens":10,"completion_tokens":5,"prompt_tokens_details":{"cached_tokens":50,"audio_tokens":50},
         "completion_tokens_details":{"reasoning_tokens":9}}
        """)
        #expect((u.cachedPromptTokens, u.audioPromptTokens, u.reasoningTokens) == (10, 0, 5))
        #expect(BilledUsage(json: try JSON.parse(Array(#"{"prompt_tokens":-1}"#.utf8))) == nil)
    }

    @Test func responsesEventsCarryUsageInsideResponse() throws {
        let event = try JSON.parse(Array(#"{"type":"response.completed","response":{"model":"gpt-4o","usage":{"input_tokens":5,"output_tokens":7}}}"#.utf8))
        #expect(BilledUsage.found(in: event)?.completionTokens == 7)
    }
}
