import Testing
import SatmeterSupport

@Suite struct MoneyTests {
    @Test func conversionsAreChecked() {
        #expect(Sat(21).msat == Msat(21_000))
        #expect(Sat.maxLedgerValue.msat != nil)
        #expect(Sat(Sat.maxLedgerValue.value + 1).msat == nil)
        #expect(Sat(exactly: UInt64(1) << 63) == nil)
        #expect(Sat(exactly: 5)?.msat == Msat(5_000))
    }

    @Test func arithmeticNeverTraps() {
        #expect(Msat(Int64.max).adding(Msat(1)) == nil)
        #expect(Msat(Int64.min).subtracting(Msat(1)) == nil)
        #expect(Msat(Int64.max / 2 + 1).multiplied(by: 2) == nil)
        #expect(Msat(1_500).adding(Msat(500)) == Msat(2_000))
        #expect(Sat(Int64.max).adding(Sat(1)) == nil)
    }

    @Test func rounding() {
        #expect(Msat(1_999).wholeSats == Sat(1))
        #expect(Msat(1_001).satsRoundedUp == Sat(2))
        #expect(Msat(1_000).satsRoundedUp == Sat(1))
        #expect(Msat(Int64.max).satsRoundedUp.value == Int64.max / 1000 + 1)
    }
}
