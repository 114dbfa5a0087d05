import Foundation
import Testing
@testable import Trainyard

@Suite struct FormatTests {
    @Test func relativeTimes() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        func ago(_ seconds: Double) -> String { Format.relative(now.addingTimeInterval(-seconds), now: now) }
        #expect(ago(-30) == "just now")
        #expect(ago(10) == "just now")
        #expect(ago(60) == "1 minute ago")
        #expect(ago(600) == "10 minutes ago")
        #expect(ago(3_600) == "1 hour ago")
        #expect(ago(5 * 3_600) == "5 hours ago")
        #expect(ago(30 * 3_600) == "yesterday")
        #expect(ago(10 * 86_400) == "10 days ago")
        #expect(ago(40 * 86_400) == Format.exact(now.addingTimeInterval(-40 * 86_400)))
    }

    @Test func isoAndExact() {
        let date = Date(timeIntervalSince1970: 1_742_024_813)   // 2025-03-15 07:46:53 UTC
        #expect(Format.iso(date) == "2025-03-15T07:46:53Z")
        #expect(Format.exact(date) == "2025-03-15 07:46 UTC")
    }

    /// What a table writes through the formatters is the same text, down to times before 1970
    /// and past the calendar's end.
    @Test func theTimeFormattersWriteWhatIsoAndExactReturn() {
        for seconds in [1_742_024_813.0, 1_742_024_813.999, 0, -1, -86_401.5, 253_402_300_799, 253_402_300_800, 1e14, .infinity, -.infinity] {
            let date = Date(timeIntervalSince1970: seconds)
            #expect(Format.isoFormatter.text(Format.seconds(date)) == Format.iso(date), "\(seconds)")
            #expect(Format.exactFormatter.text(Format.seconds(date)) == Format.exact(date), "\(seconds)")
        }
        #expect(Format.iso(Date(timeIntervalSince1970: -1)) == "1969-12-31T23:59:59Z")
        #expect(Format.exact(Date(timeIntervalSince1970: 253_402_300_800)) == "year 10000")
        #expect(Paths.deploymentHref.text(1234) == Paths.deployment(1234))
    }

    @Test(arguments: [(0.0, "0 s"), (42, "42 s"), (60, "1 min"), (185, "3 min 5 s"), (7_200, "2 h"), (7_800, "2 h 10 min"),
                      (3 * 86_400, "3 days"), (-5, "0 s")])
    func durations(seconds: Double, text: String) {
        #expect(Format.duration(seconds) == text)
    }

    /// Chart labels are printed by C's snprintf: the same text Foundation's formatter gives,
    /// rounding ties and all, from tiny to huge and negative values.
    @Test func compactNumbersMatchFoundationsFormatting() {
        func reference(_ v: Double) -> String {
            func trim(_ s: String) -> String {
                guard s.contains(".") else { return s }
                var t = s, suffix = ""
                if let last = t.last, last.isLetter { suffix = String(last); t.removeLast() }
                while t.hasSuffix("0") { t.removeLast() }
                if t.hasSuffix(".") { t.removeLast() }
                return t + suffix
            }
            let a = abs(v)
            if a >= 1_000_000 { return trim(String(format: "%.1fM", v / 1_000_000)) }
            if a >= 10_000 { return trim(String(format: "%.0fk", v / 1000)) }
            if a >= 1000 { return trim(String(format: "%.1fk", v / 1000)) }
            if a >= 100 || a == 0 { return String(format: "%.0f", v) }
            if a >= 10 { return trim(String(format: "%.1f", v)) }
            return trim(String(format: "%.2f", v))
        }
        var values: [Double] = [0, -0.0, 0.005, 0.015, 0.125, 1.005, 1.015, 2.675, 9.995, 10.05, 10.25, 99.95, 99.96, 100, 100.5,
                                101.5, 999.5, 1049.99, 1050, 9999, 9_950, 10_500, 11_500, 999_999, 1_000_000, 1_050_000, 1e12, 1e40,
                                3.0e-7, .pi, -.pi * 1000]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<500 { values.append(Double.random(in: -2e6...2e6, using: &generator)) }
        for _ in 0..<500 { values.append(Double.random(in: -20...20, using: &generator)) }
        for v in values {
            #expect(Format.compact(v) == reference(v), "\(v)")
        }
    }

    /// The monitor's figures, printed by snprintf, read as Foundation's formatter wrote them.
    @Test func monitorFiguresMatchFoundationsFormatting() {
        var generator = SystemRandomNumberGenerator()
        var values: [Double] = [0, -0.0, 0.0005, 0.00123456, 0.125, 0.99995, 1, 2.5, 1e6, 123_456_789, -3.25e-5, .pi]
        for _ in 0..<300 { values.append(Double.random(in: 0...1, using: &generator)) }
        for _ in 0..<300 { values.append(Double.random(in: -1e7...1e7, using: &generator)) }
        for v in values {
            let a = abs(v)
            let number = a != 0 && (a < 0.001 || a >= 1e6) ? String(format: "%.4g", v) : String(format: "%.4f", v)
            #expect(JobMonitor.format(v, key: "loss") == number, "\(v)")
            if (0...1).contains(v) { #expect(JobMonitor.format(v, key: "accuracy") == String(format: "%.1f%%", v * 100), "\(v)") }
        }
        #expect(JobMonitor.format(0.9512, key: "val_accuracy") == "95.1%")
        #expect(JobMonitor.format(.nan, key: "loss") == "NaN")
    }

    @Test func numbers() {
        #expect(Format.compact(0) == "0")
        #expect(Format.compact(0.25) == "0.25")
        #expect(Format.compact(12.5) == "12.5")
        #expect(Format.compact(340) == "340")
        #expect(Format.compact(1_200) == "1.2k")
        #expect(Format.compact(45_000) == "45k")
        #expect(Format.compact(3_100_000) == "3.1M")
        #expect(Format.fixed(2.346, 2) == "2.35")
        #expect(Format.fixed(-0.0004, 2) == "0.00")
        #expect(Format.fixed(-2.5, 1) == "-2.5")
        #expect(Format.fixed(.infinity, 1) == "—")
        #expect(Format.fixed(.nan, 0) == "—")
        #expect(Format.fixed(7, 9) == "7.000")
        #expect(Format.fixed(0.05, 1) == "0.1")
        #expect(Format.fixed(1_234_567.891, 3) == "1234567.891")
        #expect(Format.fixed(-0.5, 0) == "-1")
        #expect(Format.fixed(0.0999, 2, suffix: " %") == "0.10 %")
        #expect(Format.fixed(1e300, 1) == "1e+300")
        #expect(Format.grouped(65_536) == "65,536")
        #expect(Format.grouped(512) == "512")
        #expect(Format.grouped(1_000_000) == "1,000,000")
        #expect(Format.grouped(-1_000) == "-1,000")
    }

    @Test func units() {
        #expect(Format.requestsPerSecond(123.4) == "123")
        #expect(Format.requestsPerSecond(12.34) == "12.3")
        #expect(Format.milliseconds(182.4) == "182 ms")
        #expect(Format.milliseconds(1_250) == "1.25 s")
        #expect(Format.percent(0.0031) == "0.31 %")
        #expect(Format.percent(-0.25) == "-25.00 %")
        #expect(Format.milliseconds(999.6) == "1000 ms")
        #expect(Format.milliseconds(.nan) == "—")
        #expect(Format.memory(megabytes: 16_384) == "16 GB")
        #expect(Format.memory(megabytes: 1_536) == "1536 MB")
        #expect(Format.learningRate(0.0003) == "3e-4")
        #expect(Format.learningRate(0.002) == "0.002")
        #expect(Format.learningRate(0.00003) == "3e-5")
        #expect(Format.learningRate(1) == "1")
        #expect(Format.learningRate(0.5) == "0.5")
    }
}

