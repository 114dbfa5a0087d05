import Foundation
import Logging

/// `--log-format json`: one JSON object a line on standard error —
/// `{"time":"2026-12-02T19:04:05.123Z","level":"info","logger":"trainyard","message":"…",`
/// then the line's metadata (`request_id`, `method`, `route`, `status`, `duration_ms`, `actor`, …).
/// `status`, `bytes` and `duration_ms` are numbers; every other value is a string. Control
/// characters are escaped, so a value can never end the line early.
public struct JSONLogHandler: LogHandler {
    /// Serialises writes from every thread, so lines never interleave.
    public final class Output: @unchecked Sendable {
        private let lock = NSLock()
        private let write: (String) -> Void

        public init(write: @escaping (String) -> Void) { self.write = write }

        public static let standardError = Output { line in
            var line = line
            line.withUTF8 { bytes in
                var offset = 0
                while offset < bytes.count {
                    let n = Glibc.write(2, bytes.baseAddress! + offset, bytes.count - offset)
                    if n <= 0 { break }
                    offset += n
                }
            }
        }

        func emit(_ line: String) {
            lock.lock()
            write(line)
            lock.unlock()
        }
    }

    static let numericKeys: Set<String> = ["status", "bytes", "duration_ms"]

    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    let label: String
    let output: Output

    public init(label: String, output: Output = .standardError) {
        self.label = label
        self.output = output
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        output.emit(Self.line(time: Date(), level: event.level, label: label, message: event.message.description,
                              metadata: metadata.merging(event.metadata ?? [:]) { _, line in line }))
    }

    static func line(time: Date, level: Logger.Level, label: String, message: String, metadata: Logger.Metadata) -> String {
        var out = "{\"time\":\"" + timestamp(time) + "\",\"level\":\"" + level.rawValue + "\",\"logger\":"
        appendString(label, to: &out)
        out += ",\"message\":"
        appendString(message, to: &out)
        for key in metadata.keys.sorted() where !["time", "level", "logger", "message"].contains(key) {
            out += ","
            appendString(key, to: &out)
            out += ":"
            appendValue(metadata[key]!, key: key, to: &out)
        }
        out += "}\n"
        return out
    }

    private static func appendValue(_ value: Logger.Metadata.Value, key: String?, to out: inout String) {
        switch value {
        case .string(let text):
            if let key, numericKeys.contains(key), let number = Double(text), number.isFinite {
                out += text
            } else {
                appendString(text, to: &out)
            }
        case .stringConvertible(let convertible):
            appendValue(.string(convertible.description), key: key, to: &out)
        case .array(let items):
            out += "["
            for (index, item) in items.enumerated() {
                if index > 0 { out += "," }
                appendValue(item, key: nil, to: &out)
            }
            out += "]"
        case .dictionary(let entries):
            out += "{"
            for (index, entry) in entries.sorted(by: { $0.key < $1.key }).enumerated() {
                if index > 0 { out += "," }
                appendString(entry.key, to: &out)
                out += ":"
                appendValue(entry.value, key: nil, to: &out)
            }
            out += "}"
        }
    }

    static func appendString(_ text: String, to out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{2028}": out += "\\u2028"
            case "\u{2029}": out += "\\u2029"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.utf8.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }

    /// UTC with milliseconds, without a formatter on the logging path.
    static func timestamp(_ date: Date) -> String {
        let seconds = date.timeIntervalSince1970
        var whole = time_t(seconds.rounded(.down))
        let millis = min(999, Int((seconds - Double(whole)) * 1000))
        var parts = tm()
        gmtime_r(&whole, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.utf8.count)) + text
        }
        return pad(parts.tm_year + 1900, 4) + "-" + pad(parts.tm_mon + 1, 2) + "-" + pad(parts.tm_mday, 2) + "T"
            + pad(parts.tm_hour, 2) + ":" + pad(parts.tm_min, 2) + ":" + pad(parts.tm_sec, 2) + "." + pad(Int32(millis), 3) + "Z"
    }
}
