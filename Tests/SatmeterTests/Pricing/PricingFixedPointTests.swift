import Testing
@testable import SatmeterPricing

@Suite("Pricing: fixed-point money")
struct PricingFixedPointTests {
    struct ParseCase: Sendable, CustomTestStringConvertible {
        var text: String
        var shift = 0
        var rounding = Fixed18.Rounding.exact
        /// The raw value in 10^-18, or nil when parsing must fail.
        var raw: Int128?
        var testDescription: String { "\(text) shift \(shift)" }
    }

    @Test(arguments: [
        ParseCase(text: "35", shift: 6, raw: 35_000_000_000_000),                 // $35 per 1M → per token
        ParseCase(text: "2.50", shift: 6, raw: 2_500_000_000_000),
        ParseCase(text: "0.0000025", raw: 2_500_000_000_000),                     // OpenRouter per-token string
        ParseCase(text: "2.5e-6", raw: 2_500_000_000_000),
        ParseCase(text: "5", shift: 3, raw: 5_000_000_000_000_000),               // 5 sat per 1K → per token
        ParseCase(text: "0", raw: 0),
        ParseCase(text: "-1", raw: -1_000_000_000_000_000_000),                   // OpenRouter's "variable price"
        ParseCase(text: "1_0", raw: nil),
        ParseCase(text: "abc", raw: nil),
        ParseCase(text: "", raw: nil),
        ParseCase(text: ".", raw: nil),
        ParseCase(text: "1e", raw: nil),
        ParseCase(text: "0.0000000000001", shift: 6, raw: nil),                   // finer than 10^-18 per token
        ParseCase(text: "0.0000000000001", shift: 6, rounding: .up, raw: 1),      // upstream data: round up
        ParseCase(text: "0.0000000000000000001", rounding: .up, raw: 1),
        ParseCase(text: "1e40", raw: nil),
    ])
    func parse(_ c: ParseCase) {
        let parsed = try? Fixed18.parse(c.text, shift: c.shift, rounding: c.rounding)
        #expect(parsed?.raw == c.raw)
    }

    @Test func tooPreciseSaysHowManyPlaces() {
        #expect(throws: Fixed18.ParseError.tooPrecise("0.0000000000001", maxFractionDigits: 12)) {
            try Fixed18.parse("0.0000000000001", shift: 6)
        }
    }

    @Test(arguments: [
        ("2.5", 0, "2.5"), ("2.5", 2, "2.50"), ("0.0000025", 0, "0.0000025"), ("35", 0, "35"), ("-1.5", 0, "-1.5"),
    ])
    func decimalString(_ text: String, _ minDigits: Int, _ expected: String) throws {
        #expect(try Fixed18.parse(text).decimalString(minFractionDigits: minDigits) == expected)
    }

    @Test func markupRoundsUp() throws {
        // $2.50/1M × 1.005 = $2.5125/1M exactly; × 1.000001 of 1e-18 rounds up to 2e-18.
        #expect(try Fixed18.parse("2.50", shift: 6).timesPPM(1_005_000) == (try Fixed18.parse("2.5125", shift: 6)))
        #expect(Fixed18(raw: 1).timesPPM(1_000_001) == Fixed18(raw: 2))
        #expect(Fixed18(raw: 1).timesPPM(1_000_001, roundUp: false) == Fixed18(raw: 1))
        #expect(Fixed18(raw: -1).timesPPM(1_000_000) == nil)
        #expect(WideMath.mulDivFloor(7, 3, 2) == 10)
    }

    @Test func mulDivCeilUsesFullWidth() {
        let big = UInt128(1) << 100
        #expect(WideMath.mulDivCeil(big, big, big) == big)
        #expect(WideMath.mulDivCeil(7, 3, 2) == 11)                 // 10.5 → 11
        #expect(WideMath.mulDivCeil(6, 3, 2) == 9)
        #expect(WideMath.mulDivCeil(big, big, 1) == nil)            // 2^200 does not fit
        #expect(WideMath.mulDivCeil(1, 1, 0) == nil)
        #expect(WideMath.saturatingAdd(Int64.max, 1) == Int64.max)
    }

    struct ConversionCase: Sendable {
        var units: Int64
        var rate: String
        var conversion: MsatConversion
        var msat: Int64
    }

    @Test(arguments: [
        // $0.0015 per 1K at $100,000/BTC: 13 tokens = $0.0000195 = 19.5 msat → 20.
        ConversionCase(units: 13, rate: "0.0000015", conversion: .usd(centsPerBTC: 10_000_000), msat: 20),
        ConversionCase(units: 27, rate: "0.000002", conversion: .usd(centsPerBTC: 10_000_000), msat: 54),
        // 5 sat per 1K = 5 msat per token.
        ConversionCase(units: 1000, rate: "0.005", conversion: .sats, msat: 5000),
        ConversionCase(units: 1, rate: "0.0000001", conversion: .sats, msat: 1),       // 0.0001 msat → 1
        ConversionCase(units: 0, rate: "1", conversion: .sats, msat: 0),
        ConversionCase(units: Int64.max, rate: "100", conversion: .sats, msat: Int64.max),  // saturates
        // 1 USD at $97,000.12/BTC = 1,030,926.559… msat → 1,030,927.
        ConversionCase(units: 1, rate: "1", conversion: .usd(centsPerBTC: 9_700_012), msat: 1_030_927),
    ])
    func msatConversion(_ c: ConversionCase) throws {
        #expect(c.conversion.msat(units: c.units, at: try Fixed18.parse(c.rate)) == c.msat)
    }

    @Test func currencyExchangeAndDollars() throws {
        // 1000 sat at $100,000/BTC = $1.
        #expect(CurrencyExchange.usd(fromSat: Fixed18(1000), centsPerBTC: 10_000_000) == Fixed18(1))
        #expect(CurrencyExchange.sat(fromUSD: Fixed18(1), centsPerBTC: 10_000_000) == Fixed18(1000))
        #expect(CurrencyExchange.dollars(cents: 9_700_012) == "$97,000.12")
        #expect(CurrencyExchange.dollars(cents: 5) == "$0.05")
        #expect(CurrencyExchange.dollars(cents: 100_000_000_000) == "$1,000,000,000.00")
    }
}
