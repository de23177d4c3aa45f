/// One billable quantity of a request.
public enum PriceComponent: String, Sendable, CaseIterable {
    case prompt, completion, request, image, audioSecond
    /// Token rates billed apart from the plain prompt and completion rates (zero: the default
    /// of docs/pricing.md §3.1 applies).
    case cachedPrompt, cacheWrite, reasoning, audioPrompt, audioCompletion, imagePrompt

    /// The token rates that have their own price beside prompt and completion.
    public static let specialTokenRates: [PriceComponent] = [.cachedPrompt, .cacheWrite, .reasoning, .audioPrompt, .audioCompletion, .imagePrompt]

    var isTokenRate: Bool { self != .request && self != .image && self != .audioSecond }

    /// How a component is usually written: tokens per 1M (USD) or 1K (sat), others per unit.
    func displayShift(_ currency: Currency) -> Int {
        isTokenRate ? (currency == .usd ? 6 : 3) : 0
    }

    var unitName: String {
        switch self {
        case .prompt, .completion, .cachedPrompt, .cacheWrite, .reasoning, .audioPrompt, .audioCompletion, .imagePrompt: "token"
        case .request: "request"
        case .image: "image"
        case .audioSecond: "s"
        }
    }
}

/// A model's price: an amount per token, request, image and audio second, all in one currency.
/// The same type holds upstream costs (USD, from the provider's list) and selling prices.
public struct ModelPrice: Sendable, Equatable {
    public var currency: Currency
    /// Per prompt (input) token.
    public var prompt: Fixed18
    /// Per completion (output) token.
    public var completion: Fixed18
    /// Per request, whatever its size.
    public var request: Fixed18
    /// Per image (generated, or sent in, as the route counts them).
    public var image: Fixed18
    /// Per second of audio.
    public var audioSecond: Fixed18
    public var contextLength: Int?
    public var maxCompletionTokens: Int?
    /// Per token read from the prompt cache, written to it, of reasoning, of audio in and out,
    /// and of image input. Zero: the default (§3.1 of docs/pricing.md).
    public var cachedPrompt: Fixed18 = .zero
    public var cacheWrite: Fixed18 = .zero
    public var reasoning: Fixed18 = .zero
    public var audioPrompt: Fixed18 = .zero
    public var audioCompletion: Fixed18 = .zero
    public var imagePrompt: Fixed18 = .zero

    public init(currency: Currency, prompt: Fixed18 = .zero, completion: Fixed18 = .zero, request: Fixed18 = .zero,
                image: Fixed18 = .zero, audioSecond: Fixed18 = .zero, contextLength: Int? = nil, maxCompletionTokens: Int? = nil) {
        self.currency = currency
        self.prompt = prompt
        self.completion = completion
        self.request = request
        self.image = image
        self.audioSecond = audioSecond
        self.contextLength = contextLength
        self.maxCompletionTokens = maxCompletionTokens
    }

    public subscript(component: PriceComponent) -> Fixed18 {
        get {
            switch component {
            case .prompt: prompt
            case .completion: completion
            case .request: request
            case .image: image
            case .audioSecond: audioSecond
            case .cachedPrompt: cachedPrompt
            case .cacheWrite: cacheWrite
            case .reasoning: reasoning
            case .audioPrompt: audioPrompt
            case .audioCompletion: audioCompletion
            case .imagePrompt: imagePrompt
            }
        }
        set {
            switch component {
            case .prompt: prompt = newValue
            case .completion: completion = newValue
            case .request: request = newValue
            case .image: image = newValue
            case .audioSecond: audioSecond = newValue
            case .cachedPrompt: cachedPrompt = newValue
            case .cacheWrite: cacheWrite = newValue
            case .reasoning: reasoning = newValue
            case .audioPrompt: audioPrompt = newValue
            case .audioCompletion: audioCompletion = newValue
            case .imagePrompt: imagePrompt = newValue
            }
        }
    }

    /// True when only the per-request amount is set: a flat price.
    public var isFlat: Bool {
        PriceComponent.allCases.allSatisfy { $0 == .request || self[$0].isZero }
    }

    public var isFree: Bool { PriceComponent.allCases.allSatisfy { self[$0].isZero } }

    /// Every amount × ppm / 10^6, rounded up; nil on overflow.
    public func timesPPM(_ ppm: Int64) -> ModelPrice? {
        var out = self
        for component in PriceComponent.allCases {
            guard let scaled = self[component].timesPPM(ppm) else { return nil }
            out[component] = scaled
        }
        return out
    }

    /// The same price in the other currency at a BTC price, rounded up.
    public func converted(to target: Currency, centsPerBTC: Int64) -> ModelPrice? {
        guard target != currency else { return self }
        var out = self
        out.currency = target
        for component in PriceComponent.allCases {
            let amount = self[component]
            let converted = target == .usd
                ? CurrencyExchange.usd(fromSat: amount, centsPerBTC: centsPerBTC)
                : CurrencyExchange.sat(fromUSD: amount, centsPerBTC: centsPerBTC)
            guard let converted else { return nil }
            out[component] = converted
        }
        return out
    }

    /// What `summary` reads: a key to remember the text by (every paid request's log record
    /// carries it, and formatting decimals cost more than hashing these).
    public struct SummaryKey: Hashable, Sendable {
        let currency: Currency
        let prompt, completion, request, image, audioSecond: Fixed18
    }

    public var summaryKey: SummaryKey {
        SummaryKey(currency: currency, prompt: prompt, completion: completion, request: request, image: image, audioSecond: audioSecond)
    }

    /// "$2.50/$10.00 per 1M", "5 sat/1K", "10 sat/request", "$0.04/image": the form logs and explain show.
    public var summary: String {
        var parts: [String] = []
        if !prompt.isZero || !completion.isZero {
            let shift = PriceComponent.prompt.displayShift(currency)
            let p = amountText(prompt, shift: shift)
            let c = amountText(completion, shift: shift)
            let per = currency == .usd ? "1M" : "1K"
            if currency == .sat {
                parts.append(prompt == completion ? "\(p) sat/\(per)" : "\(p)/\(c) sat/\(per)")
            } else {
                parts.append("\(p)/\(c) per \(per)")
            }
        }
        for component in [PriceComponent.request, .image, .audioSecond] where !self[component].isZero {
            let amount = amountText(self[component], shift: 0)
            parts.append(currency == .sat ? "\(amount) sat/\(component.unitName)" : "\(amount)/\(component.unitName)")
        }
        return parts.isEmpty ? (currency == .sat ? "0 sat" : "$0") : parts.joined(separator: " + ")
    }

    /// One amount in its display unit: "$2.50" (USD, at least cents) or "5" (sat).
    func amountText(_ amount: Fixed18, shift: Int) -> String {
        let shown = amount.timesPow10(shift) ?? amount
        return currency == .usd ? "$" + shown.decimalString(minFractionDigits: 2) : shown.decimalString()
    }
}
