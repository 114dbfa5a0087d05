import Foundation
import HTTPServer
import TemplateEngine

/// `GET /training/jobs`: filter, sort and page in SQL; the URL is the state.
extension TrainingRoutes {
    static let list = ListDefinition<JobSortKey, JobStatus>(path: Paths.jobs, noun: "Jobs", defaultSort: .created, exportable: true)

    /// What the table, its model and experiment filters and its Deploy links read, for its ETag.
    static let tableVersion = PageVersion(.trainingJobs, .jobStatusCounts, .experiments, .models, .deployments, .jobMetricSummaries)

    static func listJobs(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        let query = try JobListQuery(app, ctx.request.query)
        let jobs = JobStore(database: app.database)
        let result = try jobs.list(query.request.slice, filters: query.filters)
        let chrome = ListChrome(query.request, shown: result.rows.count, hasMore: result.hasMore,
                                counts: try app.jobCounts.counts(at: ctx.counters?.stamp(for: .jobStatusCounts), read: jobs.statusCounts),
                                headerKeys: JobSortKey.allCases)
        // A complete job that already serves links to its deployment instead of offering Deploy.
        let deployed = try DeploymentStore(database: app.database)
            .liveDeployments(ofJobs: result.rows.filter { $0.status == .complete }.map(\.id))
        let now = Date()
        let staleAfter = app.configuration.reportedRunStaleAfter
        let view = JobListView(
            table: ListTable(chrome: chrome, rows: result.rows.map {
                JobListView.Row($0, deployment: deployed[$0.id], stale: $0.isStale(now: now, after: staleAfter), now: now)
            }),
            models: query.models.map { SelectOption(value: $0.slug, label: $0.name, selected: $0.id == query.modelFilter?.id) },
            experiments: query.experiments.filter { $0.lifecycleStage == "active" || $0.id == query.experimentFilter?.id }
                .map { SelectOption(value: $0.name, label: $0.name, selected: $0.id == query.experimentFilter?.id) },
            returnTo: query.request.currentPath)
        return try app.web.render(view, ctx)
    }
}

/// The jobs list's query string with its `model` and `experiment` filters resolved (an unknown
/// slug or name is ignored), read the same way by the page and the export.
struct JobListQuery {
    var request: ListRequest<JobSortKey, JobStatus>
    var filters = JobStore.Filters()
    var models: [CatalogueModel]
    var experiments: [Experiment]
    var modelFilter: CatalogueModel?
    var experimentFilter: Experiment?

    init(_ app: TrainyardApp, _ query: QueryParameters) throws {
        models = try ModelStore(database: app.database).all()
        experiments = try ExperimentStore(database: app.database).all()
        request = ListRequest(TrainingRoutes.list, query)
        if let slug = query["model"], let model = models.first(where: { $0.slug == slug }) {
            modelFilter = model
            filters.modelID = model.id
            request.addFilter("model", value: slug, description: "for model \(model.name)")
        }
        if let name = query["experiment"], let experiment = experiments.first(where: { $0.name == name }) {
            experimentFilter = experiment
            filters.experimentID = experiment.id
            request.addFilter("experiment", value: name, description: "in experiment \(name)")
        }
    }
}

/// A `<select>` option.
struct SelectOption: TemplateConvertible {
    var value: String
    var label: String
    var selected: Bool

    var templateValue: TemplateValue { ["value": .string(value), "label": .string(label), "selected": .bool(selected)] }
}

struct JobListView: PageView {
    static let template = "training/index"
    let title = "Training jobs"
    let section: NavSection? = .training

    var table: ListTable<JobSortKey, JobStatus, Row>
    var models: [SelectOption]
    var experiments: [SelectOption]
    var returnTo: String

    struct Row: TemplateConvertible {
        var job: TrainingJob
        var actions: [ActionButton]
        var stale: Bool
        var created: TemplateValue

        init(_ job: TrainingJob, deployment: Int?, stale: Bool, now: Date) {
            self.job = job
            self.stale = stale
            created = Format.timestamp(job.createdAt, now: now)
            actions = TrainingRoutes.actions(for: job, deployment: deployment, labels: .row)
        }

        var templateValue: TemplateValue {
            ["id": .int(job.id), "name": .string(job.name), "href": .string(Paths.job(job.id)), "model": .optional(job.modelName),
             "modelHref": .optional(job.modelSlug.map(Paths.model)), "status": Badge.of(job.status), "stale": .bool(stale),
             "experiment": .optional(job.experiment?.name),
             "experimentHref": .optional(job.experiment.map { Paths.with(Paths.jobs, [("experiment", $0.name)]) }),
             "epochs": .optional(job.plan?.epochs), "learningRate": .optional(job.plan.map { Format.learningRate($0.learningRate) }),
             "progress": .optional(job.percent), "step": .int(job.currentStep), "isReported": .bool(job.source == .reported),
             "created": created, "actions": actions.templateValue]
        }
    }

    func members() -> [String: TemplateValue] {
        var m = table.members()
        m["models"] = models.templateValue
        m["experiments"] = experiments.templateValue
        m["hasExperiments"] = .bool(!experiments.isEmpty)
        m["compareAction"] = .string(Paths.compare)
        m["returnTo"] = .string(returnTo)
        m["configureHref"] = .string(Paths.configure)
        return m
    }
}

extension TrainingRoutes {
    enum ActionLabels { case row, page }

    /// What may be done to a job in its state: start a queued one, stop a queued or running one,
    /// deploy a complete one (or open its live deployment).
    static func actions(for job: TrainingJob, deployment: Int?, labels: ActionLabels) -> [ActionButton] {
        var actions: [ActionButton] = []
        // A reported run's status follows its training code; it is deployed once it has a model.
        if job.source == .reported {
            if labels == .row && job.status == .complete {
                if let deployment {
                    actions.append(.link("Deployment", to: Paths.deployment(deployment)))
                } else if job.model != nil {
                    actions.append(.post("Deploy", to: Paths.deployments, style: .primary, jobID: job.id))
                }
            }
            return actions
        }
        if job.status == .queued {
            actions.append(.post(labels == .row ? "Start" : "Start training", to: Paths.job(job.id) + "/start", style: .primary))
        }
        if job.status == .queued || job.status == .running {
            actions.append(.post("Stop", to: Paths.job(job.id) + "/stop", style: .danger))
        }
        if labels == .row && job.status == .complete {
            if let deployment {
                actions.append(.link("Deployment", to: Paths.deployment(deployment)))
            } else {
                actions.append(.post("Deploy", to: Paths.deployments, style: .primary, jobID: job.id))
            }
        }
        return actions
    }
}
