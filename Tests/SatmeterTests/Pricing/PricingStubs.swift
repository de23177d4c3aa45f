import Synchronization
@testable import SatmeterSupport

/// Answers by URL from a table; counts calls. Unknown URLs are unreachable.
final class StubFetcher: HTTPFetching, Sendable {
    private let table: Mutex<[String: Result<HTTPResponse, HTTPFetchError>]>
    private let log = Mutex<[String]>([])

    init(_ table: [String: Result<HTTPResponse, HTTPFetchError>] = [:]) {
        self.table = Mutex(table)
    }

    func set(_ url: String, _ result: Result<HTTPResponse, HTTPFetchError>) {
        table.withLock { $0[url] = result }
    }

    func set(_ url: String, body: String, status: Int = 200) {
        set(url, .success(HTTPResponse(status: status, body: Array(body.utf8))))
    }

    var calls: [String] { log.withLock { $0 } }

    func send(_ request: HTTPRequest) throws(HTTPFetchError) -> HTTPResponse {
        log.withLock { $0.append(request.url) }
        let result = table.withLock { $0[request.url] } ?? .failure(.unreachable(request.url))
        return try result.get()
    }
}

/// A clock tests move by hand.
final class TestClock: Sendable {
    private let time = Mutex<Int64>(1_700_000_000)
    func now() -> Int64 { time.withLock { $0 } }
    func advance(_ seconds: Int64) { time.withLock { $0 += seconds } }
    var function: @Sendable () -> Int64 { { [self] in now() } }
}
