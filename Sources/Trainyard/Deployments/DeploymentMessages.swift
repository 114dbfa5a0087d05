import Foundation

/// What the deployment pages (as flash messages) and the JSON API (as `message`) say about
/// deploys and lifecycle actions, written once so the two cannot drift apart.
enum DeploymentMessages {
    static let missingJobID = "Choose a completed training job to deploy: the job id is missing or not a number."
    static func noSuchJob(_ id: Int) -> String { "There is no training job #\(id) to deploy." }
    static func notComplete(_ status: JobStatus) -> String { "\(DeploymentRoutes.notCompleteMessage); this job is \(status.rawValue)." }
    static let alreadyLive = DeploymentRoutes.alreadyLiveMessage + "."
    static let deleted = "This deployment has been deleted; it can no longer be changed."

    static func deploying(_ name: String, _ version: String, replicas: Int) -> String {
        "Deploying \(name) (\(version)): starting \(DeploymentStore.replicas(replicas))."
    }

    static func unchanged(_ d: Deployment) -> String { "Deployment \(d.name) already has \(DeploymentStore.replicas(d.targetReplicas))." }
}

/// One lifecycle action as both callers run it: the store call, and the words for its outcome.
/// A new action is a new case here; the page and the API switch over it exhaustively.
extension DeploymentRoutes.Action {
    func perform(on store: DeploymentStore, _ id: Int, by actor: Actor, now: Date) throws -> DeploymentStore.ChangeResult {
        switch self {
        case .pause: try store.pause(id, by: actor, now: now)
        case .resume: try store.resume(id, by: actor, now: now)
        case .delete: try store.delete(id, by: actor, now: now)
        case .scale(let target): try store.scale(id, to: target, by: actor, now: now)
        }
    }

    /// Why the action is refused in `current`.
    func notAllowedMessage(current: DeploymentStatus) -> String {
        switch self {
        case .pause: "Only active or deploying deployments can be paused; this one is \(current.rawValue)."
        case .resume: "Only paused deployments can be resumed; this one is \(current.rawValue)."
        case .scale, .delete: "A failed deployment cannot be scaled; delete it and deploy the job again."
        }
    }

    /// What was done to the deployment called `name`.
    func doneMessage(_ name: String) -> String {
        switch self {
        case .pause: "Deployment \(name) paused."
        case .resume: "Deployment \(name) resuming."
        case .delete: "Deployment \(name) deleted."
        case .scale(let target): "Deployment \(name) scaled to \(DeploymentStore.replicas(target))."
        }
    }
}
