#include "eval/mat_file.h"

#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "eval/text_io.h"

namespace edgeloop::eval {

namespace {

// Data types of the element tags (MAT-file format, Table 1-1).
enum MiType : uint32_t {
  kMiInt8 = 1,
  kMiUint8 = 2,
  kMiInt16 = 3,
  kMiUint16 = 4,
  kMiInt32 = 5,
  kMiUint32 = 6,
  kMiSingle = 7,
  kMiDouble = 9,
  kMiInt64 = 12,
  kMiUint64 = 13,
  kMiMatrix = 14,
  kMiCompressed = 15,
  kMiUtf8 = 16,
  kMiUtf16 = 17,
  kMiUtf32 = 18,
};

// Array classes (mxCLASS, Table 1-3): 6 .. 15 are the numeric ones.
const char* class_name(uint32_t c) {
  static const char* const kNames[] = {"",     "cell",  "struct", "object", "char",  "sparse", "double", "single",
                                       "int8", "uint8", "int16",  "uint16", "int32", "uint32", "int64",  "uint64"};
  return c < std::size(kNames) ? kNames[c] : "unknown";
}

std::size_t type_size(uint32_t t) {
  switch (t) {
    case kMiInt8:
    case kMiUint8:
    case kMiUtf8:
      return 1;
    case kMiInt16:
    case kMiUint16:
    case kMiUtf16:
      return 2;
    case kMiInt32:
    case kMiUint32:
    case kMiSingle:
    case kMiUtf32:
      return 4;
    case kMiDouble:
    case kMiInt64:
    case kMiUint64:
      return 8;
    default:
      return 0;
  }
}

// A bounds-checked view over bytes in the file's byte order.
class Reader {
 public:
  Reader(std::string_view b, bool swap) : b_(b), swap_(swap) {}
  std::size_t size() const { return b_.size(); }
  bool has(std::size_t off, std::size_t n) const { return off <= b_.size() && n <= b_.size() - off; }
  // Callers check has() first.
  template <class T>
  T get(std::size_t off) const {
    unsigned char raw[sizeof(T)];
    std::memcpy(raw, b_.data() + off, sizeof(T));
    if (swap_) std::reverse(raw, raw + sizeof(T));
    T v;
    std::memcpy(&v, raw, sizeof(T));
    return v;
  }
  std::string_view bytes(std::size_t off, std::size_t n) const { return b_.substr(off, n); }
  bool swapped() const { return swap_; }

 private:
  std::string_view b_;
  bool swap_;
};

// One data element: its type and its payload (inside the reader's bytes), and where the
// next element starts.
struct Element {
  uint32_t type = 0;
  std::size_t data = 0, bytes = 0, next = 0;
};

Result<Element> element_at(const Reader& r, std::size_t off, const std::string& what) {
  if (!r.has(off, 8)) {
    return make_error(Errc::kParse, what + ": truncated: a data element's tag at byte " + std::to_string(off) +
                                        " runs past the end (" + std::to_string(r.size()) + " bytes)");
  }
  const auto first = r.get<uint32_t>(off);
  Element e;
  if ((first >> 16) != 0) {
    // The small element format: 1 to 4 bytes packed into the tag.
    e.type = first & 0xffff;
    e.bytes = first >> 16;
    if (e.bytes > 4)
      return make_error(Errc::kParse, what + ": corrupt small data element at byte " + std::to_string(off));
    e.data = off + 4;
    e.next = off + 8;
    return e;
  }
  e.type = first;
  e.bytes = r.get<uint32_t>(off + 4);
  e.data = off + 8;
  if (!r.has(e.data, e.bytes)) {
    return make_error(Errc::kParse, what + ": truncated: a data element of " + std::to_string(e.bytes) +
                                        " bytes at byte " + std::to_string(off) + " runs past the end (" +
                                        std::to_string(r.size()) + " bytes)");
  }
  // Elements are padded to 8 bytes, except compressed ones (and a file may end unpadded).
  const std::size_t padded = e.type == kMiCompressed ? e.bytes : (e.bytes + 7) / 8 * 8;
  e.next = std::min(r.size(), e.data + padded);
  return e;
}

Result<std::string> inflate_all(std::string_view in, const std::string& what, std::size_t max_out) {
  z_stream z{};
  if (inflateInit(&z) != Z_OK) return make_error(Errc::kInternal, what + ": zlib inflateInit failed");
  std::string out;
  out.resize(std::min<std::size_t>(std::max<std::size_t>(in.size() * 4, 4096), max_out));
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));  // zlib's API is not const
  z.avail_in = static_cast<uInt>(in.size());
  int rc = Z_OK;
  std::size_t produced = 0;
  while (rc != Z_STREAM_END) {
    if (produced == out.size()) {
      if (out.size() >= max_out) {
        inflateEnd(&z);
        return make_error(Errc::kTooLarge,
                          what + ": a compressed variable inflates past " + std::to_string(max_out) + " bytes");
      }
      out.resize(std::min(out.size() * 2, max_out));
    }
    const std::size_t room = std::min<std::size_t>(out.size() - produced, UINT32_MAX);
    z.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    z.avail_out = static_cast<uInt>(room);
    rc = inflate(&z, Z_NO_FLUSH);
    produced += room - z.avail_out;
    if (rc == Z_STREAM_END) break;
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      inflateEnd(&z);
      return make_error(Errc::kParse, what + ": corrupt compressed variable (zlib: " + (z.msg ? z.msg : "error") + ")");
    }
    if (rc == Z_BUF_ERROR && z.avail_in == 0) {
      inflateEnd(&z);
      return make_error(Errc::kParse, what + ": truncated compressed variable");
    }
  }
  inflateEnd(&z);
  out.resize(produced);
  return out;
}

