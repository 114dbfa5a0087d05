import Foundation
import HTTPServer
import PrometheusText
import ScrapeClient

/// The metrics-source fields of the deploy form and the detail page's source form (and the
/// body of `PUT /api/deployments/{id}/source`): the kind, and for a scraped source its target,
/// interval and mapping. A preset other than `custom` supplies the mapping; `custom` takes the
/// names typed in.
struct SourceForm {
    static let fields = ["source", "target_url", "interval_seconds", "preset", "histogram", "requests_counter", "failure_counter", "error_matcher"]
    static let interval = IntegerRule(field: "interval_seconds", range: 5...300,
                                      message: "The scrape interval must be a whole number of seconds from 5 to 300.")
    static let defaultInterval = 15
    static let defaultPreset = ScrapePreset.prometheusClient

    /// The values as typed, by field name (every field present, "" when not sent).
    let values: [String: String]

    init(_ form: QueryParameters) { values = form.values(of: Self.fields) }
    init(values: [String: String]) { self.values = Dictionary(uniqueKeysWithValues: Self.fields.map { ($0, values[$0] ?? "") }) }

    /// What the form shows for `source` (or for a new deployment: simulated).
    static func values(for source: InferenceSource?) -> [String: String] {
        var values = Dictionary(uniqueKeysWithValues: fields.map { ($0, "") })
        values["source"] = source?.kind.rawValue ?? MetricsSourceKind.simulated.rawValue
        values["interval_seconds"] = String(source?.intervalSeconds ?? defaultInterval)
        values["preset"] = (source?.preset ?? defaultPreset).rawValue
        values["target_url"] = source?.targetURL ?? ""
        if source?.preset == .custom, let mapping = source?.mapping {
            values["histogram"] = mapping.histogram
            values["requests_counter"] = mapping.requestsCounter
            values["failure_counter"] = mapping.failureCounter ?? ""
            values["error_matcher"] = mapping.errorMatcher ?? ""
        }
        return values
    }

    /// The choice, or a message per field. `allowlist` decides which targets may be scraped,
    /// checked here (after resolving the name) so a refused URL is a message on the form; the
    /// scraper checks again on every connect.
    func validate(allowlist: ScrapeAllowlist) -> Result<SourceChoice, FieldErrors> {
        var errors = FieldErrors()
        let kindText = values["source"]!.trimmingCharacters(in: .whitespaces)
        guard let kind = kindText.isEmpty ? .simulated : MetricsSourceKind(rawValue: kindText) else {
            return .failure(FieldErrors(["source": "Choose where the figures come from: simulated, scraped or pushed."]))
        }
        guard kind == .scraped else { return .success(SourceChoice(kind: kind)) }

        var target: String?
        let url = values["target_url"]!.trimmingCharacters(in: .whitespaces)
        if url.isEmpty {
            errors["target_url"] = "Give the URL of the model server's metrics page, such as http://127.0.0.1:8000/metrics."
        } else {
            switch TargetCheck.check(url, allowlist: allowlist) {
            case .success(let checked): target = checked.absoluteString
            case .failure(let refusal): errors["target_url"] = refusal.message
            }
        }

        var interval = Self.defaultInterval
        switch Self.interval.parse(values["interval_seconds"]!) {
        case nil: break
        case .success(let value): interval = value
        case .failure(let error): errors[error.field] = error.message
        }

        let presetText = values["preset"]!.trimmingCharacters(in: .whitespaces)
        var preset = Self.defaultPreset
        var mapping: ScrapeMapping?
        if !presetText.isEmpty {
            if let chosen = ScrapePreset(rawValue: presetText) {
                preset = chosen
            } else {
                errors["preset"] = "Choose a preset: " + ScrapePreset.allCases.map(\.rawValue).joined(separator: ", ") + "."
            }
        }
        if errors["preset"] == nil {
            if let fixed = preset.mapping {
                mapping = fixed
            } else {
                mapping = customMapping(&errors)
            }
        }
        guard errors.isEmpty, let target, let mapping else { return .failure(errors) }
        return .success(SourceChoice(kind: .scraped, targetURL: target, intervalSeconds: interval, preset: preset, mapping: mapping))
    }

    /// The names typed for a custom mapping: a histogram, a requests counter, and a failure
    /// counter or an error matcher (one of the two).
    private func customMapping(_ errors: inout FieldErrors) -> ScrapeMapping? {
        func name(_ field: String, _ what: String, required: Bool) -> String? {
            let text = values[field]!.trimmingCharacters(in: .whitespaces)
            if text.isEmpty {
                if required { errors[field] = "Give the \(what)'s name, as it appears on the metrics page." }
                return nil
            }
            guard Self.isMetricName(text) else {
                errors[field] = "“\(Self.clipped(text))” is not a metric name: letters, digits, underscores and colons, not starting with a digit."
                return nil
            }
            return text
        }
        let histogram = name("histogram", "latency histogram", required: true)
        let requests = name("requests_counter", "requests counter", required: true)
        let failures = name("failure_counter", "failure counter", required: false)
        let matcherText = values["error_matcher"]!.trimmingCharacters(in: .whitespaces)
        var matcher: String?
        if matcherText.utf8.count > 2000 {
            errors["error_matcher"] = "Keep the error matcher to 2,000 characters or fewer."
        } else if !matcherText.isEmpty {
            do {
                _ = try LabelMatcher.parseList(matcherText)
                matcher = matcherText
            } catch {
                errors["error_matcher"] = "The error matcher is not a label matcher (such as status=~\"5..\"): \("\(error)".prefix(scalars: 160))"
            }
        }
        if failures != nil, matcher != nil {
            errors["error_matcher"] = "Give a failure counter or an error matcher, not both."
        } else if failures == nil, matcher == nil, errors["failure_counter"] == nil, errors["error_matcher"] == nil {
            errors["failure_counter"] = "Give a failure counter, or an error matcher on the requests counter's labels (such as status=~\"5..\")."
        }
        guard let histogram, let requests, errors["failure_counter"] == nil, errors["error_matcher"] == nil else { return nil }
        return ScrapeMapping(histogram: histogram, requestsCounter: requests, failureCounter: failures, errorMatcher: matcher)
    }

    /// Prometheus metric names: `[a-zA-Z_:][a-zA-Z0-9_:]*`, at most 200 bytes here.
    static func isMetricName(_ text: String) -> Bool {
        guard let first = text.utf8.first, text.utf8.count <= 200 else { return false }
        func letter(_ c: UInt8) -> Bool { (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || c == 0x5F || c == 0x3A }
        return letter(first) && text.utf8.allSatisfy { letter($0) || ($0 >= 0x30 && $0 <= 0x39) }
    }

    static func clipped(_ text: String) -> String { text.unicodeScalars.count > 60 ? text.prefix(scalars: 60) + "…" : text }
}
