import Foundation
import Logging
import ScrapeClient

/// Threads that run periodic tasks (the simulation runners, the scraper) until stopped.
///
/// Each task has a thread of its own, so a slow one (a scrape waiting out a target's timeout)
/// never delays another. A task that throws is logged and tried again on its next tick, so a
/// database outage never kills a loop.
public final class BackgroundWork {
    public struct Task {
        public var name: String
        public var interval: TimeInterval
        public var run: () throws -> Void

        public init(name: String, interval: TimeInterval, run: @escaping () throws -> Void) {
            self.name = name
            self.interval = interval
            self.run = run
        }
    }

    /// One task's figures since start, for a metrics page.
    public struct TaskStats: Sendable {
        public var name: String
        public var interval: TimeInterval
        public var ticks = 0
        public var failures = 0
        /// Seconds the ticks took, in total and the last one.
        public var busySeconds = 0.0
        public var lastDuration = 0.0
        /// When the last tick finished; nil before the first.
        public var lastFinished: Date?
    }

    private let tasks: [Task]
    private let logger: Logger
    private let condition = NSCondition()
    private var stopping = false
    private var running = 0
    private var figures: [String: TaskStats] = [:]

    public init(tasks: [Task], logger: Logger) {
        self.tasks = tasks
        self.logger = logger
        for task in tasks { figures[task.name] = TaskStats(name: task.name, interval: task.interval) }
    }

    /// Every task's figures, in the order the tasks were given.
    public func stats() -> [TaskStats] {
        condition.lock()
        defer { condition.unlock() }
        return tasks.compactMap { figures[$0.name] }
    }

    public func start() {
        condition.lock()
        running = tasks.count
        condition.unlock()
        for task in tasks {
            let thread = Thread { [self] in loop(task) }
            thread.name = "trainyard-" + task.name
            thread.start()
        }
    }

    private func loop(_ task: Task) {
        while true {
            condition.lock()
            if stopping {
                running -= 1
                condition.broadcast()
                condition.unlock()
                return
            }
            condition.unlock()
            let started = Date()
            var failed = false
            do { try task.run() } catch {
                failed = true
                logger.warning("background task failed", metadata: ["task": "\(task.name)", "error": "\(error)"])
            }
            let finished = Date()
            let next = finished.addingTimeInterval(task.interval)
            condition.lock()
            figures[task.name]?.ticks += 1
            if failed { figures[task.name]?.failures += 1 }
            figures[task.name]?.busySeconds += finished.timeIntervalSince(started)
            figures[task.name]?.lastDuration = finished.timeIntervalSince(started)
            figures[task.name]?.lastFinished = finished
            while !stopping, Date() < next { _ = condition.wait(until: next) }
            condition.unlock()
        }
    }

    public func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
    }

    public func waitUntilStopped() {
        condition.lock()
        while running > 0 { condition.wait() }
        condition.unlock()
    }
}

extension TrainyardApp {
    /// Starts the work `serve` does besides answering requests.
    public func startBackgroundWork() -> BackgroundWork {
        let work = BackgroundWork(tasks: backgroundTasks(), logger: logger)
        work.start()
        return work
    }

    func backgroundTasks() -> [BackgroundWork.Task] {
        let training = TrainingRunner(database: database, speed: configuration.simulationSpeed)
        let deployments = DeploymentRunner(database: database, speed: configuration.simulationSpeed)
        let scraper = ScrapeRunner(store: InferenceSourceStore(database: database), client: ScrapeClient(allowlist: configuration.scrapeAllowlist))
        return [
            BackgroundWork.Task(name: "training", interval: 0.2) { try training.tick() },
            BackgroundWork.Task(name: "deployments", interval: 0.25) { try deployments.tick() },
            // Sessions past their lifetime are refused anyway; this only keeps the table small.
            BackgroundWork.Task(name: "sessions", interval: 60) { [database] in _ = try AccountStore(database: database).pruneSessions(now: Date()) },
            BackgroundWork.Task(name: "scraper", interval: 0.5) { [metrics] in
                let report = try scraper.tick()
                metrics.recordScrapes(ok: report.scraped, failed: report.failed)
            },
        ]
    }
}
