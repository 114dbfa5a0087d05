import Foundation
import Storage
import Testing
import TrainyardTestSupport

@Suite("Migrator")
struct MigratorTests {
    static let first = Migration(version: 1, name: "create_widgets", sql: """
        CREATE TABLE widgets (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
        INSERT INTO widgets (id, name) VALUES (1, 'seed');
        """)
    static let second = Migration(version: 2, name: "create_gadgets", sql: "CREATE TABLE gadgets (id INTEGER PRIMARY KEY);")
    static let broken = Migration(version: 3, name: "half_broken", sql: """
        CREATE TABLE sprockets (id INTEGER PRIMARY KEY);
        INSERT INTO widgets (id, name) VALUES (2, 'from 3');
        INSERT INTO no_such_table (id) VALUES (1);
        """)

    static func versions(_ db: Database) throws -> [Int] {
        try db.query("SELECT version FROM schema_migrations ORDER BY version").map { try $0.int("version") }
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func appliesInOrderRecordsVersionsAndIsIdempotent(_ kind: TestDatabaseKind) throws {
        let db = try makeTestDatabase(kind)
        defer { db.close() }
        let migrator = Migrator(database: db, migrations: [Self.first, Self.second])
        #expect(try migrator.pending().map(\.version) == [1, 2])
        #expect(try migrator.migrate().map(\.version) == [1, 2])
        #expect(try Self.versions(db) == [1, 2])
        let names = try db.query("SELECT name, applied_at FROM schema_migrations ORDER BY version")
        #expect(try names.map { try $0.string("name") } == ["create_widgets", "create_gadgets"])
        #expect(try abs(names[0].date("applied_at").timeIntervalSinceNow) < 60)
        #expect(try migrator.migrate().isEmpty)
        #expect(try migrator.pending().isEmpty)
        #expect(try db.query("SELECT id FROM widgets").count == 1)
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func appliesOnlyWhatIsNewWhenTheListGrows(_ kind: TestDatabaseKind) throws {
        let db = try makeTestDatabase(kind)
        defer { db.close() }
        try Migrator(database: db, migrations: [Self.first]).migrate()
        let applied = try Migrator(database: db, migrations: [Self.first, Self.second]).migrate()
        #expect(applied.map(\.version) == [2])
        #expect(try Self.versions(db) == [1, 2])
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func aFailingMigrationRollsBackWithItsRowAndSaysWhich(_ kind: TestDatabaseKind) throws {
        let db = try makeTestDatabase(kind)
        defer { db.close() }
        let migrator = Migrator(database: db, migrations: [Self.first, Self.second, Self.broken])
        let error = caught { try migrator.migrate() }
        guard case .migration(let version, let name, let message)? = error as? DatabaseError else {
            Issue.record("expected a migration error, got \(String(describing: error))")
            return
        }
        #expect(version == 3)
        #expect(name == "half_broken")
        #expect(message.contains("rolled back"))
        #expect(message.contains("no_such_table"))
        #expect(try Self.versions(db) == [1, 2])
        #expect(errorCase(caught { _ = try db.query("SELECT id FROM sprockets") }) == "query")
        #expect(try db.query("SELECT id FROM widgets").count == 1)
        #expect(try migrator.pending().map(\.version) == [3])
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func refusesADatabaseNewerThanTheBuild(_ kind: TestDatabaseKind) throws {
        let db = try makeTestDatabase(kind)
        defer { db.close() }
        try Migrator(database: db, migrations: [Self.first, Self.second]).migrate()
        let older = Migrator(database: db, migrations: [Self.first])
        for attempt in [{ _ = try older.pending() }, { _ = try older.migrate() }] {
            let error = caught(attempt)
            guard case .migration(let version, _, let message)? = error as? DatabaseError else {
                Issue.record("expected a migration error, got \(String(describing: error))")
                continue
            }
            #expect(version == 2)
            #expect(message.contains("newer"))
        }
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func refusesVersionsThatDoNotStrictlyIncrease(_ kind: TestDatabaseKind) throws {
        let db = try makeTestDatabase(kind)
        defer { db.close() }
        let error = caught { try Migrator(database: db, migrations: [Self.second, Self.first]).migrate() }
        #expect(errorCase(error) == "migration")
        let duplicate = caught { try Migrator(database: db, migrations: [Self.first, Self.first]).migrate() }
        #expect(errorCase(duplicate) == "migration")
        #expect(errorCase(caught { _ = try db.query("SELECT id FROM widgets") }) == "query")
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func concurrentMigratorsApplyEachMigrationOnce(_ kind: TestDatabaseKind) throws {
        let db = try makeTestDatabase(kind)
        defer { db.close() }
        try Migrator(database: db, migrations: []).migrate()  // creates schema_migrations
        let shared = SendableDatabase(db: db)
        let applied = Locked<[Int]>([])
        let failures = Locked<[String]>([])
        concurrently(6) { _ in
            do {
                let done = try Migrator(database: shared.db, migrations: [Self.first, Self.second]).migrate()
                applied.withValue { $0 += done.map(\.version) }
            } catch {
                failures.withValue { $0.append("\(error)") }
            }
        }
        #expect(failures.current == [])
        #expect(applied.current.sorted() == [1, 2])
        #expect(try Self.versions(db) == [1, 2])
    }
}
