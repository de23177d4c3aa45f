import Foundation
import Glibc
import Synchronization

/// A tiny HTTP/1.1 server on 127.0.0.1 for in-process tests: each connection gets one canned
/// answer, written step by step (so streams can pause, stop early, or lie about their length),
/// then the connection is closed. Stopped (and its port freed) by `stop()`.
final class TestHTTPServer: @unchecked Sendable {
    /// One thing the server does on a connection, in order.
    enum Step: Sendable {
        case write(String)
        case pause(milliseconds: Int)
    }

    struct Received: Sendable {
        var method: String
        var path: String
        var headers: [String: String]
        var body: [UInt8]
    }

    let port: Int
    var baseURL: String { "http://127.0.0.1:\(port)" }
    private let listener: Int32
    private let respond: @Sendable (Received) -> [Step]
    private let log = Mutex<[Received]>([])
    private let acceptLoopDone = DispatchSemaphore(value: 0)

    init(_ respond: @escaping @Sendable (Received) -> [Step]) throws {
        self.respond = respond
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                bind(listener, generic, length) == 0 && listen(listener, 16) == 0 && getsockname(listener, generic, &length) == 0
            }
        }
        guard bound else {
            close(listener)
            throw POSIXError(.EADDRINUSE)
        }
        self.listener = listener
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    /// Every request received so far, oldest first.
    var requests: [Received] { log.withLock { $0 } }

    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        acceptLoopDone.wait()
    }

    private func acceptLoop() {
        defer { acceptLoopDone.signal() }
        while true {
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { return }
            Thread.detachNewThread { [self] in serve(connection) }
        }
    }

    private func serve(_ connection: Int32) {
        defer { close(connection) }
        guard let request = Self.read(connection) else { return }
        log.withLock { $0.append(request) }
        for step in respond(request) {
            switch step {
            case let .write(text):
                let bytes = Array(text.utf8)
                let sent = bytes.withUnsafeBytes { Glibc.send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if sent < 0 { return }
            case let .pause(milliseconds):
                usleep(UInt32(milliseconds) * 1000)
            }
        }
    }

    /// Reads one request: headers, then `Content-Length` bytes of body.
    private static func read(_ connection: Int32) -> Received? {
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var headerEnd: Int?
        var contentLength = 0
        while true {
            if let end = headerEnd, data.count >= end + contentLength { break }
            let count = recv(connection, &buffer, buffer.count, 0)
            guard count > 0 else { return nil }
            data += buffer[0..<count]
            if headerEnd == nil, let range = data.firstRange(of: Array("\r\n\r\n".utf8)) {
                headerEnd = range.upperBound
                let head = String(decoding: data[..<range.lowerBound], as: UTF8.self)
                for line in head.split(separator: "\r\n").dropFirst() where line.lowercased().hasPrefix("content-length:") {
                    contentLength = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) ?? 0
                }
            }
        }
        guard let end = headerEnd else { return nil }
        let lines = String(decoding: data[..<(end - 4)], as: UTF8.self).split(separator: "\r\n")
        let requestLine = lines.first?.split(separator: " ") ?? []
        guard requestLine.count >= 2 else { return nil }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return Received(method: String(requestLine[0]), path: String(requestLine[1]), headers: headers,
                        body: Array(data[end..<(end + contentLength)]))
    }
}

extension [TestHTTPServer.Step] {
    /// A whole response with a body and its length.
    static func response(status: Int, json: String, extraHeaders: String = "") -> Self {
        [.write("HTTP/1.1 \(status) X\r\nContent-Type: application/json\r\nContent-Length: \(json.utf8.count)\r\n"
                + "Connection: close\r\n\(extraHeaders)\r\n\(json)")]
    }

}

extension TestHTTPServer.Step {
    /// The head of an SSE stream that ends when the connection closes.
    static let streamHead = Self.write("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n")

    static func event(_ json: String) -> Self { .write("data: \(json)\n\n") }
}
