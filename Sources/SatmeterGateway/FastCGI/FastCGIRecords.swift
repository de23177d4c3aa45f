/// The FastCGI wire format (responder role), as far as `FastCGIReplay` writes and reads it.
public enum FastCGIRecords {
    static let typeBegin: UInt8 = 1, typeParams: UInt8 = 4, typeStdin: UInt8 = 5, typeStdout: UInt8 = 6
    static let requestID: UInt16 = 1

    /// BEGIN_REQUEST (responder, no keep-alive), the parameters, an empty PARAMS, the body as
    /// STDIN records, an empty STDIN.
    public static func request(params: [(String, String)], body: [UInt8]) -> [UInt8] {
        var out = record(typeBegin, [0, 1, 0, 0, 0, 0, 0, 0])
        var encoded: [UInt8] = []
        for (name, value) in params {
            let n = Array(name.utf8), v = Array(value.utf8)
            encoded += length(n.count) + length(v.count) + n + v
        }
        out += chunked(typeParams, encoded) + record(typeParams, [])
        out += chunked(typeStdin, body) + record(typeStdin, [])
        return out
    }

    /// The concatenated STDOUT content of a response's records (the rest is skipped).
    public static func stdout(of bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var i = 0
        while i + 8 <= bytes.count {
            let type = bytes[i + 1]
            let length = Int(bytes[i + 4]) << 8 | Int(bytes[i + 5])
            let padding = Int(bytes[i + 6])
            let start = i + 8
            guard start + length <= bytes.count else { break }
            if type == typeStdout { out += bytes[start..<(start + length)] }
            i = start + length + padding
        }
        return out
    }

    private static func chunked(_ type: UInt8, _ content: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var offset = 0
        while offset < content.count {
            let end = min(content.count, offset + 65_535)
            out += record(type, Array(content[offset..<end]))
            offset = end
        }
        return out
    }

    private static func record(_ type: UInt8, _ content: [UInt8]) -> [UInt8] {
        [1, type, UInt8(requestID >> 8), UInt8(requestID & 0xFF), UInt8(content.count >> 8), UInt8(content.count & 0xFF), 0, 0] + content
    }

    private static func length(_ n: Int) -> [UInt8] {
        n < 128 ? [UInt8(n)] : [UInt8(0x80 | (n >> 24) & 0x7F), UInt8((n >> 16) & 0xFF), UInt8((n >> 8) & 0xFF), UInt8(n & 0xFF)]
    }
}
