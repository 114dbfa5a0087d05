import Storage

/// Per-status counts kept in small tables, so pages never count every row on each request.
///
/// Every change of a job's or deployment's status adjusts these in the same transaction;
/// `recount` rebuilds them from the rows (after bulk loads such as the demo data).
enum StatusCounters {
    static func adjustDeployments(_ conn: DatabaseConnection, from old: DeploymentStatus?, to new: DeploymentStatus?) throws {
        if let old { try conn.execute("UPDATE deployment_status_counts SET count = count - 1 WHERE status = $1", [.text(old.rawValue)]) }
        if let new { try conn.execute("UPDATE deployment_status_counts SET count = count + 1 WHERE status = $1", [.text(new.rawValue)]) }
    }

    static func adjustJobs(_ conn: DatabaseConnection, from old: JobStatus?, to new: JobStatus?) throws {
        if let old { try conn.execute("UPDATE job_status_counts SET count = count - 1 WHERE status = $1", [.text(old.rawValue)]) }
        if let new { try conn.execute("UPDATE job_status_counts SET count = count + 1 WHERE status = $1", [.text(new.rawValue)]) }
    }

    static func recount(_ conn: DatabaseConnection) throws {
        try conn.execute("""
            UPDATE deployment_status_counts SET count =
              (SELECT COUNT(*) FROM deployments d WHERE d.status = deployment_status_counts.status AND d.deleted_at IS NULL)
            """, [])
        try conn.execute("""
            UPDATE job_status_counts SET count =
              (SELECT COUNT(*) FROM training_jobs j WHERE j.status = job_status_counts.status)
            """, [])
    }
}
