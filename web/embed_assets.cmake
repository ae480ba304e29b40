# cmake -DASSETS="name=file|name=file..." -DOUT=file.cc -P embed_assets.cmake
# Writes the C++ table of web_assets.h: each file's bytes, its content type and an ETag (a
# SHA-256 prefix of the bytes, so a new build invalidates the browser's copy).
string(REPLACE "|" ";" _assets "${ASSETS}")
# The gzip of a file, as a second array: served as is to a client that accepts gzip, so
# that no request pays for compression (httplib would brotli them at quality 11 per request,
# about a second of CPU for the page).
macro(embed_gzip file index)
  file(ARCHIVE_CREATE OUTPUT "${OUT}.gz.tmp" PATHS "${file}" FORMAT raw COMPRESSION GZip COMPRESSION_LEVEL 9)
  file(READ "${OUT}.gz.tmp" _gz_hex HEX)
  file(REMOVE "${OUT}.gz.tmp")
  string(LENGTH "${_gz_hex}" _gz_len)
  math(EXPR _gz_size "${_gz_len} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," _gz_bytes "${_gz_hex}")
  string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n" _gz_bytes "${_gz_bytes}")
  string(APPEND _arrays "alignas(8) const unsigned char kGzip${index}[${_gz_size} + 1] = {\n${_gz_bytes}0};\n")
  set(_gz_view "std::string_view(reinterpret_cast<const char*>(kGzip${index}), ${_gz_size})")
endmacro()
set(_arrays "")
set(_table "")
set(_i 0)
foreach(pair IN LISTS _assets)
  string(FIND "${pair}" "=" _eq)
  string(SUBSTRING "${pair}" 0 ${_eq} _name)
  math(EXPR _from "${_eq} + 1")
  string(SUBSTRING "${pair}" ${_from} -1 _file)
  file(READ "${_file}" _hex HEX)
  file(SHA256 "${_file}" _sha)
  string(SUBSTRING "${_sha}" 0 16 _etag)
  string(LENGTH "${_hex}" _hexlen)
  math(EXPR _size "${_hexlen} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," _bytes "${_hex}")
  string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n" _bytes "${_bytes}")
  string(REGEX MATCH "\\.[a-z]+$" _ext "${_name}")
  if(_ext STREQUAL ".html")
    set(_type "text/html; charset=utf-8")
  elseif(_ext STREQUAL ".js")
    set(_type "text/javascript; charset=utf-8")
  elseif(_ext STREQUAL ".css")
    set(_type "text/css; charset=utf-8")
  elseif(_ext STREQUAL ".svg")
    set(_type "image/svg+xml")
  elseif(_ext STREQUAL ".png")
    set(_type "image/png")
  elseif(_ext STREQUAL ".ico")
    set(_type "image/x-icon")
  else()
    set(_type "application/octet-stream")
  endif()
  embed_gzip("${_file}" ${_i})
  string(APPEND _arrays "// ${_name}\nalignas(8) const unsigned char kAsset${_i}[${_size} + 1] = {\n${_bytes}0};\n")
  string(APPEND _table "    {\"/${_name}\", \"${_type}\", std::string_view(reinterpret_cast<const char*>(kAsset${_i}), ${_size}), \"\\\"${_etag}\\\"\", ${_gz_view}},\n")
  math(EXPR _i "${_i} + 1")
endforeach()
# "/": index.html with the styles and scripts inlined (the modules of BUNDLE, in that order,
# as one module: their `import ... from './x.js'` lines dropped and `export ` removed). One
# response paints the page, and a page opened as /?token=T needs no other authenticated fetch.
if(DEFINED BUNDLE AND NOT BUNDLE STREQUAL "")
  foreach(pair IN LISTS _assets)
    string(FIND "${pair}" "=" _eq)
    string(SUBSTRING "${pair}" 0 ${_eq} _name)
    math(EXPR _from "${_eq} + 1")
    string(SUBSTRING "${pair}" ${_from} -1 _file)
    set("_file_${_name}" "${_file}")
  endforeach()
  file(READ "${_file_index.html}" _page)
  file(READ "${_file_uplot.min.css}" _uplot_css)
  file(READ "${_file_app.css}" _app_css)
  file(READ "${_file_uplot.iife.min.js}" _uplot_js)
  set(_bundle "")
  string(REPLACE "|" ";" _order "${BUNDLE}")
  foreach(m IN LISTS _order)
    file(READ "${_file_${m}}" _js)
    string(PREPEND _js "\n")
    string(REGEX REPLACE "\nimport [^\n]* from '\\./[^\n]*';" "\n" _js "${_js}")
    string(REPLACE "\nexport " "\n" _js "${_js}")
    string(APPEND _bundle "// ${m}${_js}")
  endforeach()
  foreach(tag IN ITEMS "<link rel=\"stylesheet\" href=\"/uplot.min.css\">" "<link rel=\"stylesheet\" href=\"/app.css\">"
                       "<script src=\"/uplot.iife.min.js\" defer></script>" "<script type=\"module\" src=\"/app.js\"></script>")
    string(FIND "${_page}" "${tag}" _at)
    if(_at EQUAL -1)
      message(FATAL_ERROR "web/src/index.html lacks `${tag}` (embed_assets.cmake inlines it)")
    endif()
  endforeach()
  string(REPLACE "<link rel=\"stylesheet\" href=\"/uplot.min.css\">" "<style>\n${_uplot_css}\n</style>" _page "${_page}")
  string(REPLACE "<link rel=\"stylesheet\" href=\"/app.css\">" "<style>\n${_app_css}</style>" _page "${_page}")
  string(REPLACE "<script src=\"/uplot.iife.min.js\" defer></script>" "<script>\n${_uplot_js}\n</script>" _page "${_page}")
  string(REPLACE "<script type=\"module\" src=\"/app.js\"></script>" "<script type=\"module\">\n${_bundle}</script>" _page "${_page}")
  string(HEX "${_page}" _hex)
  string(SHA256 _sha "${_page}")
  string(SUBSTRING "${_sha}" 0 16 _etag)
  string(LENGTH "${_hex}" _hexlen)
  math(EXPR _size "${_hexlen} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," _bytes "${_hex}")
  string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n" _bytes "${_bytes}")
  set(_page_file "${OUT}.index.html")
  file(WRITE "${_page_file}" "${_page}")
  embed_gzip("${_page_file}" ${_i})
  string(APPEND _arrays "// / (index.html, inlined)\nalignas(8) const unsigned char kAsset${_i}[${_size} + 1] = {\n${_bytes}0};\n")
  string(APPEND _table "    {\"/\", \"text/html; charset=utf-8\", std::string_view(reinterpret_cast<const char*>(kAsset${_i}), ${_size}), \"\\\"${_etag}\\\"\", ${_gz_view}},\n")
endif()
set(_content "// Generated by web/embed_assets.cmake from web/src and uPlot: do not edit.
#include <span>
#include <string_view>

#include \"api/web_assets.h\"

namespace edgeloop {
namespace {
${_arrays}
// NOLINTNEXTLINE
const WebAsset kAssets[] = {
${_table}};
}  // namespace

std::span<const WebAsset> web_assets() { return kAssets; }

}  // namespace edgeloop
")
file(WRITE "${OUT}" "${_content}")
