import Foundation

/// A server-rendered line chart as inline SVG: axes with tick labels, units, a legend, and a
/// title and description for screen readers. Colours come from CSS classes, never inline styles.
struct LineChart {
    struct Series {
        var label: String
        var cssClass: String
        var points: [(x: Double, y: Double)]
    }

    var title: String
    var xLabel: String
    var yLabel: String
    var series: [Series]
    var width: Double = 640
    var height: Double = 240
    /// Fixed y range (e.g. 0–1 for accuracy); nil fits the data.
    var yRange: ClosedRange<Double>? = nil
    var xRange: ClosedRange<Double>? = nil
    var formatY: (Double) -> String = { Format.compact($0) }
    var formatX: (Double) -> String = { Format.compact($0) }
    /// Vertical event markers: a letter drawn at the top (readable without colour) and a
    /// `<title>` a pointer or screen reader gets; the page lists them with links below the chart.
    var markers: [Marker] = []

    struct Marker {
        var x: Double
        var mark: String
        var title: String
        var cssClass: String
    }

    static let marginLeft = 56.0, marginRight = 16.0, marginTop = 14.0, marginBottom = 42.0

    func svg(id: String) -> String {
        let plotW = width - Self.marginLeft - Self.marginRight
        let plotH = height - Self.marginTop - Self.marginBottom
        // NaN and infinite values cannot be drawn; the table beside a chart shows them.
        let series = series.map { s in Series(label: s.label, cssClass: s.cssClass, points: s.points.filter { $0.x.isFinite && $0.y.isFinite }) }
        let all = series.flatMap(\.points)
        var out = SVGBytes()
        out.bytes.reserveCapacity(4096 + all.count * 16)
        out.add("<svg id=\""); out.add(id); out.add("\" class=\"chart\" viewBox=\"0 0 "); out.add(Int(width)); out.add(" "); out.add(Int(height))
        out.add("\" role=\"img\" aria-labelledby=\""); out.add(id); out.add("-title "); out.add(id); out.add("-desc\" preserveAspectRatio=\"xMidYMid meet\">")
        out.add("<title id=\""); out.add(id); out.add("-title\">"); out.escaped(title); out.add("</title>")
        guard !all.isEmpty else {
            out.add("<desc id=\""); out.add(id); out.add("-desc\">No data yet.</desc>")
            out.add("<text class=\"chart-empty\" x=\""); out.add(Int(width / 2)); out.add("\" y=\""); out.add(Int(height / 2))
            out.add("\" text-anchor=\"middle\">No data yet</text></svg>")
            return out.string
        }
        let xs = all.map(\.x), ys = all.map(\.y)
        var xDomain = xRange ?? (xs.min()!...max(xs.max()!, xs.min()! + 1))
        if xDomain.lowerBound == xDomain.upperBound { xDomain = xDomain.lowerBound...(xDomain.lowerBound + 1) }
        var yDomain: ClosedRange<Double>
        if let yRange { yDomain = yRange } else {
            let lo = ys.min()!, hi = ys.max()!
            let pad = max((hi - lo) * 0.08, abs(hi) * 0.02, 1e-9)
            // Non-negative data keeps zero as its floor; a metric that goes negative is fitted.
            yDomain = (lo >= 0 ? max(0, lo - pad) : lo - pad)...(hi + pad)
        }
        let yTicks = Self.niceTicks(yDomain, count: 5)
        yDomain = min(yDomain.lowerBound, yTicks.first ?? yDomain.lowerBound)...max(yDomain.upperBound, yTicks.last ?? yDomain.upperBound)
        let xTicks = Self.niceTicks(xDomain, count: 6).filter { xDomain.contains($0) }

        func px(_ x: Double) -> Double { Self.marginLeft + (x - xDomain.lowerBound) / (xDomain.upperBound - xDomain.lowerBound) * plotW }
        func py(_ y: Double) -> Double { Self.marginTop + plotH - (y - yDomain.lowerBound) / (yDomain.upperBound - yDomain.lowerBound) * plotH }

        let last = series.map { s in s.points.last.map { "\(s.label) \(formatY($0.y))" } ?? "" }.joined(separator: ", ")
        out.add("<desc id=\""); out.add(id); out.add("-desc\">"); out.escaped(yLabel); out.add(" against "); out.escaped(xLabel); out.add(", ")
        out.add(all.count); out.add(" points. Latest: "); out.escaped(last); out.add(".</desc>")
        let left = Self.marginLeft, right = width - Self.marginRight, top = Self.marginTop, bottom = Self.marginTop + plotH
        out.add("<g class=\"chart-grid\">")
        for tick in yTicks {
            let y = py(tick)
            out.add("<line x1=\""); out.tenths(left); out.add("\" x2=\""); out.tenths(right); out.add("\" y1=\""); out.tenths(y); out.add("\" y2=\""); out.tenths(y); out.add("\"/>")
        }
        out.add("</g><g class=\"chart-axis\">")
        out.add("<line x1=\""); out.tenths(left); out.add("\" x2=\""); out.tenths(left); out.add("\" y1=\""); out.tenths(top); out.add("\" y2=\""); out.tenths(bottom); out.add("\"/>")
        out.add("<line x1=\""); out.tenths(left); out.add("\" x2=\""); out.tenths(right); out.add("\" y1=\""); out.tenths(bottom); out.add("\" y2=\""); out.tenths(bottom); out.add("\"/>")
        for tick in yTicks {
            out.add("<text x=\""); out.tenths(left - 6); out.add("\" y=\""); out.tenths(py(tick) + 4); out.add("\" text-anchor=\"end\">"); out.escaped(formatY(tick)); out.add("</text>")
        }
        for tick in xTicks {
            out.add("<text x=\""); out.tenths(px(tick)); out.add("\" y=\""); out.tenths(bottom + 16); out.add("\" text-anchor=\"middle\">"); out.escaped(formatX(tick)); out.add("</text>")
        }
        out.add("<text class=\"chart-label\" x=\""); out.tenths(left + plotW / 2); out.add("\" y=\""); out.tenths(height - 6); out.add("\" text-anchor=\"middle\">")
        out.escaped(xLabel); out.add("</text>")
        out.add("<text class=\"chart-label\" transform=\"rotate(-90)\" x=\""); out.tenths(-(Self.marginTop + plotH / 2)); out.add("\" y=\"12\" text-anchor=\"middle\">")
        out.escaped(yLabel); out.add("</text>")
        out.add("</g>")
        for s in series where !s.points.isEmpty {
            out.add("<polyline class=\"chart-line "); out.add(s.cssClass); out.add("\" fill=\"none\" points=\"")
            for (i, p) in s.points.enumerated() {
                if i > 0 { out.bytes.append(UInt8(ascii: " ")) }
                out.tenths(px(p.x))
                out.bytes.append(UInt8(ascii: ","))
                out.tenths(py(min(max(p.y, yDomain.lowerBound), yDomain.upperBound)))
            }
            out.add("\"/>")
        }
        for m in markers where m.x.isFinite && xDomain.contains(m.x) {
            let x = px(m.x)
            out.add("<g class=\"chart-marker "); out.add(m.cssClass); out.add("\"><title>"); out.escaped(m.title); out.add("</title>")
            out.add("<line x1=\""); out.tenths(x); out.add("\" x2=\""); out.tenths(x); out.add("\" y1=\""); out.tenths(top + 10); out.add("\" y2=\""); out.tenths(bottom); out.add("\"/>")
            out.add("<text x=\""); out.tenths(x); out.add("\" y=\""); out.tenths(top + 8); out.add("\" text-anchor=\"middle\">"); out.escaped(m.mark); out.add("</text></g>")
        }
        out.add("</svg>")
        return out.string
    }

