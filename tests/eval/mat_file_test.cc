// The MAT-file reader: the real CWRU files (shapes, classes, values, rpm), files built here
// byte by byte (both byte orders, the small element format, compressed variables, skipped
// classes), a file written by scipy.io.savemat with compression, and truncated or corrupt
// input, which must give an Error and never crash.
#include "eval/mat_file.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "eval/text_io.h"

namespace edgeloop::eval {
namespace {

const std::string kCwru = std::string(EDGELOOP_SOURCE_DIR) + "/../shared/data/cwru";

// Writes MAT level-5 elements in either byte order.
class MatWriter {
 public:
  explicit MatWriter(bool big_endian) : big_(big_endian) {}

  std::string u32(uint32_t v) const { return bytes(&v, 4); }
  std::string i32(int32_t v) const { return bytes(&v, 4); }
  std::string f64(double v) const { return bytes(&v, 8); }
  std::string i16(int16_t v) const { return bytes(&v, 2); }

  // A data element: tag, payload, padding to 8 (none for compressed ones).
  std::string element(uint32_t type, const std::string& payload) const {
    std::string e = u32(type) + u32(static_cast<uint32_t>(payload.size())) + payload;
    if (type != 15) e.append((8 - payload.size() % 8) % 8, '\0');
    return e;
  }
  // The small element format: up to 4 bytes in the tag.
  std::string small(uint32_t type, const std::string& payload) const {
    std::string e = u32((static_cast<uint32_t>(payload.size()) << 16) | type) + payload;
    e.append(8 - e.size(), '\0');
    return e;
  }
  std::string matrix(uint32_t cls, std::vector<int32_t> dims, const std::string& name, const std::string& data,
                     uint32_t flag_bits = 0) const {
    std::string dims_payload;
    for (int32_t d : dims) dims_payload += i32(d);
    std::string body = element(6, u32(cls | flag_bits) + u32(0)) + element(5, dims_payload) +
                       (name.size() <= 4 ? small(1, name) : element(1, name)) + data;
    return element(14, body);
  }
  std::string header(const std::string& text) const {
    std::string h = text;
    h.resize(116, ' ');
    h.append(8, '\0');
    uint16_t version = 0x0100;
    h += bytes(&version, 2);
    h += big_ ? "MI" : "IM";
    return h;
  }

