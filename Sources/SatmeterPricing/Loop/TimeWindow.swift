/// Time-of-day and day-of-week conditions of match rules, in UTC:
///
///     where: { time: "22:00-06:00" }          # wraps midnight: 22:00 up to (not including) 06:00
///     where: { days: "sat,sun" }              # or a range: "mon-fri"
///
/// A rule with both holds when both do. Nothing else in a request can select these rules, so a
/// night tier is a match rule with its own `models` prices.
enum TimeWindow {
    static let dayNames = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

    /// Minutes since midnight for start and end of "HH:MM-HH:MM"; nil when malformed.
    static func minutes(_ text: String) -> (start: Int64, end: Int64)? {
        let ends = text.split(separator: "-", omittingEmptySubsequences: false)
        guard ends.count == 2, let start = clock(ends[0]), let end = clock(ends[1]), start != end else { return nil }
        return (start, end)
    }

    private static func clock(_ text: Substring) -> Int64? {
        let parts = text.filter { $0 != " " }.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ $0.count == 2 }), let h = Int64(parts[0]), let m = Int64(parts[1]),
              (0...24).contains(h), (0...59).contains(m), h * 60 + m <= 1440 else { return nil }
        return h * 60 + m
    }

    /// The set of weekdays (0 = Monday) in "mon-fri", "sat,sun", "mon,wed-fri"; nil when malformed.
    static func days(_ text: String) -> Set<Int>? {
        var out = Set<Int>()
        for item in text.lowercased().split(separator: ",", omittingEmptySubsequences: false) {
            let ends = item.filter { $0 != " " }.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
            guard (1...2).contains(ends.count), let a = dayNames.firstIndex(of: ends[0]), let b = dayNames.firstIndex(of: ends.last!) else { return nil }
            var day = a
            while true {
                out.insert(day)
                if day == b { break }
                day = (day + 1) % 7
            }
        }
        return out.isEmpty ? nil : out
    }

    static func contains(minutes window: (start: Int64, end: Int64), at unix: Int64) -> Bool {
        let minute = ((unix % 86_400 + 86_400) % 86_400) / 60
        return window.start < window.end ? (minute >= window.start && minute < window.end) : (minute >= window.start || minute < window.end)
    }

    /// 0 = Monday (1970-01-01 was a Thursday).
    static func weekday(_ unix: Int64) -> Int {
        let days = unix >= 0 ? unix / 86_400 : (unix - 86_399) / 86_400
        return Int(((days + 3) % 7 + 7) % 7)
    }
}

extension MatchCondition {
    /// For `time` and `days` conditions: whether the request's time is inside; nil for the others.
    func windowMatch(_ request: PricingRequest) -> Bool? {
        switch field {
        case .time:
            guard let at = request.at, let window = TimeWindow.minutes(pattern.text) else { return false }
            return TimeWindow.contains(minutes: window, at: at)
        case .days:
            guard let at = request.at, let days = TimeWindow.days(pattern.text) else { return false }
            return days.contains(TimeWindow.weekday(at))
        default: return nil
        }
    }

    /// Why a `time` or `days` value cannot be read, for the config error.
    var windowProblem: String? {
        switch field {
        case .time: TimeWindow.minutes(pattern.text) == nil ? "write a UTC window as HH:MM-HH:MM, e.g. 22:00-06:00" : nil
        case .days: TimeWindow.days(pattern.text) == nil ? "write days as mon-fri or sat,sun" : nil
        default: nil
        }
    }
}
