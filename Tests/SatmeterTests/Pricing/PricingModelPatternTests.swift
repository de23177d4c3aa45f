import Testing
@testable import SatmeterSupport

@Suite("Pricing: model patterns")
struct PricingModelPatternTests {
    @Test(arguments: [
        ("gpt-4o", "gpt-4o", true),
        ("gpt-4o", "gpt-4o-mini", false),
        ("ft:gpt-4o:*", "ft:gpt-4o:acme:custom:abc123", true),
        ("ft:gpt-4o:*", "ft:gpt-4o-mini:acme::x", false),
        ("gpt-4*", "gpt-4", true),
        ("*-preview", "o1-preview", true),
        ("*-preview", "o1-preview-2", false),
        ("a*b*c", "aXXbYYc", true),
        ("a*b*c", "aXXcYYb", false),
        ("**", "", true),
    ])
    func matches(_ pattern: String, _ candidate: String, _ expected: Bool) {
        #expect(ModelPattern(pattern).matches(candidate) == expected)
    }

    @Test func exactBeatsPatternsAndLongerPatternsBeatShorter() {
        var map = PatternMap<Int>()
        map.set("gpt-4*", 1)
        map.set("gpt-4o*", 2)
        map.set("gpt-4o-mini", 3)
        map.set("gpt-4o-*", 4)
        #expect(map.lookup("gpt-4o-mini")?.value == 3)
        #expect(map.lookup("gpt-4o-2024")?.value == 4)
        #expect(map.lookup("gpt-4o")?.value == 2)
        #expect(map.lookup("gpt-4-turbo")?.value == 1)
        #expect(map.lookup("claude") == nil)
        map.set("gpt-4*", 9)
        #expect(map.lookup("gpt-4-turbo")?.value == 9)
        #expect(map.count == 4)
        #expect(map.exactKeys == ["gpt-4o-mini"])
    }

    @Test func tiesGoToTheFirstWritten() {
        var map = PatternMap<String>()
        map.set("*-mini", "first")
        map.set("gpt-*", "second")
        #expect(map.lookup("gpt-mini")?.value == "first")
    }
}
