#include "config/yaml_loader.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>
#include <optional>
#include <sstream>
#include <unordered_map>
#include <vector>

namespace edgeloop {
namespace {

// Size of a subtree, for the alias budget and the depth check of a copy.
struct TreeSize {
  std::size_t nodes = 0;
  std::size_t bytes = 0;
  int height = 0;  // nested collections: 0 for a scalar or null
};

TreeSize measure(const ConfigNode& n) {
  TreeSize s;
  s.nodes = 1;
  if (n.is_scalar()) {
    s.bytes = n.str().size();
  } else if (n.is_sequence()) {
    for (const auto& c : n.items()) {
      const TreeSize t = measure(c);
      s.nodes += t.nodes;
      s.bytes += t.bytes;
      s.height = std::max(s.height, t.height);
    }
    s.height += 1;
  } else if (n.is_map()) {
    for (const auto& [k, v] : n.entries()) {
      const TreeSize t = measure(v);
      s.nodes += t.nodes;
      s.bytes += t.bytes + k.size();
      s.height = std::max(s.height, t.height);
    }
    s.height += 1;
  }
  return s;
}

// Builds the ConfigNode tree from yaml-cpp's parse events (rather than from YAML::Node) so
// that marks, duplicate keys, depth and alias expansion are all under our control. The first
// error is kept and every later event ignored: nothing here throws.
class TreeBuilder final : public YAML::EventHandler {
 public:
  TreeBuilder(std::shared_ptr<const std::string> file, std::string_view text, const YamlLoadOptions& options)
      : file_(std::move(file)), text_(text), options_(options) {}

  bool failed() const { return error_.has_value(); }
  Error take_error() { return std::move(*error_); }
  bool has_root() const { return has_root_; }
  ConfigNode take_root() { return std::move(root_); }

  Mark mark(const YAML::Mark& m) const {
    Mark out;
    out.file = file_;
    if (!m.is_null()) {
      out.line = m.line + 1;
      out.column = m.column + 1;
    }
    return out;
  }

  void fail(Errc code, const Mark& at, std::string_view path, std::string_view what) {
    if (!error_) error_ = make_error(code, config_error_text(at, path, what));
  }

  void OnDocumentStart(const YAML::Mark& m) override {
    if (error_) return;
    if (++documents_ > 1) {
      // yaml-cpp also starts a new document, with no `---`, at content left after the first
      // one ends (e.g. a map after a top-level list): a different mistake, a different text.
      const bool explicit_start =
          m.pos >= 0 && text_.substr(std::min(text_.size(), static_cast<std::size_t>(m.pos))).substr(0, 3) == "---";
      fail(Errc::kInvalidConfig, mark(m), "",
           explicit_start ? "only one YAML document is allowed in a config file"
                          : "unexpected content after the end of the document (check the indentation)");
    }
  }
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& m, YAML::anchor_t anchor) override {
    if (error_) return;
    if (expecting_key()) return fail(Errc::kInvalidConfig, mark(m), top().path, "expected a scalar map key, got nothing");
    ConfigNode n;
    // An empty value has no place of its own (yaml-cpp reports the next token's, often on a
    // later line): a map value takes its key's.
    const bool map_value = !stack_.empty() && top().is_map;
    n.set_mark(map_value ? top().key_mark : mark(m));
    finish(std::move(n), anchor);
  }

  void OnAlias(const YAML::Mark& m, YAML::anchor_t anchor) override {
    if (error_) return;
    auto it = anchors_.find(anchor);
    if (it == anchors_.end()) {
      // yaml-cpp registers an anchor when its node starts: an alias inside it gets here.
      return fail(Errc::kInvalidConfig, mark(m), child_path(), "alias refers to an anchor that encloses it");
    }
    const Anchored& a = it->second;
    const ConfigNode* target = resolve(a);
    if (!target) return fail(Errc::kInternal, mark(m), child_path(), "alias to a node that cannot be found (a bug)");
    const bool key = expecting_key();
    alias_nodes_ += key ? 1 : a.size.nodes;
    alias_bytes_ += key ? target->str().size() : a.size.bytes;
    if (alias_nodes_ > kMaxAliasNodes || alias_bytes_ > kMaxAliasBytes) {
      return fail(Errc::kTooLarge, mark(m), child_path(),
                  "aliases expand to more than " + std::to_string(kMaxAliasNodes) + " nodes or " +
                      std::to_string(kMaxAliasBytes / (1024 * 1024)) + " MiB");
    }
    if (key) {
      if (!target->is_scalar()) {
        return fail(Errc::kInvalidConfig, mark(m), top().path,
                    std::string("expected a scalar map key, got ") + target->kind_name());
      }
      return take_key(target->str(), mark(m));
    }
    if (static_cast<int>(stack_.size()) + a.size.height > options_.max_depth) {
      return fail(Errc::kTooLarge, mark(m), child_path(),
                  "nesting deeper than " + std::to_string(options_.max_depth) + " levels (through an alias)");
    }
    ConfigNode copy = *target;
    copy.set_mark(mark(m));
    finish(std::move(copy), 0);
  }

