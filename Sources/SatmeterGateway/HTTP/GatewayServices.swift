import Synchronization
import SatmeterCashu
import SatmeterLedger
import SatmeterPricing
import SatmeterSupport
import SatmeterUpstream

/// What every worker thread of a process shares: configuration and the pricing engine.
/// Per-thread resources (database connection, HTTP session) live in `GatewayHandler`.
public final class GatewayServices: Sendable {
    public let config: SatmeterConfig
    public let oracle: BTCPriceOracle
    /// Replaced whole when the operator changes prices (`install(pricing:)`); requests already
    /// quoted keep the engine they started with.
    public var pricing: PricingEngine { engine.withLock { $0 } }
    private let engine: Mutex<PricingEngine>
    public let keysets = KeysetCache()
    public let requestLog = RequestLogBuffer()
    /// The process's one database connection, shared by its threads.
    public let ledger: Ledger
    /// This process's tag on the reservations it holds.
    public let owner: String

    public let fetcher: any HTTPFetching
    /// The providers, their order and their health (shared by the process's threads).
    public let router: ProviderRouter

    /// `pricing` is the configured pricing with the managed table applied (see `PricingAdmin`).
    public init(config: SatmeterConfig, pricing pricingConfig: PricingConfig, ledger: Ledger, fetcher: any HTTPFetching = CurlFetcher()) {
        self.config = config
        self.ledger = ledger
        self.fetcher = fetcher
        oracle = BTCPriceOracle(config: pricingConfig.btcPrice, fetcher: fetcher, clock: { Clock.now() })
        engine = Mutex(PricingEngine(config: pricingConfig, oracle: oracle))
        owner = ProcessIdentity.current()
        router = ProviderRouter(providers: config.effectiveProviders, aliases: config.modelAliases,
                                breaker: CircuitBreaker(settings: config.circuitBreaker))
    }

    /// New prices, same BTC price and model catalog.
    public func install(pricing pricingConfig: PricingConfig) {
        let next = PricingEngine(config: pricingConfig, oracle: oracle, catalog: pricing.catalog)
        engine.withLock { $0 = next }
    }

    /// Periodic work of one process (on its main thread): prices and the model catalog.
    package func refreshPrices(now: Int64, last: inout (btc: Int64, catalog: Int64)) {
        let pricingConfig = pricing.config
        if pricingConfig.btcPrice.fixedCentsPerBTC == nil, now - last.btc >= pricingConfig.btcPrice.refreshSeconds {
            last.btc = now
            oracle.refresh()
        }
        if pricingConfig.modelsSource.url != nil, now - last.catalog >= pricingConfig.modelsSource.refreshSeconds {
            last.catalog = now
            do { try pricing.refreshCatalog(fetcher: fetcher) } catch { Log.warning("model price list not refreshed: \(error)") }
        }
    }
}
import Glibc
