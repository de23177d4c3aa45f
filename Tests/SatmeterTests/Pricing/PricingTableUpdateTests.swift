import Foundation
import Testing
@testable import SatmeterPricing

@Suite("Pricing: bounded price-table updates")
struct PricingTableUpdateTests {
    typealias F = PricingFixtures
    static let now: Int64 = 1_763_852_462          // 2025-11-22T23:01:02Z
    static let bounds = UpdateBounds()              // +15% / -10%

    static func table(_ entries: [(String, ModelPrice)], reason: String? = nil) -> PriceTable {
        PriceTable(entries: entries.map { PriceTable.Entry(model: $0.0, price: $0.1) }, reason: reason)
    }

    static func prompt(_ usdPer1M: String) -> ModelPrice { F.usdPer1M(usdPer1M, "1") }

    struct StepCase: Sendable, CustomTestStringConvertible {
        var old: String
        var asked: String
        var applied: String
        var refusal: String?
        var testDescription: String { "$\(old) → $\(asked)" }
    }

    @Test(arguments: [
        StepCase(old: "10", asked: "11", applied: "11"),
        StepCase(old: "10", asked: "11.5", applied: "11.5"),                 // exactly +15%
        StepCase(old: "10", asked: "20", applied: "11.5", refusal: "+100.0% asked; at most +15% per apply"),
        StepCase(old: "10", asked: "9", applied: "9"),                       // exactly -10%
        StepCase(old: "10", asked: "5", applied: "9", refusal: "-50.0% asked; at most -10% per apply"),
        StepCase(old: "10", asked: "0", applied: "9", refusal: "-100.0% asked; at most -10% per apply"),
        StepCase(old: "0", asked: "5", applied: "0", refusal: "no current price to step from; set it in the config"),
        StepCase(old: "10", asked: "10", applied: "10"),
        StepCase(old: "0.000000000003", asked: "1", applied: "0.000000000003", refusal: "at most +15% per apply"),  // 3e-18/token: 115% rounds down to 3
    ])
    func boundedSteps(_ c: StepCase) {
        let result = PriceTableUpdate.apply(current: Self.table([("m", Self.prompt(c.old))]),
                                            proposed: Self.table([("m", Self.prompt(c.asked))]), bounds: Self.bounds, now: Self.now)
        #expect(result.applied["m"]?.prompt == Self.prompt(c.applied).prompt)
        if let refusal = c.refusal {
            #expect(result.refused.count == 1)
            #expect(result.refused.first?.reason.contains(refusal) == true)
        } else {
            #expect(result.refused.isEmpty)
        }
        #expect(result.changes.count == (c.old == c.applied ? 0 : 1))
    }

    @Test func repeatedAppliesConvergeWithinTheSteps() {
        var current = Self.table([("m", Self.prompt("10"))])
        var applies = 0
        while current["m"]?.prompt != Self.prompt("20").prompt, applies < 10 {
            current = PriceTableUpdate.apply(current: current, proposed: Self.table([("m", Self.prompt("20"))]), bounds: Self.bounds, now: Self.now).applied
            applies += 1
        }
        #expect(applies == 5)       // 11.5, 13.225, 15.20875, 17.4900625, then 20 is within reach
    }

    @Test func configurableBounds() throws {
        let config = try F.config("pricing:\n  update_bounds: { max_increase_percent: 25, max_decrease_percent: 2.5 }\n")
        let up = PriceTableUpdate.apply(current: Self.table([("m", Self.prompt("10"))]), proposed: Self.table([("m", Self.prompt("20"))]),
                                        bounds: config.updateBounds, now: Self.now)
        #expect(up.applied["m"]?.prompt == Self.prompt("12.5").prompt)
        let down = PriceTableUpdate.apply(current: Self.table([("m", Self.prompt("10"))]), proposed: Self.table([("m", Self.prompt("1"))]),
                                          bounds: config.updateBounds, now: Self.now)
        #expect(down.applied["m"]?.prompt == Self.prompt("9.75").prompt)
        #expect(down.refused.first?.reason == "-90.0% asked; at most -2.5% per apply")
    }

    @Test func newModelsCurrencySwitchesAndAbsentModels() {
        let current = Self.table([("kept", Self.prompt("1")), ("sats", ModelPrice(currency: .sat, prompt: Fixed18(1)))])
        let proposed = Self.table([("sats", Self.prompt("1")), ("new", F.usdPer1M("2", "3"))], reason: "test")
        let result = PriceTableUpdate.apply(current: current, proposed: proposed, bounds: Self.bounds, now: Self.now)
        #expect(result.applied["kept"] == Self.prompt("1"))                        // not in the proposal: unchanged
        #expect(result.applied["sats"]?.currency == .sat)                          // currency switch refused whole
        #expect(result.refused.contains { $0.model == "sats" && $0.component == nil && $0.reason.contains("from sat to usd") })
        #expect(result.applied["new"] == F.usdPer1M("2", "3"))                     // new models are added as proposed
        #expect(result.changes.filter { $0.model == "new" }.count == 2)
        #expect(result.applied.reason == "test")
    }

