import Foundation
import HTTPServer
import Storage

/// MLflow's tracking REST API under `/api/2.0/mlflow/`, so training code that calls
/// `mlflow.log_metric` logs to Trainyard unchanged. Reads need a viewer, writes an operator;
/// scripts authenticate with a Bearer token (`MLFLOW_TRACKING_TOKEN`) or Basic user name and
/// password (`MLFLOW_TRACKING_USERNAME`/`_PASSWORD`). Every answer is JSON, errors in MLflow's
/// shape and always 4xx for bad input (the client retries 5xx).
enum TrackingRoutes {
    static let prefix = "/api/2.0/mlflow/"

    typealias Endpoint = (TrainyardApp, TrackingRequest, WebContext) throws -> JSONValue

    static func add(to app: TrainyardApp) {
        func get(_ path: String, _ endpoint: @escaping Endpoint) {
            app.get(prefix + path, access: .signedIn(.viewer)) { [unowned app] ctx in serve(app, ctx, endpoint) }
        }
        func post(_ path: String, role: Role = .operator, _ endpoint: @escaping Endpoint) {
            app.post(prefix + path, access: .signedIn(role)) { [unowned app] ctx in serve(app, ctx, endpoint) }
        }
        get("experiments/get-by-name", experimentByName)
        post("experiments/create", createExperiment)
        get("experiments/get", experiment)
        get("experiments/search", searchExperiments)
        post("experiments/search", role: .viewer, searchExperiments)
        post("runs/create", createRun)
        post("runs/update", updateRun)
        get("runs/get", getRun)
        get("runs/search", searchRuns)
        post("runs/search", role: .viewer, searchRuns)
        post("runs/log-metric", logMetric)
        post("runs/log-parameter", logParameter)
        post("runs/log-batch", logBatch)
        post("runs/set-tag", setTag)
        post("runs/delete-tag", deleteTag)
        get("metrics/get-history", metricHistory)
    }

    private static func serve(_ app: TrainyardApp, _ ctx: WebContext, _ endpoint: Endpoint) -> HTTPResponse {
        do {
            return TrackingJSON.response(try endpoint(app, try TrackingRequest(ctx.request), ctx))
        } catch let error as TrackingError {
            return error.response
        } catch let error as InvalidInput {
            return TrackingError.invalid(error.message).response
        } catch let error as DatabaseError where error.isTransient {
            // The client retries 503 (honouring Retry-After); nothing of the request was applied.
            var response = TrackingError(code: "TEMPORARILY_UNAVAILABLE", message: "The database is unavailable; the request was not applied. Retry shortly.",
                                         status: 503).response
            response.headers.set("Retry-After", "2")
            return response
        } catch {
            app.logger.error("tracking request failed", metadata: ["path": LogText.value(ctx.request.path), "request_id": "\(ctx.request.requestID)", "error": LogText.value("\(error)")])
            return TrackingError(code: "INTERNAL_ERROR", message: "The tracking request failed on the server; it was not applied.", status: 500).response
        }
    }

    /// What to answer for a path under the tracking prefixes that is not served: artifacts and
    /// the model registry are out of scope (501, not retried); anything else is unknown (404).
    static func unknownEndpoint(_ path: String) -> HTTPResponse? {
        let tracking = path.hasPrefix("/api/2.0/mlflow") || path.hasPrefix("/api/2.0/preview/mlflow") || path.hasPrefix("/ajax-api/")
            || path.hasPrefix("/api/3.0/mlflow")
        guard tracking else { return nil }
        let unsupported = ["artifacts", "registered-models", "model-versions", "mlflow-artifacts", "logged-models", "traces"]
        if unsupported.contains(where: { path.contains($0) }) { return TrackingError.unsupported.response }
        return TrackingError(code: "ENDPOINT_NOT_FOUND",
                             message: "Trainyard's tracking API has no endpoint \(path); /docs/tracking lists the supported calls.", status: 404).response
    }

    // MARK: Experiments