// Converts `count` values of MAT type `type` at `off` to double.
Status convert(const Reader& r, const Element& e, std::size_t count, std::vector<double>& out,
               const std::string& what) {
  const std::size_t sz = type_size(e.type);
  if (sz == 0 || e.type == kMiUtf8 || e.type == kMiUtf16 || e.type == kMiUtf32) {
    return make_error(Errc::kParse, what + ": numeric data of unsupported type " + std::to_string(e.type));
  }
  if (e.bytes / sz != count || e.bytes % sz != 0) {
    return make_error(Errc::kParse, what + ": " + std::to_string(e.bytes) + " bytes of data for " +
                                        std::to_string(count) + " elements of " + std::to_string(sz) + " bytes");
  }
  out.resize(count);
  const std::size_t base = e.data;
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t at = base + i * sz;
    switch (e.type) {
      case kMiInt8:
        out[i] = r.get<int8_t>(at);
        break;
      case kMiUint8:
        out[i] = r.get<uint8_t>(at);
        break;
      case kMiInt16:
        out[i] = r.get<int16_t>(at);
        break;
      case kMiUint16:
        out[i] = r.get<uint16_t>(at);
        break;
      case kMiInt32:
        out[i] = r.get<int32_t>(at);
        break;
      case kMiUint32:
        out[i] = r.get<uint32_t>(at);
        break;
      case kMiSingle:
        out[i] = r.get<float>(at);
        break;
      case kMiDouble:
        out[i] = r.get<double>(at);
        break;
      case kMiInt64:
        out[i] = static_cast<double>(r.get<int64_t>(at));
        break;
      case kMiUint64:
        out[i] = static_cast<double>(r.get<uint64_t>(at));
        break;
      default:
        break;
    }
  }
  return Status::Ok();
}

bool is_wanted(const std::vector<std::string>& wanted, const std::string& name) {
  return wanted.empty() || std::find(wanted.begin(), wanted.end(), name) != wanted.end();
}

// Parses the miMATRIX payload [data, data + bytes) of `r`; appends to `file`.
Status parse_matrix(const Reader& r, const Element& m, MatFile& file, const std::vector<std::string>& wanted,
                    const MatLimits& limits, const std::string& what) {
  const std::size_t end = m.data + m.bytes;
  const Reader sub(r.bytes(0, end), r.swapped());  // sub-elements may not run past the matrix
  const std::string where = what + ": variable at byte " + std::to_string(m.data - 8);
  if (m.bytes == 0) return Status::Ok();  // an empty miMATRIX: allowed, nothing to read
  // Array flags.
  EDGELOOP_ASSIGN_OR_RETURN(Element flags, element_at(sub, m.data, where));
  if (flags.type != kMiUint32 || flags.bytes < 8) return make_error(Errc::kParse, where + ": bad array flags");
  const auto flag_word = sub.get<uint32_t>(flags.data);
  const uint32_t cls = flag_word & 0xff;
  const bool complex = (flag_word & 0x0800) != 0;
  // Dimensions.
  EDGELOOP_ASSIGN_OR_RETURN(Element dims, element_at(sub, flags.next, where));
  if (dims.type != kMiInt32 || dims.bytes < 8 || dims.bytes % 4 != 0) {
    return make_error(Errc::kParse, where + ": bad dimensions");
  }
  MatArray a;
  std::size_t numel = 1;
  for (std::size_t i = 0; i < dims.bytes / 4; ++i) {
    const auto d = sub.get<int32_t>(dims.data + 4 * i);
    if (d < 0) return make_error(Errc::kParse, where + ": negative dimension");
    a.dims.push_back(static_cast<std::size_t>(d));
    if (d != 0 && numel > limits.max_elements / static_cast<std::size_t>(d)) {
      return make_error(Errc::kTooLarge, where + ": more than " + std::to_string(limits.max_elements) + " elements");
    }
    numel *= static_cast<std::size_t>(d);
  }
  // Name.
  EDGELOOP_ASSIGN_OR_RETURN(Element name, element_at(sub, dims.next, where));
  if (name.type != kMiInt8 && name.type != kMiUint8 && name.type != kMiUtf8) {
    return make_error(Errc::kParse, where + ": bad array name");
  }
  a.name = std::string(sub.bytes(name.data, name.bytes));
  a.class_name = class_name(cls);
  if (cls < 6 || cls > 15 || complex) {
    file.skipped.push_back(a.name);
    return Status::Ok();
  }
  if (!is_wanted(wanted, a.name)) return Status::Ok();
  EDGELOOP_ASSIGN_OR_RETURN(Element real, element_at(sub, name.next, where + " (" + a.name + ")"));
  EDGELOOP_TRY(convert(sub, real, numel, a.data, where + " (" + a.name + ")"));
  file.arrays.push_back(std::move(a));
  return Status::Ok();
}

