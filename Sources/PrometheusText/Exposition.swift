import Foundation

/// Which text dialect a metrics page is written in. The two differ in timestamps (milliseconds
/// vs seconds), in the metadata and types they allow, in exemplars and in the mandatory `# EOF`.
public enum ExpositionFormat: Sendable, Equatable {
    /// Prometheus text exposition format 0.0.4 (`text/plain; version=0.0.4`).
    case text
    /// OpenMetrics 1.0 text format (`application/openmetrics-text; version=1.0.0`).
    case openMetrics

    /// From a Content-Type header: `application/openmetrics-text...` → `.openMetrics`, anything
    /// else (including no header) → `.text`, because 0.0.4 is what every exporter falls back to.
    public init(contentType: String?) {
        let type = (contentType ?? "").trimmingCharacters(in: .whitespaces).lowercased()
        self = type.hasPrefix("application/openmetrics-text") ? .openMetrics : .text
    }
}

/// One `name="value"` pair of a series.
public struct Label: Hashable, Sendable, Codable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// One sample line of a page: a series (name and labels) with its value.
public struct Sample: Equatable, Sendable {
    /// The sample's own name, e.g. `http_requests_total` or `latency_seconds_bucket`.
    public var name: String
    /// Sorted by name, so that two lines naming the same labels in another order compare equal.
    public var labels: [Label]
    public var value: Double
    /// Milliseconds since the epoch; OpenMetrics' float seconds are converted (rounded to the
    /// nearest millisecond).
    public var timestampMilliseconds: Int64?

    /// Sorts `labels` by name (stable), keeping the documented invariant.
    public init(name: String, labels: [Label] = [], value: Double, timestampMilliseconds: Int64? = nil) {
        self.name = name
        self.labels = SeriesKey.sorted(labels)
        self.value = value
        self.timestampMilliseconds = timestampMilliseconds
    }

    /// For the parser, whose labels are already sorted.
    init(sortedLabels labels: [Label], name: String, value: Double, timestampMilliseconds: Int64?) {
        self.name = name
        self.labels = labels
        self.value = value
        self.timestampMilliseconds = timestampMilliseconds
    }

    /// The value of the label `name`, or nil when the series has no such label.
    public func label(_ name: String) -> String? {
        labels.first(where: { $0.name == name })?.value
    }

    /// The canonical series key `name{a="1",b="2"}` (labels sorted, values escaped as in the
    /// format): the key `Snapshot` uses, so callers can correlate the two.
    public var seriesKey: String { SeriesKey.render(name: name, labels: labels) }
}

/// The type a `# TYPE` line declares for a metric family.
public enum MetricType: String, Sendable {
    case counter, gauge, histogram, summary, untyped
    // OpenMetrics only:
    case unknown, gaugehistogram, stateset, info
}

/// Bounds the parser enforces, because metrics pages come from targets Trainyard does not
/// control: a broken or hostile exporter must cost an error, not memory or minutes.
public struct ExpositionLimits: Sendable, Equatable {
    /// Longest line accepted, in bytes, not counting the line feed.
    public var maxLineBytes: Int = 65_536
    /// Most sample lines accepted in one page.
    public var maxSeries: Int = 10_000
    /// Most labels accepted on one series (and on one exemplar).
    public var maxLabels: Int = 64

    public static let standard = ExpositionLimits()

    public init(maxLineBytes: Int = 65_536, maxSeries: Int = 10_000, maxLabels: Int = 64) {
        self.maxLineBytes = maxLineBytes
        self.maxSeries = maxSeries
        self.maxLabels = maxLabels
    }
}

/// Why a page was rejected, with the 1-based line, so the message can be shown to whoever
/// runs the exporter.
public struct ExpositionError: Error, Equatable, CustomStringConvertible, Sendable {
    public var line: Int
    public var message: String

    public init(line: Int, message: String) {
        self.line = line
        self.message = message
    }

    /// `line 12: <message>`.
    public var description: String { "line \(line): \(message)" }
}

/// A parsed metrics page. Invalid pages are rejected as a whole (as OpenMetrics requires), so
/// an `Exposition` never holds a half-read page.
public struct Exposition: Sendable {
    /// Every sample line, in page order.
    public var samples: [Sample]
    /// By metric family name, as written in `# TYPE` (in OpenMetrics a counter `foo` has
    /// samples `foo_total` and `foo_created`).
    public var types: [String: MetricType]
    /// `# HELP` texts by family name, unescaped.
    public var help: [String: String]
    /// `# UNIT` values by family name (OpenMetrics only).
    public var units: [String: String]

    public init(samples: [Sample] = [], types: [String: MetricType] = [:],
                help: [String: String] = [:], units: [String: String] = [:]) {
        self.samples = samples
        self.types = types
        self.help = help
        self.units = units
    }

    /// Parses a whole page in one pass over its bytes, stopping at the first problem.
    ///
    /// Works on the bytes rather than a decoded `String` so that an oversized line is rejected
    /// before anything is copied, and so that invalid UTF-8 is reported with its line instead of
    /// being silently replaced.
    public static func parse(_ bytes: [UInt8], format: ExpositionFormat,
                             limits: ExpositionLimits = .standard) throws(ExpositionError) -> Exposition {
        if bytes.isEmpty {
            if format == .openMetrics {
                throw ExpositionError(line: 1, message: "no # EOF at the end (OpenMetrics)")
            }
            return Exposition()
        }
        let result: Result<Exposition, ExpositionError> = bytes.withUnsafeBufferPointer { buffer in
            var parser = ExpositionParser(buffer: buffer, format: format, limits: limits)
            do throws(ExpositionError) {
                return .success(try parser.run())
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }
}

/// The identity of a series within one page: its name and its labels sorted by name.
struct SeriesKey: Hashable {
    var name: String
    var labels: [Label]

    /// Stable insertion sort: label lists are short, and this avoids the generic sort's overhead
    /// on every line.
    static func sorted(_ labels: [Label]) -> [Label] {
        var result = labels
        sortInPlace(&result)
        return result
    }

    static func sortInPlace(_ labels: inout [Label]) {
        if labels.count < 2 { return }
        for i in 1..<labels.count {
            let item = labels[i]
            var j = i - 1
            while j >= 0 && item.name < labels[j].name {
                labels[j + 1] = labels[j]
                j -= 1
            }
            labels[j + 1] = item
        }
    }

    /// `name{a="1",b="2"}`, or just `name` without labels; values escaped (`\\`, `\"`, `\n`) so
    /// that different label sets can never render alike.
    static func render(name: String, labels: [Label]) -> String {
        if labels.isEmpty { return name }
        var out = name
        out.append("{")
        for (index, label) in labels.enumerated() {
            if index > 0 { out.append(",") }
            out.append(label.name)
            out.append("=\"")
            for character in label.value.unicodeScalars {
                switch character {
                case "\\": out.append("\\\\")
                case "\"": out.append("\\\"")
                case "\n": out.append("\\n")
                default: out.unicodeScalars.append(character)
                }
            }
            out.append("\"")
        }
        out.append("}")
        return out
    }
}
