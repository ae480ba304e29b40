#include "rules/expression.h"

#include <charconv>
#include <cstdio>
#include <cmath>

namespace edgeloop {

namespace {

using Op = Expression::Op;
using Instr = Expression::Instr;

bool truthy(double v) { return v != 0.0 && v == v; }
double as_double(bool b) { return b ? 1.0 : 0.0; }
// Every comparison with a NaN operand is false, `!=` included (IEEE makes `!=` true).
double ne(double a, double b) { return as_double(a != b && a == a && b == b); }

bool is_ident_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_ident_char(char c) { return is_ident_start(c) || (c >= '0' && c <= '9') || c == '.'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

enum class Tok { kEnd, kNumber, kIdent, kLParen, kRParen, kComma, kPlus, kMinus, kStar, kSlash,
                 kLt, kLe, kGt, kGe, kEq, kNe, kAnd, kOr, kNot, kError };

struct Token {
  Tok kind = Tok::kEnd;
  std::size_t pos = 0;  // 0-based offset into the text
  std::string_view text;
  double number = 0;
};

// Stack effect of one instruction: pushes minus pops.
int stack_effect(Op op) {
  switch (op) {
    case Op::kConst: case Op::kField:
    case Op::kFieldLtConst: case Op::kFieldLeConst: case Op::kFieldGtConst:
    case Op::kFieldGeConst: case Op::kFieldEqConst: case Op::kFieldNeConst:
      return 1;
    case Op::kNeg: case Op::kNot: case Op::kAbs:
      return 0;
    default:
      return -1;  // the binary operators and min/max
  }
}

const char* op_name(Op op) {
  switch (op) {
    case Op::kConst: return "const";
    case Op::kField: return "field";
    case Op::kAdd: return "add";
    case Op::kSub: return "sub";
    case Op::kMul: return "mul";
    case Op::kDiv: return "div";
    case Op::kNeg: return "neg";
    case Op::kLt: return "lt";
    case Op::kLe: return "le";
    case Op::kGt: return "gt";
    case Op::kGe: return "ge";
    case Op::kEq: return "eq";
    case Op::kNe: return "ne";
    case Op::kAnd: return "and";
    case Op::kOr: return "or";
    case Op::kNot: return "not";
    case Op::kAbs: return "abs";
    case Op::kMin: return "min";
    case Op::kMax: return "max";
    case Op::kFieldLtConst: return "field_lt_const";
    case Op::kFieldLeConst: return "field_le_const";
    case Op::kFieldGtConst: return "field_gt_const";
    case Op::kFieldGeConst: return "field_ge_const";
    case Op::kFieldEqConst: return "field_eq_const";
    case Op::kFieldNeConst: return "field_ne_const";
  }
  return "?";
}

std::size_t max_stack_of(const std::vector<Instr>& code) {
  int depth = 0, most = 0;
  for (const Instr& in : code) {
    depth += stack_effect(in.op);
    if (depth > most) most = depth;
  }
  return static_cast<std::size_t>(most);
}

// `field <cmp> const` and `const <cmp> field` become one fused instruction. In postfix, a leaf
// followed by a leaf followed by a binary operator are always exactly that operator's operands.
void fuse(std::vector<Instr>& code) {
  std::vector<Instr> out;
  out.reserve(code.size());
  auto fused_op = [](Op cmp, bool flipped, Op& result) {
    switch (cmp) {
      case Op::kLt: result = flipped ? Op::kFieldGtConst : Op::kFieldLtConst; return true;
      case Op::kLe: result = flipped ? Op::kFieldGeConst : Op::kFieldLeConst; return true;
      case Op::kGt: result = flipped ? Op::kFieldLtConst : Op::kFieldGtConst; return true;
      case Op::kGe: result = flipped ? Op::kFieldLeConst : Op::kFieldGeConst; return true;
      case Op::kEq: result = Op::kFieldEqConst; return true;
      case Op::kNe: result = Op::kFieldNeConst; return true;
      default: return false;
    }
  };
  for (std::size_t i = 0; i < code.size(); ++i) {
    if (i + 2 < code.size()) {
      const Instr& a = code[i];
      const Instr& b = code[i + 1];
      Op f{};
      if (a.op == Op::kField && b.op == Op::kConst && fused_op(code[i + 2].op, false, f)) {
        out.push_back(Instr{f, a.index, b.value});
        i += 2;
        continue;
      }
      if (a.op == Op::kConst && b.op == Op::kField && fused_op(code[i + 2].op, true, f)) {
        out.push_back(Instr{f, b.index, a.value});
        i += 2;
        continue;
      }
    }
    out.push_back(code[i]);
  }
  code.swap(out);
}

}  // namespace

// Recursive descent over the grammar in README.md, emitting postfix code as it goes.
class ExpressionParser {
 public:
  ExpressionParser(std::string_view text, const Schema& schema) : text_(text), schema_(schema) {}

