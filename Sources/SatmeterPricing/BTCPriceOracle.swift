import Synchronization
import SatmeterSupport

/// Where the BTC price comes from and how old it may get (`pricing.btc_price`).
public struct BTCPriceConfig: Sendable, Equatable {
    public struct Source: Sendable, Equatable {
        public var url: String
        public var shape: BTCPriceShape

        public init(url: String, shape: BTCPriceShape) {
            self.url = url
            self.shape = shape
        }
    }

    public var sources: [Source]
    /// A price younger than this is used without asking the sources again.
    public var refreshSeconds: Int64
    /// After a failed refresh, wait this long before the request path tries again.
    public var retrySeconds: Int64
    /// Past this age paid requests get 503 rather than a stale price.
    public var maxAgeSeconds: Int64
    /// Whole-request limit for each source.
    public var timeoutSeconds: Double
    /// A pinned price in US cents (`usd_per_btc`): no fetching at all.
    public var fixedCentsPerBTC: Int64?

    public init(sources: [Source] = BTCPriceConfig.defaultSources, refreshSeconds: Int64 = 60, retrySeconds: Int64 = 10,
                maxAgeSeconds: Int64 = 600, timeoutSeconds: Double = 5, fixedCentsPerBTC: Int64? = nil) {
        self.sources = sources
        self.refreshSeconds = refreshSeconds
        self.retrySeconds = retrySeconds
        self.maxAgeSeconds = maxAgeSeconds
        self.timeoutSeconds = timeoutSeconds
        self.fixedCentsPerBTC = fixedCentsPerBTC
    }

    public static let defaultSources: [Source] = [
        Source(url: "https://api.kraken.com/0/public/Ticker?pair=XBTUSD", shape: .kraken),
        Source(url: "https://api.coinbase.com/v2/prices/BTC-USD/spot", shape: .coinbase),
        Source(url: "https://api.binance.com/api/v3/ticker/price?symbol=BTCUSDT", shape: .binance),
    ]

    /// A config that never fetches: tests and operators who set the rate by hand.
    public static func pinned(usdPerBTC dollars: Int64) -> BTCPriceConfig {
        BTCPriceConfig(sources: [], fixedCentsPerBTC: dollars * 100)
    }
}

/// The live BTC price: the median of every source that answered, cached, and refused once too old.
/// Thread-safe: the FastCGI threads share one oracle; only one of them refreshes at a time.
public final class BTCPriceOracle: Sendable {
    private struct State {
        var snapshot: PriceSnapshot?
        var lastAttempt: Int64?
        var refreshing = 0
        var lastFailure = "no answer yet"
    }

    public let config: BTCPriceConfig
    private let fetcher: any HTTPFetching
    private let clock: @Sendable () -> Int64
    private let state = Mutex(State())

    public init(config: BTCPriceConfig, fetcher: any HTTPFetching, clock: @escaping @Sendable () -> Int64) {
        self.config = config
        self.fetcher = fetcher
        self.clock = clock
    }

    /// The price to charge with. Refreshes when stale (one caller does; the others keep the cached
    /// price meanwhile). Throws `priceUnavailable` when there is no price younger than `maxAgeSeconds`.
    public func usdPerBTC() throws(PricingError) -> PriceSnapshot {
        if let pinned = pinnedSnapshot { return pinned }
        if claimRefreshIfDue() { fetchAndStore() }
        let (snapshot, failure) = state.withLock { ($0.snapshot, $0.lastFailure) }
        guard let snapshot else { throw .priceUnavailable("no BTC price yet (\(failure))") }
        let age = clock() - snapshot.fetchedAt
        guard age <= config.maxAgeSeconds else {
            throw .priceUnavailable("the BTC price is \(age) s old, over the \(config.maxAgeSeconds) s limit (\(failure))")
        }
        return snapshot
    }

    /// Asks every source now and keeps the median of the valid answers; keeps the old price if none.
    public func refresh() {
        guard config.fixedCentsPerBTC == nil else { return }
        let now = clock()
        state.withLock {
            $0.refreshing += 1
            $0.lastAttempt = now
        }
        fetchAndStore()
    }

    /// The pinned price, or the last one obtained however old; never fetches (status pages, cost estimates).
    public var lastSnapshot: PriceSnapshot? { pinnedSnapshot ?? state.withLock { $0.snapshot } }

    /// The oracle's clock, so every part of pricing agrees on "now".
    var currentTime: Int64 { clock() }

    private var pinnedSnapshot: PriceSnapshot? {
        config.fixedCentsPerBTC.map { PriceSnapshot(centsPerBTC: $0, fetchedAt: clock(), validAnswers: 0, sourcesAsked: 0, pinned: true) }
    }

    /// Lower middle of the sorted answers. With an even count the lower of the two middle prices
    /// wins: a lower BTC price means more sats per USD, so the operator never undercharges.
    public static func median(_ answers: [Int64]) -> Int64? {
        guard !answers.isEmpty else { return nil }
        return answers.sorted()[(answers.count - 1) / 2]
    }

    private func claimRefreshIfDue() -> Bool {
        let now = clock()
        return state.withLock { s in
            if s.refreshing > 0 { return false }
            if let snapshot = s.snapshot, now - snapshot.fetchedAt < config.refreshSeconds { return false }
            if let last = s.lastAttempt, now - last < config.retrySeconds { return false }
            s.refreshing += 1
            s.lastAttempt = now
            return true
        }
    }

    /// Runs with `refreshing` already counted; the network calls happen outside the lock.
    private func fetchAndStore() {
        var answers: [Int64] = []
        var failures: [String] = []
        for source in config.sources {
            switch fetch(source) {
            case let .success(cents): answers.append(cents)
            case let .failure(why): failures.append(why.text)
            }
        }
        let now = clock()
        state.withLock { s in
            s.refreshing -= 1
            if let median = Self.median(answers) {
                s.snapshot = PriceSnapshot(centsPerBTC: median, fetchedAt: now, validAnswers: answers.count,
                                           sourcesAsked: config.sources.count, pinned: false)
            }
            s.lastFailure = failures.isEmpty ? "sources answered" : failures.joined(separator: "; ")
        }
    }

    private struct SourceFailure: Error {
        var text: String
    }

    private func fetch(_ source: BTCPriceConfig.Source) -> Result<Int64, SourceFailure> {
        let request = HTTPRequest(url: source.url, headers: [("Accept", "application/json")], timeout: config.timeoutSeconds)
        do {
            let response = try fetcher.send(request)
            guard response.status == 200 else { return .failure(SourceFailure(text: "\(source.shape): HTTP \(response.status)")) }
            guard let cents = source.shape.centsPerBTC(from: response.body) else {
                return .failure(SourceFailure(text: "\(source.shape): unusable answer"))
            }
            return .success(cents)
        } catch {
            // Short words only: this text can reach clients inside a 503 message.
            let why = switch error {
            case .unreachable: "unreachable"
            case .timeout: "timed out"
            case .transport: "transport error"
            case .aborted: "aborted"
            }
            return .failure(SourceFailure(text: "\(source.shape): \(why)"))
        }
    }
}
