/// `--since` values: "2026-11-01", "2026-11-01T12:00:00Z", unix seconds, or "7d" (days back).
public enum SinceParser {
    public static func parse(_ text: String, now: Int64) -> Int64? {
        if text.hasSuffix("d"), let days = Int64(text.dropLast()), (0...3650).contains(days) { return now - days * 86_400 }
        if let unix = Int64(text), unix >= 0 { return unix }
        let parts = text.split(whereSeparator: { "-T:Z".contains($0) }).compactMap { Int64($0) }
        guard parts.count == 3 || parts.count == 6, text.count >= 10 else { return nil }
        let (y, m, d) = (parts[0], parts[1], parts[2])
        guard (1970...9999).contains(y), (1...12).contains(m), (1...31).contains(d) else { return nil }
        let time = parts.count == 6 ? parts[3] * 3600 + parts[4] * 60 + parts[5] : 0
        return daysFromCivil(y, m, d) * 86_400 + time
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
    static func daysFromCivil(_ year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}
