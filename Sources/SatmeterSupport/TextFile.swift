import Glibc

/// Whole small text files (config, /proc entries), read with stdio; nil when unreadable or not UTF-8.
public enum TextFile {
    public static func read(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&chunk, 1, chunk.count, file)
            if n <= 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return String(validating: bytes, as: UTF8.self)
    }
}