    static func experimentJSON(_ app: TrainyardApp, _ e: Experiment) throws -> JSONValue {
        TrackingJSON.experiment(e, tags: try ExperimentStore(database: app.database).tags(e.id))
    }

    static func experimentByName(_ app: TrainyardApp, _ r: TrackingRequest, _ ctx: WebContext) throws -> JSONValue {
        let name = try r.requiredString("experiment_name")
        guard let e = try ExperimentStore(database: app.database).find(name: name) else {
            throw TrackingError.notFound("Could not find experiment with name '\(name)'")
        }
        return .object([("experiment", try experimentJSON(app, e))])
    }

    static func experimentID(_ text: String) throws -> Int {
        guard let id = Int(text), id >= 0 else {
            throw TrackingError.invalid("Invalid experiment ID '\(text)'. Experiment ID must be a valid integer.")
        }
        return id
    }

    static func experiment(_ app: TrainyardApp, _ r: TrackingRequest, _ ctx: WebContext) throws -> JSONValue {
        let id = try experimentID(try r.requiredString("experiment_id"))
        guard let e = try ExperimentStore(database: app.database).find(id: id) else {
            throw TrackingError.notFound("No Experiment with id=\(id) exists")
        }
        return .object([("experiment", try experimentJSON(app, e))])
    }

    static func createExperiment(_ app: TrainyardApp, _ r: TrackingRequest, _ ctx: WebContext) throws -> JSONValue {
        let name = try r.requiredString("name")
        try TrackingLimits.checkLength(name, limit: TrackingLimits.maxExperimentNameLength, entity: "name")
        let tags = try r.pairs("tags", valueLimit: 20_000, valueEntity: "value")
        switch try ExperimentStore(database: app.database).create(name: name, tags: tags, by: try ctx.requireActor, now: Date()) {
        case .created(let id): return .object([("experiment_id", .string(String(id)))])
        case .exists: throw TrackingError.exists("Experiment(name=\(name)) already exists.")
        }
    }

    static func maxResults(_ r: TrackingRequest, default fallback: Int) throws -> Int {
        guard let value = try r.int64("max_results") else { return fallback }
        guard value >= 1, value <= Int64(TrackingLimits.maxSearchResults) else {
            throw TrackingError.invalid("Invalid value \(value) for parameter 'max_results' supplied. It must be between 1 and \(TrackingLimits.maxSearchResults).")
        }
        return Int(value)
    }

    static func searchExperiments(_ app: TrainyardApp, _ r: TrackingRequest, _ ctx: WebContext) throws -> JSONValue {
        if let filter = try r.string("filter"), !filter.trimmingCharacters(in: .whitespaces).isEmpty {
            throw TrackingError.invalid("Trainyard does not filter experiments; search without a filter and filter the list in your script.")
        }
        let view = try r.string("view_type") ?? "ACTIVE_ONLY"
        guard ["ACTIVE_ONLY", "ALL", "DELETED_ONLY", "1", "2", "3"].contains(view) else {
            throw TrackingError.invalid("Invalid value \"\(view)\" for parameter 'view_type' supplied: one of ACTIVE_ONLY, DELETED_ONLY, ALL.")
        }
        let limit = try maxResults(r, default: 1000)
        let offset = try TrackingJSON.offset(fromPageToken: try r.string("page_token"))
        // Trainyard never deletes an experiment, so the deleted view is always empty.
        if view == "DELETED_ONLY" || view == "2" { return .object([]) }
        let page = try ExperimentStore(database: app.database).page(activeOnly: true, offset: offset, limit: limit + 1)
        return TrackingJSON.object([
            ("experiments", .array(try page.prefix(limit).map { try experimentJSON(app, $0) })),
            ("next_page_token", page.count > limit ? .string(TrackingJSON.pageToken(offset: offset + limit)) : nil),
        ])
    }

    // MARK: Runs

    static func trackedRun(_ app: TrainyardApp, _ id: String) throws -> TrackedRun {
        guard let run = try RunStore(database: app.database).run(id) else { throw TrackingError.noRun(id) }
        return run
    }