Status parse_elements(const Reader& r, std::size_t off, MatFile& file, const std::vector<std::string>& wanted,
                      const MatLimits& limits, const std::string& what, int depth) {
  while (off < r.size()) {
    EDGELOOP_ASSIGN_OR_RETURN(Element e, element_at(r, off, what));
    if (e.type == kMiMatrix) {
      EDGELOOP_TRY(parse_matrix(r, e, file, wanted, limits, what));
    } else if (e.type == kMiCompressed) {
      if (depth > 0) return make_error(Errc::kParse, what + ": a compressed element inside a compressed one");
      EDGELOOP_ASSIGN_OR_RETURN(std::string raw, inflate_all(r.bytes(e.data, e.bytes), what, limits.max_inflated));
      const Reader inner(raw, r.swapped());
      EDGELOOP_TRY(parse_elements(inner, 0, file, wanted, limits,
                                  what + " (compressed variable at byte " + std::to_string(off) + ")", depth + 1));
    } else {
      return make_error(Errc::kParse, what + ": unexpected data element of type " + std::to_string(e.type) +
                                          " at byte " + std::to_string(off) +
                                          " (a variable is miMATRIX or miCOMPRESSED)");
    }
    if (e.next <= off) return make_error(Errc::kParse, what + ": no progress at byte " + std::to_string(off));
    off = e.next;
  }
  return Status::Ok();
}

}  // namespace

const MatArray* MatFile::find(std::string_view name) const {
  for (const auto& a : arrays)
    if (a.name == name) return &a;
  return nullptr;
}

Result<double> MatFile::scalar(std::string_view name) const {
  const MatArray* a = find(name);
  if (!a) return make_error(Errc::kNotFound, "no numeric variable '" + std::string(name) + "'");
  if (a->numel() != 1) {
    return make_error(Errc::kTypeMismatch,
                      "variable '" + std::string(name) + "' holds " + std::to_string(a->numel()) + " values, not one");
  }
  return a->data[0];
}

Result<MatFile> parse_mat(std::string_view bytes, const std::string& what, const std::vector<std::string>& wanted,
                          const MatLimits& limits) {
  if (bytes.size() < 128) {
    return make_error(Errc::kParse,
                      what + ": not a MAT-file (" + std::to_string(bytes.size()) + " bytes, a header is 128)");
  }
  const std::string_view endian = bytes.substr(126, 2);
  bool swap;
  if (endian == "IM") {
    swap = false;  // written little-endian
  } else if (endian == "MI") {
    swap = true;
  } else {
    return make_error(Errc::kParse,
                      what + ": not a level-5 MAT-file (no endian indicator at byte 126; v7.3 files are HDF5)");
  }
  const Reader r(bytes, swap);
  if (r.get<uint16_t>(124) != 0x0100) return make_error(Errc::kParse, what + ": unknown MAT-file version");
  MatFile file;
  std::string_view text = bytes.substr(0, 116);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\0')) text.remove_suffix(1);
  file.header = std::string(text);
  EDGELOOP_TRY(parse_elements(r, 128, file, wanted, limits, what, 0));
  return file;
}

Result<MatFile> read_mat_file(const std::string& path, const std::vector<std::string>& wanted,
                              const MatLimits& limits) {
  EDGELOOP_ASSIGN_OR_RETURN(std::string bytes, read_file(path));
  return parse_mat(bytes, path, wanted, limits);
}

}  // namespace edgeloop::eval
