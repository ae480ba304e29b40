#include "rules/expression.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace edgeloop {
namespace {

const Schema kSchema({"a", "b", "c", "mean", "line.temp"});

double ev(std::string_view text, std::array<double, 5> f = {1, 2, 3, 80, -4}) {
  auto e = Expression::compile(text, kSchema);
  EXPECT_TRUE(e.ok()) << text << ": " << e.error().message;
  return e.ok() ? e->eval(f.data()) : std::nan("");
}

std::string err(std::string_view text) {
  auto e = Expression::compile(text, kSchema);
  return e.ok() ? "ok" : e.error().message;
}

TEST(Expression, ArithmeticPrecedenceAndAssociativity) {
  EXPECT_EQ(ev("1 + 2 * 3"), 7);
  EXPECT_EQ(ev("(1 + 2) * 3"), 9);
  EXPECT_EQ(ev("2 - 3 - 4"), -5);
  EXPECT_EQ(ev("8 / 4 / 2"), 1);
  EXPECT_EQ(ev("-2 * 3"), -6);
  EXPECT_EQ(ev("- - 2"), 2);
  EXPECT_EQ(ev("+2 - -a"), 3);
  EXPECT_EQ(ev("-(a + b) * c"), -9);
  EXPECT_EQ(ev("a + b * c - mean / 4"), -13);
  EXPECT_EQ(ev("line.temp * 2"), -8);
}

TEST(Expression, Numbers) {
  EXPECT_EQ(ev("1e3"), 1000);
  EXPECT_EQ(ev(".5"), 0.5);
  EXPECT_EQ(ev("2.5e-1"), 0.25);
  EXPECT_EQ(ev("1E+2"), 100);
  EXPECT_EQ(ev("007"), 7);
  EXPECT_EQ(ev("3."), 3);
  EXPECT_EQ(ev("1e999"), std::numeric_limits<double>::infinity());
}

TEST(Expression, ComparisonsAndLogic) {
  EXPECT_EQ(ev("mean > 80"), 0);
  EXPECT_EQ(ev("mean >= 80"), 1);
  EXPECT_EQ(ev("mean < 80"), 0);
  EXPECT_EQ(ev("mean <= 80"), 1);
  EXPECT_EQ(ev("mean == 80"), 1);
  EXPECT_EQ(ev("mean != 80"), 0);
  EXPECT_EQ(ev("80 < mean"), 0);  // constant on the left (fused, flipped)
  EXPECT_EQ(ev("81 > mean"), 1);
  EXPECT_EQ(ev("a + 1 == b"), 1);  // arithmetic binds tighter than comparison
  // or < and < not < comparison.
  EXPECT_EQ(ev("a > 0 or b > 5 and c > 5"), 1);
  EXPECT_EQ(ev("(a > 0 or b > 5) and c > 5"), 0);
  EXPECT_EQ(ev("not a > 5"), 1);
  EXPECT_EQ(ev("not a > 0 and b > 0"), 0);
  EXPECT_EQ(ev("not not a"), 1);
  EXPECT_EQ(ev("a > 0 && b > 0 || c < 0"), 1);
  EXPECT_EQ(ev("!(a > 0)"), 0);
  EXPECT_EQ(ev("! a"), 0);
  EXPECT_EQ(ev("a and 0"), 0);
  EXPECT_EQ(ev("0 or c"), 1);
  EXPECT_EQ(ev("true and not false"), 1);
}

TEST(Expression, Functions) {
  EXPECT_EQ(ev("abs(line.temp)"), 4);
  EXPECT_EQ(ev("abs(-3 - 4)"), 7);
  EXPECT_EQ(ev("min(a, b) + max(b, c)"), 4);
  EXPECT_EQ(ev("max(min(a, b), abs(line.temp)) * 2"), 8);
  EXPECT_EQ(ev("max(a, 0 / 0)"), 1);  // fmax: a NaN argument is ignored
}

TEST(Expression, NaNAndDivisionByZero) {
  const double nan = std::nan("");
  EXPECT_EQ(ev("a / 0"), std::numeric_limits<double>::infinity());
  EXPECT_TRUE(std::isnan(ev("0 / 0")));
  // Every comparison with NaN is false, != included.
  for (const char* t : {"a < 1", "a <= 1", "a > 1", "a >= 1", "a == 1", "a != 1", "1 != a", "a != a", "a < b"}) {
    EXPECT_EQ(ev(t, {nan, 2, 3, 4, 5}), 0) << t;
  }
  EXPECT_EQ(ev("not (a > 1)", {nan, 2, 3, 4, 5}), 1);
  auto e = Expression::compile("a / b", kSchema);
  ASSERT_TRUE(e.ok());
  double f0[5] = {0, 0, 0, 0, 0};
  double f1[5] = {3, 2, 0, 0, 0};
  EXPECT_FALSE(e->test(f0));  // NaN is not true
  EXPECT_TRUE(e->test(f1));
}

TEST(Expression, CompilesToCompactPostfix) {
  auto e = Expression::compile("mean > 80", kSchema);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->disassemble(), "field_gt_const 3 80");
  auto n = e->negated();
  EXPECT_EQ(n.disassemble(), "field_gt_const 3 80; not");
  EXPECT_EQ(n.text(), "not (mean > 80)");
  auto f = Expression::compile("(a + -2) * b >= 10 or c < 1", kSchema);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->disassemble(), "field 0; const -2; add; field 1; mul; const 10; ge; field_lt_const 2 1; or");
}

