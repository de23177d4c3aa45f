import SatmeterSupport

extension PricingEngine {
    /// One model's `GET /v1/models` entry, priced on the first route that prices it (chat, then
    /// the configured routes: an image or audio model is priced on its own route); nil if none does.
    public func modelsListing(only id: String) -> JSON? {
        let resolver = PriceResolver(config: config, catalog: catalog)
        let snapshot = try? oracle.usdPerBTC()
        let routes = ["POST /v1/chat/completions"] + config.routes.routes.entries.map(\.pattern.text)
        for route in routes {
            let request = PricingRequest(route: route, model: id, estimatedPromptTokens: 0, maxCompletionTokens: 0)
            if let resolved = try? resolver.resolve(request) { return listingItem(resolved, snapshot) }
        }
        return nil
    }
}
