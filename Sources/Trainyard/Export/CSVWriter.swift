import Foundation
import Storage

/// RFC 4180 CSV: CRLF after every record, a field quoted when it holds a comma, a quote, CR or
/// LF, quotes inside it doubled; UTF-8 without a byte-order mark.
///
/// Formula injection: a spreadsheet runs a cell that starts with `=`, `+`, `-` or `@` (and
/// some also after a leading tab or CR) as a formula, so a deployment named
/// `=HYPERLINK("http://evil/…")` could act when the file is opened. Such a text field gets a
/// leading `'`, which spreadsheets show as text. Numbers and dates are never changed: they are
/// written by us, and a negative number must stay a number.
enum CSVWriter {
    static func header(_ names: [String], into out: inout [UInt8]) {
        record(names.map(ExportValue.text), into: &out)
    }

    static func record(_ values: [ExportValue], into out: inout [UInt8]) {
        for (index, value) in values.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            switch value {
            case .null: break
            case .int(let v): out.append(contentsOf: String(v).utf8)
            case .number(let v): if v.isFinite { out.append(contentsOf: v.description.utf8) }
            case .date(let d): out.append(contentsOf: SQLTimestamp.iso8601(d).utf8)
            case .text(let s): field(s, into: &out)
            }
        }
        out.append(contentsOf: [13, 10])
    }

    /// Characters that make a spreadsheet read a cell as a formula when they lead it.
    static let formulaStarts: Set<UInt8> = [UInt8(ascii: "="), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "@"), 9, 13]

    static func field(_ text: String, into out: inout [UInt8]) {
        let utf8 = text.utf8
        let guarded = utf8.first.map(formulaStarts.contains) ?? false
        let needsQuotes = utf8.contains { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 13 || $0 == 10 }
        if needsQuotes { out.append(UInt8(ascii: "\"")) }
        if guarded { out.append(UInt8(ascii: "'")) }
        if needsQuotes {
            for byte in utf8 {
                if byte == UInt8(ascii: "\"") { out.append(byte) }
                out.append(byte)
            }
            out.append(UInt8(ascii: "\""))
        } else {
            out.append(contentsOf: utf8)
        }
    }
}
