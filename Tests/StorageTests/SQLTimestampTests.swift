import Foundation
import Storage
import Testing

@Suite("Timestamp text")
struct SQLTimestampTests {
    @Test func formatsISO8601WithMillisecondsInUTC() {
        #expect(SQLTimestamp.iso8601(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000Z")
        #expect(SQLTimestamp.iso8601(Date(timeIntervalSince1970: 1_714_567_890.123)) == "2024-05-01T12:51:30.123Z")
        #expect(SQLTimestamp.iso8601(Date(timeIntervalSince1970: -0.001)) == "1969-12-31T23:59:59.999Z")
        #expect(SQLTimestamp.iso8601(Date(timeIntervalSince1970: 951_782_400)) == "2000-02-29T00:00:00.000Z")
    }

    @Test func parsesWhatPostgresAndOthersWrite() {
        let expected = Date(timeIntervalSince1970: 1_714_567_890.123)
        for text in ["2024-05-01 12:51:30.123+00", "2024-05-01T12:51:30.123Z", "2024-05-01 14:51:30.123+02",
                     "2024-05-01 07:21:30.123-05:30", "2024-05-01T12:51:30.123", "2024-05-01 12:51:30.123456+00"] {
            let parsed = SQLTimestamp.parse(text)
            #expect(parsed.map { abs($0.timeIntervalSince(expected)) < 0.001 } == true, "\(text)")
        }
        #expect(SQLTimestamp.parse("2024-05-01 12:51:30+00") == Date(timeIntervalSince1970: 1_714_567_890))
        #expect(SQLTimestamp.parse("2024-05-01") == Date(timeIntervalSince1970: 1_714_521_600))
        #expect(SQLTimestamp.parse("infinity") == .distantFuture)
        #expect(SQLTimestamp.parse("not a date") == nil)
        #expect(SQLTimestamp.parse("2024-13-01") == nil)
    }

    @Test func roundTripsAcrossCenturies() {
        for seconds in [-2_208_988_800.5, 0, 1_000_000_000.999, 4_102_444_800.001, 253_402_300_799] {
            let date = Date(timeIntervalSince1970: seconds)
            #expect(SQLTimestamp.parse(SQLTimestamp.iso8601(date)) == date)
        }
    }
}
