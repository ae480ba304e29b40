#include "config/yaml_loader.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

namespace edgeloop {
namespace {

YamlLoadOptions test_options() {
  YamlLoadOptions o;
  o.env = [](const std::string& name) -> std::optional<std::string> {
    static const std::map<std::string, std::string> kVars = {{"HOST", "broker.local"}, {"PORT", "1883"}};
    auto it = kVars.find(name);
    if (it == kVars.end()) return std::nullopt;
    return it->second;
  };
  return o;
}

ConfigNode load_ok(std::string_view text) {
  auto r = load_yaml_string(text, "t.yaml", test_options());
  EXPECT_TRUE(r.ok()) << r.error().to_string();
  return r.ok() ? std::move(*r) : ConfigNode();
}

Error load_error(std::string_view text, const YamlLoadOptions& options = test_options()) {
  auto r = load_yaml_string(text, "t.yaml", options);
  EXPECT_FALSE(r.ok()) << "parsed: " << text;
  return r.ok() ? Error{} : r.error();
}

std::string where(const ConfigNode& n) { return n.mark().to_string(); }

const ConfigNode& at(const ConfigNode& map, std::string_view key) {
  const ConfigNode* n = map.find(key);
  EXPECT_NE(n, nullptr) << "no key " << key;
  static const ConfigNode kNone;
  return n ? *n : kNone;
}

TEST(YamlLoader, BuildsTheTreeWithMarksOnEveryNode) {
  const ConfigNode root = load_ok(
      "sources:\n"                             // 1
      "  plant:\n"                             // 2
      "    type: mqtt\n"                       // 3
      "    subscribe: [a/+, \"b c\"]\n"        // 4
      "pipelines:\n"                           // 5
      "  p:\n"                                 // 6
      "    steps:\n"                           // 7
      "      - window: {size: 4096, hop: 8}\n" // 8
      "      - rule:\n"                        // 9
      "          when: x > 1\n");              // 10
  ASSERT_TRUE(root.is_map());
  EXPECT_EQ(where(root), "t.yaml:1:1");
  ASSERT_EQ(root.entries().size(), 2u);
  EXPECT_EQ(root.entries()[0].first, "sources");
  EXPECT_EQ(root.entries()[1].first, "pipelines");

  const ConfigNode& plant = at(at(root, "sources"), "plant");
  EXPECT_TRUE(plant.is_map());
  EXPECT_EQ(where(plant), "t.yaml:3:5");  // a block map starts at its first key
  const ConfigNode& type = at(plant, "type");
  EXPECT_TRUE(type.is_scalar());
  EXPECT_EQ(type.str(), "mqtt");
  EXPECT_EQ(where(type), "t.yaml:3:11");
  const ConfigNode& sub = at(plant, "subscribe");
  ASSERT_TRUE(sub.is_sequence());
  EXPECT_EQ(where(sub), "t.yaml:4:16");
  ASSERT_EQ(sub.items().size(), 2u);
  EXPECT_EQ(sub.items()[0].str(), "a/+");
  EXPECT_EQ(where(sub.items()[0]), "t.yaml:4:17");
  EXPECT_EQ(sub.items()[1].str(), "b c");
  EXPECT_EQ(where(sub.items()[1]), "t.yaml:4:22");

  const ConfigNode& steps = at(at(at(root, "pipelines"), "p"), "steps");
  ASSERT_TRUE(steps.is_sequence());
  ASSERT_EQ(steps.items().size(), 2u);
  EXPECT_EQ(where(steps.items()[0]), "t.yaml:8:9");
  const ConfigNode& window = at(steps.items()[0], "window");
  EXPECT_EQ(where(window), "t.yaml:8:17");
  EXPECT_EQ(at(window, "size").str(), "4096");
  EXPECT_EQ(where(at(window, "hop")), "t.yaml:8:35");
  const ConfigNode& when = at(at(steps.items()[1], "rule"), "when");
  EXPECT_EQ(when.str(), "x > 1");
  EXPECT_EQ(where(when), "t.yaml:10:17");
  // Every node shares one file name.
  EXPECT_EQ(when.mark().file.get(), root.mark().file.get());
}

TEST(YamlLoader, ScalarsStayTextAndNullsAreNull) {
  const ConfigNode root = load_ok(
      "a: \"null\"\n"
      "b: null\n"
      "c: ~\n"
      "d:\n"
      "e: '~'\n"
      "f: !!str 12\n"
      "g: 0x1F\n"
      "h: yes\n"
      "i: |\n"
      "  two\n"
      "  lines\n");
  EXPECT_EQ(at(root, "a").str(), "null");
  EXPECT_TRUE(at(root, "b").is_null());
  EXPECT_TRUE(at(root, "c").is_null());
  EXPECT_TRUE(at(root, "d").is_null());
  EXPECT_EQ(where(at(root, "d")), "t.yaml:4:1");  // an empty value is marked at its key
  EXPECT_EQ(at(root, "e").str(), "~");
  EXPECT_EQ(at(root, "f").str(), "12");
  EXPECT_EQ(at(root, "g").str(), "0x1F");
  EXPECT_EQ(at(root, "h").str(), "yes");
  EXPECT_EQ(at(root, "i").str(), "two\nlines\n");
}

TEST(YamlLoader, EmptyDocumentIsANullRoot) {
  for (const char* text : {"", "# only a comment\n"}) {
    const ConfigNode root = load_ok(text);
    EXPECT_TRUE(root.is_null()) << text;
    EXPECT_EQ(where(root), "t.yaml:1:1");
  }
}

TEST(YamlLoader, SyntaxErrorsNameFileLineAndColumn) {
  Error e = load_error("a: [1, 2\n");
  EXPECT_EQ(e.code, Errc::kInvalidConfig);
  EXPECT_EQ(e.message, "t.yaml:2:1: end of sequence flow not found");
  e = load_error("a: b: c\n");
  EXPECT_EQ(e.code, Errc::kInvalidConfig);
  EXPECT_EQ(e.message, "t.yaml:1:5: illegal map value");
  e = load_error("a:\n\tb: 1\n");
  EXPECT_EQ(e.message, "t.yaml:2:3: illegal map value");
}

TEST(YamlLoader, OnlyOneDocument) {
  Error e = load_error("a: 1\n---\nb: 2\n");
  EXPECT_EQ(e.code, Errc::kInvalidConfig);
  EXPECT_EQ(e.message, "t.yaml:2:1: only one YAML document is allowed in a config file");
  e = load_error("- a\nb: 1\n");
  EXPECT_EQ(e.message, "t.yaml:2:1: unexpected content after the end of the document (check the indentation)");
}

TEST(YamlLoader, DuplicateKeysAreRejectedAtTheSecond) {
  Error e = load_error(
      "sources:\n"
      "  a: {type: x}\n"
      "  b: {type: y}\n"
      "  a: {type: z}\n");
  EXPECT_EQ(e.code, Errc::kInvalidConfig);
  EXPECT_EQ(e.message, "t.yaml:4:3: sources: duplicate key 'a' (first on line 2)");
  e = load_error("x: 1\ny: 2\nx: 3\n");
  EXPECT_EQ(e.message, "t.yaml:3:1: duplicate key 'x' (first on line 1)");
  e = load_error("p: {steps: [{w: {size: 1, size: 2}}]}\n");
  EXPECT_EQ(e.message, "t.yaml:1:27: p.steps[0].w: duplicate key 'size' (first on line 1)");
  // The same key in different maps is fine.
  const ConfigNode ok = load_ok("a: {x: 1}\nb: {x: 2}\n");
  EXPECT_EQ(at(at(ok, "b"), "x").str(), "2");
}

TEST(YamlLoader, MapKeysMustBeScalars) {
  Error e = load_error("? [a, b]\n: 1\n");
  EXPECT_EQ(e.code, Errc::kInvalidConfig);
  EXPECT_EQ(e.message, "t.yaml:1:3: expected a scalar map key, got a list");
  e = load_error("top:\n  ? {a: 1}\n  : 2\n");
  EXPECT_EQ(e.message, "t.yaml:2:5: top: expected a scalar map key, got a map");
}

TEST(YamlLoader, EnvironmentIsSubstitutedInEveryScalar) {
  const ConfigNode root = load_ok(
      "url: mqtt://${HOST}:${PORT}\n"
      "port: ${HTTP_PORT:-8080}\n"
      "price: $$5\n"
      "list: [\"${HOST}\", '${NOPE:-d}']\n"
      "${NOPE:-named}: key\n");
  EXPECT_EQ(at(root, "url").str(), "mqtt://broker.local:1883");
  EXPECT_EQ(where(at(root, "url")), "t.yaml:1:6");  // the mark is still the scalar's
  EXPECT_EQ(at(root, "port").str(), "8080");
  EXPECT_EQ(at(root, "price").str(), "$5");
  EXPECT_EQ(at(root, "list").items()[0].str(), "broker.local");
  EXPECT_EQ(at(root, "list").items()[1].str(), "d");
  EXPECT_EQ(at(root, "named").str(), "key");
}

TEST(YamlLoader, UnsetVariableErrorNamesFileLineAndVariable) {
  Error e = load_error(
      "sources:\n"
      "  plant:\n"
      "    url: mqtt://${BROKER_HOST}:1883\n");
  EXPECT_EQ(e.code, Errc::kInvalidConfig);
  EXPECT_EQ(e.message,
            "t.yaml:3:10: sources.plant.url: environment variable 'BROKER_HOST' is not set "
            "(use ${BROKER_HOST:-default} for a default)");
  e = load_error("a:\n  - ok\n  - ${MISSING}\n");
  EXPECT_EQ(e.message,
            "t.yaml:3:5: a[1]: environment variable 'MISSING' is not set (use ${MISSING:-default} for a default)");
  e = load_error("a: ${BAD\n");
  EXPECT_EQ(e.message, "t.yaml:1:4: a: unterminated '${' in '${BAD' (write $$ for a literal $)");
}

TEST(YamlLoader, TheProcessEnvironmentIsTheDefault) {
  ASSERT_EQ(setenv("EDGELOOP_YAML_TEST_VAR", "42", 1), 0);
  auto r = load_yaml_string("v: ${EDGELOOP_YAML_TEST_VAR}\n", "t.yaml");
  unsetenv("EDGELOOP_YAML_TEST_VAR");
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(at(*r, "v").str(), "42");
}

TEST(YamlLoader, AnchorsAndAliasesAreCopies) {
  const ConfigNode root = load_ok(
      "base: &b {size: 10, hop: 5}\n"
      "w: *b\n"
      "k: &name host\n"
      "*name : 7\n");
  const ConfigNode& w = at(root, "w");
  ASSERT_TRUE(w.is_map());
  EXPECT_EQ(where(w), "t.yaml:2:4");                     // the copy is marked at the alias
  EXPECT_EQ(where(at(w, "size")), "t.yaml:1:17");        // its children at the anchor
  EXPECT_EQ(at(w, "hop").str(), "5");
  EXPECT_EQ(at(root, "host").str(), "7");                 // an alias as a key
}

TEST(YamlLoader, AliasesFindAnchorsInOpenAndFinishedCollections) {
  const ConfigNode root = load_ok(
      "root:\n"
      "  list:\n"
      "    - &a {x: 1}\n"
      "    - *a\n"                 // its anchor's list is still open
      "    - nested: &b [1, &c 2]\n"
      "    - *b\n"
      "    - *c\n"
      "  later: *a\n"              // its anchor's list is finished
      "  deep: [[&d z]]\n"
      "  d2: *d\n"
      "k: *c\n");
  const ConfigNode& r = at(root, "root");
  const auto& list = at(r, "list").items();
  ASSERT_EQ(list.size(), 5u);
  EXPECT_EQ(at(list[1], "x").str(), "1");
  EXPECT_EQ(where(list[1]), "t.yaml:4:7");
  ASSERT_TRUE(list[3].is_sequence());
  ASSERT_EQ(list[3].items().size(), 2u);
  EXPECT_EQ(list[3].items()[1].str(), "2");
  EXPECT_EQ(list[4].str(), "2");
  EXPECT_EQ(where(list[4]), "t.yaml:7:7");
  EXPECT_EQ(at(at(r, "later"), "x").str(), "1");
  EXPECT_EQ(at(r, "d2").str(), "z");
  EXPECT_EQ(at(root, "k").str(), "2");
}

TEST(YamlLoader, NestedAnchorsDoNotMultiplyMemory) {
  // ~33k nodes under 50 nested anchors: kept as copies, that would be 50 times over.
  std::string text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 4; ++i) {
    const std::string prev = "*a" + std::to_string(i - 1);
    text += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [" + prev;
    for (int j = 1; j < 10; ++j) text += ", " + prev;
    text += "]\n";
  }
  text += "big: &big [*a3, *a3, *a3]\ny: ";
  for (int i = 0; i < 50; ++i) text += "&l" + std::to_string(i) + " [";
  text += "*big" + std::string(50, ']') + "\n";
  const ConfigNode root = load_ok(text);
  const ConfigNode* n = &at(root, "y");
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(n->is_sequence());
    ASSERT_EQ(n->items().size(), 1u);
    n = &n->items()[0];
  }
  ASSERT_EQ(n->items().size(), 3u);
  EXPECT_EQ(n->items()[2].items()[9].items()[9].items()[9].items()[9].str(), "x");
}

TEST(YamlLoader, AnAliasInsideItsOwnAnchorIsRejected) {
  Error e = load_error("a: &x [1, *x]\n");
  EXPECT_EQ(e.code, Errc::kInvalidConfig);
  EXPECT_EQ(e.message, "t.yaml:1:11: a[1]: alias refers to an anchor that encloses it");
}

TEST(YamlLoader, AliasExpansionIsBounded) {
  // "Billion laughs": each level doubles ten times over.
  std::string text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 9; ++i) {
    const std::string prev = "*a" + std::to_string(i - 1);
    text += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [" + prev;
    for (int j = 1; j < 10; ++j) text += ", " + prev;
    text += "]\n";
  }
  Error e = load_error(text);
  EXPECT_EQ(e.code, Errc::kTooLarge);
  EXPECT_NE(e.message.find("aliases expand to more than 100000 nodes or 16 MiB"), std::string::npos) << e.message;
  EXPECT_EQ(e.message.rfind("t.yaml:", 0), 0u) << e.message;
}

std::string nested_lists(int depth) { return std::string(static_cast<std::size_t>(depth), '[') + std::string(static_cast<std::size_t>(depth), ']'); }

TEST(YamlLoader, NestingDepthIsBounded) {
  const ConfigNode ok = load_ok(nested_lists(kMaxConfigDepth));
  EXPECT_TRUE(ok.is_sequence());
  Error e = load_error(nested_lists(kMaxConfigDepth + 1));
  EXPECT_EQ(e.code, Errc::kTooLarge);
  std::string path;
  for (int i = 0; i < kMaxConfigDepth; ++i) path += "[0]";
  EXPECT_EQ(e.message, "t.yaml:1:65: " + path + ": nesting deeper than 64 levels");
  // Far deeper than yaml-cpp's own recursion guard: an error, not a crash.
  e = load_error(nested_lists(100000));
  EXPECT_EQ(e.code, Errc::kTooLarge);
  // Block maps count the same way.
  std::string block;
  for (int i = 0; i < 70; ++i) block += std::string(static_cast<std::size_t>(i), ' ') + "k:\n";
  e = load_error(block);
  EXPECT_EQ(e.code, Errc::kTooLarge);
  EXPECT_NE(e.message.find("t.yaml:65:65: k.k."), std::string::npos) << e.message;
}

TEST(YamlLoader, DepthThroughAnAliasIsBounded) {
  YamlLoadOptions o = test_options();
  o.max_depth = 4;
  EXPECT_TRUE(load_yaml_string("a: &x [[1]]\nb: [*x]\n", "t.yaml", o).ok());  // depth 4
  Error e = load_error("a: &x [[1]]\nb: [[*x]]\n", o);
  EXPECT_EQ(e.code, Errc::kTooLarge);
  EXPECT_EQ(e.message, "t.yaml:2:6: b[0][0]: nesting deeper than 4 levels (through an alias)");
}

TEST(YamlLoader, InputSizeIsBounded) {
  YamlLoadOptions o = test_options();
  o.max_bytes = 16;
  EXPECT_TRUE(load_yaml_string("a: 0123456789ab\n", "t.yaml", o).ok());  // 16 bytes
  Error e = load_error("a: 0123456789abc\n", o);
  EXPECT_EQ(e.code, Errc::kTooLarge);
  EXPECT_EQ(e.message, "t.yaml: config is 17 bytes, over the limit of 16");
  e = load_error(std::string(kMaxConfigBytes + 1, '#'));
  EXPECT_EQ(e.code, Errc::kTooLarge);
  EXPECT_EQ(e.message, "t.yaml: config is 4194305 bytes, over the limit of 4194304");
}

TEST(YamlLoader, KeysPerMapAreBounded) {
  std::string text;
  for (std::size_t i = 0; i < kMaxMapKeys; ++i) text += "k" + std::to_string(i) + ": 1\n";
  auto r = load_yaml_string(text, "t.yaml", test_options());
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->entries().size(), kMaxMapKeys);
  text += "one_more: 1\n";
  Error e = load_error(text);
  EXPECT_EQ(e.code, Errc::kTooLarge);
  EXPECT_EQ(e.message, "t.yaml:10001:1: more than 10000 keys in one map");
}

class YamlFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("edgeloop_yaml_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  std::filesystem::path dir_;
};

TEST_F(YamlFileTest, LoadsAFileAndMarksItsPath) {
  const std::string path = write("c.yaml", "a:\n  b: 1\n");
  auto r = load_yaml_file(path, test_options());
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(where(at(at(*r, "a"), "b")), path + ":2:6");
}

TEST_F(YamlFileTest, ErrorsNameThePath) {
  const std::string missing = (dir_ / "nope.yaml").string();
  auto r = load_yaml_file(missing, test_options());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kNotFound);
  EXPECT_EQ(r.error().message, "cannot open config file '" + missing + "': No such file or directory");

  r = load_yaml_file(dir_.string(), test_options());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kIo);
  EXPECT_EQ(r.error().message, "cannot read config file '" + dir_.string() + "': Is a directory");

  const std::string bad = write("bad.yaml", "x: 1\nx: 2\n");
  r = load_yaml_file(bad, test_options());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, bad + ":2:1: duplicate key 'x' (first on line 1)");
}

TEST_F(YamlFileTest, AFileOverTheLimitIsRefused) {
  const std::string big = write("big.yaml", std::string(kMaxConfigBytes + 1, '#'));
  auto r = load_yaml_file(big, test_options());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kTooLarge);
  EXPECT_EQ(r.error().message, big + ": config file is over the limit of 4194304 bytes");
  const std::string exact = write("exact.yaml", std::string(kMaxConfigBytes, '#'));
  r = load_yaml_file(exact, test_options());
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_TRUE(r->is_null());
}

}  // namespace
}  // namespace edgeloop
