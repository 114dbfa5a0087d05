import CAllocCount
import Foundation
import HTTPServer
import Storage
import StorageSQLite
import Trainyard

/// The deployments table through the whole app (routing, session, SQL, view model, templates)
/// without a socket: server time and heap allocations per request, for a fresh render and for
/// a revalidation that still matches (`304`).
func tableBenchmark(_ arguments: ArraySlice<String>) throws {
    let rows = arguments.first.flatMap { Int($0) } ?? 100_000
    let path = arguments.dropFirst().first ?? "/deployments?status=active&sort=p95&dir=desc"
    let database = try SQLiteDatabase.temporary()
    defer { database.close() }
    try Migrator(database: database, migrations: Schema.migrations(for: .sqlite)).migrate()
    let clock = ContinuousClock()
    let loaded = try clock.measure { _ = try DeploymentBulkLoader.load(database, rows: rows) }
    print("\(rows) deployments loaded in \(loaded)")

    let app = try benchApp(database)
    var request = HTTPRequest(method: "GET", target: path)
    request.headers.add("Cookie", try signIn(app, database))
    let first = try app.respond(to: request)
    guard first.status == 200 else { throw BenchFailure("\(path) answered \(first.status)") }
    print("\(path): \(first.body.count) bytes")

    /// `status` nil: a revalidation, which renders again (and takes the new tag) when the tag's
    /// 10-second clock step passes during the run; the share of 304s is printed.
    func perRequest(_ label: String, _ request: HTTPRequest, status: Int?) throws {
        var request = request
        var notModified = 0
        func once() throws {
            let response = try app.respond(to: request)
            if let status { precondition(response.status == status, "\(label) answered \(response.status)") }
            if response.status == 304 { notModified += 1 }
            if status == nil, response.status == 200, let tag = response.headers["ETag"] { request.headers.set("If-None-Match", tag) }
        }
        let samples = try measure(warmUp: 200, iterations: 3_000, once)
        if status == nil { print("\(label): \(notModified * 100 / 3_200) % answered 304") }
        report(label, samples)
        let count = 500
        let before = trainyard_allocations()
        for _ in 0..<count { try once() }
        let allocations = Double(trainyard_allocations() - before) / Double(count)
        print(String(format: "%@: %.0f heap allocations per request", label, allocations))
    }
    try perRequest("table page, rendered", request, status: 200)
    var revalidation = request
    if let etag = try app.respond(to: request).headers["ETag"] {
        revalidation.headers.add("If-None-Match", etag)
        try perRequest("table page, If-None-Match still matching (304)", revalidation, status: nil)
    }
}
