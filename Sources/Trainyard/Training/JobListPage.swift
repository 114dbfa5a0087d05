import Foundation
import HTTPServer
import Storage
import TemplateEngine

/// `GET /training/jobs`: filter, sort and page in SQL; the URL is the state.
extension TrainingRoutes {
    static let sortKeys: [String: TableQuery.Direction] = [
        "name": .asc, "model": .asc, "status": .asc, "epochs": .desc, "lr": .desc, "progress": .desc, "created": .desc,
    ]

    /// Whitelisted ORDER BY expressions; user input only ever picks one of these.
    static let sortExpressions: [String: String] = [
        "name": "j.name", "model": "m.name", "status": "j.status", "epochs": "j.epochs", "lr": "j.learning_rate",
        "progress": "(j.current_step * 1.0) / (j.epochs * j.steps_per_epoch)", "created": "j.created_at",
    ]

    static func listJobs(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        let now = Date()
        let models = try ModelStore(database: app.database).all()
        var query = TableQuery(ctx.request.query, statuses: JobStatus.allCases.map(\.rawValue), sortKeys: sortKeys, defaultSort: "created")
        var modelFilter: CatalogueModel?
        if let slug = ctx.request.query["model"], let model = models.first(where: { $0.slug == slug }) {
            modelFilter = model
            query.filters = [("model", slug)]
        }

        var conditions: [String] = []
        var parameters: [SQLValue] = []
        func placeholder(_ value: SQLValue) -> String {
            parameters.append(value)
            return "$\(parameters.count)"
        }
        if !query.q.isEmpty {
            let pattern = placeholder(.text("%" + likeEscaped(query.q.lowercased()) + "%"))
            conditions.append("(LOWER(j.name) LIKE \(pattern) ESCAPE '\\' OR LOWER(m.name) LIKE \(pattern) ESCAPE '\\')")
        }
        if !query.statuses.isEmpty {
            conditions.append("j.status IN (" + query.statuses.map { placeholder(.text($0)) }.joined(separator: ", ") + ")")
        }
        if let modelFilter { conditions.append("j.model_id = " + placeholder(.int(Int64(modelFilter.id)))) }
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let direction = query.direction == .asc ? "ASC" : "DESC"
        let order = sortExpressions[query.sort] ?? "j.created_at"
        let limit = placeholder(.int(Int64(query.perPage + 1)))
        let offset = placeholder(.int(Int64(query.offset)))
        let rows = try app.database.query("""
            SELECT \(JobStore.columns) FROM training_jobs j JOIN models m ON m.id = j.model_id
            \(whereClause) ORDER BY \(order) \(direction), j.id \(direction) LIMIT \(limit) OFFSET \(offset)
            """, parameters)
        let hasNext = rows.count > query.perPage
        let jobs = try rows.prefix(query.perPage).map(JobStore.decode)

        var counts: [String: Int] = [:]
        for row in try app.database.query("SELECT status, count FROM job_status_counts", []) {
            counts[try row.string("status")] = try row.int("count")
        }
        let total = counts.values.reduce(0, +)
        let currentPath = Paths.with(Paths.jobs, query.pairs())

        // A complete job that already serves links to its deployment instead of offering Deploy.
        let deployed = try JobStore(database: app.database).liveDeployments(of: jobs.filter { $0.status == .complete }.map(\.id))
        let rowsValue: [TemplateValue] = jobs.map { job in
            var actions: [TemplateValue] = []
            if job.status == .queued {
                actions.append(["label": "Start", "action": .string(Paths.job(job.id) + "/start"), "primary": true])
            }
            if job.status == .queued || job.status == .running {
                actions.append(["label": "Stop", "action": .string(Paths.job(job.id) + "/stop"), "danger": true])
            }
            if job.status == .complete, let deployment = deployed[job.id] {
                actions.append(["label": "Deployment", "link": .string(Paths.deployment(deployment))])
            } else if job.status == .complete {
                actions.append(["label": "Deploy", "action": .string(Paths.deployments), "primary": true, "jobID": .string(String(job.id))])
            }
            return [
                "name": .string(job.name), "href": .string(Paths.job(job.id)), "model": .string(job.modelName),
                "modelHref": .string(Paths.model(job.modelSlug)), "status": Badge.job(job.status),
                "epochs": .int(job.epochs), "learningRate": .string(formatRate(job.learningRate)),
                "progress": .int(Int((job.progress * 100).rounded(.down))), "created": Format.timestamp(job.createdAt, now: now),
                "actions": .list(actions), "returnTo": .string(currentPath), "viewLabel": .string("View \(job.name)"),
            ]
        }

        func header(_ key: String, _ label: String, numeric: Bool = false) -> TemplateValue {
            ["label": .string(label), "href": .string(query.sortLink(Paths.jobs, key: key)), "ariaSort": .string(query.ariaSort(key)),
             "sorted": .bool(query.sort == key), "ascending": .bool(query.direction == .asc), "numeric": .bool(numeric)]
        }
        let statusFilters: [TemplateValue] = JobStatus.allCases.map { status in
            ["value": .string(status.rawValue), "label": .string(status.label), "count": .int(counts[status.rawValue] ?? 0),
             "checked": .bool(query.statuses.contains(status.rawValue)), "id": .string("status-\(status.rawValue)")]
        }
        let modelOptions: [TemplateValue] = models.map { ["value": .string($0.slug), "label": .string($0.name), "selected": .bool($0.id == modelFilter?.id)] }
        var applied: [String] = []
        if !query.q.isEmpty { applied.append("matching “\(query.q)”") }
        if !query.statuses.isEmpty { applied.append("status " + query.statuses.joined(separator: " or ")) }
        if let modelFilter { applied.append("model \(modelFilter.name)") }
        let sortLabel = ["name": "name", "model": "model", "status": "status", "epochs": "epochs", "lr": "learning rate",
                         "progress": "progress", "created": "created"][query.sort] ?? query.sort

        return try app.web.page("training/index", title: "Training jobs", section: .training, [
            "jobs": .list(rowsValue),
            "hasJobs": .bool(!jobs.isEmpty),
            "noJobsAtAll": .bool(jobs.isEmpty && total == 0 && !query.isFiltered && query.page == 1),
            "noMatches": .bool(jobs.isEmpty && !(total == 0 && !query.isFiltered && query.page == 1)),
            "q": .string(query.q),
            "statusFilters": .list(statusFilters),
            "models": .list(modelOptions),
            "per": .int(query.perPage),
            "sort": .string(query.sort), "dir": .string(query.direction.rawValue),
            "headers": [
                "name": header("name", "Job"), "model": header("model", "Model"), "status": header("status", "Status"),
                "epochs": header("epochs", "Epochs", numeric: true), "lr": header("lr", "Learning rate", numeric: true),
                "progress": header("progress", "Progress", numeric: true), "created": header("created", "Created"),
            ],
            "applied": .string(applied.isEmpty ? "All jobs" : "Jobs " + applied.joined(separator: ", ")),
            "sortDescription": .string("sorted by \(sortLabel), \(query.direction == .asc ? "ascending" : "descending")"),
            "page": .int(query.page),
            "total": .int(total),
            "prevHref": query.page > 1 ? .string(query.pageLink(Paths.jobs, page: query.page - 1)) : .null,
            "nextHref": hasNext ? .string(query.pageLink(Paths.jobs, page: query.page + 1)) : .null,
            "clearHref": .string(Paths.jobs),
            "configureHref": .string(Paths.configure),
            "listPath": .string(Paths.jobs),
        ], ctx)
    }

    /// Escapes LIKE wildcards so a search for `50%` matches the text, not everything.
    static func likeEscaped(_ text: String) -> String {
        var out = ""
        for c in text {
            if c == "%" || c == "_" || c == "\\" { out.append("\\") }
            out.append(c)
        }
        return out
    }

    static func formatRate(_ rate: Double) -> String {
        if rate >= 0.001 && rate < 1 { return String(format: "%g", rate) }
        return String(format: "%.0e", rate).replacingOccurrences(of: "e-0", with: "e-")
    }
}
