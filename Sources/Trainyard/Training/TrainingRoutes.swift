import Foundation
import HTTPServer
import TemplateEngine

/// Configure, list, monitor, start and stop training jobs; the metrics API for scripts.
enum TrainingRoutes {
    static func add(to app: TrainyardApp) {
        app.get("/training/configure", access: .signedIn(.operator)) { [unowned app] ctx in try showConfigureForm(app, ctx) }
        app.post("/training/jobs", access: .signedIn(.operator)) { [unowned app] ctx in try createJob(app, ctx) }
        app.get("/training/jobs", version: TrainingRoutes.tableVersion) { [unowned app] ctx in try listJobs(app, ctx) }
        for format in ExportFormat.allCases {
            app.get(Paths.export(Paths.jobs, format)) { [unowned app] ctx in try exportJobs(app, ctx, format) }
        }
        app.get("/training/jobs/{id}", version: .anyTable) { [unowned app] ctx in try showJob(app, ctx) }
        app.get("/training/jobs/{id}/live") { [unowned app] ctx in try liveJob(app, ctx) }
        app.post("/training/jobs/{id}/start", access: .signedIn(.operator)) { [unowned app] ctx in try startJob(app, ctx) }
        app.post("/training/jobs/{id}/stop", access: .signedIn(.operator)) { [unowned app] ctx in try stopJob(app, ctx) }
        app.post("/training/jobs/{id}/base-model", access: .signedIn(.operator)) { [unowned app] ctx in try setBaseModel(app, ctx) }
        app.get("/training/compare") { [unowned app] ctx in try compareJobs(app, ctx) }
        app.get("/training") { _ in .redirect(to: Paths.jobs, status: 301) }
        app.get("/api/training/{id}/metrics") { [unowned app] ctx in try jobMetricsAPI(app, ctx) }
    }

    // MARK: Configure and create

    static func showConfigureForm(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        let models = try ModelStore(database: app.database).all()
        var defaults = JobForm.defaults
        if let preselected = ctx.request.query["model"], models.contains(where: { $0.slug == preselected }) {
            defaults["model"] = preselected
        }
        // A refused submission comes back with what the user typed and a message per field.
        let typed = ctx.formValues(JobForm.fields, defaults: defaults)
        return try app.web.render(ConfigureJobView(models: models, typed: typed, ctx), ctx)
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
            let id = try JobStore(database: app.database).create(valid, modelID: model!.id, by: try ctx.requireActor, now: Date())
            return app.web.redirect(.succeeded("Training job created", redirectTo: Paths.job(id)), ctx)
        }
    }

    // MARK: Actions

    /// `POST /training/jobs/{id}/base-model`: the catalogue model a reported run was trained
    /// from, picked on its page when the run did not name one.
    static func setBaseModel(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        guard let id = ctx.idParameter() else { throw HTTPError.notFound(noSuchJob) }
        let back = Paths.job(id)
        guard let slug = ctx.request.formParameters["model"], !slug.isEmpty,
              let model = try ModelStore(database: app.database).find(slug: slug) else {
            return app.web.redirect(.failed("Pick a model from the catalogue.", redirectTo: back), ctx)
        }
        switch try RunStore(database: app.database).setBaseModel(jobID: id, modelID: model.id, modelName: model.name,
                                                                 by: try ctx.requireActor, now: Date()) {
        case .notFound: throw HTTPError.notFound(noSuchJob)
        case .notReported: return app.web.redirect(.failed("Only reported runs take a base model this way; a simulated job has its model from the start.", redirectTo: back), ctx)
        case .alreadySet: return app.web.redirect(.failed("This run already has its base model.", redirectTo: back), ctx)
        case .set: return app.web.redirect(.succeeded("Base model set to \(model.name).", redirectTo: back), ctx)
        }
    }

    static func startJob(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        guard let id = ctx.idParameter() else { throw HTTPError.notFound(noSuchJob) }
        let back = ctx.returnPath(fallback: Paths.job(id))
        switch try JobStore(database: app.database).transition(id, from: [.queued], to: .running, by: try ctx.requireActor, now: Date()) {
        case .notFound: throw HTTPError.notFound(noSuchJob)
        case .notAllowed(let current):
            return app.web.redirect(.failed("Only queued jobs can be started; this job is \(current.rawValue).", redirectTo: back), ctx)
        case .changed:
            return app.web.redirect(.succeeded("Training started", redirectTo: back), ctx)
        }
    }

    static func stopJob(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        guard let id = ctx.idParameter() else { throw HTTPError.notFound(noSuchJob) }
        let back = ctx.returnPath(fallback: Paths.job(id))
        switch try JobStore(database: app.database).transition(id, from: [.queued, .running], to: .failed, reason: "stopped by user", by: try ctx.requireActor, now: Date()) {
        case .notFound: throw HTTPError.notFound(noSuchJob)
        case .notAllowed(let current):
            return app.web.redirect(.failed("Only queued or running jobs can be stopped; this job is \(current.rawValue).", redirectTo: back), ctx)
        case .changed:
            return app.web.redirect(.succeeded("Training stopped", redirectTo: back), ctx)
        }
    }
}

struct ConfigureJobView: PageView {
    static let template = "training/configure"
    let title = "Configure training"
    let section: NavSection? = .training

    var models: [CatalogueModel]
    var fields: [String: FormField]
    var typed: [String: String]

    init(models: [CatalogueModel], typed: [String: String], _ ctx: WebContext) {
        self.models = models
        self.typed = typed
        var fields: [String: FormField] = [:]
        let extra: [String: [String: TemplateValue]] = [
            "name": ["maxlength": .int(JobRules.name.maxScalars)],
            "epochs": JobRules.epochs.attributes,
            "notes": ["maxlength": .int(JobRules.notes.maxScalars)],
        ]
        for name in JobForm.fields {
            fields[name] = FormField(name, prefix: "job", value: typed[name] ?? "", ctx, extra: extra[name] ?? [:])
        }
        self.fields = fields
    }

    func members() -> [String: TemplateValue] {
        [
            "action": .string(Paths.jobs),
            "models": .list(models.map { model in
                SelectOption(value: model.slug, label: "\(model.name) · \(model.parameterLabel) · \(model.sizeClass.label)",
                             selected: model.slug == typed["model"]).templateValue
            }),
            "hasModels": .bool(!models.isEmpty),
            "newModelHref": .string(Paths.newModel),
            "batchSizes": .list(JobRules.batchSizes.map { size in
                ["value": .string(String(size)), "selected": .bool(String(size) == typed["batch_size"])]
            }),
            "name": fields["name"].templateValue, "model": fields["model"].templateValue, "epochs": fields["epochs"].templateValue,
            "learningRate": fields["learning_rate"].templateValue, "batchSize": fields["batch_size"].templateValue,
            "notes": fields["notes"].templateValue,
        ]
    }
}
