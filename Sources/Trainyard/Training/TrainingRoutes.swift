import Foundation
import HTTPServer
import Storage
import TemplateEngine

/// Configure, list, monitor, start and stop training jobs; the metrics API for polling.
enum TrainingRoutes {
    static func add(to app: TrainyardApp) {
        app.get("/training/configure") { [unowned app] ctx in try showConfigureForm(app, ctx) }
        app.post("/training/jobs") { [unowned app] ctx in try createJob(app, ctx) }
        app.get("/training/jobs") { [unowned app] ctx in try listJobs(app, ctx) }
        app.get("/training/jobs/{id}") { [unowned app] ctx in try showJob(app, ctx) }
        app.post("/training/jobs/{id}/start") { [unowned app] ctx in try startJob(app, ctx) }
        app.post("/training/jobs/{id}/stop") { [unowned app] ctx in try stopJob(app, ctx) }
        app.get("/training") { _ in .redirect(to: Paths.jobs, status: 301) }
        app.get("/api/training/{id}/metrics") { [unowned app] ctx in try jobMetricsAPI(app, ctx) }
    }

    // MARK: Configure and create

    static func showConfigureForm(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        let models = try ModelStore(database: app.database).all()
        var form = JobForm()
        if let preselected = ctx.request.query["model"], models.contains(where: { $0.slug == preselected }) {
            form.model = preselected
        }
        // A refused submission comes back with what the user typed and a message per field.
        var typed = form.values
        if let flash = ctx.flash, !flash.values.isEmpty {
            for field in JobForm.fields { typed[field] = flash.values[field] ?? "" }
        }
        func field(_ name: String) -> TemplateValue {
            var value: [String: TemplateValue] = ["value": .string(typed[name] ?? ""), "id": .string("job-\(name)")]
            if let error = ctx.fieldError(name) {
                value["error"] = .string(error)
                value["errorID"] = .string("job-\(name)-error")
            }
            return .object(value)
        }
        let modelOptions: [TemplateValue] = models.map { model in
            ["value": .string(model.slug), "label": .string("\(model.name) · \(model.parameterLabel) · \(model.sizeClass.label)"),
             "selected": .bool(model.slug == typed["model"])]
        }
        let batchOptions: [TemplateValue] = JobForm.batchSizes.map { size in
            ["value": .string(String(size)), "selected": .bool(String(size) == typed["batch_size"])]
        }
        return try app.web.page("training/configure", title: "Configure training", section: .training, [
            "action": .string(Paths.jobs),
            "models": .list(modelOptions),
            "hasModels": .bool(!models.isEmpty),
            "batchSizes": .list(batchOptions),
            "name": field("name"), "model": field("model"), "epochs": field("epochs"),
            "learningRate": field("learning_rate"), "batchSize": field("batch_size"), "notes": field("notes"),
            "modelsHref": .string(Paths.models),
        ], ctx)
    }

    static func createJob(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        let form = JobForm(ctx.request.formParameters)
        let models = ModelStore(database: app.database)
        var model: CatalogueModel?
        let result = try form.validate { slug in
            model = try models.find(slug: slug)
            return model != nil
        }
        switch result {
        case .failure(let errors):
            return app.web.redirect(.failed(errors.summary, redirectTo: Paths.configure, values: form.values, fieldErrors: errors.byField), ctx)
        case .success(let valid):
            let id = try JobStore(database: app.database).create(valid, modelID: model!.id, now: Date())
            return app.web.redirect(.succeeded("Training job created", redirectTo: Paths.job(id)), ctx)
        }
    }

    // MARK: Actions

    static func startJob(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        guard let id = ctx.idParameter() else { throw HTTPError.notFound("There is no training job with this id.") }
        let back = returnPath(ctx, fallback: Paths.job(id))
        switch try JobStore(database: app.database).transition(id, from: [.queued], to: .running, now: Date()) {
        case .notFound: throw HTTPError.notFound("There is no training job with this id.")
        case .notAllowed(let current):
            return app.web.redirect(.failed("Only queued jobs can be started; this job is \(current.rawValue).", redirectTo: back), ctx)
        case .changed:
            return app.web.redirect(.succeeded("Training started", redirectTo: back), ctx)
        }
    }

    static func stopJob(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        guard let id = ctx.idParameter() else { throw HTTPError.notFound("There is no training job with this id.") }
        let back = returnPath(ctx, fallback: Paths.job(id))
        switch try JobStore(database: app.database).transition(id, from: [.queued, .running], to: .failed, reason: "stopped by user", now: Date()) {
        case .notFound: throw HTTPError.notFound("There is no training job with this id.")
        case .notAllowed(let current):
            return app.web.redirect(.failed("Only queued or running jobs can be stopped; this job is \(current.rawValue).", redirectTo: back), ctx)
        case .changed:
            return app.web.redirect(.succeeded("Training stopped", redirectTo: back), ctx)
        }
    }

    /// Where an action returns to: the page it was posted from (a same-site path), else `fallback`.
    static func returnPath(_ ctx: WebContext, fallback: String) -> String {
        SafeRedirect.path(ctx.request.formParameters["return_to"], fallback: fallback)
    }

    // MARK: API

    static func jobMetricsAPI(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        guard let id = ctx.idParameter() else {
            return JSON.error("The job id must be a positive whole number.", status: 400)
        }
        let store = JobStore(database: app.database)
        guard let job = try store.find(id) else { return JSON.error("There is no training job with id \(id).", status: 404) }
        var since = 0
        if let text = ctx.request.query["since"] {
            guard let value = Int(text), value >= 0 else { return JSON.error("since must be a step number (0 or more).", status: 400) }
            since = value
        }
        var limit = 10_000
        if let text = ctx.request.query["limit"] {
            guard let value = Int(text), value >= 1 else { return JSON.error("limit must be a positive whole number.", status: 400) }
            limit = min(value, 10_000)
        }
        let metrics = try store.metrics(id, since: since, limit: limit)
        let body = JobMetricsResponse(job: .init(job), metrics: metrics)
        var response = JSON.response(body)
        response.headers.set("Cache-Control", "no-store")
        return response
    }
}

/// `GET /api/training/{id}/metrics` body.
struct JobMetricsResponse: Encodable {
    struct Job: Encodable {
        var id: Int
        var name: String
        var model: String
        var status: String
        var epochs: Int
        var learningRate: Double
        var batchSize: Int
        var currentStep: Int
        var totalSteps: Int
        var progress: Double
        var failureReason: String?
        var createdAt: String
        var startedAt: String?
        var finishedAt: String?

        init(_ job: TrainingJob) {
            id = job.id; name = job.name; model = job.modelSlug; status = job.status.rawValue; epochs = job.epochs
            learningRate = job.learningRate; batchSize = job.batchSize; currentStep = job.currentStep
            totalSteps = job.totalSteps; progress = job.progress; failureReason = job.failureReason
            createdAt = Format.iso(job.createdAt); startedAt = job.startedAt.map(Format.iso); finishedAt = job.finishedAt.map(Format.iso)
        }
    }

    var job: Job
    var metrics: [TrainingMetric]
}

/// JSON responses for the API: snake_case keys, errors as `{"error": "…"}`.
enum JSON {
    static func response<T: Encodable>(_ value: T, status: Int = 200) -> HTTPResponse {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return .json(Array(data), status: status)
    }

    static func error(_ message: String, status: Int) -> HTTPResponse {
        response(["error": message], status: status)
    }
}
