import Testing
@testable import SatmeterPricing
@testable import SatmeterSupport

@Suite("Pricing: Routstr's sats_pricing fields")
struct PricingModelsListingRoutstrTests {
    static let yaml = """
    pricing:
      exchange_fee: 1
      upstream_fee: 1
    routes:
      "POST /v1/chat/completions":
        allow: [small, open]
        models:
          small: { usd_per_1m: "100", context_length: 8000 }
          open: { usd_per_1m: "1" }
    """

    @Test func perTokenSatsAndTheLargestReservation() throws {
        let engine = try PricingFixtures.engine(Self.yaml)
        let listing = engine.modelsListing()
        let small = try #require(PricingModelsListingTests.item(listing, "small")?["sats_pricing"])
        // $100 per 1M at $100k/BTC: 0.1 sat per token.
        #expect(small["prompt"] == .number("0.1") && small["completion"] == .number("0.1"))
        // No max_tokens, no completion limit. A 1-token prompt may complete up to the context
        // (8000 tokens, 800 sats); a prompt filling the context gets the default 4096 completion
        // tokens: 800 + 409.6 sats, the larger. The token must carry that plus a sat for fees.
        #expect(small["max_cost"] == .int(1211))
        #expect(small["max_prompt_cost"] == .number("800") && small["max_completion_cost"] == .number("409.6"))
        let open = try #require(PricingModelsListingTests.item(listing, "open")?["sats_pricing"])
        #expect(open["prompt"] == .number("0.001") && (open["max_cost"]?.int64Value ?? 0) > 0)
    }

    @Test func decimals() {
        #expect(PricingEngine.decimal(150, scale: 12) == "0.00000000015")
        #expect(PricingEngine.decimal(12_000, scale: 3) == "12")
        #expect(PricingEngine.decimal(12_345, scale: 3) == "12.345")
    }
}
