import Foundation
import RunSlots
import Storage
import Testing
import TrainyardTestSupport

/// Request handlers hold one of a few running slots (`RunSlots`); a driver's waits must give it
/// up, or a handler waiting for a connection would keep the slot its holder needs to go on.
@Suite("Database waits step aside from a running slot")
struct RunSlotsWaitTests {
    /// One slot, one connection. A holds the connection and steps aside (as on a round trip);
    /// B takes the slot and waits for the connection. A needs the slot back to finish and give
    /// the connection up: B's wait must have given the slot up, or B times out (503).
    @Test(arguments: TestDatabaseKind.enabled)
    func aWaitForABusyConnectionGivesTheSlotUp(_ kind: TestDatabaseKind) throws {
        let db = try makeTestDatabase(kind, poolSize: 1, acquireTimeout: 3)
        defer { db.close() }
        let shared = SendableDatabase(db: db)
        let slots = RunSlots(capacity: 1)
        let outcomes = Locked<[String]>([])
        let holding = DispatchSemaphore(value: 0)
        let holder = DispatchGroup()
        holder.enter()
        Thread {
            slots.run {
                do {
                    try shared.db.transaction { conn in
                        holding.signal()
                        RunSlots.whileBlocked {
                            // until B is queued for the connection
                            let limit = Date(timeIntervalSinceNow: 2)
                            while (shared.db.poolStats?.waits ?? 0) == 0 && Date() < limit { usleep(5_000) }
                        }
                        _ = try conn.query("SELECT 1 AS one", [])
                    }
                    outcomes.withValue { $0.append("A done") }
                } catch {
                    outcomes.withValue { $0.append("A failed: \(error)") }
                }
            }
            holder.leave()
        }.start()
        holding.wait()
        let waiter = DispatchGroup()
        waiter.enter()
        Thread {
            slots.run {
                do {
                    _ = try shared.db.query("SELECT 2 AS two", [])
                    outcomes.withValue { $0.append("B done") }
                } catch {
                    outcomes.withValue { $0.append("B failed: \(error)") }
                }
            }
            waiter.leave()
        }.start()
        #expect(holder.wait(timeout: .now() + 10) == .success)
        #expect(waiter.wait(timeout: .now() + 10) == .success)
        #expect(outcomes.current == ["A done", "B done"])
    }
}
