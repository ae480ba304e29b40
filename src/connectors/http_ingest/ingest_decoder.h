// Splits an ingest body into JSON objects (one object, an array of objects, or JSON lines),
// decodes each with the source's codec, keys it from its fields (KeyTemplate) and interns the
// key. A bad object is reported with its reason and text and the others go on; a body that
// is not JSON at all (or an array broken in the middle) is one error for the whole body.
// Not thread-safe: one decoder per HTTP worker, like the codec it owns.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/http_ingest/key_template.h"
#include "core/key_table.h"
#include "core/plugin.h"

namespace edgeloop {

enum class BodyFormat { kJson, kJsonLines };

// Why an object was rejected: the `reason` label of edgeloop_source_errors_total.
enum class IngestReason { kMalformed, kMissingField, kWrongType, kTooLarge, kBadKey, kKeyLimit, kCount };
const char* ingest_reason_name(IngestReason reason);

struct IngestError {
  std::size_t item = 0;  // 0-based array element, or 1-based line of JSON lines
  bool whole_body = false;
  IngestReason reason = IngestReason::kMalformed;
  std::string message;
  std::string payload;  // the object's text (the whole body when whole_body)
};

struct DecodedBatch {
  std::vector<Record> records;  // keyed, in the body's order
  std::vector<IngestError> errors;
  std::size_t items = 0;  // objects (or non-blank lines) seen
  void clear() {
    records.clear();
    errors.clear();
    items = 0;
  }
};

class IngestDecoder {
 public:
  IngestDecoder(std::unique_ptr<Codec> codec, KeyTemplate key);
  ~IngestDecoder();
  IngestDecoder(const IngestDecoder&) = delete;
  IngestDecoder& operator=(const IngestDecoder&) = delete;

  // Keys are interned in `keys` (through a private cache), as coming from source `source`.
  void bind(KeyTable& keys, uint16_t source, std::string topic);
  // Appends to `out` (records get key and source set).
  void decode(std::string_view body, BodyFormat format, int64_t recv_ns, DecodedBatch& out);

  const Schema& schema() const { return codec_->schema(); }

 private:
  struct Impl;
  void decode_object(std::string_view text, std::size_t item, int64_t recv_ns, DecodedBatch& out);
  bool render_key(std::string_view text, std::string& key, IngestError& error);

  std::unique_ptr<Codec> codec_;
  KeyTemplate key_;
  std::unique_ptr<Impl> impl_;  // simdjson stays out of this header
  std::optional<KeyCache> keys_;
  uint16_t source_ = 0;
  std::string topic_;
  std::vector<Record> scratch_;
  std::string key_buf_;
};

}  // namespace edgeloop
