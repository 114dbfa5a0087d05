import Foundation
import Storage

/// An export as one JSON array of objects, written a record at a time: keys in column order,
/// numbers as numbers, absent values (and non-finite numbers, which JSON cannot spell) as null,
/// dates as ISO 8601 strings.
enum JSONRowWriter {
    static let open = Array("[\n".utf8)
    static let close = Array("\n]\n".utf8)

    /// `names` already escaped, with their quotes and colon, so each record only copies them.
    static func keys(_ names: [String]) -> [[UInt8]] {
        names.map { name in
            var key: [UInt8] = []
            string(name, into: &key)
            key.append(UInt8(ascii: ":"))
            return key
        }
    }

    static func record(_ values: [ExportValue], keys: [[UInt8]], first: Bool, into out: inout [UInt8]) {
        if !first { out.append(contentsOf: ",\n".utf8) }
        out.append(UInt8(ascii: "{"))
        for (index, value) in values.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: keys[index])
            switch value {
            case .null: out.append(contentsOf: "null".utf8)
            case .int(let v): out.append(contentsOf: String(v).utf8)
            case .number(let v): out.append(contentsOf: v.isFinite ? Array(v.description.utf8) : Array("null".utf8))
            case .date(let d): string(SQLTimestamp.iso8601(d), into: &out)
            case .text(let s): string(s, into: &out)
            }
        }
        out.append(UInt8(ascii: "}"))
    }

    private static let hex = Array("0123456789abcdef".utf8)

    /// A JSON string literal: quote, backslash and control characters escaped; U+2028 and
    /// U+2029 too, so the text is also safe inside a script.
    static func string(_ text: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        let start = out.count
        for byte in text.utf8 {
            switch byte {
            case 0x22: out.append(contentsOf: [0x5C, 0x22])
            case 0x5C: out.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0..<0x20: escape(Int(byte), into: &out)
            case 0xA8...0xA9 where out.count - start >= 2 && out[out.count - 2] == 0xE2 && out[out.count - 1] == 0x80:
                // The last byte of U+2028 or U+2029 (E2 80 A8/A9): replace the sequence.
                out.removeLast(2)
                escape(byte == 0xA8 ? 0x2028 : 0x2029, into: &out)
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    private static func escape(_ v: Int, into out: inout [UInt8]) {
        out.append(contentsOf: [0x5C, UInt8(ascii: "u"), hex[(v >> 12) & 15], hex[(v >> 8) & 15], hex[(v >> 4) & 15], hex[v & 15]])
    }
}
