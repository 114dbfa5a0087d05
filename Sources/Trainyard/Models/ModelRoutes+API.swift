import Foundation
import HTTPServer

/// The catalogue as JSON for scripts (Bearer tokens): list, read, add, edit and delete models.
/// Refusals carry the pages' messages: 400 a body that is not a JSON object, 404 no such
/// model, 409 a slug taken or a model in use, 415 not JSON, 422 a field breaking its rule.
extension ModelRoutes {
    static func listModelsAPI(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        JSON.response(ModelListResponse(models: try ModelStore(database: app.database).all().map(ModelResponse.init)))
    }

    static func showModelAPI(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        JSON.response(ModelResponse(try requireModelAPI(app, ctx)))
    }

    static func createModelAPI(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        let body = try ModelRequestBody.parse(ctx.request)
        let store = ModelStore(database: app.database)
        let result = try ModelForm(values: body.fields).validate(slugTaken: { try store.find(slug: $0) != nil })
        let model: ModelStore.NewModel
        switch checked(result, typeErrors: body.typeErrors) {
        case .refused(let response): return response
        case .valid(let valid): model = valid
        }
        switch try store.create(model, by: try ctx.requireActor, now: Date()) {
        case .slugTaken:
            return JSON.invalid(FieldErrors(["slug": ModelForm.slugTakenMessage(model.slug)]), status: 409)
        case .created(let saved):
            var response = JSON.response(ModelResponse(saved), status: 201)
            response.headers.set("Location", Paths.modelAPI(saved.slug))
            return response
        }
    }

    /// A partial update: fields not sent keep their saved values (an empty `slug` is made
    /// from the name, as on the form).
    static func updateModelAPI(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        let model = try requireModelAPI(app, ctx)
        let body = try ModelRequestBody.parse(ctx.request)
        let store = ModelStore(database: app.database)
        let values = ModelForm.values(of: model).merging(body.fields) { _, sent in sent }
        let result = try ModelForm(values: values).validate(slugTaken: { try $0 != model.slug && store.find(slug: $0) != nil })
        let new: ModelStore.NewModel
        switch checked(result, typeErrors: body.typeErrors) {
        case .refused(let response): return response
        case .valid(let valid): new = valid
        }
        switch try store.update(id: model.id, to: new, by: try ctx.requireActor, now: Date()) {
        case .notFound:
            return JSON.error(noSuchModelAPI(model.slug), status: 404)
        case .slugTaken:
            return JSON.invalid(FieldErrors(["slug": ModelForm.slugTakenMessage(new.slug)]), status: 409)
        case .updated(let saved), .unchanged(let saved):
            return JSON.response(ModelResponse(saved))
        }
    }

    static func deleteModelAPI(_ app: TrainyardApp, _ ctx: WebContext) throws -> HTTPResponse {
        let slug = ctx.parameter("slug") ?? ""
        switch try ModelStore(database: app.database).delete(slug: slug, by: try ctx.requireActor, now: Date()) {
        case .notFound:
            return JSON.error(noSuchModelAPI(slug), status: 404)
        case .inUse(let model, let usage):
            return JSON.response(ModelInUseResponse(error: inUseMessage(model.name, usage), jobs: usage.jobs,
                                                    deployments: usage.deployments), status: 409)
        case .deleted(let model):
            return JSON.response(["deleted": model.slug])
        }
    }

    // MARK: Shared

    static func noSuchModelAPI(_ slug: String) -> String { "There is no model with the slug '\(slug.prefix(scalars: 64))'." }

    static func requireModelAPI(_ app: TrainyardApp, _ ctx: WebContext) throws -> CatalogueModel {
        let slug = ctx.parameter("slug") ?? ""
        guard let model = try ModelStore(database: app.database).find(slug: slug) else {
            throw HTTPError(status: 404, title: "Not found", message: noSuchModelAPI(slug))
        }
        return model
    }

    enum Checked {
        case valid(ModelStore.NewModel)
        case refused(HTTPResponse)
    }

    /// The validated model, or the answer to a refused body: 409 when the slug being taken is
    /// all that is wrong, otherwise 422, with every field's message.
    private static func checked(_ result: Result<ModelStore.NewModel, FieldErrors>, typeErrors: FieldErrors) -> Checked {
        var errors = typeErrors
        switch result {
        case .success(let model) where typeErrors.isEmpty:
            return .valid(model)
        case .success:
            break
        case .failure(let refused):
            for (field, message) in refused.byField where errors[field] == nil { errors[field] = message }
        }
        let onlyTaken = errors.byField.count == 1 && errors["slug"].map(ModelForm.isSlugTakenMessage) == true
        return .refused(JSON.invalid(errors, status: onlyTaken ? 409 : 422))
    }
}

/// A model as the API shows it.
struct ModelResponse: Encodable {
    var slug: String
    var name: String
    var parameters: Int64
    var sizeClass: String
    var contextLength: Int
    var card: String

    init(_ model: CatalogueModel) {
        slug = model.slug; name = model.name; parameters = model.parameters; sizeClass = model.sizeClass.rawValue
        contextLength = model.contextLength; card = model.card
    }
}

/// `GET /api/models`, smallest first as on the catalogue page.
struct ModelListResponse: Encodable {
    var models: [ModelResponse]
}

/// A delete refused because jobs or deployments use the model.
struct ModelInUseResponse: Encodable {
    var error: String
    var jobs: Int
    var deployments: Int
}
