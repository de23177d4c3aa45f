import SatmeterCashu

/// What a provider bills for one image part, as an upper bound, by model family and `detail`
/// (OpenAI's published formulas):
/// - tile models (gpt-4o, gpt-4.1, gpt-5, o1, o3, gpt-4o-mini, …): `low` is the base; otherwise
///   the image is scaled to fit 2048×2048, then its short side to 768, and each 512 px tile costs
///   `perTile` on top of the base. An image of unknown size costs the most any size can: 8 tiles.
/// - patch models (gpt-4.1-mini/nano, gpt-5-mini/nano, o4-mini): 32 px patches, at most 1536,
///   times the family's multiplier; `detail` does not change it.
/// Families not listed are billed with gpt-4o's tile formula.
enum ImageTokens {
    enum Family: Equatable {
        case tiles(base: Int, perTile: Int)
        /// Tokens per patch as a fraction (multiplier = numerator / 100).
        case patches(multiplierPercent: Int)
    }

    static let maxPatches = 1536
    static let maxTiles = 8

    static func family(model: String) -> Family {
        let name = (model.split(separator: "/").last.map(String.init) ?? model).lowercased()
        if name.hasPrefix("gpt-4.1-nano") || name.hasPrefix("gpt-5-nano") { return .patches(multiplierPercent: 246) }
        if name.hasPrefix("o4-mini") { return .patches(multiplierPercent: 172) }
        if name.hasPrefix("gpt-4.1-mini") || name.hasPrefix("gpt-5-mini") { return .patches(multiplierPercent: 162) }
        if name.hasPrefix("gpt-4o-mini") { return .tiles(base: 2833, perTile: 5667) }
        if name.hasPrefix("o1") || name.hasPrefix("o3") { return .tiles(base: 75, perTile: 150) }
        return .tiles(base: 85, perTile: 170)
    }

    /// Tokens for one image; `size` nil when it cannot be read from the request (a URL).
    static func tokens(model: String, detail: String?, size: (width: Int, height: Int)?) -> Int {
        switch family(model: model) {
        case let .tiles(base, perTile):
            if detail == "low" { return base }
            return base + perTile * (size.map { tiles(width: $0.width, height: $0.height) } ?? maxTiles)
        case let .patches(percent):
            let patches = size.map { min(maxPatches, ceilDiv($0.width, 32) * ceilDiv($0.height, 32)) } ?? maxPatches
            return ceilDiv(patches * percent, 100)
        }
    }

    /// 512 px tiles after fitting into 2048×2048 and scaling the short side down to 768.
    static func tiles(width: Int, height: Int) -> Int {
        guard width > 0, height > 0 else { return maxTiles }
        var w = Double(width), h = Double(height)
        let fit = min(1, 2048 / max(w, h))
        w *= fit
        h *= fit
        let shortSide = min(w, h)
        if shortSide > 768 {
            w *= 768 / shortSide
            h *= 768 / shortSide
        }
        return min(maxTiles, Int((w / 512).rounded(.up)) * Int((h / 512).rounded(.up)))
    }

    private static func ceilDiv(_ a: Int, _ b: Int) -> Int { (a + b - 1) / b }
}

/// Width and height from the first bytes of a PNG, GIF or JPEG (nil for anything else, so the
/// caller assumes the largest).
enum ImageSize {
    static func of(dataURL: String) -> (width: Int, height: Int)? {
        guard dataURL.hasPrefix("data:"), let comma = dataURL.firstIndex(of: ","),
              dataURL[..<comma].hasSuffix(";base64") else { return nil }
        // Enough of the file for the headers; a whole number of base64 quanta.
        let encoded = dataURL[dataURL.index(after: comma)...].prefix(87_380)
        let usable = encoded.prefix(encoded.count - encoded.count % 4)
        guard let bytes = Base64URL.decode(usable) else { return nil }
        return of(bytes: bytes)
    }

    static func of(bytes b: [UInt8]) -> (width: Int, height: Int)? {
        func be16(_ i: Int) -> Int { Int(b[i]) << 8 | Int(b[i + 1]) }
        func be32(_ i: Int) -> Int { be16(i) << 16 | be16(i + 2) }
        if b.count >= 24, b.starts(with: [0x89, 0x50, 0x4E, 0x47]) {
            return positive(be32(16), be32(20))
        }
        if b.count >= 10, b.starts(with: Array("GIF8".utf8)) {
            return positive(Int(b[6]) | Int(b[7]) << 8, Int(b[8]) | Int(b[9]) << 8)
        }
        if b.count >= 4, b[0] == 0xFF, b[1] == 0xD8 {
            var i = 2
            while i + 9 < b.count {
                guard b[i] == 0xFF else { return nil }
                let marker = b[i + 1]
                if (0xC0...0xCF).contains(marker), marker != 0xC4, marker != 0xC8, marker != 0xCC {
                    return positive(be16(i + 7), be16(i + 5))
                }
                i += 2 + be16(i + 2)
            }
        }
        return nil
    }

    private static func positive(_ w: Int, _ h: Int) -> (width: Int, height: Int)? {
        w > 0 && h > 0 ? (w, h) : nil
    }
}
