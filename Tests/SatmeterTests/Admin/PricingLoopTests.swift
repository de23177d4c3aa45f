import Foundation
import Testing
@testable import SatmeterGateway
@testable import SatmeterLedger
@testable import SatmeterPricing
@testable import SatmeterSupport

/// The pricing control loop: a seeded month of request log → propose → canary → compare → promote.
@Suite struct PricingLoopTests {
    static let now: Int64 = 1_800_000_000
    static let prices = """
        models:
          house-model: { prompt_usd_per_1m: "10", completion_usd_per_1m: "20" }
          cheap-model: { prompt_usd_per_1m: "1", completion_usd_per_1m: "2" }
          fine-model: { prompt_usd_per_1m: "4", completion_usd_per_1m: "8" }
        """

    static func withLoop(_ body: (PricingLoop, Ledger, String) throws -> Void) throws {
        try withTemporaryLedger { ledger, path in
            var config = SatmeterConfig()
            config.stateDirectory = (path as NSString).deletingLastPathComponent
            config.pricing.btcPrice = .pinned(usdPerBTC: 100_000)
            config.pricing = config.pricing.applyingManagedTable(try PriceTable.parse(yaml: prices, file: "test"))
            config.pricing.loop.minSamples = 20
            try body(PricingLoop(admin: PricingAdmin(config: config), ledger: ledger), ledger, config.stateDirectory)
        }
    }

    static func record(_ id: String, at: Int64, model: String, cohort: String = PricingCohort.control, client: String = "c",
                       paid: Bool, revenue: Int64 = 0, cost: Int64 = 0) -> RequestRecord {
        var r = RequestRecord(requestID: id, createdAt: at, route: "POST /v1/chat/completions")
        r.model = model
        r.cohort = cohort
        r.clientRef = client
        r.status = paid ? 200 : 402
        r.paymentSettled = paid
        r.paymentMethod = paid ? "x-cashu" : nil
        r.upstreamStatus = paid ? 200 : nil
        r.revenueMsat = revenue
        r.upstreamCostMsat = cost
        r.promptTokens = paid ? 100 : nil
        r.completionTokens = paid ? 50 : nil
        return r
    }

    /// 30 days: house-model earns 5% (below the 20% target), cheap-model earns 50% but its 402s
    /// never convert, fine-model earns 25%. Older records (40 days) would say otherwise.
    static func seedMonth(_ ledger: Ledger) throws {
        var records: [RequestRecord] = []
        for day in 0..<30 {
            let t = now - Int64(day) * 86_400 - 3_600
            for i in 0..<3 {
                records.append(record("h\(day)-\(i)", at: t + Int64(i), model: "house-model", paid: true, revenue: 1_000, cost: 950))
                records.append(record("f\(day)-\(i)", at: t + Int64(i), model: "fine-model", paid: true, revenue: 1_000, cost: 750))
                records.append(record("c\(day)-\(i)", at: t + Int64(i), model: "cheap-model", paid: true, revenue: 1_000, cost: 500))
            }
            records.append(record("q\(day)", at: t + 10, model: "cheap-model", client: "never-pays-\(day)", paid: false))
        }
        for i in 0..<50 { records.append(record("old\(i)", at: now - 40 * 86_400, model: "house-model", paid: true, revenue: 1_000, cost: 100)) }
        try ledger.requestLog.append(records)
    }

