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
    func spawnServe(_ arguments: [String], port: Int = 0) throws -> pid_t {
        let root = RunningApp.repositoryRoot
        let argv = [Self.binary, "serve", "--port", String(port), "--sim-speed", "100", "--log-level", "error"] + arguments
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

    /// A port nothing listens on right now.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw TestHTTPClient.Failure(description: "no free port") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// Waits until something answers `/healthz` on `port`.
    func waitForServer(_ port: Int) {
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if (try? TestHTTPClient.send(port: port, method: "GET", path: "/healthz").status) == 200 { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
    }

    func runTwentyJobs(on db: Database, serveArguments: [String]) throws {
        let ports = (try Self.freePort(), try Self.freePort())
        let first = try spawnServe(serveArguments, port: ports.0)
        let second = try spawnServe(serveArguments, port: ports.1)
        var stopped = false
        defer { if !stopped { _ = stop(first); _ = stop(second) } }

        // Both processes migrate at start; wait until the schema is there.
        let ready = Date().addingTimeInterval(30)
        while (try? db.query("SELECT count FROM job_status_counts")) == nil && Date() < ready { Thread.sleep(forTimeInterval: 0.1) }
        waitForServer(ports.0)
        waitForServer(ports.1)
        // Sessions live in the database: signed in on one process, signed in on the other.
        _ = try AccountCommands.createUser(db, username: "shared-user", role: "operator", displayName: "", password: RunningApp.password)
        let browser = TestBrowser(port: ports.0)
        try browser.signIn("shared-user", RunningApp.password)
        let elsewhere = TestBrowser(port: ports.1)
        elsewhere.cookies = browser.cookies
        let page = try elsewhere.get("/training/jobs")
        #expect(page.status == 200)
        #expect(page.body.contains("shared-user"))
        try elsewhere.post("/logout", [])
        #expect(try browser.get("/").status == 303, "signed out on the other process too")

        let model = try Fixtures.model(db)
        var ids: [Int] = []
        for i in 0..<20 {
            let id = try Fixtures.job(db, modelID: model, name: "shared-\(i)", epochs: 2)
            _ = try JobStore(database: db).transition(id, from: [.queued], to: .running, by: .system, now: Date())
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
            let steps = try db.query("SELECT step FROM job_metrics WHERE job_id = $1 AND key = 'loss' ORDER BY step", [.int(Int64(id))]).map { try $0.int("step") }
            #expect(steps == Array(1...200), "job \(id): no duplicate and no missing step")
            #expect(try Fixtures.jobStatus(db, id) == "complete")
        }
    }

    /// The jobs table's ETag is the same from both processes, and a change made through one is
    /// a new tag on the other: the tag comes from the database's change counters, not from
    /// anything a process keeps.
    func shareTags(on db: Database, serveArguments: [String]) throws {
        let ports = (try Self.freePort(), try Self.freePort())
        let first = try spawnServe(serveArguments, port: ports.0)
        let second = try spawnServe(serveArguments, port: ports.1)
        defer { _ = stop(first); _ = stop(second) }
        let ready = Date().addingTimeInterval(30)
        while (try? db.query("SELECT version FROM change_counters")) == nil && Date() < ready { Thread.sleep(forTimeInterval: 0.1) }
        waitForServer(ports.0)
        waitForServer(ports.1)
        _ = try AccountCommands.createUser(db, username: "tag-user", role: "operator", displayName: "", password: RunningApp.password)
        // A finished job: nothing for either process's runners to do, so only the test writes.
        _ = try Fixtures.completeJob(db, modelID: try Fixtures.model(db))
        let one = TestBrowser(port: ports.0)
        try one.signIn("tag-user", RunningApp.password)
        let other = TestBrowser(port: ports.1)
        other.cookies = one.cookies
        let path = "/training/jobs"

        /// The tag from the first process and the second's answer to it; tried again if the
        /// pair straddled one of the tags' 10-second clock steps.
        func agreement() throws -> (tag: String, answer: TestResponse) {
            var last: (String, TestResponse)?
            for _ in 0..<3 {
                let tag = try #require(try one.request("GET", path).header("ETag"))
                let answer = try other.request("GET", path, headers: [("If-None-Match", tag)])
                if answer.status == 304 { return (tag, answer) }
                last = (tag, answer)
            }
            return try #require(last)
        }
        let before = try agreement()
        #expect(before.answer.status == 304, "the second process answers the first one's tag with a 304")

        // A model added through the second process shows in the first one's model filter.
        try other.get("/models/new")
        #expect(try other.post("/models", [("name", "Tagged Model"), ("slug", ""), ("parameters", "1.2B"), ("context_length", "4096"),
                                           ("card", "")]).status == 303)
        try other.get("/models")   // shows the flash once; a page with one has no tag
        let changed = try one.request("GET", path, headers: [("If-None-Match", before.tag)])
        #expect(changed.status == 200, "the first process sees the other's change")
        #expect(changed.body.contains("Tagged Model"))
        #expect(changed.header("ETag") != before.tag)
        #expect(try agreement().answer.status == 304, "and both agree on the new tag")
    }

    @Test func tagsAgreeAcrossProcessesOnSQLite() throws {
        let dir = NSTemporaryDirectory() + "trainyard-tags-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let db = try SQLiteDatabase(path: dir + "/trainyard.sqlite")
        defer { db.close() }
        try Migrator(database: db, migrations: Schema.migrations(for: db.dialect)).migrate()
        try shareTags(on: db, serveArguments: ["--data-dir", dir])
    }

    @Test(.enabled(if: !TestEnvironment.skipPostgres, "PostgreSQL left out explicitly with TRAINYARD_SKIP_POSTGRES=1"))
    func tagsAgreeAcrossProcessesOnPostgreSQL() throws {
        let db = try makeTestDatabase(.postgres)
        defer { db.close() }
        let url = try #require(connectionURL(of: db))
        try shareTags(on: db, serveArguments: ["--database-url", url])
    }

    @Test(.enabled(if: !TestEnvironment.skipPostgres, "PostgreSQL left out explicitly with TRAINYARD_SKIP_POSTGRES=1"))
    func onPostgreSQL() throws {
        let db = try makeTestDatabase(.postgres)
        defer { db.close() }
        let url = try #require(connectionURL(of: db))
        try runTwentyJobs(on: db, serveArguments: ["--database-url", url])
    }

    /// Both processes scrape; each target is fetched once per interval, not once per process.
    @Test(.enabled(if: !TestEnvironment.skipPostgres, "PostgreSQL left out explicitly with TRAINYARD_SKIP_POSTGRES=1"))
    func scrapeTargetsOncePerIntervalOnPostgreSQL() throws {
        let db = try makeTestDatabase(.postgres)
        defer { db.close() }
        let url = try #require(connectionURL(of: db))
        try Migrator(database: db, migrations: Schema.migrations(for: db.dialect)).migrate()
        var targets: [MetricsTarget] = []
        defer { for t in targets { t.stop() } }
        var ids: [Int] = []
        for i in 0..<3 {
            let target = try MetricsTarget()
            target.page = MetricsTarget.page(ok: 10, failed: 0, buckets: [("0.1", 10), ("+Inf", 10)])
            targets.append(target)
            let model = try Fixtures.model(db, slug: "scraped-\(i)", name: "Scraped \(i)")
            let id = try Fixtures.deployment(db, jobID: try Fixtures.completeJob(db, modelID: model, name: "scraped-\(i)"))
            try db.execute("UPDATE deployments SET status = 'active' WHERE id = $1", [.int(Int64(id))])
            _ = try InferenceSourceStore(database: db).set(id, to: SourceChoice(kind: .scraped, targetURL: target.url, intervalSeconds: 5,
                                                                                preset: .prometheusClient, mapping: ScrapePreset.prometheusClient.mapping),
                                                           by: .system, now: Date())
            ids.append(id)
        }
        let ports = (try Self.freePort(), try Self.freePort())
        let started = Date()
        let first = try spawnServe(["--database-url", url], port: ports.0)
        let second = try spawnServe(["--database-url", url], port: ports.1)
        var stopped = false
        defer { if !stopped { _ = stop(first); _ = stop(second) } }
        waitForServer(ports.0)
        waitForServer(ports.1)
        Thread.sleep(forTimeInterval: 12)
        stopped = true
        #expect(stop(first) == 0)
        #expect(stop(second) == 0)
        // Due at once, then every 5 s: at most one scrape per interval elapsed, plus the first.
        let most = Int(Date().timeIntervalSince(started) / 5) + 1
        for (target, id) in zip(targets, ids) {
            #expect(target.requests >= 2, "deployment \(id) was scraped")
            #expect(target.requests <= most, "deployment \(id): \(target.requests) scrapes in \(most - 1) intervals: scraped twice")
        }
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

/// The account commands of the real `trainyard` binary.
@Suite struct AccountCommandLineTests {
    /// Runs `trainyard ARGS` with `input` on standard input; returns the exit status and what it printed.
    func run(_ arguments: [String], input: String) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: TwoServeProcessesTests.binary)
        process.arguments = arguments
        let stdin = Pipe(), out = Pipe()
        process.standardInput = stdin
        process.standardOutput = out
        process.standardError = out
        try process.run()
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
        let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }

    @Test func createUserAndSetPasswordReadThePasswordFromStandardInput() throws {
        let dir = NSTemporaryDirectory() + "trainyard-cli-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let common = ["--data-dir", dir, "--log-level", "error"]
        let created = try run(["create-user", "--username", "ana", "--role", "operator", "--display-name", "Ana", "--password-stdin"] + common,
                              input: "a long enough password\n")
        #expect(created.status == 0, "\(created.output)")
        #expect(created.output.contains("created ana (operator)"))
        let taken = try run(["create-user", "--username", "ana", "--role", "viewer", "--password-stdin"] + common, input: "a long enough password\n")
        #expect(taken.status != 0)
        #expect(taken.output.contains("the user name 'ana' is taken"))
        let invalid = try run(["create-user", "--username", "Bad Name", "--role", "viewer", "--password-stdin"] + common, input: "a long enough password")
        #expect(invalid.status != 0)
        #expect(invalid.output.contains("1 to 64 characters"))
        let short = try run(["create-user", "--username", "bo", "--role", "viewer", "--password-stdin"] + common, input: "short\n")
        #expect(short.status != 0 && short.output.contains("at least 12 characters"))
        let role = try run(["create-user", "--username", "bo", "--role", "boss", "--password-stdin"] + common, input: "a long enough password\n")
        #expect(role.status != 0 && role.output.contains("viewer, operator or admin"))
        let changed = try run(["set-password", "--username", "ana", "--password-stdin"] + common, input: "another long password\n")
        #expect(changed.status == 0, "\(changed.output)")
        let unknown = try run(["set-password", "--username", "nobody", "--password-stdin"] + common, input: "another long password\n")
        #expect(unknown.status != 0 && unknown.output.contains("there is no user 'nobody'"))

        // The database and the key are its owner's alone.
        for file in ["trainyard.sqlite"] {
            let mode = try #require(try FileManager.default.attributesOfItem(atPath: dir + "/" + file)[.posixPermissions] as? Int)
            #expect(mode & 0o077 == 0, "\(file) is mode \(String(mode, radix: 8))")
        }
        let db = try SQLiteDatabase(path: dir + "/trainyard.sqlite")
        defer { db.close() }
        let ana = try #require(try AccountStore(database: db).credentials("ana"))
        #expect(ana.user.role == .operator && ana.user.displayName == "Ana")
        #expect(PasswordHasher.verify("another long password", against: ana.hash))
    }
}
