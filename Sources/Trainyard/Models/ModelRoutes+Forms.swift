import Foundation
import HTTPServer

/// The Add and Edit forms and the Delete button of the catalogue (operators and admins).
extension ModelRoutes {
    static let noSuchModel = "There is no model with this name in the catalogue."

    // MARK: Add

    static func showNewModelForm(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        try app.web.render(ModelFormView(editing: nil, shown: ModelFormValues(ctx, saved: ModelForm.blank), ctx), ctx)
    }

    static func createModel(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        let form = ModelForm(ctx.request.formParameters)
        let store = ModelStore(database: app.database)
        switch try form.validate(slugTaken: { try store.find(slug: $0) != nil }) {
        case .failure(let errors):
            return refuse(app, ctx, form, errors, back: Paths.newModel)
        case .success(let model):
            switch try store.create(model, by: try ctx.requireActor, now: Date()) {
            case .slugTaken:
                return refuse(app, ctx, form, FieldErrors(["slug": ModelForm.slugTakenMessage(model.slug)]), back: Paths.newModel)
            case .created(let saved):
                return app.web.redirect(.succeeded("Model added", redirectTo: Paths.model(saved.slug)), ctx)
            }
        }
    }

    // MARK: Edit

    static func showEditModelForm(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        let model = try requireModel(app, ctx)
        return try app.web.render(ModelFormView(editing: model, shown: ModelFormValues(ctx, saved: ModelForm.values(of: model)), ctx), ctx)
    }

    /// Saves every field of the form; a new slug moves the model to its new address.
    static func updateModel(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        let model = try requireModel(app, ctx)
        let form = ModelForm(ctx.request.formParameters)
        let store = ModelStore(database: app.database)
        let back = Paths.editModel(model.slug)
        switch try form.validate(slugTaken: { try $0 != model.slug && store.find(slug: $0) != nil }) {
        case .failure(let errors):
            return refuse(app, ctx, form, errors, back: back)
        case .success(let new):
            switch try store.update(id: model.id, to: new, by: try ctx.requireActor, now: Date()) {
            case .notFound:
                throw HTTPError.notFound(noSuchModel)
            case .slugTaken:
                return refuse(app, ctx, form, FieldErrors(["slug": ModelForm.slugTakenMessage(new.slug)]), back: back)
            case .unchanged(let saved):
                return app.web.redirect(ActionOutcome(location: Paths.model(saved.slug), flash: Flash(.info, "Nothing to save: \(saved.name) is unchanged.")), ctx)
            case .updated(let saved):
                return app.web.redirect(.succeeded("Model updated", redirectTo: Paths.model(saved.slug)), ctx)
            }
        }
    }

    // MARK: Delete

    static func deleteModel(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        guard let slug = ctx.parameter("slug") else { throw HTTPError.notFound(noSuchModel) }
        switch try ModelStore(database: app.database).delete(slug: slug, by: try ctx.requireActor, now: Date()) {
        case .notFound:
            throw HTTPError.notFound(noSuchModel)
        case .inUse(let model, let usage):
            return app.web.redirect(.failed(inUseMessage(model.name, usage), redirectTo: ctx.returnPath(fallback: Paths.model(slug))), ctx)
        case .deleted(let model):
            return app.web.redirect(.succeeded("Model \(model.name) deleted.", redirectTo: Paths.models), ctx)
        }
    }

    /// "LFM 1B can't be deleted: 3 training jobs and 1 deployment use it."
    static func inUseMessage(_ name: String, _ usage: ModelStore.Usage) -> String {
        var users: [String] = []
        if usage.jobs > 0 { users.append(usage.jobs == 1 ? "1 training job" : "\(usage.jobs) training jobs") }
        if usage.deployments > 0 { users.append(usage.deployments == 1 ? "1 deployment" : "\(usage.deployments) deployments") }
        let verb = usage.jobs + usage.deployments == 1 ? "uses" : "use"
        return "\(name) can't be deleted: \(users.joined(separator: " and ")) \(verb) it."
    }

    // MARK: Shared

    static func requireModel(_ app: TrainyardApp, _ ctx: WebContext) throws -> CatalogueModel {
        guard let slug = ctx.parameter("slug"), let model = try ModelStore(database: app.database).find(slug: slug) else {
            throw HTTPError.notFound(noSuchModel)
        }
        return model
    }

    /// Back to the form with what was typed and a message per field.
    private static func refuse(_ app: TrainyardApp, _ ctx: WebContext, _ form: ModelForm, _ errors: FieldErrors, back: String) -> HTTPResponse {
        app.web.redirect(.failed(errors.summary, redirectTo: back, values: form.values, fieldErrors: errors.byField), ctx)
    }
}
