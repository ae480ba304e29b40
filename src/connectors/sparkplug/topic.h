// Sparkplug B topics: spBv1.0/<group>/<type>/<edge node>[/<device>], and spBv1.0/STATE/<host>.
#pragma once

#include <string>
#include <string_view>

namespace edgeloop::sparkplug {

inline constexpr std::string_view kNamespace = "spBv1.0";
inline constexpr const char* kRebirthMetric = "Node Control/Rebirth";
inline constexpr const char* kBdSeqMetric = "bdSeq";

enum class MessageType { kNBirth, kNDeath, kDBirth, kDDeath, kNData, kDData, kNCmd, kDCmd, kState, kUnknown };

const char* message_type_name(MessageType t);  // "NBIRTH" ...
MessageType message_type_from(std::string_view name);
// True for the types that carry a device id (DBIRTH, DDEATH, DDATA, DCMD).
bool is_device_type(MessageType t);

// Views into the parsed topic string.
struct Topic {
  MessageType type = MessageType::kUnknown;
  std::string_view group;
  std::string_view node;    // for STATE: the host id
  std::string_view device;  // empty for node messages
};

// False when `topic` is not a Sparkplug B topic of a known type with the right number of
// levels (node types: 4 levels, device types: 5, STATE: 3), or a level is empty.
bool parse_topic(std::string_view topic, Topic& out);

// "spBv1.0/<group>/<TYPE>/<node>[/<device>]".
std::string make_topic(std::string_view group, MessageType type, std::string_view node, std::string_view device = {});

// An id usable as one topic level: '/', '+', '#' become '_'; empty stays empty.
std::string sanitize_id(std::string_view id);

}  // namespace edgeloop::sparkplug
