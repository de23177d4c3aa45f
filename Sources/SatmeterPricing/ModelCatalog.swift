import Synchronization
import SatmeterSupport

/// Where upstream costs are refreshed from (`pricing.models_source`).
public struct ModelsSourceConfig: Sendable, Equatable {
    /// An OpenRouter-format `/api/v1/models` URL; nil = bundled table only.
    public var url: String?
    public var refreshSeconds: Int64
    public var timeoutSeconds: Double

    public init(url: String? = nil, refreshSeconds: Int64 = 3600, timeoutSeconds: Double = 20) {
        self.url = url
        self.refreshSeconds = refreshSeconds
        self.timeoutSeconds = timeoutSeconds
    }
}

public enum ModelCatalogError: Error, Sendable, Equatable, CustomStringConvertible {
    case noSource
    case fetch(String)
    case unusable(String)

    public var description: String {
        switch self {
        case .noSource: "no models_source.url is configured"
        case let .fetch(why): "fetching the model list failed: \(why)"
        case let .unusable(why): "the model list was not used: \(why)"
        }
    }
}

/// The upstream cost table dynamic pricing reads: the bundled table, overlaid by the last list
/// fetched from the provider (fetched entries win; bundled ones fill the gaps). Thread-safe.
public final class ModelCatalog: Sendable {
    public struct Match: Sendable, Equatable {
        public var model: CatalogModel
        /// True when the entry came from the provider's list rather than the bundled table.
        public var fetched: Bool
    }

    private struct Index {
        var models: [CatalogModel] = []
        var fetchedIDs: Set<String> = []
        var byID: [String: Int] = [:]
        /// "gpt-4o" → the entries whose id ends in "/gpt-4o".
        var byLastSegment: [String: [Int]] = [:]
        var fetchedAt: Int64?
    }

    private let bundled: [CatalogModel]
    private let index: Mutex<Index>

    public init(bundled: [CatalogModel] = DefaultPriceTable.models) {
        self.bundled = bundled
        index = Mutex(ModelCatalog.build(fetched: [], bundled: bundled, at: nil))
    }

    /// The model by exact id; else by last path segment ("gpt-4o" finds "openai/gpt-4o"). When
    /// several providers share the segment, the most expensive wins: a guess must not undercharge.
    public func lookup(_ model: String) -> Match? {
        index.withLock { index in
            if let i = index.byID[model] { return Match(model: index.models[i], fetched: index.fetchedIDs.contains(model)) }
            let segment = ModelCatalog.lastSegment(model)
            if segment != model, let i = index.byID[segment] {
                return Match(model: index.models[i], fetched: index.fetchedIDs.contains(segment))
            }
            guard let candidates = index.byLastSegment[segment] else { return nil }
            let best = candidates.max { ModelCatalog.cheaper(index.models[$0], than: index.models[$1]) }!
            let chosen = index.models[best]
            return Match(model: chosen, fetched: index.fetchedIDs.contains(chosen.id))
        }
    }

    public var models: [CatalogModel] { index.withLock { $0.models } }

    /// Unix seconds of the last successful fetch, nil while only the bundled table is in use.
    public var fetchedAt: Int64? { index.withLock { $0.fetchedAt } }

    /// Installs a fetched list over the bundled table.
    public func replace(fetched: [CatalogModel], at time: Int64) {
        let built = ModelCatalog.build(fetched: fetched, bundled: bundled, at: time)
        index.withLock { $0 = built }
    }

    /// Fetches the provider's list and installs it; on any failure the current table stays.
    @discardableResult
    public func refresh(source: ModelsSourceConfig, fetcher: any HTTPFetching, now: Int64) throws(ModelCatalogError) -> Int {
        guard let url = source.url else { throw .noSource }
        let response: HTTPResponse
        do {
            response = try fetcher.send(HTTPRequest(url: url, headers: [("Accept", "application/json")], timeout: source.timeoutSeconds))
        } catch {
            throw .fetch("\(error)")
        }
        guard response.status == 200 else { throw .fetch("HTTP \(response.status)") }
        let parsed: OpenRouterModels.Parsed
        do { parsed = try OpenRouterModels.parse(response.body) } catch { throw .unusable(error.description) }
        guard !parsed.models.isEmpty else { throw .unusable("no priced model in it") }
        replace(fetched: parsed.models, at: now)
        return parsed.models.count
    }

    private static func build(fetched: [CatalogModel], bundled: [CatalogModel], at time: Int64?) -> Index {
        var index = Index()
        index.fetchedAt = time
        let fetchedIDs = Set(fetched.map(\.id))
        index.fetchedIDs = fetchedIDs
        for model in fetched + bundled.filter({ !fetchedIDs.contains($0.id) }) where index.byID[model.id] == nil {
            index.byID[model.id] = index.models.count
            index.byLastSegment[lastSegment(model.id), default: []].append(index.models.count)
            index.models.append(model)
        }
        return index
    }

    /// The last non-empty "/"-separated part ("openai/gpt-4o/" → "gpt-4o"); the id itself when
    /// it has none. An ASCII id (every real one) is read by byte, without splitting it into an
    /// array: it runs on every paid request. Any other goes by Character, as before ("/" followed
    /// by a combining mark is not a separator there).
    package static func lastSegment(_ id: String) -> String {
        let utf8 = id.utf8
        guard utf8.allSatisfy({ $0 < 0x80 }) else { return id.split(separator: "/").last.map(String.init) ?? id }
        let slash = UInt8(ascii: "/")
        var end = utf8.endIndex
        while end != utf8.startIndex, utf8[utf8.index(before: end)] == slash { end = utf8.index(before: end) }
        guard end != utf8.startIndex else { return id }
        var start = end
        while start != utf8.startIndex, utf8[utf8.index(before: start)] != slash { start = utf8.index(before: start) }
        if start == utf8.startIndex, end == utf8.endIndex { return id }
        return String(id[start..<end])
    }

    /// Orders look-alikes by token price, then by their other prices (units differ, so never summed across).
    private static func cheaper(_ a: CatalogModel, than b: CatalogModel) -> Bool {
        func key(_ m: CatalogModel) -> (Int128, Int128, Int128, Int128) {
            (m.cost.prompt.raw + m.cost.completion.raw, m.cost.request.raw, m.cost.image.raw, m.cost.audioSecond.raw)
        }
        return key(a) < key(b)
    }
}
