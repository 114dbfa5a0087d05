import Foundation
import RunSlots
import Testing
@testable import HTTPServer

/// Counts how many callers are inside at once, and the most there ever were.
private final class Occupancy: @unchecked Sendable {
    private let lock = NSLock()
    private var now = 0
    private(set) var most = 0
    private(set) var order: [Int] = []

    func enter(_ who: Int) {
        lock.lock()
        now += 1
        most = max(most, now)
        order.append(who)
        lock.unlock()
    }

    func leave() {
        lock.lock()
        now -= 1
        lock.unlock()
    }

    var seen: (most: Int, order: [Int]) {
        lock.lock()
        defer { lock.unlock() }
        return (most, order)
    }
}

private func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) -> DispatchGroup {
    let group = DispatchGroup()
    for i in 0..<count {
        group.enter()
        Thread { body(i); group.leave() }.start()
    }
    return group
}

@Suite struct RunSlotsTests {
    @Test func noMoreThanTheCapacityRunAtOnce() {
        let slots = RunSlots(capacity: 2)
        let inside = Occupancy()
        let group = onThreads(8) { i in
            slots.run {
                inside.enter(i)
                usleep(20_000)
                inside.leave()
            }
        }
        #expect(group.wait(timeout: .now() + 10) == .success)
        #expect(inside.seen.most == 2)
        #expect(inside.seen.order.count == 8)
    }

    @Test func waitersRunInTheOrderTheyAsked() {
        let slots = RunSlots(capacity: 1)
        let inside = Occupancy()
        let holding = DispatchSemaphore(value: 0)
        let letGo = DispatchSemaphore(value: 0)
        let first = onThreads(1) { _ in
            slots.run {
                holding.signal()
                letGo.wait()
            }
        }
        holding.wait()
        var group: [DispatchGroup] = []
        for who in 1...5 {
            group.append(onThreads(1) { _ in slots.run { inside.enter(who); inside.leave() } })
            #expect(eventually { slots.waiting == who })
        }
        letGo.signal()
        #expect(first.wait(timeout: .now() + 10) == .success)
        for g in group { #expect(g.wait(timeout: .now() + 10) == .success) }
        #expect(inside.seen.order == [1, 2, 3, 4, 5])
    }

    /// A holder blocked on another thread gives its slot up meanwhile: with one slot, the thread
    /// it waits for can run. Without that, the two would wait on each other.
    @Test func aWaitStepsAsideSoTheThreadItWaitsForCanRun() {
        let slots = RunSlots(capacity: 1)
        let other = DispatchSemaphore(value: 0)
        let waited = Occupancy()
        let holder = onThreads(1) { _ in
            slots.run {
                let outcome = RunSlots.whileBlocked { other.wait(timeout: .now() + 5) }
                if outcome == .success { waited.enter(1) }
            }
        }
        let helper = onThreads(1) { _ in slots.run { _ = other.signal() } }
        #expect(holder.wait(timeout: .now() + 10) == .success)
        #expect(helper.wait(timeout: .now() + 10) == .success)
        #expect(waited.seen.order == [1], "the holder's wait ended because the other thread ran")
    }

    @Test func aThreadWithoutASlotJustRunsTheWait() {
        #expect(RunSlots.whileBlocked { 42 } == 42)
    }
}

/// The server's handlers share `runningHandlers` slots; one waiting on a database steps aside.
@Suite struct RunningHandlersTests {
    private func router(_ gate: Gate) -> Router {
        let router = makeTestRouter()
        // A handler busy on the CPU (it keeps its slot) and one waiting on something else.
        router.get("/busy/{name}") { request in
            gate.pass(request.pathParameters["name"] ?? "")
            return .text("passed")
        }
        router.get("/waiting/{name}") { request in
            RunSlots.whileBlocked { gate.pass(request.pathParameters["name"] ?? "") }
            return .text("passed")
        }
        return router
    }

    /// A server with 4 threads and one running slot; two requests sent, the second once the
    /// first has reached the gate.
    private func withTwoRequests(to kind: String, _ body: (HTTPServer, Gate, TestClient, TestClient) throws -> Void) throws {
        let gate = Gate()
        try withServer(responder: router(gate), configure: {
            $0.workerThreads = 4
            $0.runningHandlers = 1
        }) { (server, port) throws in
            defer { gate.release() }
            let first = try TestClient(port: port)
            first.send("GET /\(kind)/a HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(gate.waitForEntries(1))
            let second = try TestClient(port: port)
            second.send("GET /\(kind)/b HTTP/1.1\r\nHost: t\r\n\r\n")
            try body(server, gate, first, second)
        }
    }

    @Test func aHandlerBeyondTheSlotsWaitsForOne() throws {
        try withTwoRequests(to: "busy") { (server, gate, first, second) throws in
            #expect(eventually { server.stats().waitingForSlot == 1 })
            #expect(gate.names == ["a"], "the second handler has a thread but not a slot")
            gate.release()
            #expect(try first.readResponse().text == "passed")
            #expect(try second.readResponse().text == "passed")
            #expect(gate.names == ["a", "b"])
        }
    }

    @Test func aHandlerWaitingOnSomethingElseLetsTheNextOneRun() throws {
        try withTwoRequests(to: "waiting") { (server, gate, first, second) throws in
            #expect(gate.waitForEntries(2), "both handlers are waiting at once on one slot")
            #expect(server.stats().waitingForSlot == 0)
            gate.release()
            #expect(try first.readResponse().text == "passed")
            #expect(try second.readResponse().text == "passed")
        }
    }
}

/// Which thread ran each job, in the order they ran.
private final class JobLog: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [(job: String, thread: UInt)] = []