    @Test func familyBoundsAreHardLimits() throws {
        let config = try F.config("""
        pricing:
          families:
            "gpt-4o*":
              floor: { prompt_usd_per_1m: "2", completion_usd_per_1m: "8" }
              ceiling: { prompt_usd_per_1m: "3", completion_usd_per_1m: "12" }
        """)
        let current = Self.table([("gpt-4o", F.usdPer1M("2.5", "10"))])
        let proposed = Self.table([("gpt-4o", F.usdPer1M("2.8", "9.5")), ("gpt-4o-new", F.usdPer1M("1", "20"))])
        let result = PriceTableUpdate.apply(current: current, proposed: proposed, bounds: Self.bounds, families: config.families, now: Self.now)
        // +12% and -5%, inside both the step and the family: applied as asked.
        #expect(result.applied["gpt-4o"] == F.usdPer1M("2.8", "9.5"))
        // A new model is held inside its family's floor and ceiling.
        #expect(result.applied["gpt-4o-new"] == F.usdPer1M("2", "12"))
        #expect(result.refused.map(\.reason) == ["below the family floor of $2.00 per 1M", "above the family ceiling of $12.00 per 1M"])

        // +13.8% is a valid step, but the ceiling is a hard limit.
        let squeeze = PriceTableUpdate.apply(current: Self.table([("gpt-4o", F.usdPer1M("2.9", "10"))]),
                                             proposed: Self.table([("gpt-4o", F.usdPer1M("3.3", "10"))]),
                                             bounds: Self.bounds, families: config.families, now: Self.now)
        #expect(squeeze.applied["gpt-4o"]?.prompt == (try Fixed18.parse("3", shift: 6)))
        #expect(squeeze.refused.first?.reason == "above the family ceiling of $3.00 per 1M")
    }

    @Test func changeNoteSaysWhatWhyAndWhen() {
        let result = PriceTableUpdate.apply(current: Self.table([("gpt-4o", F.usdPer1M("10", "10"))]),
                                            proposed: Self.table([("gpt-4o", F.usdPer1M("11", "30"))], reason: "provider raised prices"),
                                            bounds: Self.bounds, now: Self.now)
        let note = result.changeNote
        #expect(note.fileName == "20251122T230102Z-price-change.md")
        let text = note.render()
        for expected in ["# Price change 2025-11-22T23:01:02Z", "Why: provider raised prices", "(unix 1763852462)",
                         "at most +15% / -10% per apply",
                         "| gpt-4o | prompt per 1M tokens | $10.00 | $11.00 | +10.0% |",
                         "| gpt-4o | completion per 1M tokens | $10.00 | $11.50 | +15.0% |",
                         "| gpt-4o | completion per 1M tokens | $30.00 | $11.50 | +200.0% asked; at most +15% per apply |"] {
            #expect(text.contains(expected), "missing \(expected) in\n\(text)")
        }
    }

    @Test(arguments: [(Int64(0), "1970-01-01T00:00:00Z"), (951_782_400, "2000-02-29T00:00:00Z"), (-1, "1969-12-31T23:59:59Z"),
                      (4_102_444_799, "2099-12-31T23:59:59Z")])
    func utcTime(_ seconds: Int64, _ text: String) {
        #expect(UTCTime.iso8601(seconds) == text)
    }

    @Test func directoryStoreKeepsTheTableAndEveryNote() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("satmeter-pricing-\(UInt64.random(in: 0...UInt64.max))").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = DirectoryPriceStore(directory: dir)
        #expect(try store.loadTable() == PriceTable())

        let proposed = try PriceTable.parse(yaml: "reason: first\nmodels:\n  m: { usd_per_1m: \"10\" }\n", file: "p.yaml")
        let first = PriceTableUpdate.apply(current: try store.loadTable(), proposed: proposed, bounds: Self.bounds, now: Self.now)
        try store.commit(first)
        #expect(try store.loadTable() == first.applied)

        let second = PriceTableUpdate.apply(current: try store.loadTable(),
                                            proposed: Self.table([("m", F.usdPer1M("20", "20"))], reason: "second"),
                                            bounds: Self.bounds, now: Self.now)
        try store.commit(second)
        #expect(try store.loadTable()["m"] == F.usdPer1M("11.5", "11.5"))
        let notes = try FileManager.default.contentsOfDirectory(atPath: dir + "/changes").sorted()
        #expect(notes == ["20251122T230102Z-price-change-2.md", "20251122T230102Z-price-change.md"])
        let text = try String(contentsOfFile: dir + "/changes/20251122T230102Z-price-change-2.md", encoding: .utf8)
        #expect(text.contains("Why: second"))
    }
}