  Result<Expression> run() {
    if (text_.size() > Expression::kMaxLength) {
      return make_error(Errc::kTooLarge, "expression is " + std::to_string(text_.size()) +
                                             " characters long (at most " + std::to_string(Expression::kMaxLength) + ")");
    }
    next();
    if (tok_.kind == Tok::kEnd) return fail_at(0, "empty expression");
    if (!parse_or()) return std::move(error_);
    if (tok_.kind != Tok::kEnd) return fail_at(tok_.pos, "unexpected " + describe(tok_) + " after a complete expression");
    if (code_.size() > Expression::kMaxCode) {
      return make_error(Errc::kTooLarge, "expression too complex: " + std::to_string(code_.size()) +
                                             " instructions (at most " + std::to_string(Expression::kMaxCode) + ")");
    }
    fuse(code_);
    if (max_stack_of(code_) > Expression::kMaxStack) {
      return make_error(Errc::kTooLarge, "expression too complex: needs more than " +
                                             std::to_string(Expression::kMaxStack) + " stack slots");
    }
    Expression e;
    e.code_ = std::move(code_);
    e.text_ = std::string(text_);
    return e;
  }

 private:
  // --- errors ---
  Error fail_at(std::size_t pos, const std::string& msg) {
    return make_error(Errc::kInvalidArgument, "in '" + std::string(text_) + "' at column " + std::to_string(pos + 1) + ": " + msg);
  }
  bool fail(std::size_t pos, const std::string& msg) {
    if (!failed_) {
      error_ = fail_at(pos, msg);
      failed_ = true;
    }
    return false;
  }
  static std::string describe(const Token& t) {
    switch (t.kind) {
      case Tok::kEnd: return "end of expression";
      case Tok::kNumber: return "number '" + std::string(t.text) + "'";
      case Tok::kIdent: return "'" + std::string(t.text) + "'";
      default: return "'" + std::string(t.text) + "'";
    }
  }

  // --- lexer ---
  void next() {
    std::size_t i = pos_;
    while (i < text_.size() && (text_[i] == ' ' || text_[i] == '\t' || text_[i] == '\n' || text_[i] == '\r')) ++i;
    tok_ = Token{};
    tok_.pos = i;
    if (i >= text_.size()) {
      tok_.kind = Tok::kEnd;
      pos_ = i;
      return;
    }
    const char c = text_[i];
    auto single = [&](Tok k, std::size_t len) {
      tok_.kind = k;
      tok_.text = text_.substr(i, len);
      pos_ = i + len;
    };
    const char n = i + 1 < text_.size() ? text_[i + 1] : '\0';
    if (is_digit(c) || (c == '.' && is_digit(n))) return lex_number(i);
    if (is_ident_start(c)) {
      std::size_t j = i + 1;
      while (j < text_.size() && is_ident_char(text_[j])) ++j;
      const std::string_view word = text_.substr(i, j - i);
      Tok k = Tok::kIdent;
      if (word == "and") k = Tok::kAnd;
      else if (word == "or") k = Tok::kOr;
      else if (word == "not") k = Tok::kNot;
      return single(k, j - i);
    }
    switch (c) {
      case '(': return single(Tok::kLParen, 1);
      case ')': return single(Tok::kRParen, 1);
      case ',': return single(Tok::kComma, 1);
      case '+': return single(Tok::kPlus, 1);
      case '-': return single(Tok::kMinus, 1);
      case '*': return single(Tok::kStar, 1);
      case '/': return single(Tok::kSlash, 1);
      case '<': return n == '=' ? single(Tok::kLe, 2) : single(Tok::kLt, 1);
      case '>': return n == '=' ? single(Tok::kGe, 2) : single(Tok::kGt, 1);
      case '=': if (n == '=') return single(Tok::kEq, 2); break;
      case '!': return n == '=' ? single(Tok::kNe, 2) : single(Tok::kNot, 1);
      case '&': if (n == '&') return single(Tok::kAnd, 2); break;
      case '|': if (n == '|') return single(Tok::kOr, 2); break;
      default: break;
    }
    single(Tok::kError, 1);
  }

