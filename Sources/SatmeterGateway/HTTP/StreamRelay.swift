import SatmeterSupport
import SatmeterUpstream

/// Relays an upstream SSE stream to the client event by event, flushing each one through nginx
/// as it arrives, while watching for the `usage` chunk that prices the request.
///
/// The upstream's `data: [DONE]` is held back until the request is settled, so a client that
/// has seen the end of its stream also sees its final balance. Before it, a comment line
/// `: satmeter {"cost_msat":…,"balance_msat":…}` carries the cost (SSE clients ignore comments).
///
/// A stream paid with `X-Cashu` gets the change above its reservation in the `X-Cashu` response
/// header (SDKs can read headers), and the unused part of the reservation after `[DONE]`, as one
/// more event that SDKs never parse (they stop at `[DONE]`) and raw SSE clients can read:
///
///     event: cashu-change
///     data: {"token":"cashuB…","amount":12,"unit":"sat","mint":"https://…"}
///
/// `POST /v1/wallet/refund` with the original token returns that last part too (425 while the
/// stream still runs).
final class StreamRelay {
    private let handler: GatewayHandler
    private let exchange: Exchange
    private let settler: Settler
    private let clientWantsUsage: Bool

    private var splitter = SSEEventSplitter()
    private var usage: BilledUsage?
    private var sawDone = false
    /// The Responses API ends with `response.completed` (or `.incomplete`/`.failed`), not `[DONE]`.
    private var sawEndEvent = false
    /// Estimated tokens of the generated text relayed so far (`GeneratedText`), for a stream without usage.
    private var outputTokens = 0
    /// The same for the event being relayed: counted into `outputTokens` once the client took it,
    /// so a client that hangs up pays for what it was sent, not for the event that found it gone.
    private var eventTokens = 0
    /// When `upstream.stream_max_seconds` ends the stream (monotonic ms), and whether it did.
    private var deadline = Int64.max
    private var overLimit = false
    private var upstreamStatus = 0
    private var upstreamRetryAfter: String?
    private var errorBody: [UInt8] = []
    private var streaming = false
    /// An error the upstream sent inside the stream (under HTTP 200), relayed as it came.
    private var upstreamError: String?
    private var servedModel: String?
    /// A Responses stream's object has its creator recorded (from the first event naming it).
    private var responseRecorded = false
    // Idle tracking: only events with data are progress; comments (keep-alives) are not.
    private var idle = StreamIdleLimit(UpstreamConfig(), reasoningRequested: false)
    private var lastProgressAt = Clock.monotonicMillis()
    private var sawOutput = false
    private var lastWasReasoning = false
    private var silenceExpired = false
    /// OpenAI streams (chat, completions, Responses), or Anthropic's Messages events.
    private let flavor: StreamFlavor
    /// Messages streams report usage as they go; it becomes `usage` at `message_stop`.
    private var runningUsage: BilledUsage?
    private var connectTimeout: Double = 5

    init(handler: GatewayHandler, exchange: Exchange, settler: Settler, clientWantsUsage: Bool, flavor: StreamFlavor = .openAI) {
        self.handler = handler
        self.exchange = exchange
        self.settler = settler
        self.clientWantsUsage = clientWantsUsage
        self.flavor = flavor
    }

    /// Streams `request`; an upstream that rejects `stream_options` with 400 is asked once more
    /// with the client's own body (its usage is then estimated from the text). With `canRetry`, a
    /// failure before anything reached the client (unreachable, timeout, 5xx, 429) is returned
    /// untouched (nothing sent, nothing settled) so the caller can try the next provider.
    @discardableResult
    func run(_ request: HTTPRequest, retryWithoutStreamOptions fallback: HTTPRequest?, idle: StreamIdleLimit,
             connectTimeout: Double = 5, canRetry: Bool = false) -> StreamOutcome {
        self.idle = idle
        self.connectTimeout = connectTimeout
        let started = Clock.monotonicMillis()
        deadline = started + Int64(handler.services.config.upstream.streamMaxSeconds) * 1000
        defer {
            exchange.record.upstreamMillis = Clock.monotonicMillis() - started
            exchange.record.upstreamStatus = upstreamStatus
        }
        var failure = perform(request)
        if !streaming, failure == nil, upstreamStatus == 400, let fallback,
           String(decoding: errorBody, as: UTF8.self).contains("stream_options") {
            Log.info("request \(exchange.requestID): the upstream refused stream_options; retrying without it")
            errorBody = []
            upstreamStatus = 0
            failure = perform(fallback)
        }
        let effective = silenceExpired ? .timeout : failure
        if canRetry, !streaming, effective != .aborted, effective != nil || ProviderRouter.isRetryable(status: upstreamStatus) {
            return .retryable(status: effective == nil ? upstreamStatus : nil, failure: effective.map { "\($0)" })
        }
        finish(failure: failure)
        return .final(status: upstreamStatus)
    }

