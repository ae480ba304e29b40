# Warnings for our own targets only (third-party headers are included as SYSTEM).
add_library(edgeloop_warnings INTERFACE)
target_compile_options(edgeloop_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
  -Woverloaded-virtual -Wno-missing-field-initializers $<$<CXX_COMPILER_ID:GNU>:-Wno-restrict> -Wimplicit-fallthrough
  $<$<BOOL:${EDGELOOP_WERROR}>:-Werror>)
