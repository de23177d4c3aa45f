/// What a `pricing apply` changed, why and when: archived for every apply, refused parts included.
public struct ChangeNote: Sendable, Equatable {
    /// Unix seconds.
    public var at: Int64
    public var reason: String
    public var bounds: UpdateBounds
    public var changes: [PriceTableUpdate.Change]
    public var refused: [PriceTableUpdate.Refusal]

    /// "20261122T230102Z-price-change.md": sorts by time.
    public var fileName: String { UTCTime.compact(at) + "-price-change.md" }

    public func render() -> String {
        var out = "# Price change \(UTCTime.iso8601(at))\n\n"
        out += "- Why: \(reason)\n- When: \(UTCTime.iso8601(at)) (unix \(at))\n"
        out += "- Bounds: at most +\(PriceTableUpdate.ppmPercent(bounds.maxIncreasePPM)) / -\(PriceTableUpdate.ppmPercent(bounds.maxDecreasePPM)) per apply\n\n"
        let applied = changes.map { c in
            [c.model, Self.label(c.component, c.currency), c.old.map { Self.amount($0, c.component, c.currency) } ?? "(new)",
             Self.amount(c.new, c.component, c.currency), c.old.map { PriceTableUpdate.percentChange($0, c.new) } ?? "new"]
        }
        out += Self.section("Applied", empty: "Nothing changed.", header: ["model", "price", "was", "now", "change"], rows: applied)
        let refusals = refused.map { r in
            [r.model, r.component.map { Self.label($0, r.currency) } ?? "all",
             r.requested.map { Self.amount($0, r.component ?? .request, r.currency) } ?? "-",
             r.applied.map { Self.amount($0, r.component ?? .request, r.currency) } ?? "-", r.reason]
        }
        out += "\n" + Self.section("Refused", empty: "Nothing refused.", header: ["model", "price", "asked", "applied", "why"], rows: refusals)
        return out
    }

    /// A markdown section with a table, or a sentence when there are no rows.
    private static func section(_ title: String, empty: String, header: [String], rows: [[String]]) -> String {
        var out = "## \(title)\n\n"
        guard !rows.isEmpty else { return out + empty + "\n" }
        out += "| " + header.joined(separator: " | ") + " |\n|" + String(repeating: "---|", count: header.count) + "\n"
        for row in rows { out += "| " + row.map { $0.replacing("|", with: "\\|") }.joined(separator: " | ") + " |\n" }
        return out
    }

    private static func label(_ component: PriceComponent, _ currency: Currency) -> String {
        switch component {
        case .prompt, .completion, .cachedPrompt, .cacheWrite, .reasoning, .audioPrompt, .audioCompletion, .imagePrompt:
            "\(component.rawValue) per \(currency == .usd ? "1M" : "1K") tokens"
        case .request: "per request"
        case .image: "per image"
        case .audioSecond: "per audio second"
        }
    }

    private static func amount(_ value: Fixed18, _ component: PriceComponent, _ currency: Currency) -> String {
        let text = ModelPrice(currency: currency).amountText(value, shift: component.displayShift(currency))
        return currency == .sat ? text + " sat" : text
    }
}

/// Unix seconds as UTC calendar time, without Foundation's formatters.
package enum UTCTime {
    /// "2026-11-22T23:01:02Z".
    package static func iso8601(_ seconds: Int64) -> String {
        let t = parts(seconds)
        return "\(t.year)-\(pad(t.month))-\(pad(t.day))T\(pad(t.hour)):\(pad(t.minute)):\(pad(t.second))Z"
    }

    /// "20261122T230102Z".
    package static func compact(_ seconds: Int64) -> String {
        iso8601(seconds).filter { $0 != "-" && $0 != ":" }
    }

    private static func pad(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }

    /// Civil date from days since 1970-01-01 (proleptic Gregorian; H. Hinnant's algorithm).
    private static func parts(_ seconds: Int64) -> (year: Int64, month: Int64, day: Int64, hour: Int64, minute: Int64, second: Int64) {
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let rest = seconds - days * 86_400
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day, rest / 3600, rest % 3600 / 60, rest % 60)
    }
}