  void lex_number(std::size_t i) {
    std::size_t j = i;
    while (j < text_.size() && is_digit(text_[j])) ++j;
    if (j < text_.size() && text_[j] == '.') {
      ++j;
      while (j < text_.size() && is_digit(text_[j])) ++j;
    }
    if (j < text_.size() && (text_[j] == 'e' || text_[j] == 'E')) {
      std::size_t k = j + 1;
      if (k < text_.size() && (text_[k] == '+' || text_[k] == '-')) ++k;
      if (k < text_.size() && is_digit(text_[k])) {
        while (k < text_.size() && is_digit(text_[k])) ++k;
        j = k;
      }
    }
    tok_.kind = Tok::kNumber;
    tok_.text = text_.substr(i, j - i);
    pos_ = j;
    const char* b = text_.data() + i;
    const char* e = text_.data() + j;
    auto [p, ec] = std::from_chars(b, e, tok_.number);
    if (ec == std::errc::result_out_of_range) {
      tok_.number = HUGE_VAL;  // 1e999: saturate rather than refuse
    } else if (ec != std::errc() || p != e) {
      tok_.kind = Tok::kError;
    }
    // "3x" or "1e": a number glued to letters is a typo, not a number then a name.
    if (tok_.kind == Tok::kNumber && j < text_.size() && is_ident_start(text_[j])) tok_.kind = Tok::kError;
    if (tok_.kind == Tok::kError) {
      while (pos_ < text_.size() && is_ident_char(text_[pos_])) ++pos_;
      tok_.text = text_.substr(i, pos_ - i);
    }
  }

  // --- code ---
  void emit(Op op, uint16_t index = 0, double value = 0) { code_.push_back(Instr{op, index, value}); }

  bool enter(std::size_t pos) {
    if (++depth_ > Expression::kMaxDepth) {
      return fail(pos, "expression nested too deeply (at most " + std::to_string(Expression::kMaxDepth) + " levels)");
    }
    return true;
  }
  void leave() { --depth_; }

