// An OPC UA client over UA-TCP with SecurityPolicy None: secure channel (opened, renewed at
// 75% of the token lifetime, closed), session (anonymous or user name), and the services a
// gateway uses: Browse/BrowseNext, Read, Write, subscriptions and Publish. Calls are
// synchronous; Publish requests are sent ahead and their responses collected by
// next_publish(), so several can be outstanding while other calls run. One thread only.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "connectors/opcua/secure_channel.h"
#include "connectors/opcua/ua_binary.h"

namespace edgeloop::opcua {

// Binary encoding ids (Part 6 / NodeIds.csv: *_Encoding_DefaultBinary).
enum EncodingId : uint32_t {
  kAnonymousIdentityToken = 321,
  kUserNameIdentityToken = 324,
  kServiceFault = 397,
  kOpenSecureChannelRequest = 446,
  kOpenSecureChannelResponse = 449,
  kCloseSecureChannelRequest = 452,
  kCreateSessionRequest = 461,
  kCreateSessionResponse = 464,
  kActivateSessionRequest = 467,
  kActivateSessionResponse = 470,
  kCloseSessionRequest = 473,
  kCloseSessionResponse = 476,
  kBrowseRequest = 527,
  kBrowseResponse = 530,
  kBrowseNextRequest = 533,
  kBrowseNextResponse = 536,
  kReadRequest = 631,
  kReadResponse = 634,
  kWriteRequest = 673,
  kWriteResponse = 676,
  kCreateMonitoredItemsRequest = 751,
  kCreateMonitoredItemsResponse = 754,
  kCreateSubscriptionRequest = 787,
  kCreateSubscriptionResponse = 790,
  kDataChangeNotification = 811,
  kStatusChangeNotification = 820,
  kPublishRequest = 826,
  kPublishResponse = 829,
};

// Attribute ids (Part 6 A.1).
inline constexpr uint32_t kAttrNodeClass = 2;
inline constexpr uint32_t kAttrBrowseName = 3;
inline constexpr uint32_t kAttrValue = 13;
inline constexpr uint32_t kAttrDataType = 14;

struct ClientConfig {
  std::string endpoint;  // opc.tcp://host:port/path
  std::string username;  // empty: anonymous
  std::string password;
  std::string application_name = "edgeloop";
  int timeout_ms = 5000;                 // per request
  uint32_t channel_lifetime_ms = 600000;  // requested security token lifetime
  double session_timeout_ms = 60000;
  ChannelLimits limits;
};

struct ReferenceDescription {
  NodeId reference_type;
  bool is_forward = true;
  ExpandedNodeId node;
  QualifiedName browse_name;
  LocalizedText display_name;
  uint32_t node_class = 0;
  ExpandedNodeId type_definition;
};

struct MonitoredItemRequest {
  NodeId node;
  uint32_t client_handle = 0;
  double sampling_interval_ms = 100;
  uint32_t queue_size = 10;
};

struct MonitoredItemResult {
  uint32_t status = 0;
  uint32_t monitored_item_id = 0;
  double revised_sampling_interval_ms = 0;
  uint32_t revised_queue_size = 0;
};

struct SubscriptionResult {
  uint32_t id = 0;
  double publishing_interval_ms = 0;
  uint32_t lifetime_count = 0;
  uint32_t keepalive_count = 0;
};

struct ItemChange {
  uint32_t client_handle = 0;
  DataValue value;
};

struct PublishResult {
  uint32_t service_result = 0;
  uint32_t subscription_id = 0;
  uint32_t sequence_number = 0;
  bool keepalive = false;  // no notifications
  bool more = false;
  int64_t publish_time = 0;  // ticks
  std::vector<ItemChange> changes;
  std::vector<uint32_t> status_changes;  // StatusChangeNotification (e.g. BadTimeout)
};

class UaClient {
 public:
  explicit UaClient(ClientConfig config);
  ~UaClient();

  void set_stop_flag(const std::atomic<bool>* stop) { channel_.set_stop_flag(stop); stop_ = stop; }

  // Channel and session: Hello, OpenSecureChannel, CreateSession, ActivateSession.
  Status connect();
  // CloseSession and CloseSecureChannel (best effort), then the socket.
  void close();
  bool connected() const { return channel_.connected() && session_active_; }
  // Renews the channel's token when 75% of its lifetime has passed; call it regularly.
  Status maintain();

  Result<std::vector<DataValue>> read(const std::vector<NodeId>& nodes, uint32_t attribute = kAttrValue);
  Result<std::vector<uint32_t>> write(const std::vector<std::pair<NodeId, Variant>>& values);
  // All forward hierarchical references of `node` (follows continuation points with BrowseNext).
  // max_per_call bounds each response so that BrowseNext is exercised on large folders.
  Result<std::vector<ReferenceDescription>> browse(const NodeId& node, uint32_t max_per_call = 0);

  Result<SubscriptionResult> create_subscription(double publishing_interval_ms, uint32_t lifetime_count,
                                                 uint32_t keepalive_count, uint32_t max_notifications = 0);
  Result<std::vector<MonitoredItemResult>> create_monitored_items(uint32_t subscription_id,
                                                                  const std::vector<MonitoredItemRequest>& items);
  // Sends a PublishRequest with the pending acknowledgements.
  Status send_publish();
  std::size_t outstanding_publishes() const { return publish_ids_.size(); }
  // The next Publish response (waits up to timeout_ms; kUnavailable on timeout). Its
  // sequence number is queued for acknowledgement with the next send_publish().
  Result<PublishResult> next_publish(int timeout_ms);

  // Decodes a Publish response body (after the encoding id); public for the fuzz target.
  static Result<PublishResult> decode_publish(std::string_view body);

  uint64_t renewals() const { return renewals_; }
  // The revised lifetime of the current security token (from the last OpenSecureChannel).
  uint32_t token_lifetime_ms() const { return token_lifetime_ms_; }
  uint32_t token_id() const { return token_id_; }
  const SecureChannel& channel() const { return channel_; }
  const ClientConfig& config() const { return config_; }

 private:
  struct Response {
    uint32_t type = 0;
    std::string body;  // after the encoding NodeId
  };
  void request_header(UaWriter& w, uint32_t handle);
  // Sends a request (w holds the encoding id, header and body) and waits for its response;
  // Publish responses that arrive meanwhile are queued.
  Result<Response> call_built(uint32_t type, UaWriter& w, const char* msg_type = "MSG");
  Result<Response> wait_for(uint32_t request_id, int timeout_ms);
  Status check_response_header(UaReader& r, const char* what);
  Status open_channel(bool renew);
  Status create_session();
  Status activate_session();

  ClientConfig config_;
  SecureChannel channel_;
  const std::atomic<bool>* stop_ = nullptr;
  uint32_t next_request_id_ = 1;
  uint32_t next_handle_ = 1;
  NodeId auth_token_;
  std::string server_nonce_;
  std::vector<std::pair<int32_t, std::pair<std::string, std::string>>> token_policies_;  // type -> (policyId, uri)
  bool session_active_ = false;
  int64_t token_renew_at_ms_ = 0;
  uint64_t renewals_ = 0;
  uint32_t token_lifetime_ms_ = 0;
  uint32_t token_id_ = 0;
  std::set<uint32_t> publish_ids_;         // request ids of outstanding Publish requests
  std::deque<Response> publish_responses_;  // arrived while another call waited
  std::vector<std::pair<uint32_t, uint32_t>> acks_;  // (subscription, sequence)
};

}  // namespace edgeloop::opcua