    @Test func aSeededMonthProposesAKnownBoundedChange() throws {
        try Self.withLoop { loop, ledger, dir in
            try Self.seedMonth(ledger)
            let output = dir + "/proposal.yaml"
            let proposal = try loop.propose(days: 30, now: Self.now, output: output)
            // house-model: 5% margin → +18.7% asked (to earn 20%), +15% allowed.
            #expect(proposal.table["house-model"]?.summary == "$11.50/$23.00 per 1M")
            // cheap-model: 50% margin, 0% of 30 402s converted → cut toward the target, -10% allowed.
            #expect(proposal.table["cheap-model"]?.summary == "$0.90/$1.80 per 1M")
            #expect(proposal.table["fine-model"] == nil)
            let reasons = Dictionary(uniqueKeysWithValues: proposal.decisions.map { ($0.model, $0.reason) })
            #expect(reasons["house-model"]?.hasPrefix("raise: measured margin 5% below the 20% target") == true)
            #expect(reasons["cheap-model"]?.hasPrefix("cut: 402 → paid conversion 0% below 50%") == true)
            #expect(reasons["fine-model"]?.hasPrefix("keep: margin 25%") == true)
            #expect(proposal.bounded.refused.count == 4)
            // The file reads back as the same table, and the proposal note is archived.
            let written = try PriceTable.parse(yaml: try #require(TextFile.read(output)), file: output)
            #expect(written.entries == proposal.table.entries)
            #expect(TextFile.read(proposal.notePath)?.contains("house-model") == true)
        }
    }

    @Test func aCanaryPricesItsCohortAndIsPromotedOnlyWhenItsChecksPass() throws {
        try Self.withLoop { loop, ledger, dir in
            let table = try PriceTable.parse(yaml: "reason: test\nmodels:\n  house-model: { prompt_usd_per_1m: \"30\", completion_usd_per_1m: \"21\" }\n",
                                             file: "t")
            let started = try loop.startCanary(table, header: "X-Pricing-Version", value: "v2", route: "POST /v1/chat/completions", now: Self.now)
            #expect(started.rule.cohort == "headers.x-pricing-version=v2")
            // The canary is one bounded step from the control's price, like any other change.
            #expect(try loop.canary()?.table["house-model"]?.summary == "$11.50/$21.00 per 1M")
            let engine = try loop.admin.engine()
            let canaryQuote = try engine.quote(PricingRequest(route: "POST /v1/chat/completions", model: "house-model",
                                                              headers: ["x-pricing-version": "v2"], estimatedPromptTokens: 10, maxCompletionTokens: 10))
            let controlQuote = try engine.quote(PricingRequest(route: "POST /v1/chat/completions", model: "house-model",
                                                               estimatedPromptTokens: 10, maxCompletionTokens: 10))
            #expect(canaryQuote.cohort == "headers.x-pricing-version=v2" && canaryQuote.resolvedPrice == "$11.50/$21.00 per 1M")
            #expect(controlQuote.cohort == "control" && controlQuote.resolvedPrice == "$10.00/$20.00 per 1M")
            #expect(throws: PricingAdminError.self) { try loop.startCanary(table, header: "x", value: "y", route: "POST /v1/chat/completions", now: Self.now) }

            // Too few samples: not promoted, and the note says why.
            let early = try loop.promote(now: Self.now + 60)
            #expect(!early.promoted && early.verdict.tooFewSamples)
            #expect(TextFile.read(early.notePath)?.contains("too few requests") == true)

            // The canary converts 15 of 25 402s, the control 20 of 25: -20 points, refused.
            var records: [RequestRecord] = []
            func cohort(_ name: String, converted: Int, prefix: String) {
                for i in 0..<25 {
                    let t = Self.now + 100 + Int64(i) * 10
                    records.append(Self.record("\(prefix)q\(i)", at: t, model: "house-model", cohort: name, client: "\(prefix)\(i)", paid: false))
                    if i < converted {
                        records.append(Self.record("\(prefix)p\(i)", at: t + 5, model: "house-model", cohort: name, client: "\(prefix)\(i)",
                                                   paid: true, revenue: 1_100, cost: 800))
                    }
                }
            }
            cohort("headers.x-pricing-version=v2", converted: 15, prefix: "a")
            cohort("control", converted: 20, prefix: "b")
            try ledger.requestLog.append(records)
            let refused = try loop.promote(now: Self.now + 1_000)
            #expect(!refused.promoted && !refused.verdict.tooFewSamples)
            #expect(refused.verdict.lines.contains { $0.hasPrefix("conversion 60.0% vs control 80.0% (-20.0 points); fails") })
            #expect(try loop.admin.store.loadTable().entries.isEmpty)

            // Five more canary conversions: 20 of 25 either side → promoted; the control moves.
            records = (15..<20).map { i in
                Self.record("ap\(i)", at: Self.now + 100 + Int64(i) * 10 + 5, model: "house-model", cohort: "headers.x-pricing-version=v2",
                            client: "a\(i)", paid: true, revenue: 1_100, cost: 800)
            }
            try ledger.requestLog.append(records)
            let promoted = try loop.promote(now: Self.now + 2_000)
            #expect(promoted.promoted, "\(promoted.verdict.lines)")
            #expect(try loop.admin.store.loadTable()["house-model"]?.summary == "$11.50/$21.00 per 1M")
            #expect(try loop.canary() == nil)
            let note = try #require(TextFile.read(promoted.notePath))
            #expect(note.contains("Measured against the control: pass") && note.contains("margin per request"))
            let notes = try FileManager.default.contentsOfDirectory(atPath: dir + "/pricing/changes")
            #expect(notes.contains { $0.hasSuffix("-canary.md") } && notes.contains { $0.hasSuffix("-promotion-refused.md") }
                && notes.contains { $0.hasSuffix("-promotion.md") })
        }
    }

