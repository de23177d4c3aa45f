import Foundation
import Glibc
import SatmeterPricing
import SatmeterSupport
import SatmeterUpstream

/// Pricing operations for the CLI and the admin API: the managed price table in the state
/// directory, the pricing settings beside it, explain, and bounded apply.
public struct PricingAdmin {
    public let config: SatmeterConfig
    public let store: DirectoryPriceStore

    public init(config: SatmeterConfig) {
        self.config = config
        store = DirectoryPriceStore(directory: config.stateDirectory + "/pricing")
    }

    var settingsPath: String { store.directory + "/settings.yaml" }

    /// The configured pricing with the settings (`pricing settings`) and the managed table
    /// (`pricing apply`) on top.
    public func effectiveConfig() throws(PriceStoreError) -> PricingConfig {
        var pricing = config.pricing
        if let text = TextFile.read(settingsPath) {
            do { pricing = try PricingSettings.apply(yaml: text, file: settingsPath, to: pricing) } catch {
                throw PriceStoreError(path: settingsPath, reason: error.description)
            }
        }
        return pricing.applyingManagedTable(try store.loadTable()).applyingCanary(try CanaryStore(directory: store.directory).load())
    }

    public func engine(fetcher: any HTTPFetching = CurlFetcher()) throws(PriceStoreError) -> PricingEngine {
        let pricing = try effectiveConfig()
        let oracle = BTCPriceOracle(config: pricing.btcPrice, fetcher: fetcher, clock: { Clock.now() })
        return PricingEngine(config: pricing, oracle: oracle)
    }

    /// Applies a proposed table within the configured steps; archives the change note.
    public func apply(proposalYAML: String, file: String) throws -> PriceTableUpdate.Result {
        try apply(try PriceTable.parse(yaml: proposalYAML, file: file))
    }

    public func apply(_ proposed: PriceTable, current: PriceTable? = nil) throws(PriceStoreError) -> PriceTableUpdate.Result {
        let base: PriceTable
        if let current { base = current } else { base = try boundedBase(for: proposed) }
        let result = boundedStep(base, proposed, now: Clock.now())
        try store.commit(result)
        return result
    }

    /// One model's new price (token prices per 1M in USD, or per 1K in sats), through the same
    /// bounded apply as a price-table file. The step is bounded from the price in force: the
    /// managed table's, else the config's override or the dynamic price, in the same currency.
    public func setModelPrice(_ change: ModelPriceChange) throws(PricingAdminError) -> PriceTableUpdate.Result {
        let table: PriceTable
        do { table = try PriceTable.parse(yaml: try change.proposalYAML(), file: "price change") } catch let error as PricingAdminError {
            throw error
        } catch let error as ConfigError { throw .invalid(error.reason) } catch { throw .invalid("\(error)") }
        do { return try apply(table) } catch { throw .storage(error.description) }
    }

    /// The per-model price a chat request for `model` is charged now; nil when it is unknown or
    /// priced by a rule for every model (fixed prices).
    func priceInForce(_ model: String) throws(PriceStoreError) -> ModelPrice? {
        let engine = try engine()
        let request = PricingRequest(route: "POST /v1/chat/completions", model: model, estimatedPromptTokens: 0, maxCompletionTokens: 0)
        guard let resolved = try? PriceResolver(config: engine.config, catalog: engine.catalog).resolve(request),
              resolved.source != .fixed else { return nil }
        return resolved.price
    }

    public func settings() throws(PricingAdminError) -> PricingSettings {
        do { return PricingSettings(try effectiveConfig()) } catch { throw .storage(error.description) }
    }

    /// Validates and stores new settings, with a change note beside the price-change notes.
    @discardableResult
    public func saveSettings(_ settings: PricingSettings) throws(PricingAdminError) -> [(name: String, was: String, now: String)] {
        let before = try self.settings()
        do { _ = try settings.applied(to: config.pricing) } catch { throw .invalid(error.reason) }
        let changes = Self.differences(before.json, settings.json, prefix: "")
        guard !changes.isEmpty else { return [] }
        let now = Clock.now()
        var note = "# Pricing settings change \(UTCTime.iso8601(now))\n\n| setting | was | now |\n|---|---|---|\n"
        for change in changes { note += "| \(change.name) | \(change.was) | \(change.now) |\n" }
        do {
            try FileManager.default.createDirectory(atPath: store.directory + "/changes", withIntermediateDirectories: true)
            try note.write(toFile: store.directory + "/changes/\(UTCTime.compact(now))-settings-change.md", atomically: true, encoding: .utf8)
            try settings.yaml().write(toFile: settingsPath, atomically: true, encoding: .utf8)
        } catch { throw .storage("cannot write \(settingsPath): \(error.localizedDescription)") }
        return changes
    }

    /// Changes whenever the settings file or the managed table is replaced: workers reload then.
    public func stamp() -> String {
        [settingsPath, store.directory + "/current.yaml", CanaryStore(directory: store.directory).rulePath].map { path in
            var info = stat()
            guard stat(path, &info) == 0 else { return "-" }
            return "\(info.st_ino):\(info.st_size):\(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec)"
        }.joined(separator: "|")
    }

    private static func differences(_ a: JSON, _ b: JSON, prefix: String) -> [(name: String, was: String, now: String)] {
        var out: [(String, String, String)] = []
        for (key, value) in b.objectValue ?? [] {
            let old = a[key] ?? .null
            if case .object = value {
                out += differences(old, value, prefix: prefix + key + ".")
            } else if old != value {
                out.append((prefix + key, old.serialized, value.serialized))
            }
        }
        return out
    }
}

/// A price for one model as the dashboard or `satmeter pricing set-model` gives it.
public struct ModelPriceChange: Sendable {
    public enum Currency: String, Sendable { case usd, sat }
    public var model: String
    public var currency: Currency
    /// Per 1M tokens (USD) or per 1K tokens (sat), decimal text.
    public var prompt: String
    public var completion: String
    public var reason: String?

    public init(model: String, currency: Currency, prompt: String, completion: String, reason: String? = nil) {
        self.model = model
        self.currency = currency
        self.prompt = prompt
        self.completion = completion
        self.reason = reason
    }

    func proposalYAML() throws(PricingAdminError) -> String {
        guard !model.isEmpty, model.utf8.count <= 256, !model.unicodeScalars.contains(where: { $0.value < 0x20 }) else {
            throw .invalid("a model id has 1 to 256 printable characters")
        }
        guard PricingSettings.isPlainDecimal(prompt), PricingSettings.isPlainDecimal(completion) else {
            throw .invalid("prices are decimal numbers such as 2.5")
        }
        let unit = currency == .usd ? "usd_per_1m" : "sats_per_1k"
        var yaml = reason.map { "reason: \(PriceTable.quoted(String($0.prefix(500))))\n" } ?? ""
        yaml += "models:\n  \(PriceTable.quoted(model)): { prompt_\(unit): \"\(prompt)\", completion_\(unit): \"\(completion)\" }\n"
        return yaml
    }
}

public enum PricingAdminError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The operator's input was refused.
    case invalid(String)
    case storage(String)

    public var description: String {
        switch self {
        case let .invalid(why), let .storage(why): why
        }
    }
}
