// How many threads one inference may use. Process-wide: OpenCV's thread pool is global.
// The default is 1: the shards are the parallelism (one model instance per shard), and a
// gateway's few cores are shared with the connectors; one thread also makes latency steady.
#pragma once

namespace edgeloop::models {

// n >= 1. Applies to OpenCV DNN now and to XGBoost models loaded afterwards.
void set_inference_threads(int n);
int inference_threads();

}  // namespace edgeloop::models

namespace edgeloop::models {

// Whether this build has the oneDNN backend (src/models/infer/dnnl_*).
bool onednn_available();

}  // namespace edgeloop::models
