// The model catalog over HTTP: GET /api/v1/models (every served model: version, file,
// fingerprint, backend, load time, shapes, last error) and POST /api/v1/models/{name} (the
// body is a model file: written into the model's watched folder, checked, swapped in; 200
// with the new version, 422 with the validation error, 404 for an unknown name).
#pragma once

#include "api/http_server.h"
#include "models/serving/model_catalog.h"

namespace edgeloop::models {

// Before api.start(). `catalog` must outlive the server (default: the process-wide one).
void register_model_routes(ApiServer& api, ModelCatalog& catalog = ModelCatalog::global());

}  // namespace edgeloop::models

namespace edgeloop {
using models::register_model_routes;
}  // namespace edgeloop
