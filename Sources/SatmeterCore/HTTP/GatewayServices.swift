/// What every worker thread of a process shares: configuration and the pricing engine.
/// Per-thread resources (database connection, HTTP session) live in `GatewayHandler`.
public final class GatewayServices: Sendable {
    public let config: SatmeterConfig
    public let oracle: BTCPriceOracle
    public let pricing: PricingEngine
    public let keysets = KeysetCache()
    /// This process's tag on the reservations it holds.
    public let owner: String

    public init(config: SatmeterConfig, fetcher: any HTTPFetching = CurlFetcher()) {
        self.config = config
        oracle = BTCPriceOracle(config: config.pricing.btc, fetcher: fetcher, clock: { Clock.now() })
        pricing = PricingEngine(config: config.pricing, oracle: oracle)
        owner = ProcessIdentity.current()
    }
}

public enum Clock {
    /// Unix time in seconds.
    public static func now() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec)
    }

    /// Monotonic milliseconds, for latencies.
    public static func monotonicMillis() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}

import Glibc
