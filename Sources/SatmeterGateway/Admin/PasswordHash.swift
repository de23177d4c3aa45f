import COpenSSL
import Synchronization
import SatmeterSupport

/// The admin password, stored as a salted scrypt hash: `scrypt$<log2 N>$<r>$<p>$<salt hex>$<hash hex>`.
/// Verification compares in constant time. One hash at a time per process: each takes 32 MiB
/// and about a tenth of a second, and a burst of logins must not exhaust memory.
public enum PasswordHash {
    public static let defaultLogN = 15
    static let r = 8, p = 1, keyLength = 32
    private static let gate = Mutex(())

    public static func make(_ password: String, logN: Int = defaultLogN) -> String {
        let salt = Digest.randomBytes(16)
        let key = derive(Array(password.utf8), salt: salt, logN: logN, r: r, p: p) ?? []
        return "scrypt$\(logN)$\(r)$\(p)$\(Hex.encode(salt))$\(Hex.encode(key))"
    }

    public static func verify(_ password: String, against stored: String) -> Bool {
        let parts = stored.split(separator: "$").map(String.init)
        guard parts.count == 6, parts[0] == "scrypt", let logN = Int(parts[1]), (10...20).contains(logN),
              let r = Int(parts[2]), (1...32).contains(r), let p = Int(parts[3]), (1...16).contains(p),
              let salt = Hex.decode(parts[4]), let expected = Hex.decode(parts[5]), expected.count == keyLength,
              let key = derive(Array(password.utf8), salt: salt, logN: logN, r: r, p: p)
        else { return false }
        return Digest.constantTimeEqual(key, expected)
    }

    private static func derive(_ password: [UInt8], salt: [UInt8], logN: Int, r: Int, p: Int) -> [UInt8]? {
        var key = [UInt8](repeating: 0, count: keyLength)
        let maxMemory = UInt64(128 * r * p) << UInt64(logN) + (32 << 20)
        let ok = gate.withLock { _ in
            password.withUnsafeBufferPointer { pw in
                salt.withUnsafeBufferPointer { s in
                    EVP_PBE_scrypt(pw.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) }, pw.count,
                                   s.baseAddress, s.count, UInt64(1) << UInt64(logN), UInt64(r), UInt64(p), maxMemory, &key, keyLength)
                }
            }
        }
        return ok == 1 ? key : nil
    }
}
