/// Request ids: nginx's `$request_id` (32 hex) when present, else our own.
public enum RequestID {
    public static func generate() -> String { Hex.encode(Digest.randomBytes(16)) }

    public static func isValid(_ id: String) -> Bool {
        (8...64).contains(id.utf8.count) && id.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) || $0 == 0x2D }
    }
}
