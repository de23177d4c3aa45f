/// LUD-01: an LNURL is a URL written in bech32 with the human-readable part `lnurl`. Unlike an
/// address, it has no 90-character limit (a URL is longer), so this is its own small decoder.
enum LNURL {
    private static let charset = Array("qpzry9x8gf2tvdw0s3jn54khce6mua7l".utf8)
    private static let longest = 2048

    /// The URL inside `lnurl1…` (all lower or all upper case), or nil if the text is not a valid
    /// bech32 string with that prefix (a wrong checksum included) or does not hold UTF-8.
    static func decode(_ text: String) -> String? {
        let bytes = Array(text.utf8)
        guard bytes.count <= longest, bytes.allSatisfy({ (0x21...0x7E).contains($0) }) else { return nil }
        let isLower = bytes.contains { (0x61...0x7A).contains($0) }, isUpper = bytes.contains { (0x41...0x5A).contains($0) }
        guard !(isLower && isUpper) else { return nil }
        let lower = bytes.map { (0x41...0x5A).contains($0) ? $0 + 0x20 : $0 }
        guard let separator = lower.lastIndex(of: UInt8(ascii: "1")), Array(lower[..<separator]) == Array("lnurl".utf8) else { return nil }
        var values: [UInt8] = []
        for c in lower[(separator + 1)...] {
            guard let value = charset.firstIndex(of: c) else { return nil }
            values.append(UInt8(value))
        }
        guard values.count >= 6, checksum(hrp: Array("lnurl".utf8), values) == 1 else { return nil }
        guard let data = regroup(values.dropLast(6)) else { return nil }
        return String(validating: data, as: UTF8.self)
    }

    /// BIP-173's checksum over the expanded human-readable part and the data (1 when valid).
    private static func checksum(hrp: [UInt8], _ values: [UInt8]) -> UInt32 {
        let generator: [UInt32] = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3]
        var check: UInt32 = 1
        for value in hrp.map({ $0 >> 5 }) + [0] + hrp.map({ $0 & 31 }) + values {
            let top = check >> 25
            check = (check & 0x1ffffff) << 5 ^ UInt32(value)
            for i in 0..<5 where (top >> i) & 1 == 1 { check ^= generator[i] }
        }
        return check
    }

    /// 5-bit groups to bytes; the padding left over must be fewer than 5 zero bits.
    private static func regroup(_ values: ArraySlice<UInt8>) -> [UInt8]? {
        var accumulator: UInt32 = 0, bits = 0
        var bytes: [UInt8] = []
        for value in values {
            accumulator = (accumulator << 5 | UInt32(value)) & 0xfff
            bits += 5
            if bits >= 8 {
                bits -= 8
                bytes.append(UInt8((accumulator >> UInt32(bits)) & 0xff))
            }
        }
        guard bits < 5, accumulator & ((1 << UInt32(bits)) - 1) == 0 else { return nil }
        return bytes
    }
}
