# The dashboard, embedded in the edgeloop binary: at build time every file of web/src/ and
# uPlot's built files (from web/node_modules, installed by `npm ci` in scripts/setup.sh)
# become byte arrays in a generated .cc (no CDN, nothing read from disk at run time).
# Included from src/api/CMakeLists.txt; defines the library edgeloop_web.
set(EDGELOOP_WEB_DIR ${PROJECT_SOURCE_DIR}/web)
set(_uplot_dist ${EDGELOOP_WEB_DIR}/node_modules/uplot/dist)
if(NOT EXISTS ${_uplot_dist}/uPlot.iife.min.js OR NOT EXISTS ${_uplot_dist}/uPlot.min.css)
  message(FATAL_ERROR
    "web/node_modules/uplot is missing (the dashboard embeds uPlot at build time): "
    "run scripts/setup.sh (it runs `npm ci` in web/).")
endif()
file(GLOB _web_src CONFIGURE_DEPENDS ${EDGELOOP_WEB_DIR}/src/*)
# name=file pairs: the name is the URL path under / (index.html is also served at /).
set(_web_assets "uplot.iife.min.js=${_uplot_dist}/uPlot.iife.min.js" "uplot.min.css=${_uplot_dist}/uPlot.min.css")
set(_web_deps ${_uplot_dist}/uPlot.iife.min.js ${_uplot_dist}/uPlot.min.css)
foreach(f IN LISTS _web_src)
  get_filename_component(_name ${f} NAME)
  list(APPEND _web_assets "${_name}=${f}")
  list(APPEND _web_deps ${f})
endforeach()
# The modules of the page in an order where each comes after those it imports: "/" serves
# index.html with them inlined as one module (embed_assets.cmake).
set(_web_bundle "util.js|api.js|alerts.js|overview.js|asset.js|pipelines.js|models.js|app.js")
set(_web_out ${CMAKE_CURRENT_BINARY_DIR}/web_assets_data.cc)
string(REPLACE ";" "|" _web_arg "${_web_assets}")
add_custom_command(
  OUTPUT ${_web_out}
  COMMAND ${CMAKE_COMMAND} "-DASSETS=${_web_arg}" "-DBUNDLE=${_web_bundle}" -DOUT=${_web_out} -P ${EDGELOOP_WEB_DIR}/embed_assets.cmake
  DEPENDS ${_web_deps} ${EDGELOOP_WEB_DIR}/embed_assets.cmake
  COMMENT "Embedding the web dashboard (web/src, uPlot)"
  VERBATIM)
edgeloop_library(edgeloop_web
  SOURCES web_assets.cc ${_web_out}
  DEPS edgeloop_api)
