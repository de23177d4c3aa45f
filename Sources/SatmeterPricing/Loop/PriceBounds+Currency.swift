extension PriceBounds {
    /// The same floor and ceiling in `currency`, converted at the BTC price (rounded up, so a
    /// floor never drops); the bounds unchanged when already in it; no bounds when there is no
    /// BTC price to convert with (the step limits still hold).
    func converted(to currency: Currency, centsPerBTC: Int64?) -> PriceBounds? {
        func convert(_ bound: ModelPrice?) -> ModelPrice?? {
            guard let bound else { return .some(nil) }
            if bound.currency == currency { return .some(bound) }
            guard let centsPerBTC, let converted = bound.converted(to: currency, centsPerBTC: centsPerBTC) else { return nil }
            return .some(converted)
        }
        guard let floor = convert(floor), let ceiling = convert(ceiling) else { return nil }
        return PriceBounds(floor: floor, ceiling: ceiling, feePPM: feePPM)
    }
}
