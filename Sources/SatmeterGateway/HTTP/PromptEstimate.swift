import SatmeterSupport

/// An upper bound on a request's prompt tokens, computed before the upstream call.
///
/// Tokenizers emit at least one byte per token for ordinary text, so the UTF-8 length of the
/// text fields bounds the token count from above; a few tokens per message, tool and schema cover
/// the framing. Parts billed by other rules are bounded by those rules: images by the provider's
/// tile formula (`ImageTokens`), audio by its encoded bytes (far more than its tokens). File parts
/// cannot be bounded before the call (a PDF is billed per rendered page) and are refused.
/// Over-estimating only holds more of the balance for the length of the call; the charge comes
/// from the usage the upstream reports.
enum PromptEstimate {
    static let perMessageOverhead = 8
    static let perToolOverhead = 16
    /// Every top-level field the upstream reads as prompt text (schemas included).
    static let promptFields = ["prompt", "suffix", "input", "instructions", "system", "tools", "functions", "tool_choice", "function_call",
                               "response_format", "prediction"]

    static func upperBound(for body: JSON, model: String = "") throws(APIError) -> Int {
        var total = 16
        if let messages = body["messages"]?.arrayValue {
            for message in messages {
                total = adding(total, perMessageOverhead)
                guard case let .object(members) = message else {
                    total = adding(total, textBytes(message))
                    continue
                }
                for (key, value) in members {
                    total = adding(total, key == "content" ? try contentTokens(value, model: model) : textBytes(value))
                }
            }
        }
        for field in promptFields {
            if let value = body[field] { total = adding(total, textBytes(value)) }
        }
        for field in ["tools", "functions"] {
            if let count = body[field]?.arrayValue?.count { total = adding(total, count * perToolOverhead) }
        }
        return total
    }

    /// A message's content: a string, or a list of parts (text, image, audio, file).
    static func contentTokens(_ content: JSON, model: String) throws(APIError) -> Int {
        guard let parts = content.arrayValue else { return textBytes(content) }
        var total = 0
        for part in parts {
            switch part["type"]?.stringValue {
            case "image_url"?:
                let image = part["image_url"]
                let url = image?["url"]?.stringValue ?? image?.stringValue ?? ""
                total = adding(total, ImageTokens.tokens(model: model, detail: image?["detail"]?.stringValue, size: ImageSize.of(dataURL: url)))
            case "file"?:
                throw .invalidRequest("file content parts are not accepted: what the upstream bills for a file cannot be bounded before the call")
            default:
                // text, input_audio (its base64 bytes far exceed its audio tokens), and anything new.
                total = adding(total, textBytes(part))
            }
        }
        return total
    }

    /// Text bytes in any JSON value (strings, nested arrays, objects).
    static func textBytes(_ json: JSON) -> Int {
        switch json {
        case let .string(s): s.utf8.count
        case let .array(items): items.reduce(0) { adding($0, textBytes($1)) }
        case let .object(members): members.reduce(0) { adding($0, adding($1.0.utf8.count, textBytes($1.1))) }
        case let .number(n): n.utf8.count
        default: 1
        }
    }

    /// A guess at tokens in text we saw ourselves (for usage the upstream did not report):
    /// about four bytes per token, rounded up.
    static func tokens(inTextBytes bytes: Int) -> Int { bytes / 4 + (bytes % 4 == 0 ? 0 : 1) }

    /// Saturating: sizes come from the client.
    static func adding(_ a: Int, _ b: Int) -> Int {
        let (sum, overflow) = a.addingReportingOverflow(b)
        return overflow ? .max : sum
    }
}
