/// Pricing operations for the CLI and the admin API: the managed price table in the state
/// directory, explain, and bounded apply.
public struct PricingAdmin {
    public let config: SatmeterConfig
    public let store: DirectoryPriceStore

    public init(config: SatmeterConfig) {
        self.config = config
        store = DirectoryPriceStore(directory: config.stateDirectory + "/pricing")
    }

    /// The configured pricing with the managed table (`satmeter pricing apply`) on top.
    public func effectiveConfig() throws(PriceStoreError) -> PricingConfig {
        config.pricing.applyingManagedTable(try store.loadTable())
    }

    public func engine(fetcher: any HTTPFetching = CurlFetcher()) throws(PriceStoreError) -> PricingEngine {
        let pricing = try effectiveConfig()
        let oracle = BTCPriceOracle(config: pricing.btcPrice, fetcher: fetcher, clock: { Clock.now() })
        return PricingEngine(config: pricing, oracle: oracle)
    }

    /// Applies a proposed table within the configured steps; archives the change note.
    public func apply(proposalYAML: String, file: String) throws -> PriceTableUpdate.Result {
        let proposed = try PriceTable.parse(yaml: proposalYAML, file: file)
        let result = PriceTableUpdate.apply(current: try store.loadTable(), proposed: proposed, bounds: config.pricing.updateBounds,
                                            families: config.pricing.families, now: Clock.now())
        try store.commit(result)
        return result
    }
}