  void OnScalar(const YAML::Mark& m, const std::string& /*tag*/, YAML::anchor_t anchor,
                const std::string& value) override {
    if (error_) return;
    const Mark at = mark(m);
    const bool key = expecting_key();
    auto text = substitute_env(value, options_.env);
    if (!text.ok()) return fail(text.error().code, at, key ? top().path : child_path(), text.error().message);
    if (key) {
      // Keys are not tree nodes: an anchored key is kept as a copy (one scalar, once).
      if (anchor != 0) anchors_[anchor] = Anchored{{}, ConfigNode::scalar(*text, at), TreeSize{1, text->size(), 0}};
      return take_key(std::move(*text), at);
    }
    finish(ConfigNode::scalar(std::move(*text), at), anchor);
  }

  void OnSequenceStart(const YAML::Mark& m, const std::string& /*tag*/, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value /*style*/) override {
    open(ConfigNode::sequence(mark(m)), anchor, false);
  }
  void OnSequenceEnd() override { close(); }

  void OnMapStart(const YAML::Mark& m, const std::string& /*tag*/, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value /*style*/) override {
    open(ConfigNode::map(mark(m)), anchor, true);
  }
  void OnMapEnd() override { close(); }

 private:
  struct Frame {
    ConfigNode node;
    YAML::anchor_t anchor = 0;
    bool is_map = false;
    std::string path;
    std::size_t index = 0;  // lists: the next item's index
    bool has_key = false;   // maps: a key waits for its value
    std::string key;
    Mark key_mark;
    std::unordered_map<std::string, int> key_lines;  // maps: keys seen, with their line
  };
  // An anchored node is found again through its place in the tree, not kept as a copy: a
  // copy per anchor would let nested anchors multiply memory (64 levels x the alias budget).
  struct Anchored {
    std::vector<std::size_t> path;  // child indices from the outermost collection down
    std::optional<ConfigNode> key;  // an anchored map key
    TreeSize size;
  };

  static std::size_t child_count(const ConfigNode& n) { return n.is_map() ? n.entries().size() : n.items().size(); }
  static const ConfigNode& child_at(const ConfigNode& n, std::size_t i) {
    return n.is_map() ? n.entries()[i].second : n.items()[i];
  }

  // The anchored node: down through the open frames while the path follows the child being
  // built (index == children so far), then down through finished nodes.
  const ConfigNode* resolve(const Anchored& a) const {
    if (a.key) return &*a.key;
    const ConfigNode* node = nullptr;
    for (std::size_t k = 0; k < a.path.size(); ++k) {
      const ConfigNode& parent = node ? *node : stack_[k].node;
      const std::size_t count = child_count(parent);
      if (!node && a.path[k] == count && k + 1 < stack_.size()) continue;  // into stack_[k + 1]
      if (a.path[k] >= count) return nullptr;
      node = &child_at(parent, a.path[k]);
    }
    return node;
  }

  Frame& top() { return stack_.back(); }
  bool expecting_key() const { return !stack_.empty() && stack_.back().is_map && !stack_.back().has_key; }

  // Where the next value goes, for messages: "pipelines.t1.steps[0]".
  std::string child_path() const {
    if (stack_.empty()) return std::string();
    const Frame& f = stack_.back();
    if (!f.is_map) return f.path + "[" + std::to_string(f.index) + "]";
    if (f.path.empty()) return f.key;
    return f.path + "." + f.key;
  }

  void take_key(std::string key, const Mark& at) {
    Frame& f = top();
    if (f.key_lines.size() >= kMaxMapKeys) {
      return fail(Errc::kTooLarge, at, f.path, "more than " + std::to_string(kMaxMapKeys) + " keys in one map");
    }
    auto [it, inserted] = f.key_lines.emplace(key, at.line);
    if (!inserted) {
      return fail(Errc::kInvalidConfig, at, f.path,
                  "duplicate key '" + key + "' (first on line " + std::to_string(it->second) + ")");
    }
    f.key = std::move(key);
    f.key_mark = at;
    f.has_key = true;
  }

