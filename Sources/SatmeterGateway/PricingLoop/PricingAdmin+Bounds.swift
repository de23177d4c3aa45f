import SatmeterPricing

extension PricingAdmin {
    /// Where every bounded step starts: the managed table, plus, for each proposed model the table
    /// does not have yet, the price a control request pays now (catalog, override or fallback).
    /// So a model's first managed price is one bounded step from its effective price, never free.
    /// A price in force in the other currency is converted at the current BTC price; without one,
    /// it stays in its currency and the step refuses the currency switch.
    func boundedBase(for proposed: PriceTable) throws(PriceStoreError) -> PriceTable {
        var base = try store.loadTable()
        let engine = try engine()
        for entry in proposed.entries where base[entry.model] == nil {
            guard let inForce = try priceInForce(entry.model) else { continue }
            if inForce.currency != entry.price.currency, let btc = engine.oracle.lastSnapshot ?? (try? engine.oracle.usdPerBTC()),
               let converted = inForce.converted(to: entry.price.currency, centsPerBTC: btc.centsPerBTC) {
                base[entry.model] = converted
            } else {
                base[entry.model] = inForce
            }
        }
        return base
    }

    /// The bounded step every price change takes (apply, set-model, the dashboard, propose, canary).
    func boundedStep(_ base: PriceTable, _ proposed: PriceTable, now: Int64) -> PriceTableUpdate.Result {
        PriceTableUpdate.apply(current: base, proposed: proposed, bounds: config.pricing.updateBounds, families: config.pricing.families,
                               now: now, centsPerBTC: centsPerBTC(for: proposed))
    }

    /// The BTC price that holds sat prices to the USD family bounds; asked only when a sat price is proposed.
    func centsPerBTC(for proposed: PriceTable) -> Int64? {
        guard proposed.entries.contains(where: { $0.price.currency == .sat }), let engine = try? engine() else { return nil }
        return (engine.oracle.lastSnapshot ?? (try? engine.oracle.usdPerBTC()))?.centsPerBTC
    }
}
