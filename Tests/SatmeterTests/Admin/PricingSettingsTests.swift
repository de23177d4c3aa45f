import Foundation
import Testing
@testable import SatmeterGateway
@testable import SatmeterPricing
@testable import SatmeterSupport

@Suite struct PricingSettingsTests {
    @Test func settingsRoundTripThroughTheirFile() throws {
        var settings = PricingSettings(PricingConfig())
        #expect(settings.exchangeFee == "1.005" && settings.upstreamFee == "1.05" && settings.minChargeMsat == 1_000)
        settings = try settings.merging(["upstream_fee": "1.2", "min_charge_msat": 500,
                                         "fixed_per_token": ["prompt_sats_per_1k": "2", "completion_sats_per_1k": "4.5"],
                                         "fixed_per_request": ["enabled": true, "sats": "3"]])
        let config = try settings.applied(to: PricingConfig())
        #expect(config.upstreamFeePPM == 1_200_000 && config.minChargeMsat == 500)
        #expect(config.fixedPerRequest?.request == Fixed18(3))
        #expect(PricingSettings(config) == settings)
    }

    @Test func badValuesAreRefusedWithTheConfigsWords() throws {
        let settings = PricingSettings(PricingConfig())
        #expect(throws: ConfigError.self) { try settings.merging(["exchange_fee": "1.0\nmodels: x"]) }
        #expect(throws: ConfigError.self) { try settings.merging(["exchange_fee": "-1"]) }
        let tooLow = try settings.merging(["exchange_fee": "0.9"])
        #expect(throws: ConfigError.self) { try tooLow.applied(to: PricingConfig()) }
    }

    @Test func savedSettingsAndModelPricesReachTheEffectiveConfig() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("satmeter-pricing-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var config = SatmeterConfig()
        config.stateDirectory = dir
        let admin = PricingAdmin(config: config)
        let before = admin.stamp()
        let changes = try admin.saveSettings(try admin.settings().merging(["base_fee_msat": 7]))
        #expect(changes.map(\.name) == ["base_fee_msat"])
        let result = try admin.setModelPrice(ModelPriceChange(model: "gpt-4o", currency: .usd, prompt: "2.5", completion: "10"))
        #expect(result.refused.isEmpty)
        let stepped = try admin.setModelPrice(ModelPriceChange(model: "gpt-4o", currency: .usd, prompt: "5", completion: "10"))
        #expect(stepped.refused.count == 1)
        let effective = try admin.effectiveConfig()
        #expect(effective.baseFeeMsat == 7)
        #expect(effective.overrides["gpt-4o"]?.summary == "$2.875/$10.00 per 1M")
        #expect(admin.stamp() != before)
        #expect(throws: PricingAdminError.self) {
            try admin.setModelPrice(ModelPriceChange(model: "x\"", currency: .usd, prompt: "1e5", completion: "1"))
        }
    }
}
