import SatmeterPricing
import SatmeterSupport
import SatmeterUpstream

/// `GET /v1/models`: the models the providers serve, each with its price. Providers that list
/// their models name them exactly (globs are not listed); aliases are listed under their own name.
/// With no model lists (one provider serving anything), every priced model is listed.
struct ProviderModelsListing {
    let services: GatewayServices

    func json() -> JSON {
        let priced = services.pricing.modelsListing()
        let router = services.router
        var named: [String: [String]] = [:]  // model → providers
        for provider in router.providers {
            for pattern in provider.models where pattern.isExact { named[pattern.text, default: []].append(provider.name) }
            for model in provider.modelNames.keys { named[model, default: []].append(provider.name) }
        }
        let anyModel = router.providers.contains { $0.models.isEmpty && $0.modelNames.isEmpty }
        var items: [JSON] = []
        var listed = Set<String>()
        for item in priced["data"]?.arrayValue ?? [] {
            guard let id = item["id"]?.stringValue, anyModel || named[id] != nil else { continue }
            items.append(withProviders(item, named[id] ?? router.providers.filter { $0.serves(id) }.map(\.name)))
            listed.insert(id)
        }
        // Served models the price listing does not name still show, priced as a request would be.
        for id in named.keys.sorted() where !listed.contains(id) {
            items.append(withProviders(single(id), named[id] ?? []))
            listed.insert(id)
        }
        for (alias, target) in router.aliases.sorted(by: { $0.key < $1.key }) where !listed.contains(alias) {
            guard let item = items.first(where: { $0["id"]?.stringValue == target }) else { continue }
            var copy = item
            copy.set("id", .string(alias))
            copy.set("alias_of", .string(target))
            items.append(copy)
        }
        return ["object": "list", "data": .array(items)]
    }

    /// One model's listing entry from the same resolver requests use; unpriced: no price columns.
    private func single(_ id: String) -> JSON {
        let one = services.pricing.modelsListing(only: id)
        return one ?? ["id": .string(id), "object": "model", "owned_by": "satmeter", "pricing": .null, "sats_pricing": .null]
    }

    private func withProviders(_ item: JSON, _ names: [String]) -> JSON {
        var copy = item
        copy.set("providers", .array(names.map { .string($0) }))
        return copy
    }
}
