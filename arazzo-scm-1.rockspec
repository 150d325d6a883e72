rockspec_format = "3.0"
package = "arazzo"
version = "scm-1"
source = { url = "git+https://example.invalid/arazzo.git" }
description = {
  summary = "Run Arazzo 1.0.x API workflows from Lua (C core: libyaml, libcurl, PCRE2, libxml2)",
  detailed = [[
arazzo loads Arazzo 1.0.x documents and the OpenAPI descriptions they name, validates and
compiles them once, and runs their workflows: HTTP requests, criteria, actions, retries,
outputs, with hooks for Lua code. Lua 5.4 and LuaJIT/OpenResty.
]],
  license = "MIT",
}
dependencies = { "lua >= 5.1" }
external_dependencies = {
  CURL = { library = "curl" },
  YAML = { header = "yaml.h", library = "yaml" },
  PCRE2 = { library = "pcre2-8" },
  XML2 = { library = "xml2" },
}
build = {
  type = "cmake",
  variables = {
    CMAKE_BUILD_TYPE = "Release",
    CMAKE_INSTALL_PREFIX = "$(PREFIX)",
    LUA_INCDIR = "$(LUA_INCDIR)",
    LIBDIR = "$(LIBDIR)",
    LUADIR = "$(LUADIR)",
  },
}
