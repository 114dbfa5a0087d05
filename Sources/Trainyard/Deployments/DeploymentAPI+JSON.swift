import Foundation

/// The deployments API's bodies, as `Docs/openapi.json` describes them (snake_case keys through
/// `JSON.response`; a value that is not set is left out rather than sent as `null`).
enum DeploymentJSON {
    /// The latest one-minute inference window, as kept on the deployment row.
    struct Window: Encodable {
        var rps: Double
        var p50Ms: Double
        var p95Ms: Double
        var p99Ms: Double
        var errorRate: Double
        /// When the window started; detail only, and absent before the first one.
        var at: String?

        init(_ s: DeploymentStats, at: Date? = nil) {
            rps = s.rps; p50Ms = s.p50; p95Ms = s.p95; p99Ms = s.p99; errorRate = s.errorRate
            self.at = at.map(Format.iso)
        }
    }

    /// A row of `GET /api/deployments`: what the table shows.
    struct Summary: Encodable {
        struct Replicas: Encodable {
            var target: Int
            var running: Int
        }

        var id: Int
        var model: String
        var name: String
        var version: String
        var status: String
        var replicas: Replicas
        var latest: Window
        var createdAt: String
        var url: String
        var pageUrl: String

        init(_ row: DeploymentListRow) {
            id = row.id; model = row.modelName; name = row.name; version = row.version; status = row.status.rawValue
            replicas = Replicas(target: row.targetReplicas, running: row.runningReplicas)
            latest = Window(row.stats)
            createdAt = Format.iso(row.createdAt)
            url = Paths.deploymentAPI(row.id); pageUrl = Paths.deployment(row.id)
        }
    }

    /// `GET /api/deployments`: one page, and the state applied after falling back from bad values.
    struct List: Encodable {
        var deployments: [Summary]
        var q: String
        var status: [String]
        var sort: String
        var dir: String
        var page: Int
        var per: Int
        var hasMore: Bool
        /// The page's other filters, each only when applied.
        var liveAt: String?
        var attention: Bool?
        var source: String?
        var up: Bool?
    }

    /// One deployment with everything its page shows but the charts.
    struct Detail: Encodable {
        struct Job: Encodable {
            var id: Int
            var name: String
        }

        struct Replica: Encodable {
            var ordinal: Int
            var revision: Int
            var status: String
            var since: String
            var restarts: Int
            var lastFailure: String?
        }

        struct Replicas: Encodable {
            var target: Int
            var running: Int
            var instances: [Replica]
        }

        struct Resources: Encodable {
            var cpu: Double
            var memoryMb: Int
            var gpu: Int
            var storageGb: Int
        }

        struct Change: Encodable {
            var event: String
            var oldStatus: String?
            var newStatus: String
            var revision: Int?
            var replicas: Int?
            var by: String
            var reason: String
            var at: String
        }

        struct Revision: Encodable {
            var number: Int
            var replicas: Int
            var resources: Resources
            var by: String
            var at: String
            var reason: String
            var sourceRevision: Int?
            var failedReason: String?
        }

        struct Attention: Encodable {
            var since: String
            var reason: String
        }

        var id: Int
        var model: String
        var modelSlug: String
        var name: String
        var version: String
        var status: String
        var endpoint: String
        var job: Job
        var deployedBy: String
        var replicas: Replicas
        var resources: Resources?
        var latest: Window
        var history: [Change]
        /// The serving revision, and the one rolling out beside it.
        var revision: Int
        var rolloutRevision: Int?
        var revisions: [Revision]
        var failureReason: String?
        var attention: Attention?
        /// Where the figures come from and, when scraped, how the scraping stands.
        var metricsSource: InferenceJSON.Source
        var createdAt: String
        var updatedAt: String
        var deletedAt: String?
        var url: String
        var pageUrl: String

        init(_ d: Deployment, replicas: [DeploymentReplica], resources: DeploymentResources?, history: [DeploymentHistoryEntry],
             revisions: [DeploymentRevision], source: InferenceSource?) {
            id = d.id; model = d.modelName; modelSlug = d.modelSlug; name = d.name; version = d.version
            status = d.status.rawValue; endpoint = d.endpoint
            job = Job(id: d.jobID, name: d.jobName)
            deployedBy = d.deployedBy
            self.replicas = Replicas(target: d.targetReplicas, running: replicas.filter { $0.status == .running }.count,
                                     instances: replicas.map {
                                         Replica(ordinal: $0.ordinal, revision: $0.revision, status: $0.status.rawValue, since: Format.iso($0.updatedAt),
                                                 restarts: $0.restarts, lastFailure: $0.lastFailure)
                                     })
            self.resources = resources.map(Resources.init)
            latest = Window(d.stats, at: d.statsAt)
            self.history = history.map {
                Change(event: $0.event.rawValue, oldStatus: $0.oldStatus, newStatus: $0.newStatus, revision: $0.revision, replicas: $0.replicas,
                       by: $0.changedBy, reason: $0.reason, at: Format.iso($0.at))
            }
            revision = d.revision
            rolloutRevision = d.rolloutRevision
            self.revisions = revisions.map {
                Revision(number: $0.number, replicas: $0.replicas,
                         resources: Resources($0.resources),
                         by: $0.createdBy, at: Format.iso($0.createdAt), reason: $0.reason, sourceRevision: $0.sourceRevision,
                         failedReason: $0.failedReason)
            }
            failureReason = d.status == .failed ? d.failureReason : nil
            attention = d.attentionSince.map { Attention(since: Format.iso($0), reason: d.attentionReason ?? "a guardrail") }
            metricsSource = InferenceJSON.Source(kind: d.metricsSource, source)
            createdAt = Format.iso(d.createdAt); updatedAt = Format.iso(d.updatedAt); deletedAt = d.deletedAt.map(Format.iso)
            url = Paths.deploymentAPI(d.id); pageUrl = Paths.deployment(d.id)
        }
    }
}

extension DeploymentJSON.Detail.Resources {
    init(_ r: DeploymentResources) {
        self.init(cpu: r.cpu, memoryMb: r.memoryMB, gpu: r.gpu, storageGb: r.storageGB)
    }
}
