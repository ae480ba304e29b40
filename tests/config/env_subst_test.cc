#include "config/env_subst.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>

namespace edgeloop {
namespace {

EnvLookup fake_env() {
  static const std::map<std::string, std::string> kVars = {{"HOST", "broker.local"}, {"PORT", "1883"}, {"EMPTY", ""}};
  return [](const std::string& name) -> std::optional<std::string> {
    auto it = kVars.find(name);
    if (it == kVars.end()) return std::nullopt;
    return it->second;
  };
}

std::string subst(std::string_view text) {
  auto r = substitute_env(text, fake_env());
  EXPECT_TRUE(r.ok()) << text << ": " << r.error().message;
  return r.ok() ? *r : std::string("<error>");
}

std::string subst_error(std::string_view text) {
  auto r = substitute_env(text, fake_env());
  EXPECT_FALSE(r.ok()) << text << " gave '" << (r.ok() ? *r : "") << "'";
  if (r.ok()) return "<ok>";
  EXPECT_EQ(r.error().code, Errc::kInvalidConfig);
  return r.error().message;
}

TEST(EnvSubst, TextWithoutDollarIsUnchanged) {
  EXPECT_EQ(subst(""), "");
  EXPECT_EQ(subst("plain {text} here"), "plain {text} here");
}

TEST(EnvSubst, VariablesAreReplaced) {
  EXPECT_EQ(subst("${HOST}"), "broker.local");
  EXPECT_EQ(subst("mqtt://${HOST}:${PORT}/x"), "mqtt://broker.local:1883/x");
  EXPECT_EQ(subst("${EMPTY}"), "");  // set but empty is a value
}

TEST(EnvSubst, DefaultsApplyWhenUnsetOrEmpty) {
  EXPECT_EQ(subst("${NOPE:-8080}"), "8080");
  EXPECT_EQ(subst("${EMPTY:-fallback}"), "fallback");
  EXPECT_EQ(subst("${PORT:-9999}"), "1883");
  EXPECT_EQ(subst("${NOPE:-}"), "");
  EXPECT_EQ(subst("${NOPE:-a:b-c $x}"), "a:b-c $x");  // the default is literal
  EXPECT_EQ(subst("<${NOPE:-1}|${HOST:-2}>"), "<1|broker.local>");
}

TEST(EnvSubst, DoubleDollarIsALiteralDollar) {
  EXPECT_EQ(subst("$$"), "$");
  EXPECT_EQ(subst("cost $$5"), "cost $5");
  EXPECT_EQ(subst("$${HOST}"), "${HOST}");
  EXPECT_EQ(subst("$$$${HOST}"), "$${HOST}");
  EXPECT_EQ(subst("$$${HOST}"), "$broker.local");
}

TEST(EnvSubst, OtherDollarsAreKept) {
  EXPECT_EQ(subst("$5"), "$5");
  EXPECT_EQ(subst("a$b"), "a$b");
  EXPECT_EQ(subst("end$"), "end$");
  EXPECT_EQ(subst("$HOST"), "$HOST");  // only the braced form substitutes
}

TEST(EnvSubst, UnsetVariableIsAnErrorNamingIt) {
  EXPECT_EQ(subst_error("x ${MISSING_VAR} y"),
            "environment variable 'MISSING_VAR' is not set (use ${MISSING_VAR:-default} for a default)");
}

TEST(EnvSubst, MalformedReferencesAreErrors) {
  EXPECT_EQ(subst_error("${HOST"), "unterminated '${' in '${HOST' (write $$ for a literal $)");
  EXPECT_EQ(subst_error("${}"),
            "bad variable reference '${}' (expected ${NAME} or ${NAME:-default}, NAME of A-Z a-z 0-9 _)");
  EXPECT_EQ(subst_error("${1ABC}"),
            "bad variable reference '${1ABC}' (expected ${NAME} or ${NAME:-default}, NAME of A-Z a-z 0-9 _)");
  EXPECT_EQ(subst_error("${HOST-x}"),
            "bad variable reference '${HOST-x}' (expected ${NAME} or ${NAME:-default}, NAME of A-Z a-z 0-9 _)");
  EXPECT_EQ(subst_error("${HOST:?x}"),
            "bad variable reference '${HOST:?x}' (expected ${NAME} or ${NAME:-default}, NAME of A-Z a-z 0-9 _)");
}

TEST(EnvSubst, NoLookupMeansEverythingUnset) {
  auto r = substitute_env("${A:-d}", EnvLookup());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "d");
  EXPECT_FALSE(substitute_env("${A}", EnvLookup()).ok());
}

TEST(EnvSubst, ProcessEnvReadsTheEnvironment) {
  ASSERT_EQ(setenv("EDGELOOP_CONFIG_TEST_VAR", "from-env", 1), 0);
  auto r = substitute_env("${EDGELOOP_CONFIG_TEST_VAR}", process_env());
  unsetenv("EDGELOOP_CONFIG_TEST_VAR");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "from-env");
  EXPECT_FALSE(substitute_env("${EDGELOOP_CONFIG_TEST_VAR}", process_env()).ok());
}

}  // namespace
}  // namespace edgeloop
