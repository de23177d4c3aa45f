import Testing
@testable import SatmeterPricing
@testable import SatmeterSupport

/// Time-of-day and day-of-week tiers: match rules with `where: { time: …, days: … }` (UTC).
@Suite struct PricingTimeWindowTests {
    static let yaml = """
        pricing:
          overrides:
            gpt-4o: { prompt_usd_per_1m: "10", completion_usd_per_1m: "20" }
        routes:
          "POST /v1/chat/completions":
            match:
              - where: { time: "22:00-06:00" }
                models:
                  gpt-4o: { prompt_usd_per_1m: "5", completion_usd_per_1m: "10" }
              - where: { days: "sat,sun" }
                models:
                  gpt-4o: { prompt_usd_per_1m: "8", completion_usd_per_1m: "16" }
        """

    /// 2026-12-01 is a Tuesday.
    static let tuesdayMidnight: Int64 = 1_796_083_200

    func quote(at: Int64) throws -> PriceQuote {
        var request = PricingFixtures.chat("gpt-4o")
        request.at = at
        return try PricingFixtures.engine(Self.yaml).quote(request)
    }

    @Test func aNightWindowWrapsMidnightAndWeekendsHaveTheirOwnTier() throws {
        let night = try quote(at: Self.tuesdayMidnight + 23 * 3600)
        #expect(night.resolvedPrice == "$5.00/$10.00 per 1M" && night.cohort == "time=22:00-06:00")
        #expect(try quote(at: Self.tuesdayMidnight + 5 * 3600 + 3599).resolvedPrice == "$5.00/$10.00 per 1M")
        let day = try quote(at: Self.tuesdayMidnight + 6 * 3600)
        #expect(day.resolvedPrice == "$10.00/$20.00 per 1M" && day.cohort == "control")
        let saturdayNoon = Self.tuesdayMidnight + 4 * 86_400 + 12 * 3600
        #expect(try quote(at: saturdayNoon).resolvedPrice == "$8.00/$16.00 per 1M")
        #expect(TimeWindow.weekday(Self.tuesdayMidnight) == 1)
        #expect(TimeWindow.days("mon-fri") == [0, 1, 2, 3, 4] && TimeWindow.days("fri-mon") == [4, 5, 6, 0])
    }

    @Test func malformedWindowsAreConfigErrorsWithTheirLine() {
        let bad = Self.yaml.replacingOccurrences(of: "22:00-06:00", with: "10pm-6am")
        #expect(PricingFixtures.configError(bad)?.reason.contains("HH:MM-HH:MM") == true)
        let badDays = Self.yaml.replacingOccurrences(of: "sat,sun", with: "weekend")
        #expect(PricingFixtures.configError(badDays)?.reason.contains("mon-fri") == true)
    }
}

/// Fee multipliers per model family and per provider, on dynamic prices only.
@Suite struct PricingFeeMultiplierTests {
    @Test func familyAndProviderFeesMultiplyDynamicPrices() throws {
        let yaml = """
            pricing:
              exchange_fee: 1
              upstream_fee: 1
              families:
                "gpt-4o*": { fee: 1.2 }
              provider_fees: { premium: 1.5 }
            routes:
              "POST /v1/chat/completions":
                upstream: openai
                match:
                  - where: { headers.x-tier: premium }
                    upstream: premium
            """
        let engine = try PricingFixtures.engine(yaml)
        let plain = try engine.quote(PricingFixtures.chat("gpt-4o"))
        let upstream = try #require(plain.upstreamCost)
        #expect(plain.price.prompt == upstream.prompt.timesPPM(1_200_000))
        #expect(plain.factors.contains(PriceFactor("family fee", "×1.2 (gpt-4o*)")))
        // Factors are rendered when read: the same text as formatting them up front.
        #expect(plain.factors.contains(PriceFactor("exchange fee", "×1")))
        #expect(plain.factors.contains(PriceFactor("upstream cost", upstream.summary)))
        let premium = try engine.quote(PricingFixtures.chat("gpt-4o", headers: ["x-tier": "premium"]))
        #expect(premium.factors.contains(PriceFactor("provider fee", "×1.5 (premium)")))
        #expect(premium.price.prompt == upstream.prompt.timesPPM(1_200_000)?.timesPPM(1_500_000))
        #expect(PricingFixtures.configError(yaml.replacingOccurrences(of: "premium: 1.5", with: "premium: 0.5"))?.reason.contains("multiplier") == true)
    }
}
