// Fuzz target for the OPC UA binary decoders (connectors/opcua): arbitrary bytes must decode or
// fail with an error message, never crash or read out of bounds. The first byte picks the entry:
//   0: a Publish response body (after its encoding id): UaClient::decode_publish;
//   1: a stream of UA-TCP chunks as the server sends them (OPN/MSG/CLO/ERR, chunked and
//      reassembled by request id): SecureChannel::parse_message_header + accept_chunk, and each
//      whole message's body decoded as a service response (below);
//   2: a service response body: encoding id, ResponseHeader, then the Read/Write/Browse/
//      CreateMonitoredItems result shapes walked with UaReader.
// The corpus (fuzz/corpus/opcua_decoder) holds frames captured from the node-opcua test peer.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "connectors/opcua/secure_channel.h"
#include "connectors/opcua/ua_binary.h"
#include "connectors/opcua/ua_client.h"

namespace {

using namespace edgeloop::opcua;

void require_message(const edgeloop::Error& e) {
  if (e.message.empty()) std::abort();
}

void response_header(UaReader& r) {
  (void)r.date_time();
  (void)r.u32();
  (void)r.u32();
  r.skip_diagnostic_info();
  const uint32_t strings = r.array_length(4);
  for (uint32_t k = 0; k < strings && r.ok(); ++k) (void)r.string();
  (void)r.extension_object();
}

// Decodes a body as each response shape the client reads; each must end cleanly or with an error.
void decode_response(std::string_view body) {
  UaReader head(body);
  const NodeId type = head.node_id();
  const std::string_view rest = head.rest();
  if (head.ok() && type.ns == 0 && type.kind == NodeId::Kind::kNumeric && type.numeric == kPublishResponse) {
    auto p = UaClient::decode_publish(rest);
    if (!p.ok()) require_message(p.error());
  }
  {  // Read: DataValue[]
    UaReader r(rest);
    response_header(r);
    const uint32_t n = r.array_length(1);
    for (uint32_t k = 0; k < n && r.ok(); ++k) (void)r.data_value();
    r.skip_diagnostic_infos();
    if (auto st = r.finish("Read response"); !st.ok()) require_message(st.error());
  }
  {  // Write: StatusCode[]
    UaReader r(rest);
    response_header(r);
    (void)r.status_codes();
    r.skip_diagnostic_infos();
    (void)r.finish("Write response");
  }
  {  // Browse: BrowseResult[] of ReferenceDescription[]
    UaReader r(rest);
    response_header(r);
    const uint32_t results = r.array_length(4);
    for (uint32_t k = 0; k < results && r.ok(); ++k) {
      (void)r.u32();
      (void)r.string();
      const uint32_t refs = r.array_length(8);
      for (uint32_t i = 0; i < refs && r.ok(); ++i) {
        (void)r.node_id();
        (void)r.boolean();
        (void)r.expanded_node_id();
        (void)r.qualified_name();
        (void)r.localized_text();
        (void)r.u32();
        (void)r.expanded_node_id();
      }
    }
    r.skip_diagnostic_infos();
    (void)r.finish("Browse response");
  }
  {  // Any Variants (e.g. a value array) until the end.
    UaReader r(rest);
    for (int k = 0; k < 64 && r.ok() && r.remaining() > 0; ++k) {
      const Variant v = r.variant();
      if (r.ok()) (void)v.to_string();
    }
    if (!r.ok() && r.error().empty()) std::abort();
  }
}

void chunks(std::string_view data) {
  SecureChannel channel(std::make_unique<NoneSecurityPolicy>(), ChannelLimits{8192, 8192, 1 << 20, 64});
  bool first = true;
  while (data.size() >= 8) {
    auto size = SecureChannel::parse_message_header(data, 1 << 20);
    if (!size.ok()) {
      require_message(size.error());
      return;
    }
    if (*size > data.size()) return;  // cut short: the socket would wait for more
    std::string frame(data.substr(0, *size));
    data.remove_prefix(*size);
    if (first && frame.size() >= 12) {
      // Take the channel id from the first chunk, as if the OpenSecureChannel response set it.
      const auto* p = reinterpret_cast<const uint8_t*>(frame.data() + 8);
      channel.set_token(static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
                            (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24),
                        1);
    }
    first = false;
    ReceivedMessage m;
    auto whole = channel.accept_chunk(frame, m);
    if (!whole.ok()) {
      require_message(whole.error());
      return;  // the client closes the connection here
    }
    if (*whole) decode_response(m.body);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0: {
      auto p = UaClient::decode_publish(in);
      if (!p.ok()) require_message(p.error());
      break;
    }
    case 1: chunks(in); break;
    default: decode_response(in); break;
  }
  return 0;
}
