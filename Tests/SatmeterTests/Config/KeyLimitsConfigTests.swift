import Testing
@testable import SatmeterGateway
@testable import SatmeterLedger
@testable import SatmeterSupport

/// `cashu.key_limits`: the rate limits of accounts minted from ecash.
@Suite struct KeyLimitsConfigTests {
    @Test func absentIsUnlimitedAndEachLimitIsRead() throws {
        #expect(try SatmeterConfig.parse(yaml: "cashu:\n  mints: []\n", file: "f").ecashKeyLimits.isUnlimited)
        let yaml = "cashu:\n  key_limits:\n    requests_per_minute: 60\n    concurrent_streams: 4\n    tokens_per_minute: null\n"
        #expect(try SatmeterConfig.parse(yaml: yaml, file: "f").ecashKeyLimits == KeyLimits(requestsPerMinute: 60, concurrentStreams: 4))
    }

    @Test(arguments: ["requests_per_minute: 0", "tokens_per_minute: -5", "concurrent_streams: 100001", "requests_per_minute: lots",
                      "tokens_per_minute: 99999999999999999999999", "request_per_minute: 5"])
    func badValuesStopTheStartNamingTheLine(_ line: String) {
        #expect(throws: ConfigError.self) { try SatmeterConfig.parse(yaml: "cashu:\n  key_limits:\n    \(line)\n", file: "f") }
    }
}
