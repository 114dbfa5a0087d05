import Foundation
import Storage
import Testing
import TrainyardTestSupport
@testable import Trainyard

/// The dashboard over a real socket: its tiles count and link to the filtered lists, and its
/// recent jobs, recent deployments and needs-attention rows show and link each item.
@Suite struct DashboardPageTests {
    @Test(arguments: TestDatabaseKind.enabled)
    func tilesAndRowsShowAndLinkWhatIsThere(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        let db = running.database
        let model = try Fixtures.model(db, slug: "dash-model", name: "Dash <Model>")
        let job = try Fixtures.completeJob(db, modelID: model, name: "dash-job")
        let deployment = try Fixtures.deployment(db, jobID: job)
        try db.execute("""
            UPDATE deployments SET status = 'active', attention_since = $2, attention_reason = 'p95 over 500 ms for 5 minutes'
            WHERE id = $1
            """, [.int(Int64(deployment)), .date(Date().addingTimeInterval(-600))])
        try db.transaction { conn in try DeploymentStore.recount(conn) }

        let page = try running.browser().get("/")
        #expect(page.status == 200)
        let html = page.body
        // Tiles: the count and the list they open.
        #expect(html.contains(#"href="/training/jobs?status=complete"><span class="tile-count">1</span>"#))
        #expect(html.contains(#"href="/deployments?status=active"><span class="tile-count">1</span>"#))
        #expect(html.contains(#"href="/deployments"><span class="tile-count">1</span>"#), "the total")
        // Recent jobs and deployments, escaped, linked, with their badges.
        #expect(html.contains(#"<a href="/training/jobs/\#(job)">dash-job</a></td><td>Dash &lt;Model&gt;</td>"#))
        #expect(html.contains(#"<a href="/deployments/\#(deployment)">Dash &lt;Model&gt;</a>"#))
        #expect(html.contains("badge"))
        // Needs attention: the deployment, the guardrail's reason and when it began.
        #expect(html.contains("Needs attention"))
        #expect(html.contains("p95 over 500 ms for 5 minutes"))
        #expect(html.contains(#"href="/deployments?attention=1""#))
    }

    @Test(arguments: TestDatabaseKind.enabled)
    func anEmptyInstallSaysSoAndShowsNoAttentionPanel(_ kind: TestDatabaseKind) throws {
        let running = try RunningApp(kind)
        defer { running.stop() }
        let html = try running.browser().get("/").body
        #expect(html.contains("No training jobs yet."))
        #expect(!html.contains("Needs attention"))
        #expect(html.contains(#"href="/deployments"><span class="tile-count">0</span>"#))
    }
}
