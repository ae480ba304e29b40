// The store over HTTP (JSON), added to the ApiServer when the config has a store:
//   GET /api/v1/readings?key=K&from=&to=&field=&rollup=1m&limit=&order=asc|desc
//   GET /api/v1/events?key=&kind=alert&pipeline=&state=&from=&to=&limit=&order=
// 200: a JSON array of objects (store_query.h); 400: {"error": "..."} for a bad parameter;
// 404 for an unknown `db`; 500 when the database fails. With several stores open, `db=PATH`
// picks one (default: the first opened).
#pragma once

#include <memory>
#include <vector>

#include "api/http_server.h"
#include "store/store.h"

namespace edgeloop::store {

// Before api.start(). Does nothing when `stores` is empty.
void register_store_routes(ApiServer& api, std::vector<std::shared_ptr<Store>> stores);

}  // namespace edgeloop::store
