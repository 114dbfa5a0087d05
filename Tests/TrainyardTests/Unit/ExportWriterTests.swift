import Foundation
import Testing
@testable import Trainyard

@Suite struct ExportWriterTests {
    func csv(_ values: [ExportValue]) -> String {
        var out: [UInt8] = []
        CSVWriter.record(values, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    func json(_ values: [ExportValue], names: [String]) -> String {
        var out: [UInt8] = []
        JSONRowWriter.record(values, keys: JSONRowWriter.keys(names), first: true, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    @Test func csvQuotesOnlyWhatNeedsItAndDoublesQuotes() {
        #expect(csv([.text("plain"), .text("a,b"), .text("say \"hi\""), .text("x\ny"), .text("x\ry"), .text("")]) ==
                "plain,\"a,b\",\"say \"\"hi\"\"\",\"x\ny\",\"x\ry\",\r\n")
        #expect(csv([.text("a=b"), .text("x-1"), .text("ok@home")]) == "a=b,x-1,ok@home\r\n")
    }

    @Test(arguments: ["=", "+", "-", "@", "\t", "\r"])
    func csvDefusesTextThatASpreadsheetWouldRunAsAFormula(_ start: String) {
        let text = start + "SUM(A1:A2)"
        let written = csv([.text(text)])
        let expected = start == "\r" ? "\"'\rSUM(A1:A2)\"\r\n" : "'\(text)\r\n"
        #expect(written == expected)
    }

    @Test func csvGuardGoesInsideTheQuotes() {
        #expect(csv([.text("=HYPERLINK(\"http://x\",\"y\")")]) == "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"\r\n")
    }

    @Test func csvNumbersDatesAndAbsentValues() {
        let date = Date(timeIntervalSince1970: 1_780_000_000.123)
        #expect(csv([.int(-3), .number(-2.5), .number(0.00001), .number(.nan), .number(.infinity), .null, .date(date)]) ==
                "-3,-2.5,1e-05,,,,2026-05-28T20:26:40.123Z\r\n")
    }

    @Test func jsonEscapesEverythingJSONAndScriptsNeed() throws {
        let text = "quote \" backslash \\ tab \t nl \n cr \r bell \u{07} sep \u{2028}\u{2029} diaeresis ¨ copyright © café ✓"
        let written = json([.text(text)], names: ["name"])
        #expect(written == "{\"name\":\"quote \\\" backslash \\\\ tab \\t nl \\n cr \\r bell \\u0007 sep \\u2028\\u2029 diaeresis ¨ copyright © café ✓\"}")
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(written.utf8)) as? [String: Any])
        #expect(parsed["name"] as? String == text)
    }

    @Test func jsonWritesNumbersAsNumbersAndAbsenceAsNull() throws {
        let written = json([.int(7), .number(0.25), .number(.nan), .null, .date(Date(timeIntervalSince1970: 0)), .text("a\"b")],
                           names: ["id", "rate", "nan", "none", "at", "key \"quoted\""])
        #expect(written == "{\"id\":7,\"rate\":0.25,\"nan\":null,\"none\":null,\"at\":\"1970-01-01T00:00:00.000Z\",\"key \\\"quoted\\\"\":\"a\\\"b\"}")
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(written.utf8)) as? [String: Any])
        #expect(parsed["id"] as? Int == 7)
        #expect(parsed["none"] is NSNull)
    }

    /// Batches become pieces: the header comes once, records never split, and an empty table is
    /// still a valid file.
    @Test func tableExportTurnsBatchesIntoPiecesOfWholeRecords() throws {
        let columns: [ExportColumn<Int>] = [.init("n") { .int($0) }, .init("half") { .number(Double($0) / 2) }]
        var batches = [ListBatch(rows: [1, 2], next: ListCursor(sortValue: .int(2), id: 2)), ListBatch(rows: [3], next: nil)]
        let csv = TableExport(.csv, columns: columns) { _ in batches.removeFirst() }
        #expect(try csv.next().map { String(decoding: $0, as: UTF8.self) } == "n,half\r\n1,0.5\r\n2,1.0\r\n")
        #expect(try csv.next().map { String(decoding: $0, as: UTF8.self) } == "3,1.5\r\n")
        #expect(try csv.next() == nil)

        var jsonBatches = [ListBatch(rows: [1], next: ListCursor(sortValue: .int(1), id: 1)), ListBatch<Int>(rows: [], next: nil)]
        let json = TableExport(.json, columns: columns) { _ in jsonBatches.removeFirst() }
        var body: [UInt8] = []
        while let piece = try json.next() { body += piece }
        #expect(String(decoding: body, as: UTF8.self) == "[\n{\"n\":1,\"half\":0.5}\n]\n")

        let empty = TableExport(.json, columns: columns) { _ in ListBatch(rows: [], next: nil) }
        var emptyBody: [UInt8] = []
        while let piece = try empty.next() { emptyBody += piece }
        #expect((try JSONSerialization.jsonObject(with: Data(emptyBody)) as? [Any])?.isEmpty == true)
    }
}