    static func createRun(_ app: TrainyardApp, _ r: TrackingRequest, _ ctx: WebContext) throws -> JSONValue {
        let experimentID = try experimentID(try r.string("experiment_id").flatMap { $0.isEmpty ? nil : $0 } ?? "0")
        guard let experiment = try ExperimentStore(database: app.database).find(id: experimentID) else {
            throw TrackingError.notFound("No Experiment with id=\(experimentID) exists")
        }
        guard experiment.lifecycleStage == "active" else {
            throw TrackingError.invalid("The experiment \(experimentID) must be in the 'active' state. Current state is \(experiment.lifecycleStage).")
        }
        let tags = try r.pairs("tags", valueLimit: TrackingLimits.maxTagValueLength, valueEntity: "value")
        let name = try r.string("run_name").flatMap { $0.isEmpty ? nil : $0 }
        if let name, let tagged = tags.last(where: { $0.key == "mlflow.runName" })?.value, tagged != name {
            throw TrackingError.invalid("Both 'run_name' argument and 'mlflow.runName' tag are specified, but with different values (run_name='\(name)', mlflow.runName='\(tagged)').")
        }
        if let name { try JobRules.name.check(name) }
        let start = try r.int64("start_time").map { SQLTimestamp.date(milliseconds: $0) }
        let id = try RunStore(database: app.database).create(.init(experimentID: experimentID, name: name, startTime: start, tags: tags),
                                                             by: try ctx.requireActor, now: Date())
        return .object([("run", TrackingJSON.run(try trackedRun(app, id)))])
    }

    static func updateRun(_ app: TrainyardApp, _ r: TrackingRequest, _ ctx: WebContext) throws -> JSONValue {
        let id = try r.runID()
        var status: (JobStatus, String?)?
        if let name = try r.string("status") {
            guard let mapped = RunStore.status(fromMLflow: name) else {
                throw TrackingError.invalid("Invalid value \"\(name)\" for parameter 'status' supplied: one of RUNNING, SCHEDULED, FINISHED, FAILED, KILLED.")
            }
            status = mapped
        }
        let end = try r.int64("end_time").map { SQLTimestamp.date(milliseconds: $0) }
        let name = try r.string("run_name")
        if let name, !name.isEmpty { try JobRules.name.check(name) }
        guard try RunStore(database: app.database).update(id, status: status, endTime: end, name: name, by: try ctx.requireActor, now: Date()) else {
            throw TrackingError.noRun(id)
        }
        return .object([("run_info", TrackingJSON.runInfo(try trackedRun(app, id)))])
    }

    static func getRun(_ app: TrainyardApp, _ r: TrackingRequest, _ ctx: WebContext) throws -> JSONValue {
        .object([("run", TrackingJSON.run(try trackedRun(app, try r.runID())))])
    }

    static func searchRuns(_ app: TrainyardApp, _ r: TrackingRequest, _ ctx: WebContext) throws -> JSONValue {
        let experiments = try r.list("experiment_ids").map { item -> Int in
            guard let text = try TrackingRequest.stringField(.object([("id", item)]), "id", path: "experiment_ids") else {
                throw TrackingError.invalid("Invalid value for parameter 'experiment_ids' supplied.")
            }
            return try experimentID(text)
        }
        let orderBy = try r.list("order_by").map { item -> String in
            guard case .string(let s) = item else { throw TrackingError.invalid("Invalid value for parameter 'order_by' supplied: expected strings.") }
            return s
        }
        let search = try RunSearch(filter: try r.string("filter") ?? "", orderBy: orderBy)
        let view = try r.string("run_view_type") ?? "ACTIVE_ONLY"
        guard ["ACTIVE_ONLY", "ALL", "DELETED_ONLY", "1", "2", "3"].contains(view) else {
            throw TrackingError.invalid("Invalid value \"\(view)\" for parameter 'run_view_type' supplied: one of ACTIVE_ONLY, DELETED_ONLY, ALL.")
        }
        let limit = try maxResults(r, default: 1000)
        let offset = try TrackingJSON.offset(fromPageToken: try r.string("page_token"))
        // Runs are never deleted here, so the deleted view is always empty.
        if view == "DELETED_ONLY" || view == "2" { return .object([]) }
        let matching = search.sorted(try RunStore(database: app.database).runs(inExperiments: experiments).filter(search.matches))
        let page = matching.dropFirst(offset).prefix(limit)
        return TrackingJSON.object([
            ("runs", .array(page.map(TrackingJSON.run))),
            ("next_page_token", offset + limit < matching.count ? .string(TrackingJSON.pageToken(offset: offset + limit)) : nil),
        ])
    }

