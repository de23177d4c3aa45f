import Testing
@testable import SatmeterGateway
@testable import SatmeterPricing
@testable import SatmeterSupport

/// At $100,000 per BTC, $1 per 1M tokens = 1 msat per token: the worked examples of docs/pricing.md §3.1.
@Suite("Pricing: each usage part at its own rate")
struct PricingTokenLinesTests {
    typealias F = PricingFixtures
    static let yaml = """
    pricing:
      min_charge_msat: 0
      exchange_fee: 1
      upstream_fee: 1
      overrides:
        plain: { prompt_usd_per_1m: 10, completion_usd_per_1m: 40 }
        custom: { prompt_usd_per_1m: 10, completion_usd_per_1m: 40, cached_prompt_usd_per_1m: 1, cache_write_usd_per_1m: 20,
                  reasoning_usd_per_1m: 80, audio_prompt_usd_per_1m: 100, audio_completion_usd_per_1m: 200, image_prompt_usd_per_1m: 5 }
    """

    static func cost(_ model: String, _ usage: BilledUsage) throws -> CostBreakdown {
        try F.engine(yaml).quote(F.chat(model)).cost(for: usage)
    }

    @Test func openAICachedTokensCostHalfByDefault() throws {
        var usage = BilledUsage(promptTokens: 100_000, completionTokens: 1000)
        usage.cachedPromptTokens = 90_000
        let cost = try Self.cost("plain", usage)
        #expect(cost.promptMsat == 10_000 * 10 + 90_000 * 5)   // 550,000
        #expect(cost.completionMsat == 40_000)
    }

    @Test func anthropicCacheReadsCostATenthAndWritesAQuarterMore() throws {
        var usage = BilledUsage(promptTokens: 10_050, completionTokens: 200)
        usage.cachedPromptTokens = 9000
        usage.cacheWriteTokens = 1000
        usage.cacheConvention = .anthropic
        #expect(try Self.cost("plain", usage).promptMsat == 50 * 10 + 9000 * 1 + 1000 * 25 / 2)
    }

    @Test func configuredRatesWinOverTheDefaults() throws {
        var usage = BilledUsage(promptTokens: 1000, completionTokens: 500)
        usage.cachedPromptTokens = 400
        usage.cacheWriteTokens = 100
        usage.audioPromptTokens = 200
        usage.imagePromptTokens = 100
        usage.reasoningTokens = 300
        usage.audioCompletionTokens = 100
        let cost = try Self.cost("custom", usage)
        #expect(cost.promptMsat == 400 * 1 + 100 * 20 + 200 * 100 + 100 * 5 + 200 * 10)
        #expect(cost.completionMsat == 300 * 80 + 100 * 200 + 100 * 40)
    }

    @Test func reservationCoversTheDearestConfiguredRate() throws {
        let quote = try F.engine(Self.yaml).quote(F.chat("custom", prompt: 100, maxCompletion: 100))
        #expect(quote.maxCostMsat == 100 * 100 + 100 * 200)
    }

    @Test func dynamicPricesChargeTheProviderReportedCostTimesFees() throws {
        let yaml = "pricing:\n  min_charge_msat: 0\n  exchange_fee: 1\n  upstream_fee: 1.5\n"
        let quote = try F.engine(yaml).quote(F.chat("openai/gpt-4o-mini"))
        var usage = BilledUsage(promptTokens: 1000, completionTokens: 1000)
        usage.providerCostUSD = "0.002"
        let cost = quote.cost(for: usage)
        #expect(cost.providerCostMsat == 3000 && cost.totalMsat == 3000 && cost.promptMsat == 0)
        #expect(cost.upstreamCostMsat == 2000)
        // An operator-written price is final: the reported cost only feeds the margin report.
        let fixed = try Self.cost("plain", usage)
        #expect(fixed.totalMsat == 10_000 + 40_000 && fixed.upstreamCostMsat == 2000)
    }

    @Test func entriesWithSpecialRatesParseAndWriteBack() throws {
        let config = try F.config(Self.yaml)
        let price = try #require(config.overrides.lookup("custom")?.value)
        #expect(price.cachedPrompt == (try Fixed18.parse("1", shift: 6)))
        let written = PriceEntryParser.write(price)
        #expect(written.contains("cached_prompt_usd_per_1m: \"1\"") && written.contains("reasoning_usd_per_1m: \"80\""))
    }

    @Test func servedModelRepricingSkipsSnapshotsAndPrefixes() {
        #expect(ServedModel.repricing(requested: "gpt-4o", served: "gpt-4o-2024-08-06") == nil)
        #expect(ServedModel.repricing(requested: "gpt-4o", served: "openai/gpt-4o") == nil)
        #expect(ServedModel.repricing(requested: "openrouter/auto", served: "anthropic/claude-3.5-sonnet") == "anthropic/claude-3.5-sonnet")
        #expect(ServedModel.repricing(requested: "gpt-4o", served: "gpt-4o-mini") == "gpt-4o-mini")
        #expect(ServedModel.repricing(requested: "gpt-4o", served: nil) == nil)
    }
}
