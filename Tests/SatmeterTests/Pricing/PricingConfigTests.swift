import Testing
import Yams
@testable import SatmeterPricing
@testable import SatmeterSupport

@Suite("Pricing: YAML config")
struct PricingConfigTests {
    /// The complete example of docs/pricing.md.
    static let example = """
    pricing:
      min_charge_msat: 1000
      base_fee_msat: 0
      exchange_fee: 1.005
      upstream_fee: 1.10
      default_max_completion_tokens: 4096
      default_max_audio_seconds: 600
      fixed_per_token:
        prompt_sats_per_1k: 0
        completion_sats_per_1k: 0
      fixed_per_request:
        enabled: false
        sats: 1
      overrides:
        gpt-4: { usd_per_1m: "35" }
        budget-model: { sats_per_1k: 5 }
      families:
        "gpt-4o*":
          floor: { prompt_usd_per_1m: "2", completion_usd_per_1m: "8" }
          ceiling: { prompt_usd_per_1m: "10", completion_usd_per_1m: "40" }
      btc_price:
        sources:
          - { url: "https://api.kraken.com/0/public/Ticker?pair=XBTUSD", shape: kraken }
          - { url: "https://api.coinbase.com/v2/prices/BTC-USD/spot", shape: coinbase }
          - { url: "https://api.binance.com/api/v3/ticker/price?symbol=BTCUSDT", shape: binance }
        refresh_seconds: 60
        retry_seconds: 10
        max_age_seconds: 600
        timeout_seconds: 5
      models_source:
        url: "https://openrouter.ai/api/v1/models"
        refresh_seconds: 3600
      update_bounds:
        max_increase_percent: 15
        max_decrease_percent: 10

    routes:
      "POST /v1/chat/completions":
        upstream: openai
        type: token-based
        models:
          gpt-4o: { prompt_usd_per_1m: "2.50", completion_usd_per_1m: "10.00" }
          "ft:gpt-4o:*": { prompt_usd_per_1m: "3.75", completion_usd_per_1m: "15", context_length: 128000 }
        fallback: { prompt_usd_per_1m: "15", completion_usd_per_1m: "60" }
        deny: [gpt-3.5-turbo-0301, "text-davinci-*"]
        match:
          - where: { headers.x-pricing-version: v2 }
            models:
              gpt-4o: { prompt_usd_per_1m: "2.75", completion_usd_per_1m: "11" }
          - where: { body.metadata.tier: "enterprise*" }
            upstream: openai-enterprise
      "POST /v1/embeddings":
        upstream: openai
        allow: ["text-embedding-3-*"]
        models:
          text-embedding-3-small: { prompt_usd_per_1m: "0.02" }
          text-embedding-3-large: { prompt_usd_per_1m: "0.13" }
      "POST /v1/images/generations":
        upstream: openai
        allow: [dall-e-3]
        models:
          dall-e-3: { usd_per_image: "0.04" }
      "POST /v1/audio/transcriptions":
        upstream: openai
        models:
          whisper-1: { usd_per_second: "0.0001" }
      "POST /v1/moderations":
        type: flat
        price: { sats_per_request: 1 }
    """

    @Test func loadsTheDocumentedExample() throws {
        let config = try PricingFixtures.config(Self.example)
        #expect(config.minChargeMsat == 1000)
        #expect(config.exchangeFeePPM == 1_005_000)
        #expect(config.upstreamFeePPM == 1_100_000)
        #expect(config.fixedPerToken == nil)
        #expect(config.fixedPerRequest == nil)
        #expect(config.overrides["gpt-4"] == PricingFixtures.usdPer1M("35", "35"))
        #expect(config.overrides["budget-model"]?.currency == .sat)
        #expect(config.overrides["budget-model"]?.prompt == Fixed18(raw: 5_000_000_000_000_000))
        #expect(config.families.lookup("gpt-4o-mini")?.value.floor?.prompt == (try Fixed18.parse("2", shift: 6)))
        #expect(config.btcPrice.sources.map(\.shape) == [.kraken, .coinbase, .binance])
        #expect(config.btcPrice.maxAgeSeconds == 600)
        #expect(config.modelsSource.url == "https://openrouter.ai/api/v1/models")
        #expect(config.updateBounds == UpdateBounds(maxIncreasePPM: 150_000, maxDecreasePPM: 100_000))

        let chat = config.routes.route(for: "POST /v1/chat/completions")
        #expect(chat.upstream == "openai")
        #expect(chat.prices.models.lookup("ft:gpt-4o:acme::1")?.pattern.text == "ft:gpt-4o:*")
        #expect(chat.prices.models.lookup("ft:gpt-4o:acme::1")?.line == 43)
        #expect(chat.prices.fallback == PricingFixtures.usdPer1M("15", "60"))
        #expect(chat.deny.count == 2)
        #expect(chat.match.count == 2)
        #expect(chat.match[0].line == 47)
        #expect(chat.match[0].conditions[0].field == .header("x-pricing-version"))
        #expect(chat.match[1].conditions[0].field == .body(["metadata", "tier"]))
        #expect(config.routes.route(for: "POST /v1/moderations").type == .flat)
        #expect(config.routes.route(for: "POST /v1/unknown").type == .tokenBased)
    }