 private:
  std::string bytes(const void* p, std::size_t n) const {
    std::string s(static_cast<const char*>(p), n);
    if (big_) std::reverse(s.begin(), s.end());
    return s;
  }
  bool big_;
};

// A file of three variables: a 2x3 double matrix, an int16 vector (small name), a char array.
struct Built {
  std::string bytes;
  std::vector<std::size_t> boundaries;  // where each variable ends (and the header)
};

Built build_file(bool big_endian) {
  const MatWriter w(big_endian);
  std::string doubles;
  for (double v : {1.5, 4.0, 2.0, 5.0, 3.0, -6.25}) doubles += w.f64(v);  // column-major [[1.5 2 3];[4 5 -6.25]]
  std::string shorts;
  for (int16_t v : {int16_t{-3}, int16_t{7}, int16_t{32767}}) shorts += w.i16(v);
  std::string chars;
  for (char c : std::string("hi"))
    chars += std::string(1, '\0') + c;  // UTF-16 (big-endian order for the test's purpose)
  const std::string vars[3] = {w.matrix(6, {2, 3}, "speed_DE", w.element(9, doubles)),
                               w.matrix(10, {1, 3}, "rpm", w.element(3, shorts)),
                               w.matrix(4, {1, 2}, "label", w.element(17, chars))};
  Built b;
  b.bytes = w.header("MATLAB 5.0 MAT-file, written by mat_file_test");
  b.boundaries.push_back(b.bytes.size());
  for (const auto& v : vars) {
    b.bytes += v;
    b.boundaries.push_back(b.bytes.size());
  }
  return b;
}

void expect_built(const MatFile& f) {
  EXPECT_EQ(f.header, "MATLAB 5.0 MAT-file, written by mat_file_test");
  ASSERT_EQ(f.arrays.size(), 2u);
  const MatArray& a = f.arrays[0];
  EXPECT_EQ(a.name, "speed_DE");
  EXPECT_EQ(a.class_name, "double");
  EXPECT_EQ(a.dims, (std::vector<std::size_t>{2, 3}));
  EXPECT_EQ(a.rows(), 2u);
  EXPECT_EQ(a.cols(), 3u);
  EXPECT_EQ(a.data, (std::vector<double>{1.5, 4.0, 2.0, 5.0, 3.0, -6.25}));
  const MatArray& r = f.arrays[1];
  EXPECT_EQ(r.name, "rpm");
  EXPECT_EQ(r.class_name, "int16");
  EXPECT_EQ(r.data, (std::vector<double>{-3, 7, 32767}));
  EXPECT_EQ(f.skipped, (std::vector<std::string>{"label"}));
  EXPECT_EQ(f.find("rpm"), &f.arrays[1]);
  EXPECT_EQ(f.find("label"), nullptr);
  auto not_scalar = f.scalar("rpm");
  ASSERT_FALSE(not_scalar.ok());
  EXPECT_EQ(not_scalar.error().code, Errc::kTypeMismatch);
  EXPECT_EQ(f.scalar("nope").error().code, Errc::kNotFound);
}

TEST(MatFile, ReadsBothByteOrdersAndTheSmallElementFormat) {
  for (bool big : {false, true}) {
    SCOPED_TRACE(big ? "big-endian" : "little-endian");
    const Built b = build_file(big);
    auto f = parse_mat(b.bytes, "built.mat");
    ASSERT_TRUE(f.ok()) << f.error().message;
    expect_built(*f);
  }
}

TEST(MatFile, DecodesOnlyTheWantedArrays) {
  const Built b = build_file(false);
  auto f = parse_mat(b.bytes, "built.mat", {"rpm"});
  ASSERT_TRUE(f.ok()) << f.error().message;
  ASSERT_EQ(f->arrays.size(), 1u);
  EXPECT_EQ(f->arrays[0].name, "rpm");
}

TEST(MatFile, SkipsComplexArrays) {
  const MatWriter w(false);
  const std::string data = w.element(9, w.f64(1) + w.f64(2)) + w.element(9, w.f64(3) + w.f64(4));
  const std::string file =
      w.header("complex") + w.matrix(6, {1, 2}, "z", data, 0x0800) + w.matrix(6, {1, 1}, "one", w.element(9, w.f64(1)));
  auto f = parse_mat(file, "complex.mat");
  ASSERT_TRUE(f.ok()) << f.error().message;
  ASSERT_EQ(f->arrays.size(), 1u);
  EXPECT_EQ(f->skipped, (std::vector<std::string>{"z"}));
  EXPECT_EQ(*f->scalar("one"), 1.0);
}

TEST(MatFile, InflatesCompressedVariables) {
  const MatWriter w(false);
  const Built plain = build_file(false);
  // Each variable compressed on its own, as MATLAB 7 writes them.
  std::string file = plain.bytes.substr(0, 128);
  for (std::size_t v = 0; v + 1 < plain.boundaries.size(); ++v) {
    const std::string raw = plain.bytes.substr(plain.boundaries[v], plain.boundaries[v + 1] - plain.boundaries[v]);
    uLongf n = compressBound(static_cast<uLong>(raw.size()));
    std::string z(n, '\0');
    ASSERT_EQ(compress(reinterpret_cast<Bytef*>(z.data()), &n, reinterpret_cast<const Bytef*>(raw.data()),
                       static_cast<uLong>(raw.size())),
              Z_OK);
    z.resize(n);
    file += w.element(15, z);
  }
  auto f = parse_mat(file, "compressed.mat");
  ASSERT_TRUE(f.ok()) << f.error().message;
  expect_built(*f);
  // Past the inflate bound: kTooLarge.
  MatLimits tight;
  tight.max_inflated = 64;
  auto big = parse_mat(file, "compressed.mat", {}, tight);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.error().code, Errc::kTooLarge);
  // A corrupt stream: kParse.
  std::string bad = file;
  for (std::size_t i = 128 + 8 + 2; i < 128 + 8 + 12; ++i) bad[i] = static_cast<char>(bad[i] ^ 0x5a);
  auto corrupt = parse_mat(bad, "bad.mat");
  ASSERT_FALSE(corrupt.ok());
  EXPECT_EQ(corrupt.error().code, Errc::kParse);
}

// scipy.io.savemat({'a': [[1.5,2,3],[4,5,-6.25]], 'n': np.uint16(7), 's': 'text',
// 'x': np.arange(5, dtype=np.int32)}, do_compression=True), scipy 1.10.1.
TEST(MatFile, ReadsAFileThatScipyCompressed) {
  const char* hex =
      "4d41544c414220352e30204d41542d66696c6520506c6174666f726d3a20706f7369782c2043726561746564206f6e3a"
      "20576564204e6f762032352031363a35353a333020323032360000000000000000000000000000000000000000000000"
      "000000000000000000000000000000000000000000000000000000000001494d0f00000038000000789ce36360604800"
      "623620e680d220c00ae533013133103302612290e60462030618f8610fa1051ca002505a044a734069c90300a797046d"
      "0f00000027000000789ce36360603000623620e600626e06086085f219e19891210f48b3303031b0036900187a00e40f"
      "00000028000000789ce36360603000623620e600621606086085f219a1628c40580ca40580bc92d48a12001c8d02b10f"
      "0000002e000000789ce3636060f000623620e600621e06086085f219a16c4620ac80b245a06a40724c40cc0cc42c5031"
      "00391a0121";
  std::string bytes;
  for (std::size_t i = 0; hex[i] && hex[i + 1]; i += 2)
    bytes += static_cast<char>(std::stoi(std::string(hex + i, 2), nullptr, 16));
  ASSERT_EQ(bytes.size(), 341u);
  auto f = parse_mat(bytes, "scipy.mat");
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(f->header, "MATLAB 5.0 MAT-file Platform: posix, Created on: Wed Nov 25 16:55:30 2026");
  ASSERT_EQ(f->arrays.size(), 3u);
  EXPECT_EQ(f->arrays[0].name, "a");
  EXPECT_EQ(f->arrays[0].dims, (std::vector<std::size_t>{2, 3}));
  EXPECT_EQ(f->arrays[0].data, (std::vector<double>{1.5, 4, 2, 5, 3, -6.25}));
  EXPECT_EQ(f->arrays[1].class_name, "uint16");
  EXPECT_EQ(*f->scalar("n"), 7.0);
  EXPECT_EQ(f->arrays[2].name, "x");
  EXPECT_EQ(f->arrays[2].class_name, "int32");
  EXPECT_EQ(f->arrays[2].data, (std::vector<double>{0, 1, 2, 3, 4}));
  EXPECT_EQ(f->skipped, (std::vector<std::string>{"s"}));
}

// Every prefix of a file: whole variables parse (with fewer arrays), anything else is kParse.
TEST(MatFile, EveryTruncationIsAnErrorUnlessItEndsAtAVariable) {
  for (bool big : {false, true}) {
    const Built b = build_file(big);
    for (std::size_t len = 0; len < b.bytes.size(); ++len) {
      SCOPED_TRACE(len);
      auto f = parse_mat(std::string_view(b.bytes).substr(0, len), "cut.mat");
      const auto at = std::find(b.boundaries.begin(), b.boundaries.end(), len);
      if (at == b.boundaries.end()) {
        ASSERT_FALSE(f.ok());
        EXPECT_EQ(f.error().code, Errc::kParse);
      } else {
        ASSERT_TRUE(f.ok()) << f.error().message;
        const auto vars = static_cast<std::size_t>(at - b.boundaries.begin());
        EXPECT_EQ(f->arrays.size(), std::min<std::size_t>(vars, 2));
      }
    }
  }
}

TEST(MatFile, GarbageAndCorruptFieldsAreErrors) {
  const MatWriter w(false);
  const std::string head = w.header("garbage");
  // Random bytes after a valid header (SplitMix64, fixed seeds).
  uint64_t state = 12345;
  const auto next = [&state] {
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  };
  for (int trial = 0; trial < 300; ++trial) {
    std::string file = head;
    const std::size_t n = 8 + next() % 400;
    for (std::size_t i = 0; i < n; ++i) file += static_cast<char>(next() & 0xff);
    auto f = parse_mat(file, "random.mat");
    ASSERT_FALSE(f.ok()) << "trial " << trial;
  }
  // Not a MAT-file at all.
  EXPECT_EQ(parse_mat("hello", "x").error().code, Errc::kParse);
  EXPECT_EQ(parse_mat(std::string(200, 'x'), "x").error().code, Errc::kParse);
  // A variable that claims more bytes than the file holds.
  std::string claim = head + w.u32(14) + w.u32(0x7fffffff) + std::string(64, '\0');
  EXPECT_EQ(parse_mat(claim, "x").error().code, Errc::kParse);
  // Dimensions whose product is past the bound.
  const std::string huge = head + w.matrix(6, {1 << 30, 1 << 30}, "big", w.element(9, w.f64(1)));
  EXPECT_EQ(parse_mat(huge, "x").error().code, Errc::kTooLarge);
  // Fewer data than the dimensions say.
  const std::string short_data = head + w.matrix(6, {2, 2}, "m", w.element(9, w.f64(1) + w.f64(2)));
  EXPECT_EQ(parse_mat(short_data, "x").error().code, Errc::kParse);
  // A negative dimension.
  const std::string negative = head + w.matrix(6, {-1, 2}, "m", w.element(9, w.f64(1)));
  EXPECT_EQ(parse_mat(negative, "x").error().code, Errc::kParse);
  // A sub-element that runs past its matrix (into the next variable).
  std::string overrun =
      head + w.matrix(6, {1, 1}, "a", w.element(9, w.f64(1))) + w.matrix(6, {1, 1}, "b", w.element(9, w.f64(2)));
  // The first matrix's data tag: claim 16 bytes instead of 8.
  const std::size_t data_tag = 128 + 8 + 16 + 16 + 8;
  ASSERT_EQ(overrun.substr(data_tag, 4), w.u32(9));
  overrun.replace(data_tag + 4, 4, w.u32(16));
  EXPECT_EQ(parse_mat(overrun, "x").error().code, Errc::kParse);
}

TEST(MatFile, ReadsTheCwruRecordings) {
  if (!std::filesystem::exists(kCwru + "/12k_DE/B007_0.mat")) GTEST_SKIP() << "no shared CWRU data";
  auto f = read_mat_file(kCwru + "/12k_DE/B007_0.mat");
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(f->header, "MATLAB 5.0 MAT-file, Platform: PCWIN, Created on: Mon Jan 31 13:55:05 2000");
  ASSERT_EQ(f->arrays.size(), 4u);
  const char* names[] = {"X118_DE_time", "X118_FE_time", "X118_BA_time", "X118RPM"};
  for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(f->arrays[i].name, names[i]);
  const MatArray& de = f->arrays[0];
  EXPECT_EQ(de.class_name, "double");
  EXPECT_EQ(de.dims, (std::vector<std::size_t>{122571, 1}));
  EXPECT_EQ(de.data[0], -0.0027613972055888225);
  EXPECT_EQ(de.data[1], -0.09632403193612774);
  EXPECT_EQ(de.data[2], 0.11370459081836327);
  EXPECT_EQ(de.data.back(), 0.021116566866267464);
  EXPECT_EQ(f->arrays[1].data[0], -0.24716181818181818);
  EXPECT_EQ(f->arrays[2].data.back(), -0.06683430267062315);
  // The rpm: class double, stored as a small miUINT16 element.
  EXPECT_EQ(f->arrays[3].class_name, "double");
  EXPECT_EQ(f->arrays[3].dims, (std::vector<std::size_t>{1, 1}));
  EXPECT_EQ(*f->scalar("X118RPM"), 1796.0);

  auto o = read_mat_file(kCwru + "/12k_DE/OR014@6_0.mat", {"X197_DE_time", "X197RPM"});
  ASSERT_TRUE(o.ok()) << o.error().message;
  ASSERT_EQ(o->arrays.size(), 2u);
  EXPECT_EQ(o->arrays[0].dims, (std::vector<std::size_t>{121846, 1}));
  EXPECT_EQ(o->arrays[0].data[1], -0.10494790419161676);
  EXPECT_EQ(o->arrays[0].data.back(), -0.0262674251497006);
  EXPECT_EQ(*o->scalar("X197RPM"), 1796.0);
}

TEST(MatFile, ReadsTheScipyWrittenBaseline) {
  if (!std::filesystem::exists(kCwru + "/normal/Normal_0_first70pct.mat")) GTEST_SKIP() << "no shared CWRU data";
  auto f = read_mat_file(kCwru + "/normal/Normal_0_first70pct.mat");
  ASSERT_TRUE(f.ok()) << f.error().message;
  ASSERT_EQ(f->arrays.size(), 3u);
  EXPECT_EQ(f->arrays[0].name, "X097_DE_time");
  EXPECT_EQ(f->arrays[0].dims, (std::vector<std::size_t>{170757, 1}));
  EXPECT_EQ(f->arrays[0].data[0], 0.05319692307692307);
  EXPECT_EQ(f->arrays[0].data[2], 0.09971815384615385);
  EXPECT_EQ(f->arrays[0].data.back(), -0.03755076923076923);
  EXPECT_EQ(f->arrays[1].data.back(), 0.15450181818181818);
  EXPECT_EQ(f->arrays[2].name, "X097RPM");
  EXPECT_EQ(f->arrays[2].class_name, "uint16");
  EXPECT_EQ(*f->scalar("X097RPM"), 1796.0);
}

TEST(MatFile, TruncatedCwruFilesAreErrors) {
  const std::string path = kCwru + "/12k_DE/B007_0.mat";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "no shared CWRU data";
  auto bytes = read_file(path);
  ASSERT_TRUE(bytes.ok());
  const std::size_t n = bytes->size();
  // Cuts inside the header, inside tags and inside data (none at a variable's end: those are
  // 128 + k * 980640 and the file's end).
  for (std::size_t len : {std::size_t{0}, std::size_t{100}, std::size_t{127}, std::size_t{129}, std::size_t{135},
                          std::size_t{140}, std::size_t{200}, n / 3, n / 2, n - 60, n - 9, n - 1}) {
    SCOPED_TRACE(len);
    auto f = parse_mat(std::string_view(*bytes).substr(0, len), "cut.mat");
    ASSERT_FALSE(f.ok());
    EXPECT_EQ(f.error().code, Errc::kParse);
  }
  EXPECT_EQ(read_mat_file(kCwru + "/no_such_file.mat").error().code, Errc::kNotFound);
}

}  // namespace
}  // namespace edgeloop::eval
