import Foundation

/// One lifecycle action as the pages and the JSON API both run it. A new action is a new case
/// here, and the compiler then makes both callers handle it.
extension DeploymentRoutes.Action {
    func perform(on store: DeploymentStore, _ id: Int, by actor: Actor, now: Date) throws -> DeploymentStore.ChangeResult {
        switch self {
        case .pause: try store.pause(id, by: actor, now: now)
        case .resume: try store.resume(id, by: actor, now: now)
        case .delete: try store.delete(id, by: actor, now: now)
        case .retry: try store.retry(id, by: actor, now: now)
        case .scale(let target): try store.scale(id, to: target, by: actor, now: now)
        case .configure(let replicas, let resources): try store.reconfigure(id, replicas: replicas, resources: resources, by: actor, now: now)
        case .rollback(let revision): try store.rollback(id, toRevision: revision, by: actor, now: now)
        }
    }
}
