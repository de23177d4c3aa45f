import SatmeterSupport

/// `satmeter pricing apply FILE`: moves the managed price table toward a proposal in bounded steps.
///
/// Per model and price component: a rise is capped at `maxIncreasePPM` of the current price and a
/// cut at `maxDecreasePPM`; the part beyond is refused and reported (apply again later to go on).
/// Family floors and ceilings are hard limits on top. A component with no current price cannot be
/// stepped from and is refused; a currency switch is refused whole; new models are added as
/// proposed (within family bounds); models missing from the proposal stay as they are.
public enum PriceTableUpdate {
    public struct Change: Sendable, Equatable {
        public var model: String
        public var component: PriceComponent
        public var currency: Currency
        /// nil for a model the table did not have.
        public var old: Fixed18?
        public var new: Fixed18
    }

    public struct Refusal: Sendable, Equatable {
        public var model: String
        /// nil when the whole entry was refused.
        public var component: PriceComponent?
        public var currency: Currency
        public var requested: Fixed18?
        /// What was applied instead (the bounded step, or the price kept).
        public var applied: Fixed18?
        public var reason: String
    }

    public struct Result: Sendable {
        /// The whole new table: current entries, updated within bounds.
        public var applied: PriceTable
        public var changes: [Change]
        public var refused: [Refusal]
        public var changeNote: ChangeNote
    }

    public static func apply(current: PriceTable, proposed: PriceTable, bounds: UpdateBounds,
                             families: PatternMap<PriceBounds> = PatternMap(), now: Int64, centsPerBTC: Int64? = nil) -> Result {
        var table = current
        table.reason = proposed.reason
        var changes: [Change] = []
        var refused: [Refusal] = []
        for entry in proposed.entries {
            // Family bounds are written in USD; a sat price is held to them at the current BTC price.
            let family = families.lookup(entry.model)?.value.converted(to: entry.price.currency, centsPerBTC: centsPerBTC)
            guard let old = current[entry.model] else {
                let (price, limited) = withinFamily(entry.model, entry.price, family)
                table[entry.model] = price
                refused += limited
                changes += PriceComponent.allCases.filter { !price[$0].isZero }.map {
                    Change(model: entry.model, component: $0, currency: price.currency, old: nil, new: price[$0])
                }
                continue
            }
            guard old.currency == entry.price.currency else {
                refused.append(Refusal(model: entry.model, component: nil, currency: entry.price.currency, requested: nil, applied: nil,
                                       reason: "the currency would change from \(old.currency.rawValue) to \(entry.price.currency.rawValue); change it in the config"))
                continue
            }
            var next = old
            next.contextLength = entry.price.contextLength ?? old.contextLength
            next.maxCompletionTokens = entry.price.maxCompletionTokens ?? old.maxCompletionTokens
            // A cache, reasoning or audio rate the entry leaves unset means "the default", not "free":
            // it is dropped, not stepped down.
            for special in PriceComponent.specialTokenRates where entry.price[special].isZero { next[special] = .zero }
            for component in PriceComponent.allCases where next[component] != entry.price[component] {
                let step = stepped(old[component], toward: entry.price[component], bounds)
                var refusal = step.why.map {
                    Refusal(model: entry.model, component: component, currency: old.currency,
                            requested: entry.price[component], applied: step.value, reason: $0)
                }
                next[component] = step.value
                if let limit = familyLimit(next, component, family) {
                    next[component] = limit.value
                    refusal = Refusal(model: entry.model, component: component, currency: old.currency,
                                      requested: entry.price[component], applied: limit.value, reason: limit.why)
                }
                refused += [refusal].compactMap { $0 }
                if next[component] != old[component] {
                    changes.append(Change(model: entry.model, component: component, currency: old.currency, old: old[component], new: next[component]))
                }
            }
            table[entry.model] = next
        }
        let note = ChangeNote(at: now, reason: proposed.reason ?? "(no reason given)", bounds: bounds, changes: changes, refused: refused)
        return Result(applied: table, changes: changes, refused: refused, changeNote: note)
    }

    /// One bounded step from `old` toward `requested`, and why it stopped short, if it did.
    private static func stepped(_ old: Fixed18, toward requested: Fixed18, _ bounds: UpdateBounds) -> (value: Fixed18, why: String?) {
        if old.isZero {
            return (old, "no current price to step from; set it in the config")
        }
        let asked = percentChange(old, requested)
        if requested > old {
            // Round the cap down so a step never exceeds the bound.
            let cap = old.timesPPM(1_000_000 + bounds.maxIncreasePPM, roundUp: false) ?? old
            return requested <= cap ? (requested, nil) : (cap, "\(asked) asked; at most +\(ppmPercent(bounds.maxIncreasePPM)) per apply")
        }
        // Round the floor up: a cut never exceeds the bound either.
        let floor = old.timesPPM(1_000_000 - bounds.maxDecreasePPM) ?? old
        return requested >= floor ? (requested, nil) : (floor, "\(asked) asked; at most -\(ppmPercent(bounds.maxDecreasePPM)) per apply")
    }

    /// The family floor or ceiling a USD token price must be moved to, if it is outside them.
    private static func familyLimit(_ price: ModelPrice, _ component: PriceComponent, _ family: PriceBounds?) -> (value: Fixed18, why: String)? {
        guard let family, PriceBounds.components.contains(component) else { return nil }
        let unit = price.currency == .usd ? "per 1M" : "sat per 1K"
        let shown = { (amount: Fixed18) in price.amountText(amount, shift: component.displayShift(price.currency)) }
        if let floor = family.floor, floor.currency == price.currency, price[component] < floor[component] {
            return (floor[component], "below the family floor of \(shown(floor[component])) \(unit)")
        }
        if let ceiling = family.ceiling, ceiling.currency == price.currency, price[component] > ceiling[component] {
            return (ceiling[component], "above the family ceiling of \(shown(ceiling[component])) \(unit)")
        }
        return nil
    }

    private static func withinFamily(_ model: String, _ price: ModelPrice, _ family: PriceBounds?) -> (ModelPrice, [Refusal]) {
        var out = price
        var refused: [Refusal] = []
        for component in PriceBounds.components {
            guard let limit = familyLimit(out, component, family) else { continue }
            refused.append(Refusal(model: model, component: component, currency: price.currency,
                                   requested: price[component], applied: limit.value, reason: limit.why))
            out[component] = limit.value
        }
        return (out, refused)
    }

    /// "+15.0%", "-42.5%": the change from old to new, to a tenth of a percent (toward zero).
    static func percentChange(_ old: Fixed18, _ new: Fixed18) -> String {
        guard !old.isZero else { return "new" }
        let tenths = (new.raw - old.raw) * 1000 / old.raw
        let sign = tenths < 0 ? "-" : "+"
        let magnitude = tenths.magnitude
        return "\(sign)\(magnitude / 10).\(magnitude % 10)%"
    }

    /// 150000 ppm → "15%", 125000 → "12.5%".
    package static func ppmPercent(_ ppm: Int64) -> String {
        Fixed18(raw: Int128(ppm) * 100_000_000_000_000).decimalString() + "%"
    }
}