  void open(ConfigNode node, YAML::anchor_t anchor, bool is_map) {
    if (error_) return;
    if (expecting_key()) {
      return fail(Errc::kInvalidConfig, node.mark(), top().path,
                  std::string("expected a scalar map key, got ") + node.kind_name());
    }
    if (static_cast<int>(stack_.size()) >= options_.max_depth) {
      return fail(Errc::kTooLarge, node.mark(), child_path(),
                  "nesting deeper than " + std::to_string(options_.max_depth) + " levels");
    }
    Frame f;
    f.path = child_path();
    f.node = std::move(node);
    f.anchor = anchor;
    f.is_map = is_map;
    stack_.push_back(std::move(f));
  }

  void close() {
    if (error_ || stack_.empty()) return;
    Frame f = std::move(stack_.back());
    stack_.pop_back();
    finish(std::move(f.node), f.anchor);
  }

  // A complete value: goes into its parent (or becomes the root).
  void finish(ConfigNode node, YAML::anchor_t anchor) {
    // The root cannot be aliased (nothing follows it), so only nested nodes are recorded.
    if (anchor != 0 && !stack_.empty()) {
      Anchored a;
      for (const Frame& f : stack_) a.path.push_back(child_count(f.node));
      a.size = measure(node);
      anchors_[anchor] = std::move(a);
    }
    if (stack_.empty()) {
      root_ = std::move(node);
      has_root_ = true;
      return;
    }
    Frame& f = top();
    if (f.is_map) {
      f.node.set(std::move(f.key), std::move(node));
      f.key.clear();
      f.has_key = false;
    } else {
      f.node.push(std::move(node));
      ++f.index;
    }
  }

  std::shared_ptr<const std::string> file_;
  std::string_view text_;
  const YamlLoadOptions& options_;
  std::vector<Frame> stack_;
  std::unordered_map<YAML::anchor_t, Anchored> anchors_;
  std::size_t alias_nodes_ = 0;
  std::size_t alias_bytes_ = 0;
  int documents_ = 0;
  ConfigNode root_;
  bool has_root_ = false;
  std::optional<Error> error_;
};

}  // namespace

Result<ConfigNode> load_yaml_string(std::string_view text, const std::string& name, const YamlLoadOptions& options) {
  auto file = std::make_shared<const std::string>(name);
  if (text.size() > options.max_bytes) {
    return make_error(Errc::kTooLarge, name + ": config is " + std::to_string(text.size()) + " bytes, over the limit of " +
                                           std::to_string(options.max_bytes));
  }
  TreeBuilder builder(file, text, options);
  try {
    std::istringstream in{std::string(text)};
    YAML::Parser parser(in);
    // A second call finds a second document, if any, which the builder refuses.
    if (parser.HandleNextDocument(builder) && !builder.failed()) parser.HandleNextDocument(builder);
  } catch (const YAML::Exception& e) {
    // An error the builder met earlier in the text comes first.
    if (!builder.failed()) builder.fail(Errc::kInvalidConfig, builder.mark(e.mark), "", e.msg);
  } catch (const std::bad_alloc&) {
    if (!builder.failed()) return make_error(Errc::kTooLarge, name + ": out of memory while parsing");
  } catch (const std::exception& e) {
    if (!builder.failed()) return make_error(Errc::kInvalidConfig, name + ": " + e.what());
  } catch (...) {
    if (!builder.failed()) return make_error(Errc::kInternal, name + ": unknown exception from the YAML parser");
  }
  if (builder.failed()) return builder.take_error();
  if (!builder.has_root()) {
    ConfigNode empty;
    empty.set_mark(Mark{file, 1, 1});
    return empty;
  }
  return builder.take_root();
}

Result<ConfigNode> load_yaml_file(const std::string& path, const YamlLoadOptions& options) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) {
    const int err = errno;
    return make_error(err == ENOENT ? Errc::kNotFound : Errc::kIo,
                      "cannot open config file '" + path + "': " + std::strerror(err));
  }
  // Read at most one byte past the limit: enough to refuse an oversized file (or a pipe that
  // never ends) without reading all of it.
  std::string text;
  char buf[65536];
  while (text.size() <= options.max_bytes) {
    const std::size_t n = std::fread(buf, 1, sizeof buf, f.get());
    text.append(buf, n);
    if (n < sizeof buf) break;
  }
  if (std::ferror(f.get())) {
    const int err = errno;
    return make_error(Errc::kIo, "cannot read config file '" + path + "': " + std::strerror(err));
  }
  if (text.size() > options.max_bytes) {
    return make_error(Errc::kTooLarge, path + ": config file is over the limit of " + std::to_string(options.max_bytes) +
                                           " bytes");
  }
  return load_yaml_string(text, path, options);
}

}  // namespace edgeloop
