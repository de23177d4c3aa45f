import SatmeterSupport
import SatmeterUpstream

/// A paid request's body as the client sent it: JSON, or a multipart upload (audio), with what
/// pricing needs read out of it and the model's alias resolved.
struct ClientBody {
    /// The JSON body, or an upload's text fields as JSON (for pricing and `match` rules).
    var json: JSON
    var request: ProxiedRequest
    /// The upload's bytes, forwarded unchanged (nil for JSON bodies).
    var raw: [UInt8]?
    var contentType: String
    /// The upload's duration read from its header, or guessed from its size.
    var uploadSeconds: Int?

    var isUpload: Bool { raw != nil }

    /// Models OpenAI picks itself when the client names none.
    /// OpenAI takes audio files up to 25 MB; the form around the file adds a little
    /// (nginx/satmeter-locations.conf allows 26m on /v1/audio/).
    static let uploadLimitBytes = 26 << 20

    static let defaultModels: [Endpoint: String] = [.moderations: "omni-moderation-latest"]

    static func read(_ exchange: Exchange, endpoint: Endpoint, limit: Int, router: ProviderRouter) throws(APIError) -> ClientBody {
        if endpoint.takesMultipart {
            return try readUpload(exchange, endpoint: endpoint, limit: max(limit, uploadLimitBytes), router: router)
        }
        var json = try exchange.readJSONBody(limit: limit)
        if json["model"] == nil, let model = defaultModels[endpoint] { json.set("model", .string(model)) }
        if let model = json["model"]?.stringValue, router.resolve(model: model) != model {
            json.set("model", .string(router.resolve(model: model)))
        }
        let request = try ProxiedRequest(body: json, endpoint: endpoint)
        return ClientBody(json: json, request: request, raw: nil, contentType: "application/json")
    }

    private static func readUpload(_ exchange: Exchange, endpoint: Endpoint, limit: Int, router: ProviderRouter) throws(APIError) -> ClientBody {
        let bytes: [UInt8]
        switch exchange.io.readBody(limit: limit) {
        case .tooLarge: throw .bodyTooLarge(limitBytes: limit)
        case let .complete(body): bytes = body
        }
        let contentType = exchange.header("Content-Type") ?? exchange.io.param("CONTENT_TYPE") ?? ""
        guard let form = MultipartForm(body: bytes, contentType: contentType) else {
            throw .invalidRequest("this endpoint takes a multipart/form-data upload with a file and a model")
        }
        guard let file = form.file, !file.isEmpty else { throw .invalidRequest("'file' is required") }
        var fields = form.json
        if let stream = form.fields["stream"], stream != "false" {
            throw .invalidRequest("streamed transcriptions are not supported here; leave out 'stream'")
        }
        fields.set("stream", .null)
        if let model = form.fields["model"], router.resolve(model: model) != model {
            throw .invalidRequest("model aliases are not supported for uploads; send the model's own name")
        }
        var request = try ProxiedRequest(body: fields, endpoint: endpoint)
        let exact = AudioDuration.seconds(ofWAV: file)
        let seconds = exact ?? AudioDuration.estimatedSeconds(ofCompressedBytes: file.count)
        // Reserve for the whole upload when its header tells its length; else the default.
        request.maxAudioSeconds = exact
        return ClientBody(json: fields, request: request, raw: bytes, contentType: contentType, uploadSeconds: seconds)
    }

    /// The body to send `provider`: the upload as it came, or the JSON with the provider's model name.
    func upstreamBody(for provider: Provider, json current: JSON) -> [UInt8] {
        if let raw { return raw }
        let model = request.model
        guard provider.upstreamModel(for: model) != model else { return current.serializedBytes }
        var renamed = current
        renamed.set("model", .string(provider.upstreamModel(for: model)))
        return renamed.serializedBytes
    }
}

/// Seconds of audio a transcription is charged for.
enum UploadPricing {
    /// The upstream's `duration` (verbose_json) rounded up, else what the upload says.
    static func seconds(reportedDuration: JSON?, upload: Int?) -> Int {
        if let text = reportedDuration.flatMap(\.numberText), let seconds = wholeSecondsRoundedUp(text), seconds >= 0 { return seconds }
        return upload ?? 0
    }

    /// "12.34" → 13, without floating point; nil when not a plain non-negative decimal.
    static func wholeSecondsRoundedUp(_ text: String) -> Int? {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = Int(parts[0]), whole >= 0, whole < 10_000_000 else { return nil }
        guard parts.count == 2 else { return whole }
        guard parts[1].allSatisfy(\.isNumber) else { return nil }
        return parts[1].contains(where: { $0 != "0" }) ? whole + 1 : whole
    }
}

extension JSON {
    /// A number's text as written ("12.5"), or nil.
    var numberText: String? {
        if case let .number(text) = self { return text }
        return nil
    }
}

extension ProxiedRequest {
    /// What differs per endpoint: the completion bound, images, characters (`max_output_tokens`
    /// is read with the other completion limits).
    mutating func adjust(for endpoint: Endpoint, body: JSON) throws(APIError) {
        switch endpoint {
        case .imageGenerations:
            if stream { throw .invalidRequest("streamed image generation is not supported here") }
            maxCompletionTokens = 0
            maxImages = Int(body["n"]?.int64Value ?? 1)
        case .audioSpeech:
            guard let input = body["input"]?.stringValue, !input.isEmpty else { throw .invalidRequest("'input' is required and must be a string") }
            if stream { throw .invalidRequest("'stream' is not supported here") }
            // Priced per character, as prompt: the count is known before the call, so it is exact.
            promptTokenBound = input.unicodeScalars.count
            maxCompletionTokens = 0
        case .moderations:
            if stream { throw .invalidRequest("moderations cannot be streamed") }
            maxCompletionTokens = 0
        default:
            break
        }
    }
}
