import CFastCGI
import Glibc
import Synchronization

/// Runs one request through a handler in this process, as nginx would send it: the parameters and
/// body are written as FastCGI records into a socket pair and libfcgi reads them as usual, so the
/// handler sees a real `FastCGIRequest`. For the request-handler fuzzer and tests; never in `serve`.
public enum FastCGIReplay {
    /// The response as nginx would read it: `Status:` line, headers, blank line, body.
    /// nil when the socket plumbing itself failed (not the handler).
    public static func serve(params: [(String, String)], body: [UInt8], handler: any FastCGIHandler) -> [UInt8]? {
        guard let listener = listener.withLock({ fd in
            if fd == nil { fd = openListener() }
            return fd
        }) else { return nil }
        guard let client = connectClient() else { return nil }
        defer { close(client) }
        guard writeAll(client, FastCGIRecords.request(params: params, body: body)) else { return nil }
        let raw = UnsafeMutablePointer<FCGX_Request>.allocate(capacity: 1)
        defer { raw.deallocate() }
        FCGX_InitRequest(raw, listener, 0)
        // The connection is already queued, so this accepts it at once and reads its parameters.
        guard FCGX_Accept_r(raw) == 0 else {
            FCGX_Free(raw, 1)
            return nil
        }
        handler.handle(FastCGIRequest(raw: raw))
        // libfcgi closes gracefully: it waits (up to 2 s) for the peer to finish sending. The
        // handler is done, so say so now rather than being waited for.
        shutdown(client, Int32(SHUT_WR))
        FCGX_Finish_r(raw)  // flushes, ends the request, closes the server side
        return FastCGIRecords.stdout(of: readAll(client))
    }

    /// One listening socket per process, in the abstract namespace (no file to clean up).
    private static let listener = Mutex<Int32?>(nil)
    private static var address: sockaddr_un {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let name = Array("satmeter-replay-\(getpid())".utf8)
        withUnsafeMutableBytes(of: &addr.sun_path) { path in
            path[0] = 0  // abstract
            for (i, byte) in name.enumerated() where i + 1 < path.count { path[i + 1] = byte }
        }
        return addr
    }
    private static var addressLength: socklen_t {
        socklen_t(MemoryLayout<sa_family_t>.size + 1 + "satmeter-replay-\(getpid())".utf8.count)
    }

    private static func openListener() -> Int32? {
        FCGX_Init()
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var size: Int32 = 4 << 20
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        var addr = address
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, addressLength) } }
        guard bound == 0, listen(fd, 16) == 0 else {
            close(fd)
            return nil
        }
        return fd
    }

    private static func connectClient() -> Int32? {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        // Large buffers: the handler writes its whole answer before anyone reads it.
        var size: Int32 = 4 << 20
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        var addr = address
        let connected = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, addressLength) } }
        guard connected == 0 else {
            close(fd)
            return nil
        }
        return fd
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n <= 0 { return false }
            offset += n
        }
        return true
    }

    private static func readAll(_ fd: Int32) -> [UInt8] {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            out += chunk[0..<n]
        }
        return out
    }
}