TEST(Expression, ErrorsNameTheColumn) {
  EXPECT_EQ(err("mean > "), "in 'mean > ' at column 8: unexpected end of expression: expected a number, a field or '('");
  EXPECT_EQ(err("temp > 80"), "in 'temp > 80' at column 1: unknown field 'temp' (fields: a, b, c, mean, line.temp)");
  EXPECT_EQ(err("a > 1 and tmp < 2"), "in 'a > 1 and tmp < 2' at column 11: unknown field 'tmp' (fields: a, b, c, mean, line.temp)");
  EXPECT_EQ(err("(a + 1"), "in '(a + 1' at column 7: expected ')' to close the '(' at column 1, got end of expression");
  EXPECT_EQ(err("a $ 1"), "in 'a $ 1' at column 3: unexpected '$' after a complete expression");
  EXPECT_EQ(err("a > $"), "in 'a > $' at column 5: unexpected '$'");
  EXPECT_EQ(err("a b"), "in 'a b' at column 3: unexpected 'b' after a complete expression");
  EXPECT_EQ(err("sqrt(a)"), "in 'sqrt(a)' at column 1: unknown function 'sqrt' (functions: abs, min, max)");
  EXPECT_EQ(err("max(a)"), "in 'max(a)' at column 1: max() takes 2 arguments, got 1");
  EXPECT_EQ(err("abs(a, b)"), "in 'abs(a, b)' at column 1: abs() takes 1 argument, got 2");
  EXPECT_EQ(err("min(a b)"), "in 'min(a b)' at column 7: expected ',' or ')' in the call of min(), got 'b'");
  EXPECT_EQ(err("1 < a < 3"), "in '1 < a < 3' at column 7: chained comparison '<': write 'a < b and b < c'");
  EXPECT_EQ(err("3x > 1"), "in '3x > 1' at column 1: unexpected '3x'");
  EXPECT_EQ(err("1e > 1"), "in '1e > 1' at column 1: unexpected '1e'");
  EXPECT_EQ(err("a = 1"), "in 'a = 1' at column 3: unexpected '=' after a complete expression");
  EXPECT_EQ(err(""), "in '' at column 1: empty expression");
  EXPECT_EQ(err("   "), "in '   ' at column 1: empty expression");
  EXPECT_EQ(err("()"), "in '()' at column 2: unexpected ')': expected a number, a field or '('");
}

TEST(Expression, BoundsLengthDepthAndStack) {
  const std::string deep = std::string(70, '(') + "a" + std::string(70, ')');
  EXPECT_NE(err(deep).find("at column 65: expression nested too deeply (at most 64 levels)"), std::string::npos) << err(deep);
  const std::string ok_depth = std::string(60, '(') + "a" + std::string(60, ')');
  EXPECT_EQ(err(ok_depth), "ok");
  EXPECT_NE(err(std::string(100, '-') + "a").find("nested too deeply"), std::string::npos);
  EXPECT_NE(err(std::string(100, '!') + "a").find("nested too deeply"), std::string::npos);
  std::string long_text = "a";
  while (long_text.size() <= Expression::kMaxLength) long_text += " + a";
  auto e = Expression::compile(long_text, kSchema);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().code, Errc::kTooLarge);
  // Right-nested operands need a stack slot each: bounded too.
  std::string right = "a";
  for (int i = 0; i < 40; ++i) right = "a + b * (" + right + ")";
  auto r = Expression::compile(right, kSchema);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kTooLarge);
  EXPECT_NE(r.error().message.find("stack slots"), std::string::npos);
  // A long flat expression is fine: its stack stays shallow.
  std::string flat = "a";
  for (int i = 0; i < 200; ++i) flat += " + b";
  EXPECT_EQ(ev(flat), 401);
}

}  // namespace
}  // namespace edgeloop
