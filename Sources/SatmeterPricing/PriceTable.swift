import Yams
import SatmeterSupport

/// A managed per-model price table: what `pricing apply` reads (proposed) and keeps (current).
///
///     reason: "OpenRouter cut gpt-4o prices"
///     models:
///       gpt-4o: { prompt_usd_per_1m: "2.5", completion_usd_per_1m: "10" }
///       budget-model: { sats_per_1k: "5" }
public struct PriceTable: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var model: String
        public var price: ModelPrice

        public init(model: String, price: ModelPrice) {
            self.model = model
            self.price = price
        }
    }

    public var entries: [Entry]
    /// Why this table is proposed; goes into the change note.
    public var reason: String?

    public init(entries: [Entry] = [], reason: String? = nil) {
        self.entries = entries
        self.reason = reason
    }

    public subscript(model: String) -> ModelPrice? {
        get { entries.first { $0.model == model }?.price }
        set {
            let index = entries.firstIndex { $0.model == model }
            switch (index, newValue) {
            case let (i?, price?): entries[i].price = price
            case let (i?, nil): entries.remove(at: i)
            case let (nil, price?): entries.append(Entry(model: model, price: price))
            case (nil, nil): break
            }
        }
    }

    public static func parse(yaml: String, file: String) throws(ConfigError) -> PriceTable {
        let reader = YAMLReader(file: file)
        let root: Node?
        do { root = try Yams.compose(yaml: yaml) } catch { throw ConfigError(file: file, line: Self.line(of: error), reason: "not valid YAML: \(error)") }
        guard let root else { throw ConfigError(file: file, line: 0, reason: "the price table is empty") }
        let f = try reader.fields(root, "price table", allowed: ["reason", "models"])
        var table = PriceTable()
        if let n = f["reason"] { table.reason = try reader.string(n, "reason") }
        guard let models = f["models"] else { throw reader.fail(root, "the price table has no models: mapping") }
        for entry in try PriceEntryParser(reader: reader).models(models, "models").entries {
            table.entries.append(Entry(model: entry.pattern.text, price: entry.value))
        }
        return table
    }

    /// The table in the same syntax `parse` reads; parse(yaml()) == self.
    public func yaml() -> String {
        var out = ""
        if let reason { out += "reason: \(Self.quoted(reason))\n" }
        out += entries.isEmpty ? "models: {}\n" : "models:\n"
        for entry in entries {
            out += "  \(Self.quoted(entry.model)): \(PriceEntryParser.write(entry.price))\n"
        }
        return out
    }

    /// A YAML double-quoted scalar (JSON string syntax is valid YAML).
    package static func quoted(_ text: String) -> String {
        JSON.string(text).serialized
    }

    private static func line(of error: Error) -> Int {
        switch error as? YamlError {
        case let .scanner(_, _, mark, _)?, let .parser(_, _, mark, _)?, let .composer(_, _, mark, _)?: mark.line
        default: 0
        }
    }
}
