// Little-endian binary encoding for state snapshots: a writer that appends to a
// string and a bounds-checked reader that turns any truncation or corruption into a failed
// read (never a crash).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace edgeloop::state {

class ByteWriter {
 public:
  template <class T>
  void put(T v) {
    static_assert(std::is_arithmetic_v<T>);
    char b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));  // the targets are little-endian (x86-64, aarch64)
    out_.append(b, sizeof(T));
  }
  void str(std::string_view s) {
    put<uint64_t>(s.size());
    out_.append(s.data(), s.size());
  }
  template <class T>
  void vec(const std::vector<T>& v) {
    static_assert(std::is_arithmetic_v<T>);
    put<uint64_t>(v.size());
    if (!v.empty()) out_.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
  }
  std::string& out() { return out_; }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

class ByteReader {
 public:
  explicit ByteReader(std::string_view in) : in_(in) {}
  template <class T>
  T get() {
    static_assert(std::is_arithmetic_v<T>);
    T v{};
    if (!need(sizeof(T))) return v;
    std::memcpy(&v, in_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string str() {
    const auto n = get<uint64_t>();
    if (!need(n)) return {};
    std::string s(in_.substr(pos_, n));
    pos_ += n;
    return s;
  }
  // `max` bounds the element count (a corrupt length must not allocate gigabytes).
  template <class T>
  std::vector<T> vec(uint64_t max = uint64_t{1} << 26) {
    const auto n = get<uint64_t>();
    if (n > max || !need(n * sizeof(T))) {
      ok_ = false;
      return {};
    }
    std::vector<T> v(n);
    if (n) std::memcpy(v.data(), in_.data() + pos_, n * sizeof(T));
    pos_ += n * sizeof(T);
    return v;
  }
  bool ok() const { return ok_; }
  bool done() const { return pos_ == in_.size(); }
  void fail() { ok_ = false; }

 private:
  bool need(uint64_t n) {
    if (!ok_ || n > in_.size() - pos_) {
      ok_ = false;
      return false;
    }
    return true;
  }
  std::string_view in_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace edgeloop::state
