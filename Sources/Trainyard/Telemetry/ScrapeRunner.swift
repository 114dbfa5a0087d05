import Dispatch
import Foundation
import PrometheusText
import ScrapeClient

/// Scrapes the model servers of deployments whose source is `scraped`, in `serve`'s
/// background work.
///
/// Each tick claims the due targets (moving each on to its next scrape in the same
/// transaction, so two processes never take the same one), fetches them outside any
/// transaction — several at once, so one slow target does not hold up the rest — and records
/// each outcome in a short transaction of its own.
final class ScrapeRunner {
    static let targetsPerTick = 64
    static let concurrentFetches = 8

    let store: InferenceSourceStore
    let client: ScrapeClient
    let limits: ExpositionLimits
    /// When a scrape's answer arrived (tests set a clock of their own).
    let clock: @Sendable () -> Date

    init(store: InferenceSourceStore, client: ScrapeClient, limits: ExpositionLimits = .standard, clock: @escaping @Sendable () -> Date = { Date() }) {
        self.store = store
        self.client = client
        self.limits = limits
        self.clock = clock
    }

    struct Report: Equatable {
        var scraped = 0
        var failed = 0
    }

    @discardableResult
    func tick() throws -> Report {
        let claims = try store.claimDue(now: clock(), limit: Self.targetsPerTick)
        guard !claims.isEmpty else { return Report() }
        let outcomes = Outcomes(count: claims.count)
        let slots = DispatchSemaphore(value: Self.concurrentFetches)
        let group = DispatchGroup()
        for (index, claim) in claims.enumerated() {
            slots.wait()
            group.enter()
            DispatchQueue.global().async { [self] in
                let outcome = scrape(claim)
                // The scrape's time is when its answer arrived: increases are attributed to that minute.
                let finished = clock()
                outcomes.set(index, (outcome, finished))
                slots.signal()
                group.leave()
            }
        }
        group.wait()
        var report = Report()
        for (claim, result) in zip(claims, outcomes.all) {
            guard let (outcome, at) = result else { continue }
            if case .failed = outcome { report.failed += 1 } else { report.scraped += 1 }
            try store.record(claim, outcome, at: at)
        }
        return report
    }

    /// The fetches' results by claim, filled from several threads.
    private final class Outcomes: @unchecked Sendable {
        private let lock = NSLock()
        private var results: [(InferenceSourceStore.Outcome, Date)?]
        init(count: Int) { results = Array(repeating: nil, count: count) }
        func set(_ index: Int, _ result: (InferenceSourceStore.Outcome, Date)) { lock.lock(); results[index] = result; lock.unlock() }
        var all: [(InferenceSourceStore.Outcome, Date)?] { lock.lock(); defer { lock.unlock() }; return results }
    }

    /// One fetch and parse. Every failure becomes a line for the source's "last error".
    func scrape(_ claim: InferenceSourceStore.Claim) -> InferenceSourceStore.Outcome {
        switch client.fetch(claim.targetURL) {
        case .failure(let failure):
            return .failed(failure.description)
        case .success(let response):
            do {
                let page = try Exposition.parse(response.body, format: ExpositionFormat(contentType: response.contentType), limits: limits)
                let snapshot = Snapshot(page, selecting: try claim.mapping.selection())
                // Without the latency histogram or the request counter there is nothing to
                // compute; a failure counter may not exist until the first failure.
                let missing = snapshot.missing.filter { $0 != claim.mapping.failureCounter }
                if !missing.isEmpty {
                    return .failed("the page has no series named " + missing.joined(separator: " or "))
                }
                return .scraped(snapshot)
            } catch {
                return .failed("the page is not in the Prometheus text format: \(error)")
            }
        }
    }
}
