import Foundation
import HTTPServer
import TemplateEngine

/// `GET /training/compare?job=1&job=2&metric=loss`: up to ten jobs' curves of one metric on one
/// chart, and their params side by side with the differing ones marked. The URL is the state.
extension TrainingRoutes {
    static let maxCompared = 10

    static func compareJobs(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        var notes: [String] = []
        var ids: [Int] = []
        for text in ctx.request.query.all("job") {
            guard let id = Int(text), id > 0 else {
                notes.append("'\(text.prefix(40))' is not a job id; it was left out.")
                continue
            }
            if !ids.contains(id) { ids.append(id) }
        }
        if ids.count > maxCompared {
            notes.append("At most \(maxCompared) jobs can be compared; the first \(maxCompared) are shown.")
            ids = Array(ids.prefix(maxCompared))
        }
        let found = Dictionary(uniqueKeysWithValues: try JobStore(database: app.database).find(ids: ids).map { ($0.id, $0) })
        for id in ids where found[id] == nil { notes.append("There is no job #\(id); it was left out.") }
        let jobs = ids.compactMap { found[$0] }

        let metrics = MetricStore(database: app.database)
        let summaries = try metrics.summaries(ofJobs: jobs.map(\.id))
        let keys = JobMonitor.ordered(Array(Set(summaries.values.flatMap { $0.map(\.key) })).map {
            MetricSummary(key: $0, latestStep: 0, latestAt: Date(), latest: 0, min: nil, max: nil)
        }).map(\.key)
        var metric = ctx.request.query["metric"] ?? keys.first ?? "loss"
        if !keys.isEmpty && !keys.contains(metric) {
            notes.append("None of these jobs logged '\(metric.prefix(80))'; showing \(keys[0]).")
            metric = keys[0]
        }

        var series: [LineChart.Series] = []
        var legend: [TemplateValue] = []
        for (index, job) in jobs.enumerated() {
            let summary = summaries[job.id]?.first { $0.key == metric }
            let points = try summary.map { try app.chartCache.stepSeries(job: job, key: metric, latestStep: $0.latestStep, store: metrics) } ?? []
            series.append(.init(label: job.name, cssClass: "series-c\(index)", points: points))
            legend.append(["name": .string(job.name), "href": .string(Paths.job(job.id)), "swatch": .string("legend-c\(index)"),
                           "latest": .string(summary.map { JobMonitor.format($0.latest, key: metric) } ?? "not logged"),
                           "index": .int(index + 1)])
        }
        let chart = LineChart(title: "\(metric) of \(jobs.count) job\(jobs.count == 1 ? "" : "s")", xLabel: "Step", yLabel: metric,
                              series: series).svg(id: "compare-chart")

        let params = try RunDataStore(database: app.database).all(.params, ofJobs: jobs.map(\.id))
        let table = CompareTable(jobs: jobs, params: params)
        let view = CompareView(jobs: jobs, metric: metric, keys: keys, chart: chart, legend: legend, table: table, notes: notes)
        return try app.web.render(view, ctx)
    }
}

/// The params of the compared jobs, one row per key: a simulated job's plan counts as params.
struct CompareTable {
    struct Row {
        var key: String
        var values: [String]
        var differs: Bool
    }

    var rows: [Row]

    init(jobs: [TrainingJob], params: [Int: [RunDataStore.KeyValue]]) {
        var byJob: [[String: String]] = []
        for job in jobs {
            var values: [String: String] = [:]
            for p in params[job.id] ?? [] { values[p.key] = p.value }
            if let plan = job.plan {
                values["epochs"] = String(plan.epochs)
                values["learning_rate"] = Format.learningRate(plan.learningRate)
                values["batch_size"] = String(plan.batchSize)
            }
            if let model = job.modelSlug, values["base_model"] == nil { values["base_model"] = model }
            byJob.append(values)
        }
        let keys = Set(byJob.flatMap(\.keys)).sorted()
        rows = keys.map { key in
            let values = byJob.map { $0[key] ?? "—" }
            return Row(key: key, values: values, differs: Set(values).count > 1)
        }
    }
}

struct CompareView: PageView {
    static let template = "training/compare"
    let title = "Compare jobs"
    let section: NavSection? = .training

    var jobs: [TrainingJob]
    var metric: String
    var keys: [String]
    var chart: String
    var legend: [TemplateValue]
    var table: CompareTable
    var notes: [String]

    func members() -> [String: TemplateValue] {
        [
            "hasJobs": .bool(!jobs.isEmpty),
            "jobs": .list(jobs.map { ["id": .int($0.id), "name": .string($0.name), "href": .string(Paths.job($0.id))] }),
            "metric": .string(metric),
            "metrics": .list(keys.map { SelectOption(value: $0, label: $0, selected: $0 == metric).templateValue }),
            "hasMetrics": .bool(!keys.isEmpty),
            "chart": .string(chart),
            "legend": .list(legend),
            "rows": .list(table.rows.map { row in
                ["key": .string(row.key), "differs": .bool(row.differs), "values": .list(row.values.map { .string($0) })]
            }),
            "hasRows": .bool(!table.rows.isEmpty),
            "differing": .int(table.rows.filter(\.differs).count),
            "notes": .list(notes.map { .string($0) }),
            "jobsHref": .string(Paths.jobs),
            "action": .string(Paths.compare),
        ]
    }
}
