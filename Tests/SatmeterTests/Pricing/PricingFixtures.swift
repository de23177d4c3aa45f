import Yams
@testable import SatmeterPricing
@testable import SatmeterSupport

enum PricingFixtures {
    static let file = "satmeter.yaml"

    /// Parses a whole config file's `pricing:` and `routes:` sections.
    static func config(_ yaml: String) throws -> PricingConfig {
        let root = try Yams.compose(yaml: yaml)
        return try PricingConfig.parse(pricing: root?["pricing"], routes: root?["routes"], file: file)
    }

    /// The ConfigError a file produces, or nil if it loads.
    static func configError(_ yaml: String) -> ConfigError? {
        do {
            _ = try config(yaml)
            return nil
        } catch let error as ConfigError {
            return error
        } catch {
            return ConfigError(file: "", line: -1, reason: "\(error)")
        }
    }

    static func pinnedOracle(usdPerBTC: Int64 = 100_000, clock: TestClock = TestClock()) -> BTCPriceOracle {
        BTCPriceOracle(config: .pinned(usdPerBTC: usdPerBTC), fetcher: StubFetcher(), clock: clock.function)
    }

    static func engine(_ yaml: String, usdPerBTC: Int64 = 100_000, catalog: ModelCatalog = ModelCatalog()) throws -> PricingEngine {
        PricingEngine(config: try config(yaml), oracle: pinnedOracle(usdPerBTC: usdPerBTC), catalog: catalog)
    }

    static func chat(_ model: String?, route: String = "POST /v1/chat/completions", headers: [String: String] = [:],
                     prompt: Int = 100, maxCompletion: Int? = 100, body: JSON = .object([])) -> PricingRequest {
        PricingRequest(route: route, model: model, headers: headers, body: body, estimatedPromptTokens: prompt,
                       maxCompletionTokens: maxCompletion)
    }

    /// USD per 1M tokens → a ModelPrice per token (test shorthand).
    static func usdPer1M(_ prompt: String, _ completion: String) -> ModelPrice {
        ModelPrice(currency: .usd, prompt: try! Fixed18.parse(prompt, shift: 6), completion: try! Fixed18.parse(completion, shift: 6))
    }
}
