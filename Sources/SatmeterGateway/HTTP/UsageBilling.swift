import SatmeterPricing
import SatmeterSupport

/// How what an upstream answered becomes what a request is billed (README "Where money goes").

/// The model an upstream says it served, when it is not the one asked for (routers, fallbacks).
enum ServedModel {
    /// The served model when it should set the price: named, and neither the requested model
    /// nor a dated snapshot of it ("gpt-4o" served as "gpt-4o-2024-08-06" is the same price),
    /// nor the same model with or without a provider prefix ("openai/gpt-4o" for "gpt-4o").
    static func repricing(requested: String, served: String?) -> String? {
        // The usual answer, decided before any scalar is looked at: the model asked for.
        if served == requested { return nil }
        // Printable ASCII and bounded: the name reaches logs and a response header.
        guard let served, !served.isEmpty, served.utf8.count <= 256, !served.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value >= 0x7F })
        else { return nil }
        let a = ModelCatalog.lastSegment(requested), b = ModelCatalog.lastSegment(served)
        if a == b { return nil }
        for (short, long) in [(a, b), (b, a)] where long.hasPrefix(short + "-") {
            let suffix = long.dropFirst(short.count + 1)
            if !suffix.isEmpty, suffix.allSatisfy({ $0.isNumber || $0 == "-" }) { return nil }
        }
        return served
    }

    /// `model` of a response body or stream event (Responses API: inside `response`).
    static func named(in json: JSON) -> String? {
        json["model"]?.stringValue ?? json["response"]?["model"]?.stringValue
    }
}

/// Errors an upstream sends under HTTP 200: an error JSON body (OpenRouter), a `data:` event
/// with an `error` member or a chunk finished with `finish_reason: "error"` (OpenRouter
/// mid-stream), an `event: error` (Anthropic, Responses API) or `response.failed`.
enum ErrorUnder200 {
    /// The error's message, when this body or event reports a failure.
    static func message(event name: String? = nil, json: JSON) -> String? {
        if name == "error" || json["type"]?.stringValue == "error" {
            return describe(json["error"] ?? json)
        }
        if json["type"]?.stringValue == "response.failed" { return describe(json["response"]?["error"] ?? json) }
        if let error = json["error"], error != .null { return describe(error) }
        if let choices = json["choices"]?.arrayValue, choices.contains(where: { $0["finish_reason"]?.stringValue == "error" }) {
            return "the upstream ended its answer with finish_reason \"error\""
        }
        return nil
    }

    private static func describe(_ error: JSON) -> String {
        let text = error["message"]?.stringValue ?? error.stringValue ?? "an error without a message"
        return String(text.prefix(300))
    }
}
