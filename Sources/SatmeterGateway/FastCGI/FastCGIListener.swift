import CFastCGI
import Glibc

/// Where the worker pool accepts connections from nginx.
public enum FastCGIListenAddress: Sendable, Equatable, CustomStringConvertible {
    case unix(path: String)
    case tcp(host: String, port: Int)
    /// A socket opened by someone else: systemd socket activation or our own supervisor.
    case inherited(fd: Int32)

    /// `unix:/run/satmeter/fcgi.sock`, `127.0.0.1:9000`, `fd:3`, or `systemd` (fd 3 per sd_listen_fds).
    public static func parse(_ text: String) -> FastCGIListenAddress? {
        if text.hasPrefix("unix:") {
            let path = String(text.dropFirst(5))
            return path.isEmpty ? nil : .unix(path: path)
        }
        if text.hasPrefix("fd:"), let fd = Int32(text.dropFirst(3)), fd >= 0 { return .inherited(fd: fd) }
        if text == "systemd" { return .inherited(fd: 3) }
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port)
        else { return nil }
        let host = String(text[..<colon])
        // An empty host would make libfcgi bind every interface; insist on an explicit one.
        guard !host.isEmpty, host != "*" else { return nil }
        return .tcp(host: host, port: port)
    }

    public var description: String {
        switch self {
        case let .unix(path): "unix:\(path)"
        case let .tcp(host, port): "\(host):\(port)"
        case let .inherited(fd): "fd:\(fd)"
        }
    }

    /// True when systemd passed us a listening socket (`LISTEN_FDS`/`LISTEN_PID`).
    public static var systemdSocketAvailable: Bool {
        guard let fds = getenv("LISTEN_FDS").map({ String(cString: $0) }), Int(fds) ?? 0 >= 1 else { return false }
        guard let pid = getenv("LISTEN_PID").map({ String(cString: $0) }) else { return true }
        return Int32(pid) == getpid()
    }
}

public enum FastCGIListenerError: Error, Sendable, Equatable, CustomStringConvertible {
    case cannotOpen(String)

    public var description: String {
        switch self {
        case let .cannotOpen(what): "cannot listen on \(what)"
        }
    }
}

public enum FastCGIListener {
    /// Opens (or adopts) the listening socket. `FCGX_Init` must have run first.
    /// A unix socket gets `mode` (default 0660: nginx's group may connect, nobody else).
    public static func open(_ address: FastCGIListenAddress, backlog: Int32 = 1024, mode: mode_t = 0o660) throws(FastCGIListenerError) -> Int32 {
        switch address {
        case let .inherited(fd):
            return fd
        case let .unix(path):
            let fd = FCGX_OpenSocket(path, backlog)
            guard fd >= 0 else { throw .cannotOpen(address.description) }
            chmod(path, mode)
            return fd
        case .tcp:
            let fd = FCGX_OpenSocket(address.description, backlog)
            guard fd >= 0 else { throw .cannotOpen(address.description) }
            return fd
        }
    }
}
