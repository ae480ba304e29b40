// Arithmetic and boolean expressions over the fields of a Record ("mean > 80 and max < 120"),
// compiled once against a Schema to postfix bytecode and evaluated on a fixed stack of doubles:
// no allocation, no branches on names, at evaluation time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/record.h"
#include "core/result.h"

namespace edgeloop {

class Expression {
 public:
  static constexpr std::size_t kMaxLength = 4096;  // characters of source text
  static constexpr int kMaxDepth = 64;             // nesting of parentheses, unary operators, calls
  static constexpr std::size_t kMaxStack = 64;     // evaluation stack slots
  static constexpr std::size_t kMaxCode = 1024;    // instructions

  Expression() = default;

  // Compiles `text`; identifiers are the field names of `schema`. Errors (kInvalidArgument,
  // or kTooLarge past the bounds above) name the 1-based column of the offending token.
  static Result<Expression> compile(std::string_view text, const Schema& schema);

  // The value of the expression for one record's fields (indexed as in the schema). Booleans
  // are 1.0 and 0.0.
  double eval(const double* fields) const;
  // eval() taken as a condition: true when the value is neither 0 nor NaN.
  bool test(const double* fields) const {
    const double v = eval(fields);
    return v != 0.0 && v == v;
  }

  // `not (this)`, without reparsing.
  Expression negated() const;

  const std::string& text() const { return text_; }
  bool empty() const { return code_.empty(); }
  // The bytecode in words ("field 0; const 80; gt"), for tests and error reports.
  std::string disassemble() const;
  // The bytecode with fields by name and constants exact ("field_gt_const mean 80"): equal for
  // two texts that compile to the same computation (spacing, redundant parentheses), whatever
  // the fields' places in `schema` (the schema it was compiled against). State snapshots use
  // it to tell whether a rule's condition changed.
  std::string canonical(const Schema& schema) const;

  enum class Op : uint8_t {
    kConst, kField,
    kAdd, kSub, kMul, kDiv, kNeg,
    kLt, kLe, kGt, kGe, kEq, kNe,
    kAnd, kOr, kNot,
    kAbs, kMin, kMax,
    // Fused `field <cmp> const` (the shape of most rules): one instruction, no stack traffic.
    kFieldLtConst, kFieldLeConst, kFieldGtConst, kFieldGeConst, kFieldEqConst, kFieldNeConst,
  };
  struct Instr {
    Op op = Op::kConst;
    uint16_t index = 0;  // field index for kField and the fused comparisons
    double value = 0;    // constant for kConst and the fused comparisons
  };

 private:
  friend class ExpressionParser;

  std::vector<Instr> code_;
  std::string text_;
};

}  // namespace edgeloop
