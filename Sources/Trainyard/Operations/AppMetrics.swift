import Foundation
import Storage

/// Counters the app keeps for its metrics page: requests by route pattern and status with
/// their latency, database errors by kind, scrape results. Label values are route patterns,
/// methods, statuses and fixed words only, so no user data (ids, names, queries) reaches it.
public final class AppMetrics: @unchecked Sendable {
    /// Upper bounds of the latency buckets, in seconds.
    static let latencyBuckets: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
    static let knownMethods: Set<String> = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]

    struct RouteKey: Hashable, Comparable {
        var method: String
        var route: String
        static func < (a: RouteKey, b: RouteKey) -> Bool { (a.route, a.method) < (b.route, b.method) }
    }

    struct RouteFigures {
        var statuses: [Int: Int] = [:]
        /// Per bucket, not cumulative; the last slot counts requests beyond every bound.
        var buckets = [Int](repeating: 0, count: AppMetrics.latencyBuckets.count + 1)
        var sum = 0.0
        var count = 0
    }

    private let lock = NSLock()
    private var routes: [RouteKey: RouteFigures] = [:]
    private var databaseErrors: [String: Int] = [:]
    private var scrapes: [String: Int] = ["ok": 0, "failed": 0]

    public init() {}

    /// Counts one answered request. `route` is the pattern that answered; nil when none did.
    func record(method: String, route: String?, status: Int, seconds: Double) {
        let key = RouteKey(method: Self.knownMethods.contains(method) ? method : "other", route: route ?? "unmatched")
        let bucket = Self.latencyBuckets.firstIndex { seconds <= $0 } ?? Self.latencyBuckets.count
        lock.lock()
        routes[key, default: RouteFigures()].statuses[status, default: 0] += 1
        routes[key]!.buckets[bucket] += 1
        routes[key]!.sum += seconds
        routes[key]!.count += 1
        lock.unlock()
    }

    /// Counts a database error a request met: `timeout`, `unavailable` or `other`.
    func recordDatabaseError(_ error: DatabaseError) {
        let kind: String
        switch error {
        case .timeout: kind = "timeout"
        case .unavailable: kind = "unavailable"
        default: kind = "other"
        }
        lock.lock()
        databaseErrors[kind, default: 0] += 1
        lock.unlock()
    }

    func recordScrapes(ok: Int, failed: Int) {
        guard ok > 0 || failed > 0 else { return }
        lock.lock()
        scrapes["ok", default: 0] += ok
        scrapes["failed", default: 0] += failed
        lock.unlock()
    }

    struct Snapshot {
        var routes: [(RouteKey, RouteFigures)]
        var databaseErrors: [String: Int]
        var scrapes: [String: Int]
    }

    func snapshot() -> Snapshot {
        lock.lock()
        defer { lock.unlock() }
        return Snapshot(routes: routes.sorted { $0.key < $1.key }.map { ($0.key, $0.value) },
                        databaseErrors: databaseErrors, scrapes: scrapes)
    }
}
