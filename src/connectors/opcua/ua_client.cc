#include "connectors/opcua/ua_client.h"

#include <chrono>
#include <random>

#include "core/clock.h"

namespace edgeloop::opcua {

namespace {
int64_t mono_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
int64_t now_ticks() { return unix_ns_to_ticks(unix_now_ns()); }

std::string random_nonce() {
  static thread_local std::mt19937_64 gen{std::random_device{}()};
  std::string out(32, '\0');
  for (char& c : out) c = static_cast<char>(gen() & 0xFF);
  return out;
}

const char* service_name(uint32_t request_type) {
  switch (request_type) {
    case kOpenSecureChannelRequest: return "OpenSecureChannel";
    case kCreateSessionRequest: return "CreateSession";
    case kActivateSessionRequest: return "ActivateSession";
    case kBrowseRequest: return "Browse";
    case kBrowseNextRequest: return "BrowseNext";
    case kReadRequest: return "Read";
    case kWriteRequest: return "Write";
    case kCreateSubscriptionRequest: return "CreateSubscription";
    case kCreateMonitoredItemsRequest: return "CreateMonitoredItems";
    default: return "request";
  }
}

void skip_application_description(UaReader& r) {
  (void)r.string();          // applicationUri
  (void)r.string();          // productUri
  (void)r.localized_text();  // applicationName
  (void)r.u32();             // applicationType
  (void)r.string();          // gatewayServerUri
  (void)r.string();          // discoveryProfileUri
  const uint32_t n = r.array_length(4);
  for (uint32_t k = 0; k < n && r.ok(); ++k) (void)r.string();
}

ReferenceDescription read_reference(UaReader& r) {
  ReferenceDescription d;
  d.reference_type = r.node_id();
  d.is_forward = r.boolean();
  d.node = r.expanded_node_id();
  d.browse_name = r.qualified_name();
  d.display_name = r.localized_text();
  d.node_class = r.u32();
  d.type_definition = r.expanded_node_id();
  return d;
}
}  // namespace

UaClient::UaClient(ClientConfig config)
    : config_(std::move(config)), channel_(std::make_unique<NoneSecurityPolicy>(), config_.limits) {}

UaClient::~UaClient() { close(); }

void UaClient::request_header(UaWriter& w, uint32_t handle) {
  w.node_id(auth_token_);
  w.date_time(now_ticks());
  w.u32(handle);
  w.u32(0);  // returnDiagnostics
  w.null_string();  // auditEntryId
  w.u32(static_cast<uint32_t>(config_.timeout_ms));
  w.empty_extension_object();
}

Status UaClient::check_response_header(UaReader& r, const char* what) {
  (void)r.date_time();
  (void)r.u32();  // requestHandle
  const uint32_t result = r.u32();
  r.skip_diagnostic_info();
  const uint32_t strings = r.array_length(4);
  for (uint32_t k = 0; k < strings && r.ok(); ++k) (void)r.string();
  (void)r.extension_object();
  if (!r.ok()) return make_error(Errc::kParse, std::string(what) + " response header: " + r.error());
  if (status_is_bad(result)) return make_error(Errc::kUnavailable, std::string(what) + " failed: " + status_name(result));
  return Status::Ok();
}

Result<UaClient::Response> UaClient::wait_for(uint32_t request_id, int timeout_ms) {
  const int64_t deadline = mono_ms() + timeout_ms;
  for (;;) {
    const int64_t left = deadline - mono_ms();
    if (left <= 0) return make_error(Errc::kUnavailable, "request timed out");
    EDGELOOP_ASSIGN_OR_RETURN(ReceivedMessage m, channel_.receive(static_cast<int>(left)));
    UaReader r(m.body);
    const NodeId type = r.node_id();
    if (!r.ok() || type.ns != 0 || type.kind != NodeId::Kind::kNumeric) {
      return make_error(Errc::kParse, "response without a numeric encoding id");
    }
    Response resp{type.numeric, std::string(r.rest())};
    if (m.request_id == request_id) return resp;
    if (publish_ids_.erase(m.request_id)) {
      publish_responses_.push_back(std::move(resp));
      continue;
    }
    return make_error(Errc::kParse, "response for unknown request " + std::to_string(m.request_id));
  }
}

Result<UaClient::Response> UaClient::call_built(uint32_t type, UaWriter& w, const char* msg_type) {
  const uint32_t id = next_request_id_++;
  EDGELOOP_TRY(channel_.send(msg_type, id, w.buffer()));
  EDGELOOP_ASSIGN_OR_RETURN(Response resp, wait_for(id, config_.timeout_ms));
  if (resp.type == kServiceFault) {
    UaReader r(resp.body);
    Status st = check_response_header(r, service_name(type));
    if (st.ok()) return make_error(Errc::kUnavailable, "ServiceFault with a good status");
    return st.error();
  }
  return resp;
}

Status UaClient::open_channel(bool renew) {
  UaWriter w;
  w.node_id(NodeId::num(kOpenSecureChannelRequest));
  request_header(w, next_handle_++);
  w.u32(0);                   // clientProtocolVersion
  w.u32(renew ? 1u : 0u);     // requestType: Issue / Renew
  w.u32(static_cast<uint32_t>(channel_.policy().message_security_mode()));
  const std::string nonce = channel_.policy().client_nonce();
  if (nonce.empty()) w.null_string(); else w.string(nonce);
  w.u32(config_.channel_lifetime_ms);
  EDGELOOP_ASSIGN_OR_RETURN(Response resp, call_built(kOpenSecureChannelRequest, w, "OPN"));
  if (resp.type != kOpenSecureChannelResponse) return make_error(Errc::kParse, "unexpected response to OpenSecureChannel");
  UaReader r(resp.body);
  EDGELOOP_TRY(check_response_header(r, "OpenSecureChannel"));
  (void)r.u32();  // serverProtocolVersion
  const uint32_t channel_id = r.u32();
  const uint32_t token_id = r.u32();
  (void)r.date_time();
  const uint32_t lifetime = r.u32();
  const std::string server_nonce = r.string();
  EDGELOOP_TRY(r.finish("OpenSecureChannel response"));
  EDGELOOP_TRY(channel_.policy().accept_server_nonce(server_nonce));
  channel_.set_token(channel_id, token_id);
  const uint32_t life = lifetime ? lifetime : config_.channel_lifetime_ms;
  token_lifetime_ms_ = life;
  token_id_ = token_id;
  token_renew_at_ms_ = mono_ms() + static_cast<int64_t>(life) * 3 / 4;
  return Status::Ok();
}

Status UaClient::maintain() {
  if (!channel_.connected()) return make_error(Errc::kUnavailable, "not connected");
  if (mono_ms() < token_renew_at_ms_) return Status::Ok();
  EDGELOOP_TRY(open_channel(true));
  ++renewals_;
  return Status::Ok();
}

Status UaClient::create_session() {
  UaWriter w;
  w.node_id(NodeId::num(kCreateSessionRequest));
  request_header(w, next_handle_++);
  // ApplicationDescription
  w.string("urn:edgeloop:client");
  w.string("urn:edgeloop");
  w.localized_text({"", config_.application_name});
  w.u32(1);  // Client
  w.null_string();
  w.null_string();
  w.i32(-1);
  w.null_string();  // serverUri
  w.string(config_.endpoint);
  w.string(config_.application_name + " session");
  w.string(random_nonce());  // clientNonce: servers want 32 fresh bytes even with None
  w.null_string();  // clientCertificate
  w.f64(config_.session_timeout_ms);
  w.u32(config_.limits.max_message);
  EDGELOOP_ASSIGN_OR_RETURN(Response resp, call_built(kCreateSessionRequest, w));
  if (resp.type != kCreateSessionResponse) return make_error(Errc::kParse, "unexpected response to CreateSession");
  UaReader r(resp.body);
  EDGELOOP_TRY(check_response_header(r, "CreateSession"));
  (void)r.node_id();  // sessionId
  auth_token_ = r.node_id();
  (void)r.f64();
  server_nonce_ = r.string();
  (void)r.string();  // serverCertificate
  token_policies_.clear();
  const uint32_t endpoints = r.array_length(8);
  for (uint32_t e = 0; e < endpoints && r.ok(); ++e) {
    (void)r.string();  // endpointUrl
    skip_application_description(r);
    (void)r.string();  // serverCertificate
    const uint32_t mode = r.u32();
    const std::string policy = r.string();
    const uint32_t tokens = r.array_length(8);
    for (uint32_t t = 0; t < tokens && r.ok(); ++t) {
      std::string policy_id = r.string();
      const int32_t token_type = r.i32();
      (void)r.string();
      (void)r.string();
      std::string uri = r.string();
      if (mode == 1 && policy == kSecurityPolicyNoneUri) token_policies_.push_back({token_type, {policy_id, uri}});
    }
    (void)r.string();  // transportProfileUri
    (void)r.u8();      // securityLevel
  }
  const uint32_t certs = r.array_length(8);
  for (uint32_t k = 0; k < certs && r.ok(); ++k) {
    (void)r.string();
    (void)r.string();
  }
  (void)r.string();  // serverSignature.algorithm
  (void)r.string();
  (void)r.u32();     // maxRequestMessageSize
  return r.finish("CreateSession response");
}

Status UaClient::activate_session() {
  const bool anonymous = config_.username.empty();
  const int32_t want = anonymous ? 0 : 1;
  const std::pair<std::string, std::string>* chosen = nullptr;
  for (const auto& p : token_policies_) {
    if (p.first != want) continue;
    // Prefer a token policy the None channel can satisfy (no password encryption).
    if (!chosen || p.second.second.empty() || p.second.second == kSecurityPolicyNoneUri) chosen = &p.second;
    if (p.second.second.empty() || p.second.second == kSecurityPolicyNoneUri) break;
  }
  if (!chosen) {
    return make_error(Errc::kUnavailable, std::string("the server offers no ") + (anonymous ? "anonymous" : "user name") +
                                              " identity token on its SecurityPolicy None endpoint");
  }
  UaWriter token;
  uint32_t token_type = kAnonymousIdentityToken;
  token.string(chosen->first);
  if (!anonymous) {
    token_type = kUserNameIdentityToken;
    std::string algorithm;
    EDGELOOP_ASSIGN_OR_RETURN(std::string password, channel_.policy().encode_password(chosen->second, config_.password,
                                                                                      server_nonce_, algorithm));
    token.string(config_.username);
    token.string(password);
    if (algorithm.empty()) token.null_string(); else token.string(algorithm);
  }
  UaWriter w;
  w.node_id(NodeId::num(kActivateSessionRequest));
  request_header(w, next_handle_++);
  w.null_string();  // clientSignature.algorithm
  w.null_string();  // clientSignature.signature
  w.i32(-1);        // clientSoftwareCertificates
  w.i32(-1);        // localeIds
  w.extension_object({NodeId::num(token_type), 1, token.take()});
  w.null_string();  // userTokenSignature
  w.null_string();
  EDGELOOP_ASSIGN_OR_RETURN(Response resp, call_built(kActivateSessionRequest, w));
  if (resp.type != kActivateSessionResponse) return make_error(Errc::kParse, "unexpected response to ActivateSession");
  UaReader r(resp.body);
  EDGELOOP_TRY(check_response_header(r, "ActivateSession"));
  server_nonce_ = r.string();
  (void)r.status_codes();
  r.skip_diagnostic_infos();
  return r.finish("ActivateSession response");
}

Status UaClient::connect() {
  close();
  Status st = channel_.connect(config_.endpoint, config_.timeout_ms);
  if (st.ok()) st = open_channel(false);
  if (st.ok()) st = create_session();
  if (st.ok()) st = activate_session();
  if (!st.ok()) {
    channel_.close();
    return st;
  }
  session_active_ = true;
  return Status::Ok();
}

void UaClient::close() {
  if (channel_.connected() && session_active_) {
    UaWriter w;
    w.node_id(NodeId::num(kCloseSessionRequest));
    request_header(w, next_handle_++);
    w.boolean(true);  // deleteSubscriptions
    const uint32_t id = next_request_id_++;
    if (channel_.send("MSG", id, w.buffer()).ok()) {
      const int saved = config_.timeout_ms;
      config_.timeout_ms = saved < 1000 ? saved : 1000;
      (void)wait_for(id, config_.timeout_ms);
      config_.timeout_ms = saved;
    }
  }
  if (channel_.connected()) {
    UaWriter w;
    w.node_id(NodeId::num(kCloseSecureChannelRequest));
    request_header(w, next_handle_++);
    (void)channel_.send("CLO", next_request_id_++, w.buffer());
  }
  channel_.close();
  session_active_ = false;
  auth_token_ = NodeId{};
  publish_ids_.clear();
  publish_responses_.clear();
  acks_.clear();
}

Result<std::vector<DataValue>> UaClient::read(const std::vector<NodeId>& nodes, uint32_t attribute) {
  UaWriter w;
  w.node_id(NodeId::num(kReadRequest));
  request_header(w, next_handle_++);
  w.f64(0);  // maxAge
  w.u32(2);  // timestampsToReturn: Both
  w.i32(static_cast<int32_t>(nodes.size()));
  for (const NodeId& n : nodes) {
    w.node_id(n);
    w.u32(attribute);
    w.null_string();  // indexRange
    w.qualified_name({});
  }
  EDGELOOP_ASSIGN_OR_RETURN(Response resp, call_built(kReadRequest, w));
  if (resp.type != kReadResponse) return make_error(Errc::kParse, "unexpected response to Read");
  UaReader r(resp.body);
  EDGELOOP_TRY(check_response_header(r, "Read"));
  const uint32_t n = r.array_length(1);
  std::vector<DataValue> out;
  out.reserve(n);
  for (uint32_t k = 0; k < n && r.ok(); ++k) out.push_back(r.data_value());
  r.skip_diagnostic_infos();
  EDGELOOP_TRY(r.finish("Read response"));
  if (out.size() != nodes.size()) return make_error(Errc::kParse, "Read returned " + std::to_string(out.size()) + " results");
  return out;
}

Result<std::vector<uint32_t>> UaClient::write(const std::vector<std::pair<NodeId, Variant>>& values) {
  UaWriter w;
  w.node_id(NodeId::num(kWriteRequest));
  request_header(w, next_handle_++);
  w.i32(static_cast<int32_t>(values.size()));
  for (const auto& [node, value] : values) {
    w.node_id(node);
    w.u32(kAttrValue);
    w.null_string();
    DataValue dv;
    dv.has_value = true;
    dv.value = value;
    w.data_value(dv);
  }
  EDGELOOP_ASSIGN_OR_RETURN(Response resp, call_built(kWriteRequest, w));
  if (resp.type != kWriteResponse) return make_error(Errc::kParse, "unexpected response to Write");
  UaReader r(resp.body);
  EDGELOOP_TRY(check_response_header(r, "Write"));
  std::vector<uint32_t> out = r.status_codes();
  r.skip_diagnostic_infos();
  EDGELOOP_TRY(r.finish("Write response"));
  if (out.size() != values.size()) return make_error(Errc::kParse, "Write returned " + std::to_string(out.size()) + " results");
  return out;
}

Result<std::vector<ReferenceDescription>> UaClient::browse(const NodeId& node, uint32_t max_per_call) {
  UaWriter w;
  w.node_id(NodeId::num(kBrowseRequest));
  request_header(w, next_handle_++);
  w.node_id(NodeId{});  // view: none
  w.date_time(0);
  w.u32(0);
  w.u32(max_per_call);
  w.i32(1);
  w.node_id(node);
  w.u32(0);                     // Forward
  w.node_id(NodeId::num(33));   // HierarchicalReferences
  w.boolean(true);              // includeSubtypes
  w.u32(0);                     // all node classes
  w.u32(0x3F);                  // all result fields
  std::vector<ReferenceDescription> out;
  uint32_t expect = kBrowseResponse;
  const char* what = "Browse";
  for (int round = 0; round < 10000; ++round) {
    EDGELOOP_ASSIGN_OR_RETURN(Response resp, call_built(expect == kBrowseResponse ? kBrowseRequest : kBrowseNextRequest, w));
    if (resp.type != expect) return make_error(Errc::kParse, std::string("unexpected response to ") + what);
    UaReader r(resp.body);
    EDGELOOP_TRY(check_response_header(r, what));
    const uint32_t results = r.array_length(4);
    if (results != 1) return make_error(Errc::kParse, std::string(what) + " returned " + std::to_string(results) + " results");
    const uint32_t status = r.u32();
    const std::string continuation = r.string();
    const uint32_t refs = r.array_length(8);
    for (uint32_t k = 0; k < refs && r.ok(); ++k) out.push_back(read_reference(r));
    r.skip_diagnostic_infos();
    EDGELOOP_TRY(r.finish(std::string(what) + " response"));
    if (status_is_bad(status)) return make_error(Errc::kUnavailable, std::string(what) + " " + node.to_string() + ": " + status_name(status));
    if (continuation.empty()) return out;
    w = UaWriter();
    w.node_id(NodeId::num(kBrowseNextRequest));
    request_header(w, next_handle_++);
    w.boolean(false);  // releaseContinuationPoints
    w.i32(1);
    w.string(continuation);
    expect = kBrowseNextResponse;
    what = "BrowseNext";
  }
  return make_error(Errc::kTooLarge, "Browse did not finish after 10000 BrowseNext calls");
}

Result<SubscriptionResult> UaClient::create_subscription(double publishing_interval_ms, uint32_t lifetime_count,
                                                         uint32_t keepalive_count, uint32_t max_notifications) {
  UaWriter w;
  w.node_id(NodeId::num(kCreateSubscriptionRequest));
  request_header(w, next_handle_++);
  w.f64(publishing_interval_ms);
  w.u32(lifetime_count);
  w.u32(keepalive_count);
  w.u32(max_notifications);
  w.boolean(true);  // publishingEnabled
  w.u8(0);          // priority
  EDGELOOP_ASSIGN_OR_RETURN(Response resp, call_built(kCreateSubscriptionRequest, w));
  if (resp.type != kCreateSubscriptionResponse) return make_error(Errc::kParse, "unexpected response to CreateSubscription");
  UaReader r(resp.body);
  EDGELOOP_TRY(check_response_header(r, "CreateSubscription"));
  SubscriptionResult s;
  s.id = r.u32();
  s.publishing_interval_ms = r.f64();
  s.lifetime_count = r.u32();
  s.keepalive_count = r.u32();
  EDGELOOP_TRY(r.finish("CreateSubscription response"));
  return s;
}

Result<std::vector<MonitoredItemResult>> UaClient::create_monitored_items(uint32_t subscription_id,
                                                                          const std::vector<MonitoredItemRequest>& items) {
  UaWriter w;
  w.node_id(NodeId::num(kCreateMonitoredItemsRequest));
  request_header(w, next_handle_++);
  w.u32(subscription_id);
  w.u32(2);  // timestampsToReturn: Both
  w.i32(static_cast<int32_t>(items.size()));
  for (const MonitoredItemRequest& it : items) {
    w.node_id(it.node);
    w.u32(kAttrValue);
    w.null_string();
    w.qualified_name({});
    w.u32(2);  // monitoringMode: Reporting
    w.u32(it.client_handle);
    w.f64(it.sampling_interval_ms);
    w.empty_extension_object();  // filter: default DataChangeFilter (status or value)
    w.u32(it.queue_size);
    w.boolean(true);  // discardOldest
  }
  EDGELOOP_ASSIGN_OR_RETURN(Response resp, call_built(kCreateMonitoredItemsRequest, w));
  if (resp.type != kCreateMonitoredItemsResponse) return make_error(Errc::kParse, "unexpected response to CreateMonitoredItems");
  UaReader r(resp.body);
  EDGELOOP_TRY(check_response_header(r, "CreateMonitoredItems"));
  const uint32_t n = r.array_length(20);
  std::vector<MonitoredItemResult> out;
  for (uint32_t k = 0; k < n && r.ok(); ++k) {
    MonitoredItemResult m;
    m.status = r.u32();
    m.monitored_item_id = r.u32();
    m.revised_sampling_interval_ms = r.f64();
    m.revised_queue_size = r.u32();
    (void)r.extension_object();
    out.push_back(m);
  }
  r.skip_diagnostic_infos();
  EDGELOOP_TRY(r.finish("CreateMonitoredItems response"));
  if (out.size() != items.size()) return make_error(Errc::kParse, "CreateMonitoredItems returned a wrong count");
  return out;
}

Status UaClient::send_publish() {
  UaWriter w;
  w.node_id(NodeId::num(kPublishRequest));
  request_header(w, next_handle_++);
  w.i32(static_cast<int32_t>(acks_.size()));
  for (const auto& [sub, seq] : acks_) {
    w.u32(sub);
    w.u32(seq);
  }
  const uint32_t id = next_request_id_++;
  EDGELOOP_TRY(channel_.send("MSG", id, w.buffer()));
  acks_.clear();
  publish_ids_.insert(id);
  return Status::Ok();
}

Result<PublishResult> UaClient::decode_publish(std::string_view body) {
  UaReader r(body);
  PublishResult p;
  (void)r.date_time();
  (void)r.u32();
  p.service_result = r.u32();
  r.skip_diagnostic_info();
  const uint32_t strings = r.array_length(4);
  for (uint32_t k = 0; k < strings && r.ok(); ++k) (void)r.string();
  (void)r.extension_object();
  if (status_is_bad(p.service_result)) {
    if (!r.ok()) return make_error(Errc::kParse, "Publish response: " + r.error());
    return p;  // the caller decides (BadTooManyPublishRequests, BadNoSubscription...)
  }
  p.subscription_id = r.u32();
  const uint32_t avail = r.array_length(4);
  for (uint32_t k = 0; k < avail && r.ok(); ++k) (void)r.u32();
  p.more = r.boolean();
  p.sequence_number = r.u32();
  p.publish_time = r.date_time();
  const uint32_t notes = r.array_length(3);
  p.keepalive = notes == 0;
  for (uint32_t k = 0; k < notes && r.ok(); ++k) {
    const ExtensionObject e = r.extension_object();
    if (!r.ok()) break;
    if (e.encoding != 1 || e.type_id.ns != 0 || e.type_id.kind != NodeId::Kind::kNumeric) continue;
    UaReader n(e.body);
    if (e.type_id.numeric == kDataChangeNotification) {
      const uint32_t items = n.array_length(5);
      p.changes.reserve(p.changes.size() + items);
      for (uint32_t i = 0; i < items && n.ok(); ++i) {
        ItemChange c;
        c.client_handle = n.u32();
        c.value = n.data_value();
        p.changes.push_back(std::move(c));
      }
      n.skip_diagnostic_infos();
      if (Status st = n.finish("DataChangeNotification"); !st.ok()) return st.error();
    } else if (e.type_id.numeric == kStatusChangeNotification) {
      p.status_changes.push_back(n.u32());
      n.skip_diagnostic_info();
      if (Status st = n.finish("StatusChangeNotification"); !st.ok()) return st.error();
    }  // events: not subscribed by this client
  }
  (void)r.status_codes();  // results of the acknowledgements
  r.skip_diagnostic_infos();
  if (Status st = r.finish("Publish response"); !st.ok()) return st.error();
  return p;
}

Result<PublishResult> UaClient::next_publish(int timeout_ms) {
  Response resp;
  if (!publish_responses_.empty()) {
    resp = std::move(publish_responses_.front());
    publish_responses_.pop_front();
  } else {
    if (publish_ids_.empty()) return make_error(Errc::kInvalidArgument, "no Publish request outstanding");
    bool timed_out = false;
    EDGELOOP_ASSIGN_OR_RETURN(ReceivedMessage m, channel_.receive(timeout_ms, &timed_out));
    UaReader r(m.body);
    const NodeId type = r.node_id();
    if (!r.ok() || type.kind != NodeId::Kind::kNumeric) return make_error(Errc::kParse, "response without an encoding id");
    if (!publish_ids_.erase(m.request_id)) {
      return make_error(Errc::kParse, "unexpected response for request " + std::to_string(m.request_id));
    }
    resp = Response{type.numeric, std::string(r.rest())};
  }
  if (resp.type == kServiceFault) {
    UaReader r(resp.body);
    Status st = check_response_header(r, "Publish");
    return st.ok() ? make_error(Errc::kParse, "ServiceFault with good status") : st.error();
  }
  if (resp.type != kPublishResponse) return make_error(Errc::kParse, "unexpected response type " + std::to_string(resp.type));
  EDGELOOP_ASSIGN_OR_RETURN(PublishResult p, decode_publish(resp.body));
  if (!p.keepalive && !status_is_bad(p.service_result)) acks_.push_back({p.subscription_id, p.sequence_number});
  return p;
}

}  // namespace edgeloop::opcua
