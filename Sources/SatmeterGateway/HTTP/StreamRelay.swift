import SatmeterSupport
import SatmeterUpstream

/// Relays an upstream SSE stream to the client event by event, flushing each one through nginx
/// as it arrives, while watching for the `usage` chunk that prices the request.
///
/// The upstream's `data: [DONE]` is held back until the request is settled, so a client that
/// has seen the end of its stream also sees its final balance. Before it, a comment line
/// `: satmeter {"cost_msat":…,"balance_msat":…}` carries the cost (SSE clients ignore comments).
///
/// A stream paid with `X-Cashu` gets its change after `[DONE]`, as one more event that SDKs never
/// parse (they stop at `[DONE]`) and raw SSE clients can read:
///
///     event: cashu-change
///     data: {"token":"cashuB…","amount":12,"unit":"sat","mint":"https://…"}
///
/// If it cannot be sent (mint down), `POST /v1/wallet/refund` with the original token returns it.
final class StreamRelay {
    private let handler: GatewayHandler
    private let exchange: Exchange
    private let settler: Settler
    private let clientWantsUsage: Bool

    private var splitter = SSEEventSplitter()
    private var usage: UpstreamUsage?
    private var sawDone = false
    private var outputTextBytes = 0
    private var upstreamStatus = 0
    private var upstreamRetryAfter: String?
    private var errorBody: [UInt8] = []
    private var streaming = false

    init(handler: GatewayHandler, exchange: Exchange, settler: Settler, clientWantsUsage: Bool) {
        self.handler = handler
        self.exchange = exchange
        self.settler = settler
        self.clientWantsUsage = clientWantsUsage
    }

    func run(_ request: HTTPRequest, idleTimeout: Double) {
        let io = exchange.io
        let sink = CurlSession.Sink(
            onHead: { [self] status, headers in
                upstreamStatus = status
                upstreamRetryAfter = headers.first { $0.0.lowercased() == "retry-after" }?.1
                guard (200..<300).contains(status) else { return true }
                streaming = true
                io.writeHead(status: 200, headers: [
                    ("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache"),
                    ("X-Accel-Buffering", "no"), ("X-Request-Id", exchange.requestID),
                ])
                return io.flush()
            },
            onData: { [self] bytes in
                guard streaming else {
                    if errorBody.count < 65_536 { errorBody.append(contentsOf: bytes) }
                    return true
                }
                for event in splitter.feed(bytes) where !relay(event) { return false }
                return !splitter.isOverflowing
            },
            shouldAbort: { io.peerHasClosed() })

        var failure: HTTPFetchError?
        let started = Clock.monotonicMillis()
        defer {
            exchange.record.upstreamMillis = Clock.monotonicMillis() - started
            exchange.record.upstreamStatus = upstreamStatus
        }
        do {
            _ = try handler.curl.perform(request, limits: .init(connectTimeout: 5, idleTimeout: idleTimeout), sink: sink)
        } catch {
            failure = error
        }
        finish(failure: failure)
    }

    /// Passes one event on; false when the client is gone.
    private func relay(_ event: [UInt8]) -> Bool {
        if let data = SSEEventSplitter.data(of: event) {
            if data == "[DONE]" {
                sawDone = true
                return true
            }
            if let json = try? JSON.parse(data) {
                if let reported = UpstreamUsage(json: json["usage"]) {
                    usage = reported
                    // We asked for this chunk; a client that did not ask does not get it.
                    if !clientWantsUsage, json["choices"]?.arrayValue?.isEmpty ?? true { return true }
                }
                if let choices = json["choices"] { outputTextBytes += PromptEstimate.textBytes(choices) }
            }
        }
        return exchange.io.write(event) && exchange.io.flush()
    }

    private func finish(failure: HTTPFetchError?) {
        let io = exchange.io
        guard streaming else {
            // Nothing reached the client yet: a plain error response, and no charge.
            settler.release(because: failure.map { "upstream \($0)" } ?? "upstream status \(upstreamStatus)")
            if let failure {
                exchange.send(failure.apiError)
                return
            }
            do {
                try exchange.relayUpstreamError(status: upstreamStatus, body: errorBody, retryAfter: upstreamRetryAfter)
            } catch {
                exchange.send(error)
            }
            return
        }
        if io.clientGone || io.peerHasClosed() {
            // The client left: charge what the upstream produced for it until then.
            exchange.record.errorCode = "client_disconnected"
            settler.settle(usage: usage ?? settler.estimate(outputTextBytes: outputTextBytes), estimated: usage == nil)
            return
        }
        if usage == nil, !sawDone || failure != nil {
            // Cut off before its end: a failure, charged nothing, and said so in the stream.
            settler.release(because: "stream ended early: \(failure.map { "\($0)" } ?? "no end marker")")
            let error = APIError.upstreamFailed("the upstream stream ended early")
            exchange.record.errorCode = error.code
            io.write("data: " + Exchange.errorBody(error).serialized + "\n\n")
            writeChange()
            io.flush()
            return
        }
        if let receipt = settler.settle(usage: usage ?? settler.estimate(outputTextBytes: outputTextBytes), estimated: usage == nil) {
            io.write(receipt.sseComment)
        }
        io.write("data: [DONE]\n\n")
        writeChange()
        io.flush()
    }

    private func writeChange() {
        guard let change = settler.change else { return }
        let event: JSON = ["token": .string(change.token), "amount": .int(Int64(change.amountSat)), "unit": "sat", "mint": .string(change.mint)]
        exchange.io.write("event: cashu-change\ndata: " + event.serialized + "\n\n")
    }
}
