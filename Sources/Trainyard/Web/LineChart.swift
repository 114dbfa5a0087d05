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
        var out = ""
        out.reserveCapacity(4096 + all.count * 16)
        out += "<svg id=\"\(id)\" class=\"chart\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-labelledby=\"\(id)-title \(id)-desc\" preserveAspectRatio=\"xMidYMid meet\">"
        out += "<title id=\"\(id)-title\">\(escape(title))</title>"
        guard !all.isEmpty else {
            out += "<desc id=\"\(id)-desc\">No data yet.</desc>"
            out += "<text class=\"chart-empty\" x=\"\(Int(width / 2))\" y=\"\(Int(height / 2))\" text-anchor=\"middle\">No data yet</text></svg>"
            return out
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
        out += "<desc id=\"\(id)-desc\">\(escape(yLabel)) against \(escape(xLabel)), \(all.count) points. Latest: \(escape(last)).</desc>"
        out += "<g class=\"chart-grid\">"
        for tick in yTicks {
            let y = Self.r(py(tick))
            out += "<line x1=\"\(Self.r(Self.marginLeft))\" x2=\"\(Self.r(width - Self.marginRight))\" y1=\"\(y)\" y2=\"\(y)\"/>"
        }
        out += "</g><g class=\"chart-axis\">"
        out += "<line x1=\"\(Self.r(Self.marginLeft))\" x2=\"\(Self.r(Self.marginLeft))\" y1=\"\(Self.r(Self.marginTop))\" y2=\"\(Self.r(Self.marginTop + plotH))\"/>"
        out += "<line x1=\"\(Self.r(Self.marginLeft))\" x2=\"\(Self.r(width - Self.marginRight))\" y1=\"\(Self.r(Self.marginTop + plotH))\" y2=\"\(Self.r(Self.marginTop + plotH))\"/>"
        for tick in yTicks {
            out += "<text x=\"\(Self.r(Self.marginLeft - 6))\" y=\"\(Self.r(py(tick) + 4))\" text-anchor=\"end\">\(escape(formatY(tick)))</text>"
        }
        for tick in xTicks {
            out += "<text x=\"\(Self.r(px(tick)))\" y=\"\(Self.r(Self.marginTop + plotH + 16))\" text-anchor=\"middle\">\(escape(formatX(tick)))</text>"
        }
        out += "<text class=\"chart-label\" x=\"\(Self.r(Self.marginLeft + plotW / 2))\" y=\"\(Self.r(height - 6))\" text-anchor=\"middle\">\(escape(xLabel))</text>"
        out += "<text class=\"chart-label\" transform=\"rotate(-90)\" x=\"\(Self.r(-(Self.marginTop + plotH / 2)))\" y=\"12\" text-anchor=\"middle\">\(escape(yLabel))</text>"
        out += "</g>"
        for s in series where !s.points.isEmpty {
            out += "<polyline class=\"chart-line \(s.cssClass)\" fill=\"none\" points=\""
            // Hundreds of points a chart: written as bytes, not as strings made and joined per point.
            var points: [UInt8] = []
            points.reserveCapacity(s.points.count * 12)
            for (i, p) in s.points.enumerated() {
                if i > 0 { points.append(UInt8(ascii: " ")) }
                Self.appendTenths(px(p.x), to: &points)
                points.append(UInt8(ascii: ","))
                Self.appendTenths(py(min(max(p.y, yDomain.lowerBound), yDomain.upperBound)), to: &points)
            }
            out += String(decoding: points, as: UTF8.self)
            out += "\"/>"
        }
        for m in markers where m.x.isFinite && xDomain.contains(m.x) {
            let x = Self.r(px(m.x))
            out += "<g class=\"chart-marker \(m.cssClass)\"><title>\(escape(m.title))</title>"
            out += "<line x1=\"\(x)\" x2=\"\(x)\" y1=\"\(Self.r(Self.marginTop + 10))\" y2=\"\(Self.r(Self.marginTop + plotH))\"/>"
            out += "<text x=\"\(x)\" y=\"\(Self.r(Self.marginTop + 8))\" text-anchor=\"middle\">\(escape(m.mark))</text></g>"
        }
        out += "</svg>"
        return out
    }

    /// One decimal is plenty on a 640-unit canvas and keeps pages small.
    static func r(_ v: Double) -> String {
        let scaled = (v * 10).rounded()
        let whole = Int(scaled) / 10, frac = abs(Int(scaled) % 10)
        if frac == 0 { return String(Int(scaled) / 10) }
        return (scaled < 0 && whole == 0 ? "-" : "") + String(whole) + "." + String(frac)
    }

    /// `r(v)` written as bytes: the same digits, with no string made. Digits are formed in a
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

    private func escape(_ s: String) -> String {
        var out = ""
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }
}
