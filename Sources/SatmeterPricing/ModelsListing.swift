import SatmeterSupport

/// The `GET /v1/models` body: the OpenRouter shape (USD per unit in `pricing`) plus `sats_pricing`
/// (sats per 1M tokens, per request, per image, per audio second). Every price comes from the same
/// resolver as `quote`, so the listing cannot disagree with what requests are charged.
extension PricingEngine {
    public func modelsListing(route: String = "POST /v1/chat/completions") -> JSON {
        let resolver = PriceResolver(config: config, catalog: catalog)
        // One BTC price for the whole listing; without one, the other currency's column is null.
        let snapshot = try? oracle.usdPerBTC()
        var items: [JSON] = []
        for id in candidateIDs(route: route) {
            let request = PricingRequest(route: route, model: id, estimatedPromptTokens: 0, maxCompletionTokens: 0)
            guard let resolved = try? resolver.resolve(request) else { continue }
            items.append(listingItem(resolved, snapshot, route: route))
        }
        return ["object": "list", "data": .array(items)]
    }

    /// Exact ids the route, the overrides, the allow list and the catalog name, sorted.
    private func candidateIDs(route key: String) -> [String] {
        let route = config.routes.route(for: key)
        var ids = Set(route.prices.models.exactKeys + config.overrides.exactKeys)
        ids.formUnion((route.allow ?? []).filter(\.isExact).map(\.text))
        ids.formUnion(catalog.models.map(\.id))
        // Catalog ids carry a provider prefix ("openai/gpt-4o"); clients of an OpenAI-compatible
        // upstream send the bare id, which prices the same, so list that too.
        ids.formUnion(catalog.models.compactMap { $0.id.split(separator: "/").last.map(String.init) })
        return ids.sorted()
    }

    func listingItem(_ resolved: ResolvedPrice, _ snapshot: PriceSnapshot?, route: String = "POST /v1/chat/completions") -> JSON {
        let price = resolved.price
        var item: JSON = ["id": .string(resolved.model), "object": "model", "owned_by": .string(resolved.upstream ?? "satmeter")]
        if let name = catalog.lookup(resolved.model)?.model.name { item.set("name", .string(name)) }
        if let context = price.contextLength { item.set("context_length", .int(context)) }
        let usd = snapshot.flatMap { price.converted(to: .usd, centsPerBTC: $0.centsPerBTC) } ?? (price.currency == .usd ? price : nil)
        item.set("pricing", usd.map(usdColumns) ?? .null)
        let conversion = price.currency == .sat ? MsatConversion.sats : snapshot?.conversion
        item.set("sats_pricing", conversion.map { conversion in
            var columns = satColumns(price, conversion)
            addRoutstrColumns(&columns, model: resolved.model, route: route, price, conversion)
            return columns
        } ?? .null)
        item.set("pricing_mode", .string(resolved.mode.rawValue))
        item.set("pricing_source", .string(resolved.source.rawValue))
        return item
    }

    /// OpenRouter's columns: USD per token, request and image, as decimal strings.
    private func usdColumns(_ price: ModelPrice) -> JSON {
        var columns: JSON = .object([])
        for component in [PriceComponent.prompt, .completion, .request, .image] {
            columns.set(component.rawValue, .string(price[component].decimalString()))
        }
        if !price.audioSecond.isZero { columns.set("audio_second", .string(price.audioSecond.decimalString())) }
        // Rates billed apart, in OpenRouter's names where it has them (docs/pricing.md §3.1).
        for (component, name) in [(PriceComponent.cachedPrompt, "input_cache_read"), (.cacheWrite, "input_cache_write"),
                                  (.reasoning, "internal_reasoning"), (.audioPrompt, "audio"), (.audioCompletion, "audio_completion"),
                                  (.imagePrompt, "image_prompt")] where !price[component].isZero {
            columns.set(name, .string(price[component].decimalString()))
        }
        return columns
    }

    /// Sats as the request path charges them: the msats of 1M tokens (or one unit), rounded up.
    private func satColumns(_ price: ModelPrice, _ conversion: MsatConversion) -> JSON {
        func sats(_ units: Int64, _ component: PriceComponent) -> JSON {
            .string(Sats.display(conversion.msat(units: units, at: price[component])))
        }
        var columns: JSON = ["prompt_per_1m": sats(1_000_000, .prompt), "completion_per_1m": sats(1_000_000, .completion)]
        if !price.audioSecond.isZero { columns.set("audio_second", sats(1, .audioSecond)) }
        return columns
    }
}
