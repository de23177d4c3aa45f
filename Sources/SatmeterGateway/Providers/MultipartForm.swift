import SatmeterSupport

/// A `multipart/form-data` upload (audio transcriptions), read only as far as pricing needs: its
/// small text fields and the uploaded file's bytes. The body itself is forwarded untouched.
struct MultipartForm {
    var fields: [String: String] = [:]
    var file: ArraySlice<UInt8>?

    /// Text fields longer than this are not kept (prompts are not needed for pricing).
    static let maxFieldBytes = 4096

    /// nil when the content type is not multipart or the body has no valid part.
    init?(body: [UInt8], contentType: String) {
        guard contentType.lowercased().hasPrefix("multipart/form-data"), let boundary = Self.boundary(contentType) else { return nil }
        let delimiter = Array("--\(boundary)".utf8)
        var starts = Self.occurrences(of: delimiter, in: body)
        guard starts.count >= 2 else { return nil }
        starts.append(body.count)
        for (start, next) in zip(starts, starts.dropFirst()) {
            var partStart = start + delimiter.count
            guard partStart + 2 <= body.count, body[partStart] == 13, body[partStart + 1] == 10 else { continue }
            partStart += 2
            // The part ends before the CRLF that precedes the next delimiter.
            let partEnd = max(partStart, next >= 2 && next < body.count ? next - 2 : min(next, body.count))
            let part = body[partStart..<partEnd]
            guard let split = Self.firstIndex(of: [13, 10, 13, 10], in: part) else { continue }
            let head = String(decoding: part[part.startIndex..<split], as: UTF8.self)
            let content = part[(split + 4)...]
            guard let name = Self.parameter("name", inHeaders: head) else { continue }
            if Self.parameter("filename", inHeaders: head) != nil {
                if file == nil { file = content }
            } else if content.count <= Self.maxFieldBytes {
                fields[name] = String(decoding: content, as: UTF8.self)
            }
        }
        guard !fields.isEmpty || file != nil else { return nil }
    }

    /// The form's fields as a JSON object, so route `match` rules (`body.model`) see them.
    var json: JSON {
        var object: JSON = [:]
        for (name, value) in fields.sorted(by: { $0.key < $1.key }) { object.set(name, .string(value)) }
        return object
    }

    static func boundary(_ contentType: String) -> String? {
        for piece in contentType.split(separator: ";") {
            let trimmed = piece.trimmingSpaces
            guard trimmed.lowercased().hasPrefix("boundary=") else { continue }
            var value = String(trimmed.dropFirst(9))
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
            return value.isEmpty || value.utf8.count > 200 ? nil : value
        }
        return nil
    }

    /// `name="value"` from a part's Content-Disposition header.
    static func parameter(_ key: String, inHeaders head: String) -> String? {
        for line in head.split(whereSeparator: { $0 == "\r" || $0 == "\n" }) where line.lowercased().hasPrefix("content-disposition:") {
            for piece in line.split(separator: ";") {
                let trimmed = piece.trimmingSpaces
                guard trimmed.hasPrefix("\(key)=") else { continue }
                var value = String(trimmed.dropFirst(key.count + 1))
                if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
                return value
            }
        }
        return nil
    }

    static func occurrences(of needle: [UInt8], in haystack: [UInt8]) -> [Int] {
        var found: [Int] = []
        var index = 0
        guard let first = needle.first, !needle.isEmpty else { return [] }
        while index + needle.count <= haystack.count {
            if haystack[index] == first, haystack[index..<(index + needle.count)].elementsEqual(needle) {
                found.append(index)
                index += needle.count
            } else {
                index += 1
            }
        }
        return found
    }

    static func firstIndex(of needle: [UInt8], in haystack: ArraySlice<UInt8>) -> Int? {
        var index = haystack.startIndex
        while index + needle.count <= haystack.endIndex {
            if haystack[index..<(index + needle.count)].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }
}

/// How long an uploaded audio file plays, when its header says so (WAV); other formats: nil.
enum AudioDuration {
    /// Whole seconds, rounded up.
    static func seconds(ofWAV bytes: ArraySlice<UInt8>) -> Int? {
        let b = Array(bytes.prefix(1 << 16))
        guard b.count >= 12, b[0..<4].elementsEqual(Array("RIFF".utf8)), b[8..<12].elementsEqual(Array("WAVE".utf8)) else { return nil }
        func u32(_ at: Int) -> Int { Int(b[at]) | Int(b[at + 1]) << 8 | Int(b[at + 2]) << 16 | Int(b[at + 3]) << 24 }
        var offset = 12
        var byteRate: Int?
        while offset + 8 <= b.count {
            let id = String(decoding: b[offset..<(offset + 4)], as: UTF8.self)
            let size = u32(offset + 4)
            if id == "fmt ", offset + 20 <= b.count { byteRate = u32(offset + 16) }
            if id == "data" {
                // A streamed WAV may say 0 or 0xFFFFFFFF: then the file size is what plays.
                let dataBytes = size == 0 || size == 0xFFFF_FFFF ? bytes.count - offset - 8 : min(size, bytes.count - offset - 8)
                guard let rate = byteRate, rate > 0 else { return nil }
                return (max(0, dataBytes) + rate - 1) / rate
            }
            offset += 8 + size + (size & 1)
        }
        return nil
    }

    /// A guess for compressed uploads: 16 kB a second (128 kbit/s), rounded up.
    static func estimatedSeconds(ofCompressedBytes count: Int) -> Int { max(1, (count + 15_999) / 16_000) }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs.
    var trimmingSpaces: String {
        var scalars = Substring(self).unicodeScalars
        while let first = scalars.first, first == " " || first == "\t" { scalars.removeFirst() }
        while let last = scalars.last, last == " " || last == "\t" { scalars.removeLast() }
        return String(scalars)
    }
}
