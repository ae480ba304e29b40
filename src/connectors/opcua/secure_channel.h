// UA-TCP (Hello/Acknowledge/Error) and the chunk layer of UA SecureConversation (OPN, MSG,
// CLO): sends a message as one or more chunks within the peer's buffer size, reassembles
// received chunks by request id within our limits, and hands whole message bodies up. Every
// field read from the wire is bounds-checked: a malformed frame is an error, never a crash.
// Not thread-safe: one thread (the client's) uses it.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "connectors/opcua/security_policy.h"
#include "core/result.h"

namespace edgeloop::opcua {

struct ChannelLimits {
  uint32_t receive_buffer = 65536;        // our chunk size limit (sent in Hello)
  uint32_t send_buffer = 65536;
  uint32_t max_message = 16 * 1024 * 1024;  // a reassembled message, bytes
  uint32_t max_chunks = 4096;
};

// "opc.tcp://host:port/path" split; the port defaults to 4840.
struct EndpointUrl {
  std::string host;
  uint16_t port = 4840;
  std::string path;
  static Result<EndpointUrl> parse(std::string_view url);
};

struct ReceivedMessage {
  char type[4] = {0, 0, 0, 0};  // "OPN", "MSG", "CLO"
  uint32_t request_id = 0;
  std::string body;  // starts with the encoding NodeId of the response
};

class SecureChannel {
 public:
  SecureChannel(std::unique_ptr<SecurityPolicy> policy, ChannelLimits limits);
  ~SecureChannel();
  SecureChannel(const SecureChannel&) = delete;
  SecureChannel& operator=(const SecureChannel&) = delete;

  // Checked about every 100 ms while waiting; when it turns true waits end with kUnavailable.
  void set_stop_flag(const std::atomic<bool>* stop) { stop_ = stop; }

  // TCP connect, Hello, Acknowledge (an Error message from the server is the error).
  Status connect(const std::string& url, int timeout_ms);
  void close();
  bool connected() const { return fd_ >= 0; }

  // Sends a message ("OPN", "MSG", "CLO") as chunks.
  Status send(const char* type, uint32_t request_id, std::string_view body);
  // The next whole message; kUnavailable on timeout (timed_out set), kIo when the connection
  // broke, kParse for a malformed frame (the connection must then be closed).
  Result<ReceivedMessage> receive(int timeout_ms, bool* timed_out = nullptr);

  // Checks a chunk's 8-byte message header (message type, chunk type, a size of 8..max_size)
  // and returns the size. Public for the fuzz target.
  static Result<uint32_t> parse_message_header(std::string_view header, uint32_t max_size);
  // Takes one whole received chunk (message header included): checks its security and sequence
  // headers, unprotects it and adds its body to the message of its request id. True with `out`
  // set when that message is complete; false when more chunks are due. Errors as receive().
  // Used by receive(); public so that the fuzz target can drive it without a socket.
  Result<bool> accept_chunk(std::string& frame, ReceivedMessage& out);

  // From the OpenSecureChannel response.
  void set_token(uint32_t channel_id, uint32_t token_id) {
    channel_id_ = channel_id;
    token_id_ = token_id;
  }
  uint32_t channel_id() const { return channel_id_; }
  SecurityPolicy& policy() { return *policy_; }
  // The peer's limits from the Acknowledge.
  uint32_t peer_receive_buffer() const { return peer_receive_buffer_; }
  uint32_t peer_max_message() const { return peer_max_message_; }
  uint64_t bytes_received() const { return bytes_in_; }
  uint64_t chunks_received() const { return chunks_in_; }
  uint64_t messages_received() const { return messages_in_; }

 private:
  Status write_all(std::string_view data);
  // Reads exactly n more bytes into `out` (appending).
  Status read_exact(std::string& out, std::size_t n, int timeout_ms, bool* timed_out);
  Result<std::string> read_frame(int timeout_ms, bool* timed_out);

  std::unique_ptr<SecurityPolicy> policy_;
  ChannelLimits limits_;
  const std::atomic<bool>* stop_ = nullptr;
  int fd_ = -1;
  std::string inbuf_;  // bytes read but not consumed
  std::size_t inpos_ = 0;
  uint32_t channel_id_ = 0;
  uint32_t token_id_ = 0;
  uint32_t send_seq_ = 0;
  uint32_t recv_seq_ = 0;
  bool have_recv_seq_ = false;
  uint32_t peer_receive_buffer_ = 65536;
  uint32_t peer_max_message_ = 0;
  uint32_t peer_max_chunks_ = 0;
  uint64_t bytes_in_ = 0;
  uint64_t chunks_in_ = 0;
  uint64_t messages_in_ = 0;
  struct Partial {
    std::string body;
    uint32_t chunks = 0;
  };
  std::map<uint32_t, Partial> partial_;  // by request id
};

}  // namespace edgeloop::opcua