    @Test func emptySectionsGiveTheDefaults() throws {
        let config = try PricingConfig.parse(pricing: nil, routes: nil, file: "x")
        #expect(config.minChargeMsat == PricingConfig.defaults.minChargeMsat)
        #expect(config.btcPrice == BTCPriceConfig())
        #expect(config.btcPrice.sources.count == 3)
        #expect(config.routes.routes.isEmpty)
    }

    @Test func nullSectionsAndOtherTeamsRouteKeys() throws {
        let root = try #require(try Yams.compose(yaml: "pricing:\nroutes:\n  \"POST /v1/x\":\n    timeout: 30\n    upstream: a\n"))
        #expect(try PricingConfig.parse(pricing: root["pricing"], routes: nil, file: "f").minChargeMsat == 1000)
        #expect(throws: ConfigError.self) { try PricingConfig.parse(pricing: nil, routes: root["routes"], file: "f") }
        let config = try PricingConfig.parse(pricing: nil, routes: root["routes"], file: "f", otherRouteKeys: ["timeout"])
        #expect(config.routes.route(for: "POST /v1/x").upstream == "a")
    }

    struct BadCase: Sendable, CustomTestStringConvertible {
        var yaml: String
        var line: Int
        var reason: String
        var testDescription: String { reason }
    }

