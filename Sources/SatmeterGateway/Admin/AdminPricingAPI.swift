import SatmeterPricing
import SatmeterSupport

/// `/admin/api/pricing` and `/admin/api/models…`: the Settings → Pricing and Models pages. Changes
/// are written to the state directory by `PricingAdmin` (as the CLI does); every worker installs
/// them at its next housekeeping tick.
struct AdminPricingAPI {
    let api: AdminAPI

    private var admin: PricingAdmin { PricingAdmin(config: api.config) }

    func settings() throws(APIError) {
        do { api.send(try admin.settings().json) } catch { throw error.apiError }
    }

    func updateSettings() throws(APIError) {
        let body = try api.body()
        let changes: [(name: String, was: String, now: String)]
        do throws(PricingAdminError) {
            let current = try admin.settings()
            let next: PricingSettings
            do { next = try current.merging(body) } catch { throw .invalid(error.reason) }
            changes = try admin.saveSettings(next)
        } catch { throw error.apiError }
        if !changes.isEmpty { Log.info("admin: pricing settings changed (\(changes.map(\.name).joined(separator: ", ")))") }
        var json = (try? admin.settings().json) ?? [:]
        json.set("changed", .array(changes.map { ["name": .string($0.name), "was": .string($0.was), "now": .string($0.now)] }))
        api.send(json)
    }

    /// Every model the chat route sells, with its price as it will be after any saved change.
    func models() throws(APIError) {
        let engine: PricingEngine
        do { engine = try admin.engine(fetcher: api.handler.services.fetcher) } catch { throw .internalError(error.description) }
        let table = (try? admin.store.loadTable()) ?? PriceTable()
        var listing = api.handler.services.pricing.modelsListing()
        let fresh = engine.modelsListing()
        // The running engine has the live BTC price and the fetched catalog; the fresh one has the
        // saved prices. Show saved prices, converted by the running engine's BTC price when it has one.
        if case .object = fresh, (fresh["data"]?.arrayValue?.count ?? 0) > 0 { listing = fresh }
        let managed = Set(table.entries.map(\.model))
        let items = (listing["data"]?.arrayValue ?? []).map { item -> JSON in
            var item = item
            let id = item["id"]?.stringValue ?? ""
            item.set("managed", .bool(managed.contains(id)))
            if let price = table[id] { item.set("managed_price", .string(price.summary)) }
            return item
        }
        api.send(["models": .array(items), "bounds": [
            "max_increase_percent": .string(PriceTableUpdate.ppmPercent(api.config.pricing.updateBounds.maxIncreasePPM)),
            "max_decrease_percent": .string(PriceTableUpdate.ppmPercent(api.config.pricing.updateBounds.maxDecreasePPM)),
        ]])
    }

    /// A new per-model price, applied within the bounded steps of `pricing apply`.
    func setModelPrice() throws(APIError) {
        let body = try api.body()
        guard let model = body["model"]?.stringValue else { throw .invalidRequest("'model' is required") }
        guard let currency = ModelPriceChange.Currency(rawValue: body["currency"]?.stringValue ?? "usd") else {
            throw .invalidRequest("currency is usd (per 1M tokens) or sat (per 1K tokens)")
        }
        func decimal(_ name: String) throws(APIError) -> String {
            switch body[name] {
            case let .number(n)?: return n
            case let .string(s)?: return s
            default: throw .invalidRequest("'\(name)' is required")
            }
        }
        let change = ModelPriceChange(model: model, currency: currency, prompt: try decimal("prompt"), completion: try decimal("completion"),
                                      reason: body["reason"]?.stringValue ?? "edited in the admin dashboard")
        let result: PriceTableUpdate.Result
        do { result = try admin.setModelPrice(change) } catch { throw error.apiError }
        Log.info("admin: price of \(model) changed (\(result.changes.count) applied, \(result.refused.count) refused)")
        api.send([
            "model": .string(model),
            "price": result.applied[model].map { .string($0.summary) } ?? .null,
            "applied": .int(result.changes.count),
            "refused": .array(result.refused.map { .string($0.reason) }),
            "change_note": .string(result.changeNote.render()),
        ])
    }
}
