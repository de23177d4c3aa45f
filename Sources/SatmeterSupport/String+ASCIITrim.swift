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
