import Foundation
import Testing
@testable import SatmeterGateway
@testable import SatmeterLedger
@testable import SatmeterPricing

@Suite struct AdminReportsTests {
    static func record(_ id: String, at: Int64, model: String, status: Int, settled: Bool = false, method: String? = nil,
                       source: String? = "override", revenue: Int64 = 0, cost: Int64 = 0, error: String? = nil) -> RequestRecord {
        var r = RequestRecord(requestID: id, createdAt: at, route: "POST /v1/chat/completions")
        r.model = model
        r.status = status
        r.paymentSettled = settled
        r.paymentMethod = method
        r.pricingSource = source
        r.revenueMsat = revenue
        r.upstreamCostMsat = cost
        r.revenueMsat = revenue
        r.errorCode = error
        r.provider = "openai"
        if settled { r.upstreamStatus = 200 }
        return r
    }

    @Test func marginConversionAndRatesComeFromTheRequestLog() throws {
        try withTemporaryLedger { ledger, _ in
            let now: Int64 = 1_800_000_000
            try ledger.requestLog.append(Self.record("a", at: now - 100, model: "gpt-4o", status: 200, settled: true, method: "key", revenue: 3_000, cost: 2_000))
            try ledger.requestLog.append(Self.record("b", at: now - 90, model: "gpt-4o", status: 402, error: "payment_required"))
            try ledger.requestLog.append(Self.record("c", at: now - 80, model: "gpt-4o", status: 200, settled: true, method: "x-cashu", revenue: 1_000, cost: 500))
            try ledger.requestLog.append(Self.record("d", at: now - 70, model: "mystery", status: 400, source: nil, error: "unsupported_model"))
            try ledger.requestLog.append(Self.record("e", at: now - 60, model: "odd", status: 200, settled: true, method: "key", source: "fallback", revenue: 1_000))
            try ledger.requestLog.append(Self.record("f", at: now - 50, model: "gpt-4o", status: 504, error: "upstream_timeout"))
            var admin = RequestRecord(requestID: "g", createdAt: now - 40, route: "admin")
            admin.status = 401
            admin.errorCode = "unauthorized"
            try ledger.requestLog.append(admin)

            let catalog = ReportCatalog(ledger: ledger, now: now)
            let margin = try #require(try catalog.report("margin", days: 1)).tables[0]
            #expect(margin.rows.first == [.string("gpt-4o"), .int(2), .int(4_000), .int(2_500), .int(1_500), .number("37.5"), .int(0), .int(0)])
            let conversion = try #require(try catalog.report("conversion", days: 1)).tables[0]
            #expect(conversion.rows.first == [.string("gpt-4o"), .int(1), .int(1), .int(2), .number("100.0")])
            let pricing = try #require(try catalog.report("pricing", days: 1)).tables[0]
            // 6 requests (the admin one is left out), 1 unknown, 5 priced, 1 by fallback.
            #expect(pricing.rows.first?[1...6] == [.int(6), .int(1), .number("16.7"), .int(5), .int(1), .number("20.0")])
            let settlement = try #require(try catalog.report("settlement", days: 1)).tables[0]
            #expect(settlement.rows.first?[1...2] == [.int(4), .int(3)])
            #expect(settlement.rows.first?[6] == .int(1))
            #expect(try catalog.report("nonsense", days: 1) == nil)
            #expect(try catalog.text("revenue", days: 1)?.contains("revenue_msat") == true)
        }
    }

    @Test func balanceSnapshotsAreTakenOncePerSlot() throws {
        try withTemporaryLedger { ledger, _ in
            _ = try ledger.accounts.createKey(balanceMsat: 7_000)
            try ledger.reports.snapshotBalances(now: 1_200, every: 600)
            try ledger.reports.snapshotBalances(now: 1_300, every: 600)
            try ledger.reports.snapshotBalances(now: 1_800, every: 600)
            let history = try ledger.reports.balanceHistory(since: 0)
            #expect(history.map(\.at) == [1_200, 1_800] && history[0].owedMsat == 7_000)
            #expect(try ledger.reports.pruneBalanceHistory(olderThan: 1_500) == 1)
        }
    }

    @Test func theJSONRecordNamesTheKeyByIdOnly() {
        var record = Self.record("r", at: 1, model: "gpt-4o", status: 200, settled: true, method: "key", revenue: 5)
        record.accountID = 42
        let json = record.json
        #expect(json["key_id"] == .int(42) && json["time"] == .string("1970-01-01T00:00:01Z"))
        #expect(json["api_key"] == nil)
    }

    @Test func theHousekeepingPrunesByRetention() throws {
        try withTemporaryLedger { ledger, path in
            try ledger.requestLog.append(Self.record("old", at: 1_000, model: "m", status: 200))
            try ledger.requestLog.append(Self.record("new", at: 100 * 86_400, model: "m", status: 200))
            var config = SatmeterConfig()
            config.stateDirectory = URL(fileURLWithPath: path).deletingLastPathComponent().path
            config.admin.requestLogRetentionDays = 30
            let services = GatewayServices(config: config, pricing: PricingConfig(), ledger: ledger)
            AdminHousekeeping(config: config).tick(ledger: ledger, services: services, now: 100 * 86_400 + 10)
            #expect(try ledger.requestLog.recentRequests(limit: 10).map(\.requestID) == ["new"])
        }
    }
}