  // --- grammar ---
  bool parse_or() {
    if (!parse_and()) return false;
    while (tok_.kind == Tok::kOr) {
      next();
      if (!parse_and()) return false;
      emit(Op::kOr);
    }
    return true;
  }
  bool parse_and() {
    if (!parse_not()) return false;
    while (tok_.kind == Tok::kAnd) {
      next();
      if (!parse_not()) return false;
      emit(Op::kAnd);
    }
    return true;
  }
  bool parse_not() {
    if (tok_.kind == Tok::kNot) {
      if (!enter(tok_.pos)) return false;
      next();
      const bool ok = parse_not();
      leave();
      if (!ok) return false;
      emit(Op::kNot);
      return true;
    }
    return parse_cmp();
  }
  static bool cmp_op(Tok t, Op& op) {
    switch (t) {
      case Tok::kLt: op = Op::kLt; return true;
      case Tok::kLe: op = Op::kLe; return true;
      case Tok::kGt: op = Op::kGt; return true;
      case Tok::kGe: op = Op::kGe; return true;
      case Tok::kEq: op = Op::kEq; return true;
      case Tok::kNe: op = Op::kNe; return true;
      default: return false;
    }
  }
  bool parse_cmp() {
    if (!parse_add()) return false;
    Op op{};
    if (cmp_op(tok_.kind, op)) {
      next();
      if (!parse_add()) return false;
      emit(op);
      Op again{};
      if (cmp_op(tok_.kind, again)) {
        return fail(tok_.pos, "chained comparison '" + std::string(tok_.text) + "': write 'a < b and b < c'");
      }
    }
    return true;
  }
  bool parse_add() {
    if (!parse_mul()) return false;
    while (tok_.kind == Tok::kPlus || tok_.kind == Tok::kMinus) {
      const Op op = tok_.kind == Tok::kPlus ? Op::kAdd : Op::kSub;
      next();
      if (!parse_mul()) return false;
      emit(op);
    }
    return true;
  }
  bool parse_mul() {
    if (!parse_unary()) return false;
    while (tok_.kind == Tok::kStar || tok_.kind == Tok::kSlash) {
      const Op op = tok_.kind == Tok::kStar ? Op::kMul : Op::kDiv;
      next();
      if (!parse_unary()) return false;
      emit(op);
    }
    return true;
  }
  bool parse_unary() {
    if (tok_.kind == Tok::kMinus || tok_.kind == Tok::kPlus) {
      const bool minus = tok_.kind == Tok::kMinus;
      if (!enter(tok_.pos)) return false;
      next();
      const bool ok = parse_unary();
      leave();
      if (!ok) return false;
      if (minus) {
        // A negative literal is a constant, not a negation at run time.
        if (code_.back().op == Op::kConst) code_.back().value = -code_.back().value;
        else emit(Op::kNeg);
      }
      return true;
    }
    return parse_primary();
  }
  bool parse_primary() {
    const Token t = tok_;
    switch (t.kind) {
      case Tok::kNumber:
        emit(Op::kConst, 0, t.number);
        next();
        return true;
      case Tok::kLParen: {
        if (!enter(t.pos)) return false;
        next();
        if (!parse_or()) return false;
        leave();
        if (tok_.kind != Tok::kRParen) {
          return fail(tok_.pos, "expected ')' to close the '(' at column " + std::to_string(t.pos + 1) + ", got " + describe(tok_));
        }
        next();
        return true;
      }
      case Tok::kIdent:
        next();
        if (tok_.kind == Tok::kLParen) return parse_call(t);
        return parse_name(t);
      case Tok::kEnd:
        return fail(t.pos, "unexpected end of expression: expected a number, a field or '('");
      case Tok::kError:
        return fail(t.pos, "unexpected '" + std::string(t.text) + "'");
      default:
        return fail(t.pos, "unexpected " + describe(t) + ": expected a number, a field or '('");
    }
  }
  bool parse_name(const Token& t) {
    if (t.text == "true" || t.text == "false") {
      emit(Op::kConst, 0, t.text == "true" ? 1.0 : 0.0);
      return true;
    }
    const int idx = schema_.index_of(t.text);
    if (idx < 0) {
      std::string fields;
      for (const auto& n : schema_.names()) fields += (fields.empty() ? "" : ", ") + n;
      return fail(t.pos, "unknown field '" + std::string(t.text) + "' (fields: " + (fields.empty() ? "(none)" : fields) + ")");
    }
    if (static_cast<std::size_t>(idx) >= kMaxFields) {
      return fail(t.pos, "field '" + std::string(t.text) + "' is past the first " + std::to_string(kMaxFields) +
                             " values a record carries (it is only in the record's vector)");
    }
    emit(Op::kField, static_cast<uint16_t>(idx));
    return true;
  }
  bool parse_call(const Token& name) {
    Op op{};
    std::size_t arity = 0;
    if (name.text == "abs") { op = Op::kAbs; arity = 1; }
    else if (name.text == "min") { op = Op::kMin; arity = 2; }
    else if (name.text == "max") { op = Op::kMax; arity = 2; }
    else return fail(name.pos, "unknown function '" + std::string(name.text) + "' (functions: abs, min, max)");
    if (!enter(name.pos)) return false;
    next();  // '('
    std::size_t args = 0;
    if (tok_.kind != Tok::kRParen) {
      for (;;) {
        if (!parse_or()) return false;
        ++args;
        if (tok_.kind != Tok::kComma) break;
        next();
      }
    }
    leave();
    if (tok_.kind != Tok::kRParen) {
      return fail(tok_.pos, "expected ',' or ')' in the call of " + std::string(name.text) + "(), got " + describe(tok_));
    }
    next();
    if (args != arity) {
      return fail(name.pos, std::string(name.text) + "() takes " + std::to_string(arity) + " argument" +
                                (arity == 1 ? "" : "s") + ", got " + std::to_string(args));
    }
    emit(op);
    return true;
  }