    /// The SVG's bytes, written in place: a chart is hundreds of elements, and a string made
    /// and appended for each was most of a chart's time (`perf record` of the monitor).
    private struct SVGBytes {
        var bytes: [UInt8] = []
        var string: String { String(decoding: bytes, as: UTF8.self) }
        mutating func add(_ text: StaticString) { text.withUTF8Buffer { bytes.append(contentsOf: $0) } }
        mutating func add(_ text: String) { bytes.append(contentsOf: text.utf8) }
        mutating func add(_ n: Int) { bytes.append(contentsOf: String(n).utf8) }
        /// A coordinate, one decimal (`appendTenths`).
        mutating func tenths(_ v: Double) { LineChart.appendTenths(v, to: &bytes) }
        /// Text content or an attribute value: `&`, `<`, `>` and `"` as references (UTF-8 never
        /// has these bytes inside a longer character, so the rest is copied as it is).
        mutating func escaped(_ text: String) {
            for byte in text.utf8 {
                switch byte {
                case UInt8(ascii: "&"): add("&amp;")
                case UInt8(ascii: "<"): add("&lt;")
                case UInt8(ascii: ">"): add("&gt;")
                case UInt8(ascii: "\""): add("&quot;")
                default: bytes.append(byte)
                }
            }
        }
    }

    /// A coordinate with one decimal (plenty on a 640-unit canvas, and pages stay small),
    /// rounded half away from zero, written as bytes with no string made. Digits are formed in a
    /// small buffer on the stack and appended once (a chart has hundreds of coordinates).
    static func appendTenths(_ v: Double, to out: inout [UInt8]) {
        let scaled = Int((v * 10).rounded())
        let frac = abs(scaled % 10)
        var magnitude = (scaled / 10).magnitude
        var buffer: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &buffer) { digits in
            var at = digits.count
            if frac != 0 {
                at -= 2
                digits[at] = UInt8(ascii: ".")
                digits[at + 1] = UInt8(ascii: "0") + UInt8(frac)
            }
            repeat {
                at -= 1
                digits[at] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            if scaled < 0 {
                at -= 1
                digits[at] = UInt8(ascii: "-")
            }
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: digits[at...]))
        }
    }

    /// Round tick values (1, 2, 5 × 10ⁿ) covering `range`.
    static func niceTicks(_ range: ClosedRange<Double>, count: Int) -> [Double] {
        let span = range.upperBound - range.lowerBound
        guard span > 0, span.isFinite else { return [range.lowerBound] }
        let rough = span / Double(max(count - 1, 1))
        let magnitude = pow(10, floor(log10(rough)))
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= rough } ?? rough
        let start = (range.lowerBound / step).rounded(.down) * step
        var ticks: [Double] = []
        var v = start
        while v <= range.upperBound + step * 0.5 && ticks.count < 20 {
            ticks.append(v)
            v += step
        }
        return ticks
    }
}
