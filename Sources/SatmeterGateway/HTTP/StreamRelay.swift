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
    /// Chat-style `data:` chunks ending in `[DONE]`, or the Responses API's typed events.
    private let flavor: StreamFlavor
    /// Messages streams report usage as they go; it becomes `usage` at `message_stop`.
    private var runningUsage: UpstreamUsage?

    init(handler: GatewayHandler, exchange: Exchange, settler: Settler, clientWantsUsage: Bool, flavor: StreamFlavor = .chat) {
        self.handler = handler
        self.exchange = exchange
        self.settler = settler
        self.clientWantsUsage = clientWantsUsage
        self.flavor = flavor
    }

    /// Relays one upstream's stream. With `canRetry`, a failure before anything reached the client
    /// (unreachable, timeout, 5xx, 429) is returned untouched (nothing sent, nothing settled) so
    /// the caller can try the next provider; otherwise the outcome is final.
    @discardableResult
    func run(_ request: HTTPRequest, idleTimeout: Double, connectTimeout: Double = 5, canRetry: Bool = false) -> StreamOutcome {
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
            _ = try handler.curl.perform(request, limits: .init(connectTimeout: connectTimeout, idleTimeout: idleTimeout), sink: sink)
        } catch {
            failure = error
        }
        if canRetry, !streaming, failure != .aborted, failure != nil || ProviderRouter.isRetryable(status: upstreamStatus) {
            return .retryable(status: failure == nil ? upstreamStatus : nil, failure: failure.map { "\($0)" })
        }
        finish(failure: failure)
        return .final(status: upstreamStatus)
    }

    /// Passes one event on; false when the client is gone.
    private func relay(_ event: [UInt8]) -> Bool {
        if flavor == .responses, let data = SSEEventSplitter.data(of: event) {
            noteResponsesEvent(data)
        } else if flavor == .messages, let data = SSEEventSplitter.data(of: event) {
            noteMessagesEvent(data)
        } else if let data = SSEEventSplitter.data(of: event) {
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
        let headers = settler.settle(usage: usage ?? settler.estimate(outputTextBytes: outputTextBytes), estimated: usage == nil)
        var summary: JSON = [:]
        for (name, value) in headers where name != "X-Cashu" {
            let key = name.lowercased().replacingPrefix("x-satmeter-", with: "").map { $0 == "-" ? "_" : $0 }
            summary.set(String(key), Int64(value).map { .int($0) } ?? .string(value))
        }
        io.write(": satmeter " + summary.serialized + "\n\n")
        // Responses streams end with `response.completed`, never `[DONE]`.
        if flavor == .chat { io.write("data: [DONE]\n\n") }
        writeChange()
        io.flush()
    }

    /// Responses API events: usage arrives in `response.completed` (or `response.incomplete`),
    /// text in `response.output_text.delta`; they are all relayed as they are.
    private func noteResponsesEvent(_ data: String) {
        guard let json = try? JSON.parse(data), let type = json["type"]?.stringValue else { return }
        switch type {
        case "response.completed", "response.incomplete":
            sawDone = true
            if let reported = UpstreamUsage(json: json["response"]?["usage"]) { usage = reported }
        case "response.output_text.delta":
            outputTextBytes += json["delta"]?.stringValue?.utf8.count ?? 0
        default:
            break
        }
    }

    /// Anthropic Messages events: input tokens in `message_start`, the running output count in
    /// `message_delta`, the end in `message_stop`.
    private func noteMessagesEvent(_ data: String) {
        guard let json = try? JSON.parse(data), let type = json["type"]?.stringValue else { return }
        switch type {
        case "message_start":
            if let reported = UpstreamUsage(json: json["message"]?["usage"]) { runningUsage = reported }
        case "message_delta":
            if let output = json["usage"]?["output_tokens"]?.int64Value, output >= 0, output < Int64(Int32.max) {
                runningUsage = UpstreamUsage(promptTokens: runningUsage?.promptTokens ?? 0, completionTokens: Int(output))
            }
        case "content_block_delta":
            outputTextBytes += json["delta"]?["text"]?.stringValue?.utf8.count ?? 0
        case "message_stop":
            // Counted only now: a stream cut before its end is charged nothing.
            sawDone = true
            usage = runningUsage
        default:
            break
        }
    }

    private func writeChange() {
        guard let change = settler.change else { return }
        let event: JSON = ["token": .string(change.token), "amount": .int(Int64(change.amountSat)), "unit": "sat", "mint": .string(change.mint)]
        exchange.io.write("event: cashu-change\ndata: " + event.serialized + "\n\n")
    }
}

extension String {
    func replacingPrefix(_ prefix: String, with replacement: String) -> String {
        hasPrefix(prefix) ? replacement + dropFirst(prefix.count) : self
    }
}

enum StreamFlavor: Equatable {
    case chat
    case responses
    /// Anthropic's Messages API.
    case messages
}

enum StreamOutcome {
    /// Nothing reached the client; another provider may be tried.
    case retryable(status: Int?, failure: String?)
    /// Relayed, settled or refused: the request is over.
    case final(status: Int)
}