    func record(_ job: String) {
        lock.lock()
        entries.append((job, UInt(pthread_self())))
        lock.unlock()
    }

    var jobs: [String] {
        lock.lock()
        defer { lock.unlock() }
        return entries.map(\.job)
    }

    var threads: Set<UInt> {
        lock.lock()
        defer { lock.unlock() }
        return Set(entries.map(\.thread))
    }
}

/// The pool with slots: jobs wait in the queue, and a thread keeps its slot from one job to the
/// next unless a thread is waiting to finish a handler.
@Suite struct SlotKeepingPoolTests {
    @Test func aWorkerKeepsItsSlotForTheJobsQueuedBehindIts() {
        let slots = RunSlots(capacity: 1)
        let gate = Gate()
        let log = JobLog()
        let pool = WorkerPool<String>(slots: slots) { job in
            log.record(job)
            if job == "first" { gate.pass(job) }
        }
        pool.start(threads: 4, name: "slot-keeping-test")
        defer { _ = pool.stop() }
        pool.submit("first")
        #expect(gate.waitForEntries(1))
        pool.submit("second")
        pool.submit("third")
        // The jobs stay queued; threads woken for them wait for the slot without taking one.
        #expect(eventually { slots.waiting >= 1 })
        #expect(pool.queued == 2)
        gate.release()
        #expect(eventually { log.jobs.count == 3 })
        #expect(log.jobs == ["first", "second", "third"])
        #expect(log.threads.count == 1, "the slot's thread ran the queued jobs itself: no hand-off")
    }

    @Test func aFreedSlotGoesFirstToAThreadFinishingAHandler() {
        let slots = RunSlots(capacity: 1)
        let order = Occupancy()
        let holding = DispatchSemaphore(value: 0)
        let letGo = DispatchSemaphore(value: 0)
        let kept = Occupancy()
        let worker = onThreads(1) { _ in
            slots.acquireForNewWork()
            holding.signal()
            letGo.wait()
            kept.enter(slots.keepForNextWork() ? 1 : 0)
            kept.leave()
        }
        holding.wait()
        let finishing = onThreads(1) { _ in slots.run { order.enter(1); order.leave() } }
        #expect(eventually { slots.waiting == 1 })
        let seeking = onThreads(1) { _ in
            slots.acquireForNewWork()
            order.enter(2)
            order.leave()
            slots.releaseSlot()
        }
        #expect(eventually { slots.waiting == 2 })
        letGo.signal()
        #expect(worker.wait(timeout: .now() + 10) == .success)
        #expect(finishing.wait(timeout: .now() + 10) == .success)
        #expect(seeking.wait(timeout: .now() + 10) == .success)
        #expect(kept.seen.order == [0], "a handler was waiting: the slot went to it")
        #expect(order.seen.order == [1, 2], "the handler before the thread seeking new work")
    }

    @Test func aThreadSeekingNewWorkDoesNotTakeTheSlotOfOneWithQueuedWork() {
        let slots = RunSlots(capacity: 1)
        slots.acquireForNewWork()
        let got = Occupancy()
        let seeking = onThreads(1) { _ in
            slots.acquireForNewWork()
            got.enter(1)
            got.leave()
            slots.releaseSlot()
        }
        #expect(eventually { slots.waiting == 1 })
        #expect(slots.keepForNextWork(), "only a seeker waits: keep the slot")
        usleep(50_000)
        #expect(got.seen.order.isEmpty && slots.waiting == 1)
        slots.releaseSlot()
        #expect(seeking.wait(timeout: .now() + 10) == .success)
        #expect(got.seen.order == [1])
    }
}

@Suite struct FIFOQueueTests {
    @Test func aQueueThatNeverEmptiesKeepsItsOrderAcrossCompaction() {
        var queue = FIFOQueue<Int>()
        var next = 0, expected = 0
        // Always one more in than out, so the queue never empties and must drop its taken front.
        for _ in 0..<5_000 {
            queue.push(next); next += 1
            queue.push(next); next += 1
            #expect(queue.pop() == expected)
            expected += 1
        }
        #expect(queue.count == 5_000)
        #expect(queue.removeAll() == Array(expected..<next))
        #expect(queue.isEmpty)
        #expect(queue.pop() == nil)
    }

    @Test func anEmptiedQueueTakesNewElementsInOrder() {
        var queue = FIFOQueue<String>()
        queue.push("a")
        #expect(queue.pop() == "a")
        #expect(queue.isEmpty)
        queue.push("b"); queue.push("c")
        #expect(queue.count == 2)
        #expect(queue.pop() == "b")
        #expect(queue.pop() == "c")
        #expect(queue.pop() == nil)
    }
}
