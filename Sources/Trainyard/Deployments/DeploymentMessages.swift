/// The words for lifecycle outcomes, shared by the pages' flash messages and the JSON API.
enum DeploymentMessages {
    typealias Action = DeploymentRoutes.Action

    static let missingJobID = "Choose a completed training job to deploy: the job id is missing or not a number."
    static func noSuchJob(_ id: Int) -> String { "There is no training job #\(id) to deploy." }
    static func notComplete(_ status: JobStatus) -> String { "\(DeploymentRoutes.notCompleteMessage); this job is \(status.rawValue)." }
    static let deleted = "This deployment has been deleted; it can no longer be changed."

    static func deploying(_ name: String, _ version: String, replicas: Int) -> String {
        "Deploying \(name) (\(version)): starting \(DeploymentStore.replicas(replicas))."
    }

    static func notAllowed(_ action: Action, current: DeploymentStatus) -> String {
        switch action {
        case .pause: "Only active or deploying deployments can be paused; this one is \(current.rawValue)."
        case .resume: "Only paused deployments can be resumed; this one is \(current.rawValue)."
        case .retry: "Only failed deployments can be retried; this one is \(current.rawValue)."
        case .scale, .configure, .rollback, .delete: "This deployment cannot be changed while it is \(current.rawValue)."
        }
    }

    /// Starting this one again would make its job's second live deployment.
    static func jobAlreadyLive(name: String, status: DeploymentStatus) -> String {
        "Its training job has another live deployment: \(name) is \(status.rawValue). Delete that one first (a paused deployment is still live), then start this one again."
    }

    static func rolloutInProgress(_ revision: Int) -> String {
        "Revision \(revision) is still rolling out; wait until it serves or fails, then change the deployment again."
    }

    static func noSuchRevision(_ number: Int) -> String { "This deployment has no revision \(number)." }

    static func unchanged(_ action: Action, _ d: Deployment) -> String {
        switch action {
        case .scale: "Deployment \(d.name) already has \(DeploymentStore.replicas(d.targetReplicas))."
        case .rollback(let revision): "Deployment \(d.name) already runs revision \(revision)'s configuration."
        default: "Deployment \(d.name) already has this configuration."
        }
    }

    static func changed(_ action: Action, _ d: Deployment) -> String {
        switch action {
        case .pause: "Deployment \(d.name) paused."
        case .resume: "Deployment \(d.name) resuming."
        case .retry: "Deployment \(d.name) starting again with revision \(d.revision)."
        case .delete: "Deployment \(d.name) deleted."
        case .scale(let target): "Deployment \(d.name) scaled to \(DeploymentStore.replicas(target))."
        case .configure: d.status == .active
            ? "Deployment \(d.name): a new revision is rolling out; the current one serves until it runs."
            : "Deployment \(d.name): new configuration saved as a new revision."
        case .rollback(let revision): "Deployment \(d.name): rolling back to revision \(revision)'s configuration as a new revision."
        }
    }
}