    // MARK: Logging

    static func metric(_ item: JSONValue, path: String, keyPath: String) throws -> MetricStore.NewPoint {
        guard case .object = item else { throw TrackingError.invalid("Invalid value for parameter '\(path)' supplied: expected an object.") }
        let key = try TrackingRequest.stringField(item, "key", path: path) ?? ""
        try TrackingLimits.checkKey(key, path: keyPath, entity: "Metric name")
        guard let value = try TrackingRequest.double(item["value"], path: "\(path).value") else { throw TrackingError.missing("\(path).value") }
        guard let timestamp = try TrackingRequest.int64(item["timestamp"], path: "\(path).timestamp") else {
            throw TrackingError.missing("\(path).timestamp")
        }
        guard timestamp >= 0 else {
            throw TrackingError.invalid("Invalid timestamp \(timestamp) for metric '\(key)'. Timestamp must be a nonnegative long (64-bit integer).")
        }
        let step = try TrackingRequest.int64(item["step"], path: "\(path).step") ?? 0
        guard let stepValue = Int(exactly: step) else { throw TrackingError.invalid("Invalid step for metric '\(key)'.") }
        return MetricStore.NewPoint(key: key, step: stepValue, value: value, recordedAt: SQLTimestamp.date(milliseconds: timestamp))
    }

    static func log(_ app: TrainyardApp, _ id: String, _ batch: RunStore.Batch) throws -> JSONValue {
        switch try RunStore(database: app.database).log(id, batch, now: Date()) {
        case .logged: return .object([])
        case .noRun: throw TrackingError.noRun(id)
        case .paramChanged(let key, let old, let new):
            throw TrackingError.invalid("Changing param values is not allowed. Param with key='\(key)' was already logged with value='\(old)' for run ID='\(id)'. Attempted logging new value '\(new)'.")
        }
    }

    static func logMetric(_ app: TrainyardApp, _ r: TrackingRequest, _ ctx: WebContext) throws -> JSONValue {
        let id = try r.runID()
        let fields: [(String, JSONValue)] = ["key", "value", "timestamp", "step"].compactMap { name in r.value(name).map { (name, $0) } }
        return try log(app, id, .init(metrics: [try metric(.object(fields), path: "metric", keyPath: "name")]))
    }

    static func logParameter(_ app: TrainyardApp, _ r: TrackingRequest, _ ctx: WebContext) throws -> JSONValue {
        let param = try pair(r, keyEntity: "Param key", valueLimit: TrackingLimits.maxParamValueLength, valueEntity: "Param value")
        return try log(app, try r.runID(), .init(params: [param]))
    }

    static func setTag(_ app: TrainyardApp, _ r: TrackingRequest, _ ctx: WebContext) throws -> JSONValue {
        let tag = try pair(r, keyEntity: "key", valueLimit: TrackingLimits.maxTagValueLength, valueEntity: "value")
        return try log(app, try r.runID(), .init(tags: [tag]))
    }

    /// The `key` and `value` of log-parameter and set-tag, checked as MLflow checks them.
    private static func pair(_ r: TrackingRequest, keyEntity: String, valueLimit: Int, valueEntity: String) throws -> RunDataStore.KeyValue {
        _ = try r.runID()
        let key = try r.string("key") ?? ""
        try TrackingLimits.checkKey(key, path: "key", entity: keyEntity)
        let value = try r.string("value") ?? ""
        try TrackingLimits.checkLength(value, limit: valueLimit, entity: valueEntity)
        return RunDataStore.KeyValue(key: key, value: value)
    }

