/// A response head's lines, read as bytes in curl's header callback (no String until the parts
/// are known).
enum HeaderLine {
    /// The status of "HTTP/1.1 200 OK\r\n": the second blank-separated word as a number, 0 when
    /// there is none (as `Int("…") ?? 0` on the split text).
    static func status(_ line: UnsafeRawBufferPointer) -> Int {
        let text = trimmed(line[...], " \r\n")
        guard let firstSpace = text.firstIndex(of: UInt8(ascii: " ")) else { return 0 }
        var start = firstSpace
        while start < text.endIndex, text[start] == UInt8(ascii: " ") { start += 1 }
        var end = start
        while end < text.endIndex, text[end] != UInt8(ascii: " ") { end += 1 }
        return Int(String(decoding: text[start..<end], as: UTF8.self)) ?? 0
    }

    /// The bytes without leading and trailing ones from `characters` (ASCII only).
    static func trimmed(_ bytes: Slice<UnsafeRawBufferPointer>, _ characters: StaticString) -> Slice<UnsafeRawBufferPointer> {
        characters.withUTF8Buffer { set in
            var start = bytes.startIndex
            var end = bytes.endIndex
            while start < end, set.contains(bytes[start]) { start += 1 }
            while start < end, set.contains(bytes[end - 1]) { end -= 1 }
            return bytes[start..<end]
        }
    }
}