    @Test func everyPriceChangingPathStepsFromThePriceInForce() throws {
        try Self.withLoop { loop, _, _ in
            let admin = loop.admin
            // A model's first managed price: one step from its override, not whatever was asked.
            let first = try admin.apply(try PriceTable.parse(yaml: "models:\n  fine-model: { prompt_usd_per_1m: \"40\", completion_usd_per_1m: \"1\" }\n",
                                                             file: "t"))
            #expect(first.applied["fine-model"]?.summary == "$4.60/$7.20 per 1M")
            #expect(first.refused.count == 2)
            // The dashboard's path: the same step.
            let dashboard = try admin.setModelPrice(ModelPriceChange(model: "house-model", currency: .usd, prompt: "100", completion: "20"))
            #expect(dashboard.applied["house-model"]?.summary == "$11.50/$20.00 per 1M")
            // A switch to sats is converted at the BTC price ($1/1M at $100k = 1 sat/1K) and stepped from there.
            let sats = try admin.setModelPrice(ModelPriceChange(model: "cheap-model", currency: .sat, prompt: "50", completion: "50"))
            #expect(sats.applied["cheap-model"]?.currency == .sat)
            #expect(sats.applied["cheap-model"]?.summary == "1.15/2.3 sat/1K")
        }
    }

    @Test func familyFloorsAndCeilingsHoldForSatPricesAtTheBTCPrice() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("satmeter-bounds-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var config = SatmeterConfig()
        config.stateDirectory = dir
        config.pricing.btcPrice = .pinned(usdPerBTC: 100_000)
        let usd = try PriceTable.parse(yaml: "models:\n  f: { prompt_usd_per_1m: \"2\", completion_usd_per_1m: \"8\" }\n  c: { prompt_usd_per_1m: \"10\", completion_usd_per_1m: \"40\" }\n",
                                       file: "t")
        config.pricing.families.set("house-*", PriceBounds(floor: usd["f"], ceiling: usd["c"]))
        let admin = PricingAdmin(config: config)
        // $1 per 1M is 1 sat per 1K at $100,000: the bounds are 2..10 and 8..40 sat per 1K.
        let high = try admin.apply(try PriceTable.parse(yaml: "models:\n  house-a: { sats_per_1k: \"50\" }\n", file: "t"))
        #expect(high.applied["house-a"]?.summary == "10/40 sat/1K")
        #expect(high.refused.map(\.reason) == ["above the family ceiling of 10 sat per 1K", "above the family ceiling of 40 sat per 1K"])
        let low = try admin.apply(try PriceTable.parse(yaml: "models:\n  house-b: { sats_per_1k: \"1\" }\n", file: "t"))
        #expect(low.applied["house-b"]?.summary == "2/8 sat/1K")
    }

    @Test func tooFewSamplesIsAPlainVerdict() {
        var canary = ReportStore.CohortCounters(cohort: "headers.x=y")
        canary.requests = 3
        let verdict = CohortComparison.judge(canary: canary, control: .init(cohort: "control"), PricingLoopConfig())
        #expect(verdict.word == "too few samples")
        #expect(verdict.lines.first == "too few requests to compare: canary 3, control 0 (need 30 each)")
    }

    @Test func sinceTakesDatesTimesUnixAndDays() {
        #expect(SinceParser.parse("2026-11-01", now: 0) == 1_793_491_200)
        #expect(SinceParser.parse("2026-11-01T12:00:00Z", now: 0) == Int64(1_793_534_400))
        #expect(SinceParser.parse("7d", now: 1_000_000) == Int64(395_200))
        #expect(SinceParser.parse("12345", now: 0) == 12_345)
        #expect(SinceParser.parse("yesterday", now: 0) == nil)
    }
}
