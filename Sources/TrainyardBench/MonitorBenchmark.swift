import Foundation
import HTTPServer
import Logging
import Storage
import StorageSQLite
import Trainyard

/// The monitor page of a 100,000-step job, through the whole app (routing, SQL, charts,
/// templates) but without a socket: page size and render time.
func monitorBenchmark(_ arguments: ArraySlice<String>) throws {
    let steps = arguments.first.flatMap { Int($0) } ?? 100_000
    let iterations = 200
    let database = try SQLiteDatabase.temporary()
    defer { database.close() }
    try Migrator(database: database, migrations: Schema.migrations(for: .sqlite)).migrate()
    let now = Date()
    let jobID: Int = try database.transaction { conn in
        let model = try conn.query("""
            INSERT INTO models (slug, name, parameters, size_class, context_length, card, created_at)
            VALUES ('bench', 'Bench Model', 1200000000, 'small', 4096, '# Bench', $1) RETURNING id
            """, [.date(now)])[0].int("id")
        let perEpoch = steps / 100
        let job = try conn.query("""
            INSERT INTO training_jobs (name, model_id, status, epochs, learning_rate, batch_size, steps_per_epoch, current_step,
                notes, seed, created_at, started_at, finished_at, updated_at)
            VALUES ('long-run', $1, 'complete', 100, 0.0003, 32, $2, $3, '', 7, $4, $4, $4, $4) RETURNING id
            """, [.int(Int64(model)), .int(Int64(perEpoch)), .int(Int64(steps)), .date(now)])[0].int("id")
        for step in 1...steps {
            let loss = 0.5 + 2 * exp(-Double(step) / Double(steps) * 5) + 0.02 * sin(Double(step))
            for (key, value) in [("loss", loss), ("accuracy", min(1, 1 - loss / 3))] {
                try conn.execute("""
                    INSERT INTO job_metrics (job_id, key, step, recorded_at, value) VALUES ($1, $2, $3, $4, $5)
                    """, [.int(Int64(job)), .text(key), .int(Int64(step)), .date(now.addingTimeInterval(Double(step) / 5)), .double(value)])
            }
        }
        for key in ["loss", "accuracy"] {
            try conn.execute("""
                INSERT INTO job_metric_summaries (job_id, key, latest_step, latest_at, latest_value, min_value, max_value)
                SELECT job_id, key, MAX(step), MAX(recorded_at), 0, MIN(value), MAX(value) FROM job_metrics WHERE job_id = $1 AND key = $2
                GROUP BY job_id, key
                """, [.int(Int64(job)), .text(key)])
        }
        return job
    }
    let app = try benchApp(database)
    var request = HTTPRequest(method: "GET", target: "/training/jobs/\(jobID)")
    request.headers.add("Cookie", try signIn(app, database))
    let clock = ContinuousClock()
    let cold = try clock.measure { _ = try app.respond(to: request) }
    print("first view (one scan of all \(steps) rows): \(cold)")
    var bytes = 0
    let samples = try measure(warmUp: 10, iterations: iterations) {
        let response = try app.respond(to: request)
        precondition(response.status == 200, "monitor page answered \(response.status)")
        bytes = response.body.count
    }
    print("monitor page of a \(steps)-step job: \(bytes) bytes (\(String(format: "%.1f", Double(bytes) / 1024)) KiB)")
    report("monitor page, later views (SQL + charts + templates, no socket)", samples)
}

/// The app over `database` with the repository's templates, public files and docs (run from its root).
func benchApp(_ database: Database) throws -> TrainyardApp {
    var config = AppConfiguration()
    config.templatesDirectory = "Templates"
    config.publicDirectory = "Public"
    config.docsDirectory = "Docs"
    var logger = Logger(label: "bench")
    logger.logLevel = .error
    return try TrainyardApp(configuration: config, database: database, secret: Array(repeating: 7, count: 32), logger: logger)
}

/// Signs a bench user in through the real form and returns the `Cookie` header of its session.
func signIn(_ app: TrainyardApp, _ database: Database) throws -> String {
    let password = "bench password, not for production"
    _ = try? AccountCommands.createUser(database, username: "bench", role: "viewer", displayName: "", password: password)
    func cookies(_ response: HTTPResponse) -> [String] {
        response.headers.values("Set-Cookie").map { String($0.prefix { $0 != ";" }) }.filter { !$0.hasSuffix("=") }
    }
    let form = try app.respond(to: HTTPRequest(method: "GET", target: "/login"))
    let html = String(decoding: form.body, as: UTF8.self)
    guard let start = html.range(of: "name=\"_csrf\" value=\""),
          let end = html[start.upperBound...].firstIndex(of: "\"") else { throw BenchFailure("no CSRF token on /login") }
    let token = String(html[start.upperBound..<end])
    var headers = HTTPHeaders()
    headers.add("Cookie", cookies(form).joined(separator: "; "))
    headers.add("Content-Type", "application/x-www-form-urlencoded")
    let body = QueryParameters.encode([("username", "bench"), ("password", password), ("_csrf", token)])
    let signedIn = try app.respond(to: HTTPRequest(method: "POST", target: "/login", headers: headers, body: Array(body.utf8)))
    guard let session = cookies(signedIn).first(where: { $0.hasPrefix("ty_session=") }) else { throw BenchFailure("sign-in refused") }
    return session
}

struct BenchFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
