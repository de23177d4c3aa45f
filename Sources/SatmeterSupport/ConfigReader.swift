import Glibc
import Yams

/// Typed reads of YAML nodes with file:line errors.
package struct ConfigReader {
    let file: String

    package func error(_ node: Node, _ reason: String) -> ConfigError {
        ConfigError(file: file, line: node.mark?.line ?? 0, reason: reason)
    }

    package func allowOnly(_ keys: Set<String>, in node: Node) throws(ConfigError) {
        guard let mapping = node.mapping else { throw error(node, "expected a mapping") }
        for (key, _) in mapping {
            let name = key.string ?? ""
            guard keys.contains(name) else {
                throw error(key, "unknown setting '\(name)' (expected one of: \(keys.sorted().joined(separator: ", ")))")
            }
        }
    }

    package func string(_ node: Node) throws(ConfigError) -> String {
        guard let value = node.string else { throw error(node, "expected a string") }
        return value
    }

    package func int(_ node: Node, in range: ClosedRange<Int>) throws(ConfigError) -> Int {
        guard let text = node.scalar?.string, let value = Int(text) else { throw error(node, "expected a whole number") }
        guard range.contains(value) else { throw error(node, "must be between \(range.lowerBound) and \(range.upperBound)") }
        return value
    }

    /// An octal permission string such as "0660"; never world-writable.
    package func fileMode(_ node: Node) throws(ConfigError) -> mode_t {
        let text = try string(node)
        guard let mode = mode_t(text, radix: 8), mode <= 0o777 else { throw error(node, "expected an octal mode such as 0660") }
        guard mode & 0o002 == 0 else { throw error(node, "the socket must not be world-writable") }
        return mode
    }

    package func url(_ node: Node) throws(ConfigError) -> String {
        let value = try string(node)
        guard value.hasPrefix("http://") || value.hasPrefix("https://") else { throw error(node, "expected an http(s) URL") }
        return value
    }

    package init(file: String) {
        self.file = file
    }
}
