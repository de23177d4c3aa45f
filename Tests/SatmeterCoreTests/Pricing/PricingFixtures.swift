import Yams
@testable import SatmeterCore

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

    /// USD per 1M tokens → a ModelPrice per token (test shorthand).
    static func usdPer1M(_ prompt: String, _ completion: String) -> ModelPrice {
        ModelPrice(currency: .usd, prompt: try! Fixed18.parse(prompt, shift: 6), completion: try! Fixed18.parse(completion, shift: 6))
    }
}
