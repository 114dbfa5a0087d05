import Foundation

/// The body of `POST /api/deployments/{id}/inference`: per-minute windows from a model server
/// that cannot be scraped. Checked whole before anything is stored; refusals name the window
/// and field (`windows[2].p95_ms`).
struct PushedWindows {
    static let maxWindows = 1440
    /// As long as minutes are kept (`DeploymentRunner.retention`).
    static let maxAge: TimeInterval = DeploymentRunner.retention
    static let fields = ["minute", "requests", "errors", "p50_ms", "p95_ms", "p99_ms"]
    static let example = #"{"windows": [{"minute": "2026-12-02T09:14:00Z", "requests": 1200, "errors": 3, "p50_ms": 41.5, "p95_ms": 120, "p99_ms": 310}]}"#

    var buckets: [InferenceSimulator.Bucket]

    struct Refusal: Error {
        var field: String
        var message: String
    }

    static func parse(_ body: [UInt8], now: Date) -> Result<PushedWindows, Refusal> {
        let shape = Refusal(field: "windows", message: "Send the windows as a JSON object, such as \(example).")
        // The top level is {"windows": [ {field: scalar, …}, … ]}; anything else is refused whole.
        guard let object = try? JSONDecoder().decode([String: [[String: JSONScalar]]].self, from: Data(body)) else { return .failure(shape) }
        if let unknown = object.keys.sorted().first(where: { $0 != "windows" }) {
            return .failure(Refusal(field: unknown.prefix(scalars: 40), message: "Unknown field '\(unknown.prefix(scalars: 40))': send windows."))
        }
        guard let list = object["windows"], !list.isEmpty else {
            return .failure(Refusal(field: "windows", message: "Send at least one window, such as \(example)."))
        }
        guard list.count <= maxWindows else {
            return .failure(Refusal(field: "windows", message: "Send at most \(maxWindows) windows (one day of minutes) at a time."))
        }
        let currentMinute = DeploymentRunner.minute(of: now)
        let oldest = DeploymentRunner.minute(of: now.addingTimeInterval(-maxAge))
        var buckets: [InferenceSimulator.Bucket] = []
        var seen = Set<Int>()
        for (index, window) in list.enumerated() {
            let at = "windows[\(index)]"
            if let unknown = window.keys.sorted().first(where: { !fields.contains($0) }) {
                return .failure(Refusal(field: at, message: "\(at) has an unknown field '\(unknown.prefix(scalars: 40))': send \(fields.joined(separator: ", "))."))
            }
            guard case .string(let text)? = window["minute"], let date = Instant.parse(text) else {
                return .failure(Refusal(field: at + ".minute", message: "\(at).minute must be the minute's start in ISO 8601, such as 2026-12-02T09:14:00Z."))
            }
            guard date.timeIntervalSince1970.truncatingRemainder(dividingBy: 60) == 0 else {
                return .failure(Refusal(field: at + ".minute", message: "\(at).minute must be the start of a minute (seconds :00), such as 2026-12-02T09:14:00Z."))
            }
            let minute = DeploymentRunner.minute(of: date)
            guard minute <= currentMinute else {
                return .failure(Refusal(field: at + ".minute", message: "\(at).minute \(text) is in the future."))
            }
            guard minute >= oldest else {
                return .failure(Refusal(field: at + ".minute", message: "\(at).minute \(text) is more than 8 days old: minutes are kept for 8 days."))
            }
            guard seen.insert(minute).inserted else {
                return .failure(Refusal(field: at + ".minute", message: "\(at).minute \(text) is sent twice."))
            }
            guard let requests = wholeNumber(window["requests"]), requests >= 0, requests <= 1_000_000_000 else {
                return .failure(Refusal(field: at + ".requests", message: "\(at).requests must be a whole number from 0 to 1000000000."))
            }
            guard let errors = wholeNumber(window["errors"] ?? .integer(0)), errors >= 0, errors <= requests else {
                return .failure(Refusal(field: at + ".errors", message: "\(at).errors must be a whole number from 0 to the window's requests (\(requests))."))
            }
            var quantiles: [Double] = []
            for field in ["p50_ms", "p95_ms", "p99_ms"] {
                let value = window[field]
                if value == nil || value?.isNull == true, requests == 0 { quantiles.append(0); continue }
                guard let number = milliseconds(value) else {
                    return .failure(Refusal(field: "\(at).\(field)", message: "\(at).\(field) must be a number of milliseconds from 0 to 3600000."))
                }
                quantiles.append(number)
            }
            guard quantiles[0] <= quantiles[1], quantiles[1] <= quantiles[2] else {
                return .failure(Refusal(field: at + ".p95_ms", message: "\(at): p50_ms ≤ p95_ms ≤ p99_ms, as quantiles of one minute are."))
            }
            buckets.append(InferenceSimulator.Bucket(minute: minute, requests: requests, errors: errors,
                                                     p50: quantiles[0], p95: quantiles[1], p99: quantiles[2]))
        }
        return .success(PushedWindows(buckets: buckets.sorted { $0.minute < $1.minute }))
    }

    /// A JSON number with no fraction.
    private static func wholeNumber(_ value: JSONScalar?) -> Int? {
        switch value {
        case .integer(let n)?: return abs(n) < 1_000_000_000_000_000 ? Int(n) : nil
        case .number(let d)? where d.isFinite && d == d.rounded() && abs(d) < 1e15: return Int(d)
        default: return nil
        }
    }

    private static func milliseconds(_ value: JSONScalar?) -> Double? {
        let number: Double
        switch value {
        case .integer(let n)?: number = Double(n)
        case .number(let d)?: number = d
        default: return nil
        }
        guard number.isFinite, number >= 0, number <= 3_600_000 else { return nil }
        return number
    }
}
