import SatmeterSupport

/// A model's upstream cost, as a provider's model list states it (USD per token, request, image).
public struct CatalogModel: Sendable, Equatable {
    public var id: String
    public var name: String?
    public var cost: ModelPrice

    public init(id: String, name: String? = nil, cost: ModelPrice) {
        self.id = id
        self.name = name
        self.cost = cost
    }
}

/// Reads the OpenRouter `/api/v1/models` format:
/// `{"data":[{"id","name","context_length","pricing":{"prompt","completion","request","image"},
///   "top_provider":{"max_completion_tokens"}}]}`. Prices are decimal strings in USD per unit.
/// `pricing.audio_second` (USD per second of audio) is read too; it is Satmeter's own addition.
/// `input_cache_read`, `input_cache_write`, `internal_reasoning` and `audio` (per input audio
/// token) are OpenRouter's own fields for the token rates billed apart.
public enum OpenRouterModels {
    public struct Parsed: Sendable {
        public var models: [CatalogModel]
        /// Ids left out, with why: unparsable, negative ("-1" marks variable pricing) or all zero.
        public var skipped: [(id: String, reason: String)]
    }

    public enum ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        case notJSON(String)
        case noDataArray

        public var description: String {
            switch self {
            case let .notJSON(why): "the model list is not JSON: \(why)"
            case .noDataArray: "the model list has no \"data\" array"
            }
        }
    }

    public static func parse(_ bytes: [UInt8]) throws(ParseError) -> Parsed {
        let json: JSON
        do { json = try JSON.parse(bytes) } catch { throw .notJSON(error.description) }
        return try parse(json)
    }

    public static func parse(_ json: JSON) throws(ParseError) -> Parsed {
        guard let items = json["data"]?.arrayValue else { throw .noDataArray }
        var parsed = Parsed(models: [], skipped: [])
        for item in items {
            guard let id = item["id"]?.stringValue, !id.isEmpty else {
                parsed.skipped.append((id: "?", reason: "no id"))
                continue
            }
            switch model(id: id, item) {
            case let .success(model): parsed.models.append(model)
            case let .failure(reason): parsed.skipped.append((id: id, reason: reason.text))
            }
        }
        return parsed
    }

    private struct Skip: Error {
        var text: String
    }

    private static let fields: [(String, PriceComponent)] = [
        ("prompt", .prompt), ("completion", .completion), ("request", .request), ("image", .image), ("audio_second", .audioSecond),
        ("input_cache_read", .cachedPrompt), ("input_cache_write", .cacheWrite), ("internal_reasoning", .reasoning),
        ("audio", .audioPrompt),
    ]

    private static func model(id: String, _ item: JSON) -> Result<CatalogModel, Skip> {
        guard let pricing = item["pricing"], case .object = pricing else { return .failure(Skip(text: "no pricing")) }
        var cost = ModelPrice(currency: .usd)
        for (key, component) in fields {
            guard let value = pricing[key] else { continue }
            guard let text = value.stringValue ?? numberText(value),
                  let amount = try? Fixed18.parse(text, rounding: .up)
            else { return .failure(Skip(text: "pricing.\(key) is not a decimal")) }
            guard !amount.isNegative else { return .failure(Skip(text: "pricing.\(key) is negative (variable price)")) }
            cost[component] = amount
        }
        // A zero price is more likely a free promotion or a gap than a cost to pass on.
        guard !cost.isFree else { return .failure(Skip(text: "all prices are zero")) }
        cost.contextLength = positive(item["context_length"]) ?? positive(item["top_provider"]?["context_length"])
        cost.maxCompletionTokens = positive(item["top_provider"]?["max_completion_tokens"])
        return .success(CatalogModel(id: id, name: item["name"]?.stringValue, cost: cost))
    }

    private static func numberText(_ value: JSON) -> String? {
        if case let .number(n) = value { return n }
        return nil
    }

    private static func positive(_ value: JSON?) -> Int? {
        guard let v = value?.int64Value, v > 0, v <= Int64(Int32.max) else { return nil }
        return Int(v)
    }
}
