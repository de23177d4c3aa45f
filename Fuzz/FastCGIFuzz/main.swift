import FuzzSupport
import Glibc
import SatmeterGateway

// CGI parameters as libfcgi hands them over (`NAME=value`, NUL-separated here), header names and
// values, and listen addresses.
// Properties: split loses nothing and cuts at the first `=`; a cleaned header value holds no CR, LF
// or NUL; a CGI name has no `-`; a listen address parses back from its own description; the byte-built
// response head and ASCII header names match the String-built ones.
Fuzzer.run { bytes in
    let entries = bytes.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
    let copies = entries.map { strdup($0) }
    defer { copies.forEach { free($0) } }
    var envp = copies + [nil]
    let params = envp.withUnsafeMutableBufferPointer { FastCGIParams.parse($0.baseAddress) }
    Fuzzer.require(params.count <= entries.count, "more parameters than entries")

    for entry in entries {
        let (name, value) = FastCGIParams.split(entry)
        if let equals = entry.utf8.firstIndex(of: UInt8(ascii: "=")) {
            Fuzzer.require(name.utf8.elementsEqual(entry.utf8[..<equals]), "name of \(entry.debugDescription) is \(name.debugDescription)")
            Fuzzer.require(value.utf8.elementsEqual(entry.utf8[entry.utf8.index(after: equals)...]), "value of \(entry.debugDescription) is \(value.debugDescription)")
        } else {
            Fuzzer.require(name == entry && value.isEmpty, "split \(entry.debugDescription) without '='")
        }
        let clean = FastCGIParams.headerValue(value)
        Fuzzer.require(!clean.unicodeScalars.contains { $0 == "\r" || $0 == "\n" || $0 == "\0" }, "header value \(clean.debugDescription)")
        Fuzzer.require(!FastCGIParams.cgiName(forHeader: name).contains("-"), "CGI name for \(name.debugDescription)")
        // The byte-built response head is the String-built one.
        let head = FastCGIParams.responseHead(status: 200, headers: [(name, value)])
        Fuzzer.require(head.elementsEqual("Status: 200 OK\r\n\(name): \(clean)\r\n\r\n".utf8), "response head for \(entry.debugDescription)")
        // The byte path for ASCII header names agrees with split + lower-casing.
        if let fast = entry.withCString({ FastCGIParams.asciiHeader($0) }) {
            Fuzzer.require(fast.0 == String(name.lowercased().map { $0 == "_" ? "-" : $0 }) && fast.1 == value,
                           "header entry \(entry.debugDescription)")
        }
        if let address = FastCGIListenAddress.parse(entry) {
            Fuzzer.require(FastCGIListenAddress.parse(address.description) == address, "\(entry.debugDescription) → \(address)")
            if case let .tcp(host, port) = address { Fuzzer.require(!host.isEmpty && host != "*" && (1...65535).contains(port), "\(address)") }
        }
    }
}