    @Test(arguments: [
        BadCase(yaml: "pricing:\n  min_charge_msats: 5\n", line: 2, reason: "unknown setting 'min_charge_msats'"),
        BadCase(yaml: "pricing:\n  min_charge_msat: -1\n", line: 2, reason: "min_charge_msat must be a whole number"),
        BadCase(yaml: "pricing:\n  exchange_fee: 0.9\n", line: 2, reason: "exchange_fee must be from 1 to 10"),
        BadCase(yaml: "pricing:\n  upstream_fee: 1.1234567\n", line: 2, reason: "at most 6 decimal places"),
        BadCase(yaml: "pricing:\n  overrides:\n    gpt-4: { usd_per_1m: \"-35\" }\n", line: 3, reason: "must not be negative"),
        BadCase(yaml: "pricing:\n  overrides:\n    gpt-4: { usd_per_1m: \"350000\" }\n", line: 3, reason: "implausibly large"),
        BadCase(yaml: "pricing:\n  overrides:\n    gpt-4: { usd_per_1m: lots }\n", line: 3, reason: "not a decimal number"),
        BadCase(yaml: "pricing:\n  overrides:\n    gpt-4: { usd_per_1m: \"0.0000000000001\" }\n", line: 3, reason: "more than 12 decimal places"),
        BadCase(yaml: "pricing:\n  overrides:\n    gpt-4:\n      usd_per_1m: 1\n      sats_per_1k: 1\n", line: 5, reason: "mixes USD and sats"),
        BadCase(yaml: "pricing:\n  overrides:\n    gpt-4: { context_length: 5 }\n", line: 3, reason: "sets no price"),
        BadCase(yaml: "pricing:\n  overrides:\n    \"*\": { sats_per_1k: 1 }\n", line: 3, reason: "would match every model"),
        BadCase(yaml: "pricing:\n  fixed_per_request: { enabled: true }\n", line: 2, reason: "enabled but sets no sats"),
        BadCase(yaml: "pricing:\n  fixed_per_request: { enabled: yes, sats: 1 }\n", line: 2, reason: "must be true or false"),
        BadCase(yaml: "pricing:\n  btc_price:\n    sources: []\n", line: 3, reason: "no sources and no usd_per_btc"),
        BadCase(yaml: "pricing:\n  btc_price:\n    sources:\n      - { url: \"http://x\", shape: bitstamp }\n", line: 4, reason: "is not one of: kraken"),
        BadCase(yaml: "pricing:\n  btc_price:\n    refresh_seconds: 600\n    max_age_seconds: 60\n", line: 4, reason: "at least refresh_seconds"),
        BadCase(yaml: "pricing:\n  btc_price: { usd_per_btc: \"97000.123\" }\n", line: 2, reason: "at most 2 decimal places"),
        BadCase(yaml: "pricing:\n  families:\n    \"gpt-4*\":\n      floor: { prompt_usd_per_1m: 5, completion_usd_per_1m: 5 }\n      ceiling: { prompt_usd_per_1m: 1, completion_usd_per_1m: 50 }\n", line: 4, reason: "floor is above the ceiling"),
        BadCase(yaml: "pricing:\n  update_bounds: { max_decrease_percent: 150 }\n", line: 2, reason: "from 0 to 100 %"),
        BadCase(yaml: "routes:\n  \"/v1/chat\":\n    type: flat\n", line: 2, reason: "must look like \"POST /v1/chat/completions\""),
        BadCase(yaml: "routes:\n  \"POST /v1/x\":\n    type: per-token\n", line: 3, reason: "must be token-based or flat"),
        BadCase(yaml: "routes:\n  \"POST /v1/x\":\n    type: flat\n", line: 3, reason: "is flat but sets no price"),
        BadCase(yaml: "routes:\n  \"POST /v1/x\":\n    price: { sats_per_request: 1 }\n", line: 3, reason: "price is for type: flat routes"),
        BadCase(yaml: "routes:\n  \"POST /v1/x\":\n    type: flat\n    price: { sats_per_request: 1 }\n    models:\n      m: { sats_per_1k: 1 }\n", line: 6, reason: "takes only sats_per_request"),
        BadCase(yaml: "routes:\n  \"POST /v1/x\":\n    match:\n      - models: {}\n", line: 4, reason: "needs a where: mapping"),
        BadCase(yaml: "routes:\n  \"POST /v1/x\":\n    match:\n      - where: { query.v: 2 }\n", line: 4, reason: "must be headers.<name>, body.<field>, model, time or days"),
        BadCase(yaml: "routes:\n  \"POST /v1/x\":\n    allow: gpt-4o\n", line: 3, reason: "allow must be a list"),
    ])
    func invalidFilesNameFileLineAndReason(_ c: BadCase) throws {
        let error = try #require(PricingFixtures.configError(c.yaml))
        #expect(error.file == PricingFixtures.file)
        #expect(error.line == c.line, "\(error)")
        #expect(error.reason.contains(c.reason), "\(error)")
    }

    @Test func managedTableBecomesOverrides() throws {
        let config = try PricingFixtures.config("pricing:\n  overrides:\n    gpt-4: { usd_per_1m: 35 }\n")
        let table = PriceTable(entries: [.init(model: "gpt-4", price: PricingFixtures.usdPer1M("30", "30")),
                                         .init(model: "new", price: PricingFixtures.usdPer1M("1", "2"))])
        let merged = config.applyingManagedTable(table)
        #expect(merged.overrides["gpt-4"] == PricingFixtures.usdPer1M("30", "30"))
        #expect(merged.overrides["new"] != nil)
    }

    @Test func priceTableRoundTripsExactly() throws {
        let yaml = """
        reason: "cut \\"gpt-4o\\" prices"
        models:
          gpt-4o: { prompt_usd_per_1m: "2.5", completion_usd_per_1m: "10", context_length: 128000 }
          "ft:*": { sats_per_1k: "0.001" }
          dall-e-3: { usd_per_image: "0.04" }
          free: { sats_per_request: 0 }
        """
        let table = try PriceTable.parse(yaml: yaml, file: "prices.yaml")
        #expect(table.reason == "cut \"gpt-4o\" prices")
        #expect(table.entries.map(\.model) == ["gpt-4o", "ft:*", "dall-e-3", "free"])
        #expect(try PriceTable.parse(yaml: table.yaml(), file: "again.yaml") == table)
    }

    @Test func priceTableErrorsHaveLines() {
        #expect(throws: ConfigError(file: "p.yaml", line: 0, reason: "the price table is empty")) {
            try PriceTable.parse(yaml: "", file: "p.yaml")
        }
        do {
            _ = try PriceTable.parse(yaml: "models:\n  a: { sats_per_1k: 1 }\n  b: [\n", file: "p.yaml")
            Issue.record("expected a YAML error")
        } catch {
            #expect(error.line > 0)
        }
    }
}
