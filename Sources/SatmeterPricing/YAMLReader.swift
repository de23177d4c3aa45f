import Yams
import SatmeterSupport

/// A YAML mapping read strictly: string keys, no duplicates, no unknown keys.
package struct YAMLFields {
    let node: Node
    let pairs: [(key: String, keyNode: Node, value: Node)]

    subscript(key: String) -> Node? { pairs.first { $0.key == key }?.value }
    var line: Int { node.mark?.line ?? 0 }
}

/// Typed reads from Yams nodes; every failure names the file, the line and the setting.
package struct YAMLReader {
    let file: String

    func fail(_ node: Node?, _ reason: String) -> ConfigError {
        ConfigError(file: file, line: node?.mark?.line ?? 0, reason: reason)
    }

    package func fields(_ node: Node, _ what: String, allowed: [String]? = nil) throws(ConfigError) -> YAMLFields {
        guard case let .mapping(mapping) = node else { throw fail(node, "\(what) must be a mapping") }
        var pairs: [(key: String, keyNode: Node, value: Node)] = []
        for (keyNode, value) in mapping {
            guard case let .scalar(scalar) = keyNode else { throw fail(keyNode, "\(what): keys must be plain text") }
            let key = scalar.string
            if pairs.contains(where: { $0.key == key }) { throw fail(keyNode, "\(what): '\(key)' is given twice") }
            if let allowed, !allowed.contains(key) {
                throw fail(keyNode, "\(what): unknown setting '\(key)' (expected one of: \(allowed.joined(separator: ", ")))")
            }
            pairs.append((key, keyNode, value))
        }
        return YAMLFields(node: node, pairs: pairs)
    }

    func string(_ node: Node, _ what: String) throws(ConfigError) -> String {
        guard case let .scalar(scalar) = node, !scalar.string.isEmpty else { throw fail(node, "\(what) must be a non-empty text value") }
        return scalar.string
    }

    func list(_ node: Node, _ what: String) throws(ConfigError) -> [Node] {
        guard case let .sequence(sequence) = node else { throw fail(node, "\(what) must be a list") }
        return Array(sequence)
    }

    func strings(_ node: Node, _ what: String) throws(ConfigError) -> [String] {
        var out: [String] = []
        for item in try list(node, what) { out.append(try string(item, "each entry of \(what)")) }
        return out
    }

    func bool(_ node: Node, _ what: String) throws(ConfigError) -> Bool {
        switch try string(node, what) {
        case "true": return true
        case "false": return false
        default: throw fail(node, "\(what) must be true or false")
        }
    }

    /// A whole number within `range`.
    func integer(_ node: Node, _ what: String, _ range: ClosedRange<Int64>) throws(ConfigError) -> Int64 {
        let text = try string(node, what).replacingUnderscores
        guard let value = Int64(text), range.contains(value) else {
            throw fail(node, "\(what) must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    /// A decimal written with at most `decimals` places, returned × 10^decimals (e.g. 1.005 → 1005000
    /// with 6), within `range` of that scaled value.
    func scaled(_ node: Node, _ what: String, decimals: Int, _ range: ClosedRange<Int64>, unit: String) throws(ConfigError) -> Int64 {
        let text = try string(node, what).replacingUnderscores.droppingDollar
        let value: Fixed18
        do { value = try Fixed18.parse(text, shift: -decimals) } catch { throw fail(node, "\(what): \(error)") }
        guard value.raw % Fixed18.scale == 0 else { throw fail(node, "\(what) allows at most \(decimals) decimal places") }
        let whole = value.raw / Fixed18.scale
        guard whole >= Int128(range.lowerBound), whole <= Int128(range.upperBound) else {
            throw fail(node, "\(what) must be from \(Self.unscaled(range.lowerBound, decimals)) to \(Self.unscaled(range.upperBound, decimals))\(unit)")
        }
        return Int64(whole)
    }

    /// A non-negative decimal amount moved `shift` places (per 1M → per token), at most `max`.
    func amount(_ node: Node, _ what: String, shift: Int, max: Fixed18) throws(ConfigError) -> Fixed18 {
        let text = try string(node, what).replacingUnderscores.droppingDollar
        let value: Fixed18
        do { value = try Fixed18.parse(text, shift: shift) } catch { throw fail(node, "\(what): \(error)") }
        guard !value.isNegative else { throw fail(node, "\(what) must not be negative") }
        guard value <= max else { throw fail(node, "\(what) is implausibly large (\(text))") }
        return value
    }

    private static func unscaled(_ value: Int64, _ decimals: Int) -> String {
        (Fixed18(raw: Int128(value) * Fixed18.scale / (Fixed18.pow10(decimals) ?? 1))).decimalString()
    }

    package init(file: String) {
        self.file = file
    }
}

extension String {
    /// YAML operators write 1_000; decimals do not know underscores.
    var replacingUnderscores: String { String(filter { $0 != "_" }) }
    /// "$2.50" reads as "2.50".
    var droppingDollar: String { hasPrefix("$") ? String(dropFirst()) : self }
}
