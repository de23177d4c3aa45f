/// Trimming by UTF-8 byte for the hot paths (headers, SSE lines): no `CharacterSet` (Foundation's
/// `trimmingCharacters` builds one per call, and showed up as a few percent of a paid request).
/// Safe by byte: an ASCII byte is never part of a multi-byte scalar, so the cut is always on a
/// scalar boundary; "\r\n" is trimmed byte by byte, unlike a Character-based trim.
extension Substring {
    /// The text without leading and trailing bytes from `characters` (ASCII only).
    public func trimmingASCII(_ characters: StaticString = " \t") -> String {
        let utf8 = self.utf8
        var start = utf8.startIndex
        var end = utf8.endIndex
        while start < end, Self.contains(characters, utf8[start]) { start = utf8.index(after: start) }
        while start < end {
            let last = utf8.index(before: end)
            guard Self.contains(characters, utf8[last]) else { break }
            end = last
        }
        return String(self[start..<end])
    }

    private static func contains(_ set: StaticString, _ byte: UInt8) -> Bool {
        set.withUTF8Buffer { $0.contains(byte) }
    }
}

extension String {
    /// The text without leading and trailing bytes from `characters` (ASCII only).
    public func trimmingASCII(_ characters: StaticString = " \t") -> String {
        self[...].trimmingASCII(characters)
    }
}

extension String.UTF8View {
    /// True when `needle` (ASCII) occurs in the text, compared byte by byte: Foundation's
    /// `contains` goes through `NSString.range(of:)` and showed in the request path's profile.
    /// Byte-wise is exact for an ASCII needle: its bytes never occur inside a multi-byte scalar.
    public func containsASCII(_ needle: StaticString) -> Bool {
        needle.withUTF8Buffer { pattern in
            guard !pattern.isEmpty else { return true }
            var start = startIndex
            while start != endIndex {
                var candidate = start
                var matched = 0
                while matched < pattern.count, candidate != endIndex, self[candidate] == pattern[matched] {
                    formIndex(after: &candidate)
                    matched += 1
                }
                if matched == pattern.count { return true }
                formIndex(after: &start)
            }
            return false
        }
    }
}
