#include "connectors/sparkplug/topic.h"

#include <array>

namespace edgeloop::sparkplug {

namespace {
constexpr std::array<std::pair<MessageType, std::string_view>, 9> kNames = {{
    {MessageType::kNBirth, "NBIRTH"},
    {MessageType::kNDeath, "NDEATH"},
    {MessageType::kDBirth, "DBIRTH"},
    {MessageType::kDDeath, "DDEATH"},
    {MessageType::kNData, "NDATA"},
    {MessageType::kDData, "DDATA"},
    {MessageType::kNCmd, "NCMD"},
    {MessageType::kDCmd, "DCMD"},
    {MessageType::kState, "STATE"},
}};
}  // namespace

const char* message_type_name(MessageType t) {
  for (const auto& [type, name] : kNames)
    if (type == t) return name.data();
  return "UNKNOWN";
}

MessageType message_type_from(std::string_view name) {
  for (const auto& [type, n] : kNames)
    if (n == name) return type;
  return MessageType::kUnknown;
}

bool is_device_type(MessageType t) {
  return t == MessageType::kDBirth || t == MessageType::kDDeath || t == MessageType::kDData || t == MessageType::kDCmd;
}

bool parse_topic(std::string_view topic, Topic& out) {
  std::array<std::string_view, 6> levels{};
  std::size_t n = 0;
  std::size_t start = 0;
  while (true) {
    const std::size_t slash = topic.find('/', start);
    const std::string_view level = topic.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (level.empty() || n == levels.size()) return false;
    levels[n++] = level;
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (n < 3 || levels[0] != kNamespace) return false;
  out = Topic{};
  if (levels[1] == "STATE") {
    if (n != 3) return false;
    out.type = MessageType::kState;
    out.node = levels[2];
    return true;
  }
  if (n < 4) return false;
  out.type = message_type_from(levels[2]);
  if (out.type == MessageType::kUnknown || out.type == MessageType::kState) return false;
  if (n != (is_device_type(out.type) ? 5u : 4u)) return false;
  out.group = levels[1];
  out.node = levels[3];
  if (n == 5) out.device = levels[4];
  return true;
}

std::string make_topic(std::string_view group, MessageType type, std::string_view node, std::string_view device) {
  std::string t;
  t.reserve(kNamespace.size() + group.size() + node.size() + device.size() + 12);
  t.append(kNamespace).append("/").append(group).append("/").append(message_type_name(type)).append("/").append(node);
  if (!device.empty()) t.append("/").append(device);
  return t;
}

std::string sanitize_id(std::string_view id) {
  std::string s(id);
  for (char& c : s)
    if (c == '/' || c == '+' || c == '#') c = '_';
  return s;
}

}  // namespace edgeloop::sparkplug