    private func perform(_ request: HTTPRequest) -> HTTPFetchError? {
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
                ] + exchange.responseHeaders)
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
            shouldAbort: { [self] in io.peerHasClosed() || silenceTooLong() || pastStreamLimit() })
        lastProgressAt = Clock.monotonicMillis()
        do {
            _ = try handler.curl.perform(request, limits: .init(connectTimeout: connectTimeout, idleTimeout: idle.transportSeconds), sink: sink)
        } catch {
            return error
        }
        return nil
    }

    /// True (once) when the upstream has been silent for longer than the current phase allows.
    private func silenceTooLong() -> Bool {
        let limit = idle.limit(sawOutput: sawOutput, lastWasReasoning: lastWasReasoning)
        guard Clock.monotonicMillis() - lastProgressAt > limit else { return false }
        silenceExpired = true
        return true
    }

    /// True (and remembered) once the stream has run past `upstream.stream_max_seconds`.
    private func pastStreamLimit() -> Bool {
        if Clock.monotonicMillis() > deadline { overLimit = true }
        return overLimit
    }

    /// Passes one event on; false when the client is gone.
    private func relay(_ event: [UInt8]) -> Bool {
        eventTokens = 0
        // Comments (`: keep-alive`, `: OPENROUTER PROCESSING`) are passed on but are not progress.
        if let data = SSEEventSplitter.data(of: event) {
            lastProgressAt = Clock.monotonicMillis()
            if data == "[DONE]" {
                sawDone = true
                return true
            }
            if let json = try? JSON.parse(data) {
                if flavor == .messages {
                    noteMessagesEvent(json, event: SSEEventSplitter.name(of: event))
                } else if !inspect(json, event: SSEEventSplitter.name(of: event)) {
                    return true
                } else if !clientWantsUsage, json["type"] == nil, case .object? = json["usage"] {
                    // Some upstreams (LiteLLM) put the usage on a chunk that also has choices: a
                    // client that did not ask gets the choices without it.
                    var stripped = json
                    stripped.remove("usage")
                    return deliver(Array(("data: " + stripped.serialized + "\n\n").utf8))
                }
            }
        }
        return deliver(event)
    }

    /// Writes and flushes an event; its generated text counts once the client has taken it.
    private func deliver(_ bytes: [UInt8]) -> Bool {
        guard exchange.io.write(bytes), exchange.io.flush() else { return false }
        outputTokens = PromptEstimate.adding(outputTokens, eventTokens)
        return true
    }

    /// Takes usage, model, errors and text from one event; false to keep it from the client.
    private func inspect(_ json: JSON, event name: String?) -> Bool {
        lastWasReasoning = ReasoningSilence.isReasoning(json)
        sawOutput = sawOutput || ReasoningSilence.carriesOutput(json)
        if let model = ServedModel.named(in: json) { servedModel = model }
        if let message = ErrorUnder200.message(event: name, json: json) { upstreamError = upstreamError ?? message }
        let type = json["type"]?.stringValue
        if let type, ["response.completed", "response.incomplete", "response.failed"].contains(type) { sawEndEvent = true }
        if !responseRecorded, let type, type.hasPrefix("response."), json["response"] != nil {
            // Recorded before the client sees the id, so its first retrieve already finds it.
            responseRecorded = ResponseOwnership(handler: handler).recordCreator(in: json, accountID: settler.payer.account.id)
        }
        eventTokens = PromptEstimate.adding(eventTokens, GeneratedText.tokens(inChoices: json["choices"]))
        if let type, type.hasSuffix(".delta"), let delta = json["delta"]?.stringValue {
            eventTokens = PromptEstimate.adding(eventTokens, TextTokens.estimate(delta))
        }
        guard let reported = BilledUsage.found(in: json) else { return true }
        // Some servers repeat a running total on every chunk (vLLM): the last one counts.
        usage = reported
        // We asked for the usage chunk; a client that did not ask does not get it.
        return clientWantsUsage || type != nil || !(json["choices"]?.arrayValue?.isEmpty ?? true)
    }

    private func finish(failure: HTTPFetchError?) {
        let io = exchange.io
        let failure = silenceExpired ? .timeout : failure
        settler.servedModel = servedModel
        guard streaming else {
            // Nothing reached the client yet: a plain error response, and no charge.
            settler.release(because: failure.map { "upstream \($0)" } ?? "upstream status \(upstreamStatus)")
            if let failure {
                exchange.send(failure.apiError)
                return
            }
            do {
                try exchange.relayUpstreamError(status: upstreamStatus, body: errorBody, retryAfter: upstreamRetryAfter,
                                                upstreamKeys: [handler.services.config.upstream.apiKey])
            } catch {
                exchange.send(error)
            }
            return
        }
        if io.clientGone || io.peerHasClosed() {
            // The client left: charge what the upstream produced for it until then.
            exchange.record.errorCode = "client_disconnected"
            settler.settle(usage: usage ?? settler.estimate(completionTokens: outputTokens), estimated: usage == nil)
            return
        }
        if overLimit {
            // Ended by the overall limit: what was relayed is charged, and the stream says why.
            exchange.record.errorCode = "stream_limit"
            writeSummary(settler.settle(usage: usage ?? settler.estimate(completionTokens: outputTokens), estimated: usage == nil))
            io.write("data: " + Exchange.errorBody(APIError.upstreamTimeout).serialized + "\n\n")
            writeChange()
            io.flush()
            return
        }
        if let upstreamError {
            // An error inside a 200 stream, already relayed: the usage reported with it (the
            // provider bills it), else nothing.
            exchange.record.errorCode = "upstream_error_under_200"
            if let usage {
                writeSummary(settler.settle(usage: usage, estimated: false))
            } else {
                settler.release(because: "upstream error in the stream: \(upstreamError)")
            }
            if sawDone { io.write("data: [DONE]\n\n") }
            writeChange()
            io.flush()
            return
        }
        if usage == nil, !(sawDone || sawEndEvent) || failure != nil {
            // Cut off before its end: a failure, charged nothing, and said so in the stream.
            settler.release(because: "stream ended early: \(failure.map { "\($0)" } ?? "no end marker")")
            let error = APIError.upstreamFailed(failure == .timeout ? "the upstream stream went silent" : "the upstream stream ended early")
            exchange.record.errorCode = error.code
            io.write("data: " + Exchange.errorBody(error).serialized + "\n\n")
            writeChange()
            io.flush()
            return
        }
        writeSummary(settler.settle(usage: usage ?? settler.estimate(completionTokens: outputTokens), estimated: usage == nil))
        // The Responses API ends with its own event; chat and completions streams end with [DONE].
        if sawDone || !sawEndEvent { io.write("data: [DONE]\n\n") }
        writeChange()
        io.flush()
    }

    /// Anthropic Messages events: input tokens in `message_start`, the running output count in
    /// `message_delta`, the end in `message_stop` (which, like the Responses API's end event,
    /// means no `[DONE]` is written).
    private func noteMessagesEvent(_ json: JSON, event name: String?) {
        if let message = ErrorUnder200.message(event: name, json: json) { upstreamError = upstreamError ?? message }
        switch json["type"]?.stringValue {
        case "message_start":
            if let reported = BilledUsage(json: json["message"]?["usage"]) { runningUsage = reported }
        case "message_delta":
            if let output = json["usage"]?["output_tokens"]?.int64Value, output >= 0, output < Int64(Int32.max) {
                runningUsage = BilledUsage(promptTokens: runningUsage?.promptTokens ?? 0, completionTokens: Int(output))
            }
        case "content_block_delta":
            sawOutput = true
            eventTokens = PromptEstimate.adding(eventTokens, TextTokens.estimate(json["delta"]?["text"]?.stringValue ?? ""))
        case "message_stop":
            // Counted only now: a stream cut before its end is charged nothing.
            sawEndEvent = true
            usage = runningUsage
        default:
            break
        }
    }

    /// `: satmeter {"cost_msat":…}`: what the request cost, as a comment SSE clients ignore.
    private func writeSummary(_ receipt: SettlementReceipt?) {
        if let receipt { exchange.io.write(receipt.sseComment) }
    }

    private func writeChange() {
        guard let change = settler.change else { return }
        let event: JSON = ["token": .string(change.token), "amount": .int(Int64(change.amountSat)), "unit": "sat", "mint": .string(change.mint)]
        exchange.io.write("event: cashu-change\ndata: " + event.serialized + "\n\n")
    }
}

enum StreamFlavor: Equatable {
    /// Chat and completions chunks ending in `[DONE]`, or the Responses API's typed events.
    case openAI
    /// Anthropic's Messages API.
    case messages
}

enum StreamOutcome {
    /// Nothing reached the client; another provider may be tried.
    case retryable(status: Int?, failure: String?)
    /// Relayed, settled or refused: the request is over.
    case final(status: Int)
}