  std::string_view text_;
  const Schema& schema_;
  std::size_t pos_ = 0;
  Token tok_;
  int depth_ = 0;
  std::vector<Instr> code_;
  Error error_;
  bool failed_ = false;
};

Result<Expression> Expression::compile(std::string_view text, const Schema& schema) {
  return ExpressionParser(text, schema).run();
}

Expression Expression::negated() const {
  Expression e = *this;
  e.code_.push_back(Instr{Op::kNot, 0, 0});
  e.text_ = "not (" + text_ + ")";
  return e;
}

double Expression::eval(const double* fields) const {
  double st[kMaxStack];
  std::size_t sp = 0;  // next free slot; compile() bounds it by kMaxStack
  for (const Instr& in : code_) {
    switch (in.op) {
      case Op::kConst: st[sp++] = in.value; break;
      case Op::kField: st[sp++] = fields[in.index]; break;
      case Op::kAdd: --sp; st[sp - 1] = st[sp - 1] + st[sp]; break;
      case Op::kSub: --sp; st[sp - 1] = st[sp - 1] - st[sp]; break;
      case Op::kMul: --sp; st[sp - 1] = st[sp - 1] * st[sp]; break;
      case Op::kDiv: --sp; st[sp - 1] = st[sp - 1] / st[sp]; break;
      case Op::kNeg: st[sp - 1] = -st[sp - 1]; break;
      case Op::kLt: --sp; st[sp - 1] = as_double(st[sp - 1] < st[sp]); break;
      case Op::kLe: --sp; st[sp - 1] = as_double(st[sp - 1] <= st[sp]); break;
      case Op::kGt: --sp; st[sp - 1] = as_double(st[sp - 1] > st[sp]); break;
      case Op::kGe: --sp; st[sp - 1] = as_double(st[sp - 1] >= st[sp]); break;
      case Op::kEq: --sp; st[sp - 1] = as_double(st[sp - 1] == st[sp]); break;
      case Op::kNe: --sp; st[sp - 1] = ne(st[sp - 1], st[sp]); break;
      case Op::kAnd: --sp; st[sp - 1] = as_double(truthy(st[sp - 1]) && truthy(st[sp])); break;
      case Op::kOr: --sp; st[sp - 1] = as_double(truthy(st[sp - 1]) || truthy(st[sp])); break;
      case Op::kNot: st[sp - 1] = as_double(!truthy(st[sp - 1])); break;
      case Op::kAbs: st[sp - 1] = std::fabs(st[sp - 1]); break;
      case Op::kMin: --sp; st[sp - 1] = std::fmin(st[sp - 1], st[sp]); break;
      case Op::kMax: --sp; st[sp - 1] = std::fmax(st[sp - 1], st[sp]); break;
      case Op::kFieldLtConst: st[sp++] = as_double(fields[in.index] < in.value); break;
      case Op::kFieldLeConst: st[sp++] = as_double(fields[in.index] <= in.value); break;
      case Op::kFieldGtConst: st[sp++] = as_double(fields[in.index] > in.value); break;
      case Op::kFieldGeConst: st[sp++] = as_double(fields[in.index] >= in.value); break;
      case Op::kFieldEqConst: st[sp++] = as_double(fields[in.index] == in.value); break;
      case Op::kFieldNeConst: st[sp++] = ne(fields[in.index], in.value); break;
    }
  }
  return sp ? st[0] : std::nan("");
}

std::string Expression::disassemble() const {
  std::string s;
  char buf[64];
  for (const Instr& in : code_) {
    if (!s.empty()) s += "; ";
    s += op_name(in.op);
    switch (in.op) {
      case Op::kConst:
        std::snprintf(buf, sizeof buf, " %g", in.value);
        s += buf;
        break;
      case Op::kField:
        s += " " + std::to_string(in.index);
        break;
      case Op::kFieldLtConst: case Op::kFieldLeConst: case Op::kFieldGtConst:
      case Op::kFieldGeConst: case Op::kFieldEqConst: case Op::kFieldNeConst:
        std::snprintf(buf, sizeof buf, " %u %g", static_cast<unsigned>(in.index), in.value);
        s += buf;
        break;
      default:
        break;
    }
  }
  return s;
}

std::string Expression::canonical(const Schema& schema) const {
  std::string s;
  char buf[64];
  auto field = [&](uint16_t i) { return i < schema.size() ? schema.name(i) : "#" + std::to_string(i); };
  for (const Instr& in : code_) {
    if (!s.empty()) s += "; ";
    s += op_name(in.op);
    switch (in.op) {
      case Op::kConst:
        std::snprintf(buf, sizeof buf, " %.17g", in.value);
        s += buf;
        break;
      case Op::kField:
        s += " " + field(in.index);
        break;
      case Op::kFieldLtConst: case Op::kFieldLeConst: case Op::kFieldGtConst:
      case Op::kFieldGeConst: case Op::kFieldEqConst: case Op::kFieldNeConst:
        std::snprintf(buf, sizeof buf, " %.17g", in.value);
        s += " " + field(in.index) + buf;
        break;
      default:
        break;
    }
  }
  return s;
}

}  // namespace edgeloop
