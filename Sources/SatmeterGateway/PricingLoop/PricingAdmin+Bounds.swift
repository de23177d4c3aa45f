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
}
