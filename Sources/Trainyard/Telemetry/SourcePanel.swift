import Foundation
import TemplateEngine

/// The detail page's "Metrics source" panel: where the figures come from, how scraping stands
/// (up, or down since when and why), and the form that changes it.
enum SourcePanel {
    static func members(_ d: Deployment, _ source: InferenceSource?, now: Date, ctx: WebContext) -> [String: TemplateValue] {
        let current = source.flatMap { $0.kind == d.metricsSource ? $0 : nil }
        var data: [String: TemplateValue] = [
            "kind": .string(d.metricsSource.rawValue),
            "label": .string(d.metricsSource.label),
            "isScraped": .bool(d.metricsSource == .scraped),
            "isPushed": .bool(d.metricsSource == .pushed),
            "pushPath": .string(Paths.deploymentAPI(d.id) + "/inference"),
        ]
        if let s = current, s.kind == .scraped {
            data["target"] = .string(s.targetURL ?? "")
            data["interval"] = .int(s.intervalSeconds ?? SourceForm.defaultInterval)
            data["mapping"] = .string(mappingText(s))
            data["lastScrape"] = s.lastScrapeAt.map { Format.timestamp($0, now: now) } ?? .null
            data["lastSuccess"] = s.lastSuccessAt.map { Format.timestamp($0, now: now) } ?? .null
            data["lastError"] = .optional(s.lastError)
            switch s.up {
            case nil: data["waiting"] = true
            case true?: data["up"] = true
            case false?: data["downSince"] = s.downSince.map { Format.timestamp($0, now: now) } ?? .null
            }
        }

        var form = fields(ctx.formValues(SourceForm.fields, defaults: SourceForm.values(for: current)), ctx)
        form["action"] = .string(Paths.deployment(d.id) + "/source")
        form["hasFigures"] = .bool(d.statsAt != nil)
        data["form"] = .object(form)
        return data
    }

    /// The fields of `partials/source_fields`, showing `typed` (the deploy form uses them too).
    static func fields(_ typed: [String: String], _ ctx: WebContext) -> [String: TemplateValue] {
        var form: [String: TemplateValue] = [:]
        form["kinds"] = .list(MetricsSourceKind.allCases.map { kind in
            ["value": .string(kind.rawValue), "label": .string(kind.label), "id": .string("source-kind-\(kind.rawValue)"),
             "checked": .bool(typed["source"] == kind.rawValue)]
        })
        form["presets"] = .list(ScrapePreset.allCases.map { preset in
            ["value": .string(preset.rawValue), "label": .string(preset.label), "selected": .bool(typed["preset"] == preset.rawValue),
             "mapping": .string(preset.mapping.map { "\($0.histogram) · \($0.requestsCounter) · " + ($0.failureCounter ?? $0.errorMatcher ?? "") } ?? "")]
        })
        for name in ["target_url", "histogram", "requests_counter", "failure_counter", "error_matcher"] {
            form[name] = FormField(name, prefix: "source", value: typed[name] ?? "", ctx).templateValue
        }
        form["interval_seconds"] = FormField("interval_seconds", prefix: "source", value: FormField.numberValue(typed["interval_seconds"] ?? ""), ctx,
                                             extra: SourceForm.interval.attributes).templateValue
        form["kindError"] = .optional(ctx.fieldError("source"))
        form["presetError"] = .optional(ctx.fieldError("preset"))
        // Opened when it comes back with a refusal, so the messages are in view.
        form["open"] = .bool(SourceForm.fields.contains { ctx.fieldError($0) != nil })
        return form
    }

    static func mappingText(_ s: InferenceSource) -> String {
        guard let m = s.mapping else { return "" }
        let errors = m.failureCounter.map { "failures \($0)" } ?? m.errorMatcher.map { "failures \(m.requestsCounter){\($0)}" } ?? ""
        let preset = s.preset.map { $0 == .custom ? "custom" : $0.label } ?? "custom"
        return "\(preset): latency \(m.histogram), requests \(m.requestsCounter), \(errors)"
    }
}
