import Foundation

/// A fixed set of threads running jobs in submission order. Jobs may block; the pool size
/// bounds how many handlers run at once.
final class WorkerPool<Job>: @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [Job] = []
    private var head = 0
    private var stopping = false
    private var running = 0
    private var working = 0
    private let work: (Job) -> Void

    init(work: @escaping (Job) -> Void) {
        self.work = work
    }

    func start(threads: Int, name: String) {
        for index in 0..<max(1, threads) {
            let thread = Thread { [self] in self.run() }
            thread.name = "\(name)-\(index)"
            condition.lock()
            running += 1
            condition.unlock()
            thread.start()
        }
    }

    /// Jobs submitted and not yet started.
    var queued: Int {
        condition.lock()
        defer { condition.unlock() }
        return jobs.count - head
    }

    /// Threads running a job now.
    var busy: Int {
        condition.lock()
        defer { condition.unlock() }
        return working
    }

    func submit(_ job: Job) {
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    /// Stops the threads once their current job is done; returns the jobs never started.
    func stop() -> [Job] {
        condition.lock()
        stopping = true
        let unstarted = Array(jobs[head...])
        jobs = []
        head = 0
        condition.broadcast()
        condition.unlock()
        return unstarted
    }

    private func run() {
        while true {
            condition.lock()
            while head == jobs.count && !stopping {
                condition.wait()
            }
            if stopping {
                running -= 1
                condition.unlock()
                return
            }
            let job = jobs[head]
            head += 1
            if head == jobs.count {
                jobs.removeAll(keepingCapacity: true)
                head = 0
            } else if head >= 1024 && head * 2 >= jobs.count {
                jobs.removeSubrange(0..<head)
                head = 0
            }
            working += 1
            condition.unlock()
            work(job)
            condition.lock()
            working -= 1
            condition.unlock()
        }
    }
}