    static func logBatch(_ app: TrainyardApp, _ r: TrackingRequest, _ ctx: WebContext) throws -> JSONValue {
        let id = try r.runID()
        let metricItems = try r.list("metrics")
        let paramCount = try r.list("params").count, tagCount = try r.list("tags").count
        // Counted before anything is parsed, so an oversized batch costs nothing.
        if metricItems.count > TrackingLimits.maxMetricsPerBatch {
            throw TrackingError.invalid("A batch logging request can contain at most \(TrackingLimits.maxMetricsPerBatch) metrics. Got \(metricItems.count) metrics. Please split up metrics across multiple requests and try again.")
        }
        for (name, count, limit) in [("params", paramCount, TrackingLimits.maxParamsPerBatch), ("tags", tagCount, TrackingLimits.maxTagsPerBatch)]
        where count > limit {
            throw TrackingError.invalid("A batch logging request can contain at most \(limit) \(name). Got \(count) \(name). Please split up \(name) across multiple requests and try again.")
        }
        let total = metricItems.count + paramCount + tagCount
        if total > TrackingLimits.maxEntitiesPerBatch {
            throw TrackingError.invalid("A batch logging request can contain at most \(TrackingLimits.maxEntitiesPerBatch) metrics, params, and tags. Got \(total) metrics, params, and tags. Please split up metrics, params, and tags across multiple requests and try again.")
        }
        let metrics = try metricItems.enumerated().map { try metric($1, path: "metrics[\($0)]", keyPath: "metrics[\($0)].name") }
        let params = try r.pairs("params", valueLimit: TrackingLimits.maxParamValueLength, valueEntity: "Param value")
        var seen: [String: String] = [:]
        for param in params {
            if let earlier = seen[param.key], earlier != param.value {
                throw TrackingError.invalid("Duplicate parameter keys have been submitted: ['\(param.key)']. Please ensure the request contains only one param value per param key.")
            }
            seen[param.key] = param.value
        }
        let tags = try r.pairs("tags", valueLimit: TrackingLimits.maxTagValueLength, valueEntity: "value")
        return try log(app, id, .init(metrics: metrics, params: params.lastPerKey, tags: tags))
    }

    static func deleteTag(_ app: TrainyardApp, _ r: TrackingRequest, _ ctx: WebContext) throws -> JSONValue {
        let id = try r.runID()
        let key = try r.requiredString("key")
        switch try RunStore(database: app.database).deleteTag(id, key: key, now: Date()) {
        case .deleted: return .object([])
        case .noRun: throw TrackingError.noRun(id)
        case .noTag: throw TrackingError.notFound("No tag with name: \(key) in run with id \(id)")
        }
    }

    /// At most this many points per page of `metrics/get-history` (the client asks for 25,000
    /// and follows `next_page_token`).
    static let historyPageLimit = 25_000

    static func metricHistory(_ app: TrainyardApp, _ r: TrackingRequest, _ ctx: WebContext) throws -> JSONValue {
        let id = try r.runID()
        let key = try r.requiredString("metric_key")
        var limit = historyPageLimit
        if let asked = try r.int64("max_results") {
            guard asked >= 1 else {
                throw TrackingError.invalid("Invalid value \(asked) for parameter 'max_results' supplied. It must be a positive integer.")
            }
            limit = Int(min(asked, Int64(historyPageLimit)))
        }
        let offset = try TrackingJSON.offset(fromPageToken: try r.string("page_token"))
        guard let job = try RunStore(database: app.database).job(runID: id) else { throw TrackingError.noRun(id) }
        let points = try MetricStore(database: app.database).history(job.id, key: key, offset: offset, limit: limit + 1)
        return TrackingJSON.object([
            ("metrics", .array(points.prefix(limit).map { TrackingJSON.metric(key: key, value: $0.value, at: $0.recordedAt, step: $0.step) })),
            ("next_page_token", points.count > limit ? .string(TrackingJSON.pageToken(offset: offset + limit)) : nil),
        ])
    }
}
