#include "connectors/http_ingest/ingest_decoder.h"

#include <simdjson.h>

#include <cassert>

namespace edgeloop {

namespace {

namespace od = simdjson::ondemand;

const char* type_phrase(od::json_type t) {
  switch (t) {
    case od::json_type::array: return "an array";
    case od::json_type::object: return "an object";
    case od::json_type::number: return "a number";
    case od::json_type::string: return "a string";
    case od::json_type::boolean: return "a boolean";
    case od::json_type::null: return "null";
  }
  return "a value";
}

IngestReason reason_for(Errc code) {
  switch (code) {
    case Errc::kNotFound: return IngestReason::kMissingField;
    case Errc::kTypeMismatch: return IngestReason::kWrongType;
    case Errc::kTooLarge: return IngestReason::kTooLarge;
    default: return IngestReason::kMalformed;
  }
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

// Copies `text` into `buf` with simdjson's padding after it (the buffer is reused).
simdjson::padded_string_view padded(std::string& buf, std::string_view text) {
  buf.assign(text.data(), text.size());
  buf.resize(text.size() + simdjson::SIMDJSON_PADDING);
  return simdjson::padded_string_view(buf.data(), text.size(), buf.size());
}

}  // namespace

const char* ingest_reason_name(IngestReason reason) {
  switch (reason) {
    case IngestReason::kMalformed: return "malformed";
    case IngestReason::kMissingField: return "missing_field";
    case IngestReason::kWrongType: return "wrong_type";
    case IngestReason::kTooLarge: return "too_large";
    case IngestReason::kBadKey: return "bad_key";
    case IngestReason::kKeyLimit: return "key_limit";
    case IngestReason::kCount: break;
  }
  return "unknown";
}

struct IngestDecoder::Impl {
  od::parser body_parser;
  od::parser key_parser;
  std::string body_buf;
  std::string key_buf;
};

IngestDecoder::IngestDecoder(std::unique_ptr<Codec> codec, KeyTemplate key)
    : codec_(std::move(codec)), key_(std::move(key)), impl_(std::make_unique<Impl>()) {
  scratch_.reserve(16);
}

IngestDecoder::~IngestDecoder() = default;

void IngestDecoder::bind(KeyTable& keys, uint16_t source, std::string topic) {
  keys_.emplace(keys, source);
  source_ = source;
  topic_ = std::move(topic);
}

bool IngestDecoder::render_key(std::string_view text, std::string& key, IngestError& error) {
  error.reason = IngestReason::kBadKey;
  od::document doc;
  if (auto err = impl_->key_parser.iterate(padded(impl_->key_buf, text)).get(doc); err) {
    error.reason = IngestReason::kMalformed;
    error.message = std::string("malformed JSON: ") + simdjson::error_message(err);
    return false;
  }
  key.clear();
  for (const auto& part : key_.parts()) {
    if (!part.field) {
      key += part.text;
      continue;
    }
    od::value v;
    auto err = doc.at_pointer(part.text).get(v);
    od::json_type t{};
    if (!err) err = v.type().get(t);
    if (err == simdjson::NO_SUCH_FIELD || err == simdjson::INDEX_OUT_OF_BOUNDS) {
      error.message = "missing key field '" + part.text + "' (key '" + key_.text() + "')";
      return false;
    }
    if (err) {
      error.message = "key field '" + part.text + "': " + simdjson::error_message(err);
      return false;
    }
    if (t == od::json_type::string) {
      std::string_view s;
      if (auto e = v.get_string().get(s); e) {
        error.message = "key field '" + part.text + "': " + simdjson::error_message(e);
        return false;
      }
      key += s;
    } else if (t == od::json_type::number) {
      key += trim(v.raw_json_token());
    } else {
      error.message = "key field '" + part.text + "' is " + type_phrase(t) + ", expected a string or a number";
      return false;
    }
  }
  if (key.empty()) {
    error.message = "the key is empty (key '" + key_.text() + "')";
    return false;
  }
  return true;
}

void IngestDecoder::decode_object(std::string_view text, std::size_t item, int64_t recv_ns, DecodedBatch& out) {
  assert(keys_.has_value() && "IngestDecoder: bind() before decode()");
  ++out.items;
  scratch_.clear();
  const Status st = codec_->decode(text, recv_ns, scratch_);
  if (!st.ok()) {
    out.errors.push_back({item, false, reason_for(st.error().code), st.error().message, std::string(text)});
    return;
  }
  if (scratch_.empty()) return;
  std::string_view key;
  if (key_.constant()) {
    key = key_.parts().front().text;
  } else {
    IngestError error;
    if (!render_key(text, key_buf_, error)) {
      error.item = item;
      error.payload = std::string(text);
      out.errors.push_back(std::move(error));
      return;
    }
    key = key_buf_;
  }
  // After decoding: garbage must not fill the key table.
  const Result<KeyId> id = keys_->intern(key, topic_);
  if (!id.ok()) {
    out.errors.push_back({item, false, IngestReason::kKeyLimit, id.error().message, std::string(text)});
    return;
  }
  for (Record& r : scratch_) {
    r.key = *id;
    r.source = source_;
    out.records.push_back(std::move(r));
  }
}

void IngestDecoder::decode(std::string_view body, BodyFormat format, int64_t recv_ns, DecodedBatch& out) {
  if (format == BodyFormat::kJsonLines) {
    std::size_t line = 0, pos = 0;
    while (pos <= body.size()) {
      std::size_t end = body.find('\n', pos);
      if (end == std::string_view::npos) end = body.size();
      ++line;
      const std::string_view text = trim(body.substr(pos, end - pos));
      if (!text.empty()) decode_object(text, line, recv_ns, out);
      pos = end + 1;
    }
    return;
  }
  const std::size_t records_before = out.records.size(), errors_before = out.errors.size();
  const std::size_t items_before = out.items;
  auto whole_body = [&](IngestReason reason, std::string message) {
    // A body we cannot split is one error: nothing of it is accepted.
    out.records.resize(records_before);
    out.errors.resize(errors_before);
    out.items = items_before + 1;
    out.errors.push_back({0, true, reason, std::move(message), std::string(body)});
  };
  od::document doc;
  od::json_type type{};
  auto err = impl_->body_parser.iterate(padded(impl_->body_buf, body)).get(doc);
  if (!err) err = doc.type().get(type);
  if (err) {
    if (trim(body).empty()) return whole_body(IngestReason::kMalformed, "the body is empty");
    return whole_body(IngestReason::kMalformed, std::string("malformed JSON body: ") + simdjson::error_message(err));
  }
  if (type == od::json_type::object) return decode_object(body, 0, recv_ns, out);
  if (type != od::json_type::array) {
    return whole_body(IngestReason::kWrongType,
                      std::string("the body is ") + type_phrase(type) + ", expected an object or an array of objects");
  }
  od::array array;
  if ((err = doc.get_array().get(array))) {
    return whole_body(IngestReason::kMalformed, std::string("malformed JSON body: ") + simdjson::error_message(err));
  }
  std::size_t item = 0;
  for (auto element : array) {
    od::value v;
    od::json_type t{};
    err = element.get(v);
    if (!err) err = v.type().get(t);
    std::string_view raw;
    if (!err && t == od::json_type::object) {
      od::object object;
      err = v.get_object().get(object);
      if (!err) err = object.raw_json().get(raw);
      if (!err) decode_object(raw, item, recv_ns, out);
    } else if (!err) {
      if (t == od::json_type::array) {
        od::array inner;
        err = v.get_array().get(inner);
        if (!err) err = inner.raw_json().get(raw);
      } else {
        raw = v.raw_json_token();
      }
      if (!err) {
        ++out.items;
        out.errors.push_back({item, false, IngestReason::kWrongType,
                              "element " + std::to_string(item) + " is " + type_phrase(t) + ", expected an object",
                              std::string(trim(raw))});
      }
    }
    if (err) {
      return whole_body(IngestReason::kMalformed, "malformed JSON body at element " + std::to_string(item) + ": " +
                                                      simdjson::error_message(err));
    }
    ++item;
  }
  // On-demand stops where the array ends: anything after it is an error, not ignored.
  const char* rest = nullptr;
  if (doc.current_location().get(rest) == simdjson::SUCCESS) {
    return whole_body(IngestReason::kMalformed, "malformed JSON body: content after the array");
  }
}

}  // namespace edgeloop
