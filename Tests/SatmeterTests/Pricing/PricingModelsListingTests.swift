import Testing
@testable import SatmeterPricing
@testable import SatmeterSupport

@Suite("Pricing: /v1/models listing")
struct PricingModelsListingTests {
    typealias F = PricingFixtures

    static let yaml = """
    pricing:
      exchange_fee: 1
      upstream_fee: 1.10
      overrides:
        budget-model: { sats_per_1k: 5 }
    routes:
      "POST /v1/chat/completions":
        upstream: openai
        allow: [gpt-4o, budget-model, "ft:*", locked]
        models:
          locked: { usd_per_1m: "35", context_length: 8192 }
          "ft:*": { usd_per_1m: "1" }
    """

    static func item(_ listing: JSON, _ id: String) -> JSON? {
        listing["data"]?.arrayValue?.first { $0["id"]?.stringValue == id }
    }

    @Test func listsEachAllowedModelWithUSDAndSats() throws {
        let listing = try F.engine(Self.yaml).modelsListing()
        #expect(listing["object"] == "list")
        // Allowed exact ids only: patterns and catalog ids outside the allow list are not listed.
        #expect(listing["data"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == ["budget-model", "gpt-4o", "locked"])

        let gpt = try #require(Self.item(listing, "gpt-4o"))
        #expect(gpt["object"] == "model")
        #expect(gpt["owned_by"] == "openai")
        #expect(gpt["context_length"] == .int(128_000))
        // $2.50/$10 per 1M × 1.10 = $0.00000275/$0.000011 per token; at $100k: 2,750/11,000 sats per 1M.
        #expect(gpt["pricing"]?["prompt"] == "0.00000275")
        #expect(gpt["pricing"]?["completion"] == "0.000011")
        #expect(gpt["pricing"]?["request"] == "0")
        #expect(gpt["sats_pricing"]?["prompt_per_1m"] == "2750")
        #expect(gpt["sats_pricing"]?["completion_per_1m"] == "11000")
        #expect(gpt["pricing_source"] == "default-table")

        let locked = try #require(Self.item(listing, "locked"))
        #expect(locked["sats_pricing"]?["prompt_per_1m"] == "35000")
        #expect(locked["context_length"] == .int(8192))
        #expect(locked["pricing_source"] == "route.models")

        let budget = try #require(Self.item(listing, "budget-model"))
        #expect(budget["sats_pricing"]?["prompt_per_1m"] == "5000")
        // 5 sat per 1K = 0.005 sat per token = $0.000005 at $100,000/BTC.
        #expect(budget["pricing"]?["prompt"] == "0.000005")
    }

    @Test func withoutAllowListTheCatalogIsListed() throws {
        let listing = try F.engine("pricing: {}\n").modelsListing()
        let ids = listing["data"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
        // Each catalog id is listed with its provider prefix and bare, as clients of an
        // OpenAI-compatible upstream send it.
        #expect(ids.count == 2 * DefaultPriceTable.models.count)
        #expect(ids.contains("openai/dall-e-3") && ids.contains("dall-e-3"))
        let whisper = try #require(Self.item(listing, "openai/whisper-1"))
        #expect(whisper["sats_pricing"]?["audio_second"] != nil)
    }

    @Test func withoutABTCPriceTheConvertedColumnIsNull() throws {
        let oracle = BTCPriceOracle(config: BTCPriceConfig(sources: [.init(url: "http://127.0.0.1:1/", shape: .plain)]),
                                    fetcher: StubFetcher(), clock: TestClock().function)
        let engine = PricingEngine(config: try F.config(Self.yaml), oracle: oracle)
        let listing = engine.modelsListing()
        #expect(Self.item(listing, "gpt-4o")?["sats_pricing"] == .null)
        #expect(Self.item(listing, "gpt-4o")?["pricing"]?["prompt"] == "0.00000275")
        #expect(Self.item(listing, "budget-model")?["pricing"] == .null)
        #expect(Self.item(listing, "budget-model")?["sats_pricing"]?["prompt_per_1m"] == "5000")
    }
}
