import Foundation
import Logging

/// A thread that runs periodic tasks (the simulation runner) until stopped.
///
/// Each task runs on its own interval; a task that throws is logged and tried again next tick,
/// so a database outage never kills the loop.
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

    private let tasks: [Task]
    private let logger: Logger
    private let condition = NSCondition()
    private var stopping = false
    private var stopped = false
    private var thread: Thread?

    public init(tasks: [Task], logger: Logger) {
        self.tasks = tasks
        self.logger = logger
    }

    public func start() {
        guard !tasks.isEmpty else {
            condition.lock(); stopped = true; condition.unlock()
            return
        }
        let thread = Thread { [self] in loop() }
        thread.name = "trainyard-background"
        self.thread = thread
        thread.start()
    }

    private func loop() {
        var due = tasks.map { _ in Date() }
        while true {
            condition.lock()
            if stopping { stopped = true; condition.broadcast(); condition.unlock(); return }
            condition.unlock()
            let now = Date()
            for (index, task) in tasks.enumerated() where due[index] <= now {
                do { try task.run() } catch {
                    logger.warning("background task failed", metadata: ["task": "\(task.name)", "error": "\(error)"])
                }
                due[index] = Date().addingTimeInterval(task.interval)
            }
            let next = due.min() ?? now.addingTimeInterval(1)
            condition.lock()
            if !stopping { _ = condition.wait(until: next) }
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
        while !stopped { condition.wait() }
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
        return [
            BackgroundWork.Task(name: "training", interval: 0.2) { try training.tick() },
            BackgroundWork.Task(name: "deployments", interval: 0.25) { try deployments.tick() },
            // Sessions past their lifetime are refused anyway; this only keeps the table small.
            BackgroundWork.Task(name: "sessions", interval: 60) { [database] in _ = try AccountStore(database: database).pruneSessions(now: Date()) },
        ]
    }
}
