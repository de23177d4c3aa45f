import Glibc
import SatmeterCashu
import SatmeterSupport

/// A mint on a loopback port, enough for the request path to get past "which keysets do you
/// have": it lists one sat keyset (keys for 2^0…2^63 from fixed private keys, so its id is real)
/// and refuses every swap, state check and restore, as a mint does for proofs it never signed.
enum FakeMint {
    nonisolated(unsafe) static var answers: [String: String] = [:]
    nonisolated(unsafe) static var keysetID = ""

    /// Starts the server thread; returns the mint's URL.
    static func start() -> String {
        var keys: [UInt64: PublicKey] = [:]
        for bit in 0..<64 {
            var secret = [UInt8](repeating: 0, count: 32)
            secret[31] = UInt8(bit + 1)
            keys[UInt64(1) << UInt64(bit)] = (try! Scalar(bytes: secret)).publicKey
        }
        keysetID = KeysetID.v1(keys: keys)
        let keyList = keys.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\"\($0.value.hex)\"" }.joined(separator: ",")
        answers["/v1/keysets"] = #"{"keysets":[{"id":"\#(keysetID)","unit":"sat","active":true,"input_fee_ppk":0}]}"#
        answers["/v1/keys"] = #"{"keysets":[{"id":"\#(keysetID)","unit":"sat","active":true,"keys":{\#(keyList)}}]}"#
        answers["/v1/keys/\(keysetID)"] = answers["/v1/keys"]

        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &addr) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                precondition(bind(fd, raw, length) == 0 && listen(fd, 64) == 0 && getsockname(fd, raw, &length) == 0, "fake mint: bind")
            }
        }
        let port = UInt16(bigEndian: addr.sin_port)
        var thread = pthread_t()
        let argument = UnsafeMutableRawPointer(bitPattern: Int(fd) + 1)
        pthread_create(&thread, nil, { argument in
            FakeMint.serve(listener: Int32(Int(bitPattern: argument) - 1))
            return nil
        }, argument)
        return "http://127.0.0.1:\(port)"
    }

    static func serve(listener: Int32) {
        while true {
            let client = accept(listener, nil, nil)
            guard client >= 0 else { continue }
            var request: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 65_536)
            // The head, then as much body as Content-Length says.
            while true {
                let n = read(client, &chunk, chunk.count)
                if n <= 0 { break }
                request += chunk[0..<n]
                guard let end = request.firstRange(of: Array("\r\n\r\n".utf8)) else { continue }
                let head = String(decoding: request[..<end.lowerBound], as: UTF8.self).lowercased()
                let declared = head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                    .flatMap { Int($0.dropFirst(15).trimmingCharacters(in: [" "])) } ?? 0
                if request.count - end.upperBound >= declared { break }
            }
            let line = String(decoding: request.prefix { $0 != 0x0D }, as: UTF8.self).split(separator: " ")
            let path = line.count > 1 ? String(line[1]) : "/"
            let (status, body) = answers[path].map { (200, $0) }
                ?? (400, #"{"detail":"proofs could not be verified","code":10001}"#)
            let response = "HTTP/1.1 \(status) X\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
            _ = Array(response.utf8).withUnsafeBytes { write(client, $0.baseAddress, $0.count) }
            close(client)
        }
    }

    /// `TOKEN(a,b,…)` in the input becomes a cashuB token on this mint's keyset with proofs of
    /// those amounts (secrets and signatures made up), so the fuzzer can vary the numbers.
    static func expandTokens(_ bytes: [UInt8], mint: String) -> [UInt8] {
        var out: [UInt8] = []
        var rest = bytes[...]
        while let start = rest.firstRange(of: Array("TOKEN(".utf8)) {
            out += rest[..<start.lowerBound]
            let after = rest[start.upperBound...]
            guard let close = after.firstIndex(of: UInt8(ascii: ")")) else {
                rest = after
                break
            }
            let amounts = String(decoding: after[..<close], as: UTF8.self).split(separator: ",").compactMap { UInt64($0) }.filter { $0 > 0 }
            let proofs = amounts.prefix(2_000).enumerated().compactMap { i, amount in
                try? Proof(amount: amount, keysetID: keysetID, secret: "fuzz-\(i)", C: "02" + String(repeating: "ab", count: 32))
            }
            out += Array(Token(mint: mint, unit: "sat", proofs: proofs).serialized().utf8)
            rest = after[after.index(after: close)...]
        }
        return out + rest
    }
}
