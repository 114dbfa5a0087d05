import Foundation
import Storage
import HTTPServer
import TemplateEngine

/// `GET /deployments`: filter, sort and page in SQL; the URL is the state.
///
/// Per-status counts come from `deployment_status_counts`, never a COUNT. Paging is a bounded
/// OFFSET (at most `maxOffset` rows deep) with a "next" link found by asking for one row more
/// than the page shows; no total page count is computed.
extension DeploymentRoutes {
    static let list = ListDefinition<DeploymentSortKey, DeploymentStatus>(
        path: Paths.deployments, noun: "Deployments", defaultSort: .created, exportable: true)
    /// P50 and P99 sort from links under the table rather than columns of their own.
    static let headerKeys: [DeploymentSortKey] = [.model, .version, .status, .rps, .p95, .errors, .created]
    /// What the table and its filters read (`live_at` the history, `source` the sources, `up`
    /// the replicas), for its ETag.
    static let tableVersion = PageVersion(.deployments, .deploymentStatusCounts, .deploymentStatusHistory, .inferenceSources, .deploymentReplicas)

    static func listDeployments(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        var request = ListRequest(list, ctx.request.query)
        let store = DeploymentStore(database: app.database)
        let (filters, liveAtText, liveAtNote) = extraFilters(ctx.request.query, &request)
        let result = try store.list(request.slice, filters: filters)
        let chrome = ListChrome(request, shown: result.rows.count, hasMore: result.hasMore,
                                counts: try app.deploymentCounts.counts(at: ctx.counters?.stamp(for: .deploymentStatusCounts), read: store.statusCounts),
                                headerKeys: headerKeys)
        let now = Date()
        return try app.web.render(DeploymentListView(table: ListTable(chrome: chrome, rows: result.rows.map { .init(row: $0, now: now) }),
                                                     liveAt: liveAtText, liveAtNote: liveAtNote, attention: filters.attention,
                                                     source: filters.source, up: filters.up), ctx)
    }
}

extension DeploymentRoutes {
    /// `live_at`, `attention`, `source` and `up`, shared by the table and its exports: the filters, the text
    /// as typed, and a note when the time could not be read (the table is then not filtered by it).
    static func extraFilters(_ query: QueryParameters, _ request: inout ListRequest<DeploymentSortKey, DeploymentStatus>)
        -> (DeploymentStore.Filters, String, String?) {
        var filters = DeploymentStore.Filters()
        var note: String?
        let text = String((query["live_at"] ?? "").prefix(64))
        if !text.isEmpty {
            if let instant = Instant.parse(text) {
                filters.liveAt = instant
                request.addFilter("live_at", value: text, description: "serving at \(SQLTimestamp.iso8601(instant))")
            } else {
                note = "“\(text)” is not a time Trainyard can read, so the table is not filtered by it. \(Instant.message)"
            }
        }
        if query["attention"] == "1" {
            filters.attention = true
            request.addFilter("attention", value: "1", description: "needing attention")
        }
        if let text = query["source"], let source = MetricsSourceKind(rawValue: text) {
            filters.source = source
            request.addFilter("source", value: text, description: "figures \(source.rawValue)")
        }
        // up=0 / up=1 is about scraping, so it implies a scraped source.
        if let text = query["up"], text == "0" || text == "1" {
            filters.up = text == "1"
            if filters.source == nil { filters.source = .scraped }
            request.addFilter("up", value: text, description: text == "1" ? "scraping up" : "scraping down")
        }
        return (filters, text, note)
    }
}

struct DeploymentListView: PageView {
    static let template = "deployments/index"
    let title = "Deployments"
    let section: NavSection? = .deployments

    var table: ListTable<DeploymentSortKey, DeploymentStatus, Row>
    var liveAt: String
    var liveAtNote: String?
    var attention: Bool
    var source: MetricsSourceKind?
    var up: Bool?

    struct Row: TemplateConvertible {
        var row: DeploymentListRow
        var now: Date

        /// The names once for the table; each row's values go end to end into one `.rows`.
        static let keys = TemplateKeys(["model", "name", "href", "version", "status", "running", "target", "active", "rps", "rpsFlag",
                                        "p95", "p95Flag", "errors", "errorsFlag", "attention", "source", "scrapeDown",
                                        "createdRelative", "createdExact", "createdIso"])
        static var rowKeys: TemplateKeys? { keys }

        var templateValue: TemplateValue {
            var values: [TemplateValue] = []
            values.reserveCapacity(Self.keys.names.count)
            appendRowValues(to: &values)
            return .record(Self.keys, values)
        }

        func appendRowValues(to values: inout [TemplateValue]) {
            values.append(.string(row.modelName))
            values.append(.string(row.name))
            values.append(.formatted(Paths.deploymentHref, Int64(row.id)))
            values.append(.string(row.version))
            values.append(Badge.of(row.status))
            values.append(.int(row.runningReplicas))
            values.append(.int(row.targetReplicas))
            values.append(.bool(row.status == .active))
            values.append(.string(Format.requestsPerSecond(row.stats.rps)))
            values.append(row.stats.trafficSeverity(baseline: row.rpsBaseline) == .healthy ? .null : flag(row.stats.trafficHealth(baseline: row.rpsBaseline)))
            values.append(.string(Format.milliseconds(row.stats.p95)))
            values.append(row.stats.p95Severity == .healthy ? .null : flag(row.stats.p95Health))
            values.append(.string(Format.percent(row.stats.errorRate)))
            values.append(flag(row.stats.errorHealth))
            values.append(.bool(row.needsAttention))
            values.append(row.metricsSource == .simulated ? .null : .string(row.metricsSource.rawValue))
            values.append(.bool(row.scrapeDown))
            // The <time> element's three parts in the row itself: as a record each row had one more array.
            Format.appendTimestamp(row.createdAt, now: now, to: &values)
        }

        /// A figure's flag for the table: nothing when healthy, else the word and its reason.
        func flag(_ check: HealthCheck) -> TemplateValue {
            check.severity == .healthy ? .null : .record(Self.flagKeys, [.string(check.severity.word), .string(check.note)])
        }

        static let flagKeys = TemplateKeys(["word", "note"])
    }

    static let sourceKeys = TemplateKeys(["value", "label", "selected"])
    /// Each source's value and label, made once (`capitalized` is Foundation's, per call).
    static let sourceOptions = MetricsSourceKind.allCases.map { kind in
        (kind, TemplateValue.string(kind.rawValue), TemplateValue.string(kind.rawValue.capitalized))
    }

    func members() -> [String: TemplateValue] {
        var m = table.members()
        m["jobsHref"] = .string(Paths.with(Paths.jobs, [("status", JobStatus.complete.rawValue)]))
        m["liveAt"] = .string(liveAt)
        m["liveAtNote"] = .optional(liveAtNote)
        m["liveAtExample"] = .string(Instant.example)
        m["attention"] = .bool(attention)
        m["sources"] = .rows(Self.sourceKeys, records: Self.sourceOptions.map { kind, value, label in
            [value, label, .bool(source == kind)]
        })
        m["scrapeDownFilter"] = .bool(up == false)
        return m
    }
}
