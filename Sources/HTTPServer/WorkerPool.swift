import Foundation
import RunSlots

/// A fixed set of threads running jobs in submission order. Jobs may block; the pool size
/// bounds how many handlers run at once.
///
/// With `slots`, a thread takes a job only while holding a slot, and keeps the slot from one
/// job to the next while jobs are queued and no thread waits to finish a handler: under load
/// the jobs wait in the queue, not in threads that took them and then waited for a slot, so
/// no slot passes between threads per job (a wake-up each, measured at a fifth of the rate).
final class WorkerPool<Job>: @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs = FIFOQueue<Job>()
    private var stopping = false
    private var running = 0
    private var working = 0
    /// Threads waiting for a slot to take a job with; no more of them than jobs queued.
    private var seekers = 0
    private let slots: RunSlots?
    private let work: (Job) -> Void

    init(slots: RunSlots? = nil, work: @escaping (Job) -> Void) {
        self.slots = slots
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
        return jobs.count
    }

    /// Threads running a job now.
    var busy: Int {
        condition.lock()
        defer { condition.unlock() }
        return working
    }

    func submit(_ job: Job) {
        condition.lock()
        jobs.push(job)
        condition.signal()
        condition.unlock()
    }

    /// Stops the threads once their current job is done; returns the jobs never started.
    func stop() -> [Job] {
        condition.lock()
        stopping = true
        let unstarted = jobs.removeAll()
        condition.broadcast()
        condition.unlock()
        return unstarted
    }

    private func run() {
        if let slots { return runHoldingSlots(slots) }
        while true {
            condition.lock()
            while jobs.isEmpty && !stopping {
                condition.wait()
            }
            if stopping {
                running -= 1
                condition.unlock()
                return
            }
            let job = jobs.pop()!
            working += 1
            condition.unlock()
            work(job)
            condition.lock()
            working -= 1
            condition.unlock()
        }
    }

    private func runHoldingSlots(_ slots: RunSlots) {
        var holding = false
        while true {
            condition.lock()
            var job: Job?
            while job == nil {
                if stopping {
                    running -= 1
                    condition.unlock()
                    if holding { slots.releaseSlot() }
                    return
                }
                if !jobs.isEmpty {
                    if holding {
                        job = jobs.pop()
                        continue
                    }
                    if jobs.count > seekers {
                        seekers += 1
                        condition.unlock()
                        slots.acquireForNewWork()
                        holding = true
                        condition.lock()
                        seekers -= 1
                        continue
                    }
                }
                if holding {
                    // Nothing queued for this slot: give it up before waiting for a job.
                    condition.unlock()
                    slots.releaseSlot()
                    holding = false
                    condition.lock()
                    continue
                }
                condition.wait()
            }
            working += 1
            condition.unlock()
            work(job!)
            condition.lock()
            working -= 1
            let more = !jobs.isEmpty
            condition.unlock()
            if more {
                holding = slots.keepForNextWork()
            } else {
                slots.releaseSlot()
                holding = false
            }
        }
    }
}
