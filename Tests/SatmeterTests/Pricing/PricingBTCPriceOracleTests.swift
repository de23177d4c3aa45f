import Testing
@testable import SatmeterPricing

@Suite("Pricing: BTC price oracle")
struct PricingBTCPriceOracleTests {
    static let kraken = #"{"error":[],"result":{"XXBTZUSD":{"a":["97001.0","1","1.0"],"c":["97000.1","0.01"],"v":["1","2"]}}}"#
    static let coinbase = #"{"data":{"amount":"97000.12","base":"BTC","currency":"USD"}}"#
    static let binance = #"{"symbol":"BTCUSDT","price":"97000.12000000"}"#

    @Test(arguments: [
        (BTCPriceShape.kraken, kraken, Int64(9_700_010)),
        (.coinbase, coinbase, 9_700_012),
        (.binance, binance, 9_700_012),
        (.plain, " 97000.129\n", 9_700_012),                        // fractions of a cent are dropped
        (.kraken, #"{"error":["EQuery:Unknown asset pair"],"result":{}}"#, nil),
        (.kraken, #"{"error":[],"result":{"A":{"c":["1"]},"B":{"c":["2"]}}}"#, nil),   // ambiguous
        (.coinbase, #"{"data":{"amount":"-5"}}"#, nil),
        (.coinbase, #"{"data":{"amount":"0"}}"#, nil),
        (.binance, #"{"symbol":"BTCUSDT","price":"NaN"}"#, nil),
        (.binance, "<html>rate limited</html>", nil),
        (.binance, #"{"price":97000.5}"#, 9_700_050),                 // a JSON number is fine too
        (.plain, "2000000000", nil),                                  // implausible
    ] as [(BTCPriceShape, String, Int64?)])
    func shapes(_ shape: BTCPriceShape, _ body: String, _ cents: Int64?) {
        #expect(shape.centsPerBTC(from: Array(body.utf8)) == cents)
    }

    @Test(arguments: [
        ([Int64](), nil),
        ([5], 5),
        ([3, 1, 2], 2),
        ([4, 1, 3, 2], 2),               // even count: the lower middle (more sats per USD)
        ([100, 100, 1], 100),
    ] as [([Int64], Int64?)])
    func median(_ answers: [Int64], _ expected: Int64?) {
        #expect(BTCPriceOracle.median(answers) == expected)
    }

    static func sources(_ n: Int) -> [BTCPriceConfig.Source] {
        (0..<n).map { BTCPriceConfig.Source(url: "http://127.0.0.1/price/\($0)", shape: .plain) }
    }

    static func oracle(_ fetcher: StubFetcher, _ clock: TestClock, sources: Int = 3) -> BTCPriceOracle {
        let config = BTCPriceConfig(sources: Self.sources(sources), refreshSeconds: 60, retrySeconds: 10, maxAgeSeconds: 300)
        return BTCPriceOracle(config: config, fetcher: fetcher, clock: clock.function)
    }

    @Test func medianOfValidAnswersIgnoringBrokenSources() throws {
        let fetcher = StubFetcher()
        fetcher.set("http://127.0.0.1/price/0", body: "97000")
        fetcher.set("http://127.0.0.1/price/1", body: "not a price")
        fetcher.set("http://127.0.0.1/price/2", body: "99000")
        let oracle = Self.oracle(fetcher, TestClock(), sources: 4)   // source 3 is unreachable
        let snapshot = try oracle.usdPerBTC()
        #expect(snapshot.centsPerBTC == 9_700_000)                   // median of 2: the lower
        #expect(snapshot.validAnswers == 2)
        #expect(snapshot.sourcesAsked == 4)
    }

    @Test func cachesUntilStaleThenRefreshes() throws {
        let fetcher = StubFetcher()
        for i in 0..<3 { fetcher.set("http://127.0.0.1/price/\(i)", body: "97000") }
        let clock = TestClock()
        let oracle = Self.oracle(fetcher, clock)
        _ = try oracle.usdPerBTC()
        clock.advance(59)
        _ = try oracle.usdPerBTC()
        #expect(fetcher.calls.count == 3)
        fetcher.set("http://127.0.0.1/price/0", body: "98000")
        fetcher.set("http://127.0.0.1/price/1", body: "98000")
        clock.advance(1)
        #expect(try oracle.usdPerBTC().centsPerBTC == 9_800_000)
        #expect(fetcher.calls.count == 6)
    }

    @Test func outagePastMaxAgeGives503NotAStalePrice() throws {
        let fetcher = StubFetcher()
        for i in 0..<3 { fetcher.set("http://127.0.0.1/price/\(i)", body: "97000") }
        let clock = TestClock()
        let oracle = Self.oracle(fetcher, clock)
        oracle.refresh()
        for i in 0..<3 { fetcher.set("http://127.0.0.1/price/\(i)", .failure(.timeout)) }
        clock.advance(300)                                            // stale but within max age: served
        #expect(try oracle.usdPerBTC().centsPerBTC == 9_700_000)
        clock.advance(1)
        #expect(throws: PricingError.self) { try oracle.usdPerBTC() }
        do {
            _ = try oracle.usdPerBTC()
        } catch {
            #expect(error.apiError.status == 503)
            #expect(error.description.contains("301 s old"))
            #expect(error.description.contains("plain: timed out"))
        }
        // Sources recover: the next attempt after retry_seconds brings prices back.
        for i in 0..<3 { fetcher.set("http://127.0.0.1/price/\(i)", body: "96000") }
        clock.advance(10)
        #expect(try oracle.usdPerBTC().centsPerBTC == 9_600_000)
    }

    @Test func failedRefreshesAreNotRetriedOnEveryRequest() {
        let fetcher = StubFetcher()
        let clock = TestClock()
        let oracle = Self.oracle(fetcher, clock)
        for _ in 0..<5 { _ = try? oracle.usdPerBTC() }
        #expect(fetcher.calls.count == 3)                             // one round, then wait retry_seconds
        clock.advance(10)
        _ = try? oracle.usdPerBTC()
        #expect(fetcher.calls.count == 6)
        #expect(throws: PricingError.self) { try oracle.usdPerBTC() }
    }

    @Test func pinnedPriceNeverFetches() throws {
        let fetcher = StubFetcher()
        let oracle = BTCPriceOracle(config: BTCPriceConfig(fixedCentsPerBTC: 5_000_000), fetcher: fetcher, clock: TestClock().function)
        oracle.refresh()
        let snapshot = try oracle.usdPerBTC()
        #expect(snapshot.centsPerBTC == 5_000_000)
        #expect(snapshot.pinned)
        #expect(oracle.lastSnapshot?.centsPerBTC == 5_000_000)
        #expect(fetcher.calls.isEmpty)
    }

    @Test func concurrentCallersShareOneRefresh() async throws {
        let fetcher = StubFetcher()
        for i in 0..<3 { fetcher.set("http://127.0.0.1/price/\(i)", body: "97000") }
        let oracle = Self.oracle(fetcher, TestClock())
        oracle.refresh()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<50 { group.addTask { _ = try? oracle.usdPerBTC() } }
        }
        #expect(fetcher.calls.count == 3)
    }
}
