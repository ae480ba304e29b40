// The fuzz seed corpus (fuzz/corpus/opcua_decoder: frames captured from the node-opcua peer)
// decodes as what it is, so that the fuzzer starts from inputs that reach deep into the decoders.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>

#include "connectors/opcua/secure_channel.h"
#include "connectors/opcua/ua_client.h"

namespace edgeloop::opcua {
namespace {

std::string seed(const std::string& name) {
  std::ifstream in(std::string(EDGELOOP_SOURCE_DIR) + "/fuzz/corpus/opcua_decoder/" + name, std::ios::binary);
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_FALSE(s.empty()) << name;
  return s.empty() ? s : s.substr(1);  // the first byte picks the fuzz entry
}

// Feeds a chunk stream through accept_chunk; returns the encoding ids of the whole messages.
std::vector<uint32_t> messages(const std::string& stream, std::string* error) {
  SecureChannel ch(std::make_unique<NoneSecurityPolicy>(), ChannelLimits{});
  std::vector<uint32_t> ids;
  std::string_view data(stream);
  bool first = true;
  while (data.size() >= 8) {
    auto size = SecureChannel::parse_message_header(data, 1 << 20);
    if (!size.ok() || *size > data.size()) break;
    std::string frame(data.substr(0, *size));
    data.remove_prefix(*size);
    if (first) {
      UaReader r(std::string_view(frame).substr(8));
      ch.set_token(r.u32(), 1);
      first = false;
    }
    ReceivedMessage m;
    auto whole = ch.accept_chunk(frame, m);
    if (!whole.ok()) {
      *error = whole.error().message;
      break;
    }
    if (*whole) {
      UaReader r(m.body);
      ids.push_back(r.node_id().numeric);
    }
  }
  return ids;
}

TEST(OpcuaCorpus, PublishResponsesDecode) {
  auto p = UaClient::decode_publish(seed("publish_data"));
  ASSERT_TRUE(p.ok()) << p.error().to_string();
  EXPECT_FALSE(p->keepalive);
  EXPECT_GE(p->changes.size(), 1u);
  EXPECT_GT(p->changes[0].value.source_ts, kUnixEpochTicks);
  EXPECT_EQ(p->changes[0].value.value.type, VariantType::kDouble);
}

TEST(OpcuaCorpus, ChunkStreamsReassemble) {
  std::string error;
  EXPECT_EQ(messages(seed("chunks_session"), &error),
            (std::vector<uint32_t>{kOpenSecureChannelResponse, kCreateSessionResponse, kActivateSessionResponse,
                                   kCreateSubscriptionResponse, kCreateMonitoredItemsResponse}));
  EXPECT_EQ(error, "");
  EXPECT_EQ(messages(seed("chunks_rechunked"), &error), (std::vector<uint32_t>{kCreateSessionResponse}));  // 3 chunks
  EXPECT_EQ(error, "");
  EXPECT_EQ(messages(seed("chunks_publish"), &error).size(), 5u);
  EXPECT_EQ(messages(seed("chunks_abort"), &error).size(), 0u);
  EXPECT_NE(error.find("aborted"), std::string::npos) << error;
  EXPECT_EQ(messages(seed("chunks_error"), &error).size(), 0u);
  EXPECT_NE(error.find("server error"), std::string::npos) << error;
}

TEST(OpcuaCorpus, ChunkHeaderChecks) {
  EXPECT_EQ(SecureChannel::parse_message_header(std::string("MSGF\x20\x00\x00\x00", 8), 8192).value(), 32u);
  EXPECT_FALSE(SecureChannel::parse_message_header(std::string("MSGX\x20\x00\x00\x00", 8), 8192).ok());
  EXPECT_FALSE(SecureChannel::parse_message_header(std::string("MSGF\x04\x00\x00\x00", 8), 8192).ok());
  EXPECT_FALSE(SecureChannel::parse_message_header(std::string("MSGF\x01\x20\x00\x00", 8), 8192).ok());
  EXPECT_FALSE(SecureChannel::parse_message_header("MSGF", 8192).ok());
}

}  // namespace
}  // namespace edgeloop::opcua