@Suite struct LogTextTests {
    @Test func controlCharactersCannotStartANewLogLine() {
        let path = "/models/x\n2030-01-01T00:00:00 critical forged\r\u{1b}[31m"
        let escaped = LogText.escaped(path)
        #expect(!escaped.contains("\n") && !escaped.contains("\r") && !escaped.contains("\u{1b}"))
        #expect(escaped == "/models/x\\u{a}2030-01-01T00:00:00 critical forged\\u{d}\\u{1b}[31m")
        #expect(LogText.escaped(String(repeating: "a", count: 600)).count == 513)
        #expect(LogText.escaped("ünïcode ok") == "ünïcode ok")
    }
}

@Suite struct HealthSeverityTests {
    /// The table asks for the severity alone; it is the one the full check (with its note) gives.
    @Test func theSeverityAloneAgreesWithTheCheck() {
        for p50 in [0.0, 10, 100] {
            for p95 in [0.0, 40, 400, 999, 1001, 5000] {
                for rps in [0.0, 1, 10, 40] {
                    let stats = DeploymentStats(rps: rps, p50: p50, p95: p95, p99: p95 * 2, errorRate: 0)
                    #expect(stats.p95Severity == stats.p95Health.severity, "p50 \(p50) p95 \(p95)")
                    for baseline in [0.0, 5, 20, 100] {
                        #expect(stats.trafficSeverity(baseline: baseline) == stats.trafficHealth(baseline: baseline).severity, "rps \(rps) baseline \(baseline)")
                    }
                }
            }
        }
    }
}
