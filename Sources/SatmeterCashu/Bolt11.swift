import SatmeterSupport

/// Just enough of BOLT-11 to show a client its invoice's payment hash: the bech32 data words,
/// the tagged field `p`. The checksum is not verified (the invoice came from our own mint).
package enum Bolt11 {
    private static let charset = Array("qpzry9x8gf2tvdw0s3jn54khce6mua7l".utf8)

    package static func paymentHash(_ invoice: String) -> String? {
        let text = Array(invoice.lowercased().utf8)
        guard let separator = text.lastIndex(of: UInt8(ascii: "1")), text.count - separator > 7 + 104 + 6 else { return nil }
        var words: [UInt8] = []
        for c in text[(separator + 1)..<(text.count - 6)] {
            guard let value = charset.firstIndex(of: c) else { return nil }
            words.append(UInt8(value))
        }
        // Timestamp (7 words), tagged fields, signature (104 words).
        var i = 7
        let end = words.count - 104
        while i + 3 <= end {
            let type = words[i], length = Int(words[i + 1]) * 32 + Int(words[i + 2])
            i += 3
            guard i + length <= end else { return nil }
            if type == 1, length == 52 { return Hex.encode(bytes(from: words[i..<(i + length)]).prefix(32)) }
            i += length
        }
        return nil
    }

    /// 5-bit words to bytes, dropping the incomplete last byte.
    private static func bytes(from words: ArraySlice<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        var accumulator = 0, bits = 0
        for word in words {
            accumulator = ((accumulator << 5) | Int(word)) & 0xFFF  // at most 12 bits are ever pending
            bits += 5
            if bits >= 8 {
                bits -= 8
                out.append(UInt8((accumulator >> bits) & 0xFF))
            }
        }
        return out
    }
}
