/// An exact id ("gpt-4o") or a glob where `*` stands for any run of characters ("ft:gpt-4o:*").
public struct ModelPattern: Sendable, Hashable, CustomStringConvertible {
    public let text: String
    private let scalars: [Unicode.Scalar]

    public init(_ text: String) {
        self.text = text
        scalars = Array(text.unicodeScalars)
    }

    public var description: String { text }
    public var isExact: Bool { !scalars.contains("*") }

    /// Characters other than `*`: the more a pattern spells out, the more specific it is.
    public var literalCount: Int { scalars.count { $0 != "*" } }

    public func matches(_ candidate: String) -> Bool {
        if isExact { return candidate == text }
        let input = Array(candidate.unicodeScalars)
        // Greedy glob with one backtrack point: linear in practice, no recursion.
        var p = 0, s = 0
        var star: Int?
        var starInput = 0
        while s < input.count {
            if p < scalars.count, scalars[p] == "*" {
                star = p
                starInput = s
                p += 1
            } else if p < scalars.count, scalars[p] == input[s] {
                p += 1
                s += 1
            } else if let starAt = star {
                p = starAt + 1
                starInput += 1
                s = starInput
            } else {
                return false
            }
        }
        while p < scalars.count, scalars[p] == "*" { p += 1 }
        return p == scalars.count
    }
}

/// A map from model patterns to values. Lookup: an exact id first; else the matching pattern that
/// spells out the most characters; ties go to the one written first.
public struct PatternMap<Value: Sendable>: Sendable {
    public struct Entry: Sendable {
        public let pattern: ModelPattern
        public var value: Value
        /// Where it was written (0 when not from a file).
        public let line: Int
        /// "ft:gpt-4o:* (line 12)", or the pattern alone when not from a file: written once here,
        /// not on every request that names the entry as its price's source.
        public let located: String

        init(pattern: ModelPattern, value: Value, line: Int) {
            self.pattern = pattern
            self.value = value
            self.line = line
            located = line > 0 ? "\(pattern) (line \(line))" : pattern.text
        }
    }

    public private(set) var entries: [Entry] = []
    private var exact: [String: Int] = [:]

    public init() {}

    public var isEmpty: Bool { entries.isEmpty }
    public var count: Int { entries.count }

    /// Adds an entry, or replaces the one with the same pattern text.
    public mutating func set(_ pattern: String, _ value: Value, line: Int = 0) {
        if let index = entries.firstIndex(where: { $0.pattern.text == pattern }) {
            entries[index] = Entry(pattern: ModelPattern(pattern), value: value, line: line)
            return
        }
        entries.append(Entry(pattern: ModelPattern(pattern), value: value, line: line))
        if entries[entries.count - 1].pattern.isExact { exact[pattern] = entries.count - 1 }
    }

    public subscript(pattern: String) -> Value? {
        entries.first { $0.pattern.text == pattern }?.value
    }

    public func lookup(_ model: String) -> Entry? {
        if let index = exact[model] { return entries[index] }
        var best: Entry?
        for entry in entries where !entry.pattern.isExact && entry.pattern.matches(model) {
            if best == nil || entry.pattern.literalCount > best!.pattern.literalCount { best = entry }
        }
        return best
    }

    /// Exact ids, in the order written (for listings).
    public var exactKeys: [String] { entries.filter { $0.pattern.isExact }.map(\.pattern.text) }
}
