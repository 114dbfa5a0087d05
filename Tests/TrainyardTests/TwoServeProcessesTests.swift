import Foundation
import Storage
import StorageSQLite
import Testing
import TrainyardTestSupport
@testable import Trainyard
#if canImport(Glibc)
import Glibc
#endif

/// Two real `trainyard serve` processes on one database: their runners share the running jobs
/// and every step is written exactly once.
@Suite(.serialized) struct TwoServeProcessesTests {
    static var binary: String { RunningApp.repositoryRoot + "/.build/debug/trainyard" }

    /// Starts `trainyard serve` with `arguments`; returns its pid.
    func spawnServe(_ arguments: [String]) throws -> pid_t {
        let root = RunningApp.repositoryRoot
        let argv = [Self.binary, "serve", "--port", "0", "--sim-speed", "100", "--log-level", "error"] + arguments
        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for a in cArgs { free(a) } }
        let env = ["TRAINYARD_TEMPLATES_DIR=\(root)/Templates", "TRAINYARD_PUBLIC_DIR=\(root)/Public",
                   "TRAINYARD_DOCS_DIR=\(root)/Docs", "SECRET_KEY=two-processes-share-this-secret-key-0123456789",
                   "PATH=/usr/bin:/bin"]
        var cEnv: [UnsafeMutablePointer<CChar>?] = env.map { strdup($0) } + [nil]
        defer { for e in cEnv { free(e) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, Self.binary, nil, nil, &cArgs, &cEnv)
        guard result == 0 else { throw TestHTTPClient.Failure(description: "cannot start \(Self.binary): error \(result)") }
        return pid
    }

    /// SIGTERM, then the exit status; a process still running after 15 s is killed and
    /// reported as -1, so a broken shutdown fails the test instead of hanging it.
    func stop(_ pid: pid_t) -> Int32 {
        kill(pid, SIGTERM)
        var status: Int32 = 0
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline {
            let done = waitpid(pid, &status, WNOHANG)
            if done == pid { return status }
            if done == -1 && errno != EINTR { return -1 }
            Thread.sleep(forTimeInterval: 0.05)
        }
        kill(pid, SIGKILL)
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        return -1
    }

    func runTwentyJobs(on db: Database, serveArguments: [String]) throws {
        let first = try spawnServe(serveArguments)
        let second = try spawnServe(serveArguments)
        var stopped = false
        defer { if !stopped { _ = stop(first); _ = stop(second) } }

        // Both processes migrate at start; wait until the schema is there.
        let ready = Date().addingTimeInterval(30)
        while (try? db.query("SELECT count FROM job_status_counts")) == nil && Date() < ready { Thread.sleep(forTimeInterval: 0.1) }
        let model = try Fixtures.model(db)
        var ids: [Int] = []
        for i in 0..<20 {
            let id = try Fixtures.job(db, modelID: model, name: "shared-\(i)", epochs: 2)
            _ = try JobStore(database: db).transition(id, from: [.queued], to: .running, now: Date())
            ids.append(id)
        }
        let deadline = Date().addingTimeInterval(60)
        while try db.queryOne("SELECT COUNT(*) AS n FROM training_jobs WHERE status = 'running'")!.int("n") > 0 && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.1)
        }
        stopped = true
        // Both exit cleanly on SIGTERM.
        #expect(stop(first) == 0)
        #expect(stop(second) == 0)
        for id in ids {
            let steps = try db.query("SELECT step FROM training_metrics WHERE job_id = $1 ORDER BY step", [.int(Int64(id))]).map { try $0.int("step") }
            #expect(steps == Array(1...200), "job \(id): no duplicate and no missing step")
            #expect(try Fixtures.jobStatus(db, id) == "complete")
        }
    }

    @Test(.enabled(if: !TestEnvironment.skipPostgres, "PostgreSQL left out explicitly with TRAINYARD_SKIP_POSTGRES=1"))
    func onPostgreSQL() throws {
        let db = try makeTestDatabase(.postgres)
        defer { db.close() }
        let url = try #require(connectionURL(of: db))
        try runTwentyJobs(on: db, serveArguments: ["--database-url", url])
    }

    @Test func onSQLite() throws {
        let dir = NSTemporaryDirectory() + "trainyard-two-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // The first process creates the file; the test opens it once it exists.
        let pidProbe = try spawnServe(["--data-dir", dir])
        let created = Date().addingTimeInterval(30)
        while !FileManager.default.fileExists(atPath: dir + "/trainyard.sqlite") && Date() < created { Thread.sleep(forTimeInterval: 0.05) }
        Thread.sleep(forTimeInterval: 0.5)
        _ = stop(pidProbe)
        let db = try SQLiteDatabase(path: dir + "/trainyard.sqlite")
        defer { db.close() }
        try runTwentyJobs(on: db, serveArguments: ["--data-dir", dir])
    }
}
