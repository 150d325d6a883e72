-- ci_handler.lua: busted output handler that prints busted's usual gtest-style
-- report and then one summary line "N passed, N failed, N skipped". When
-- ARAZZO_COUNTS names a file, the three numbers are also appended to it, so
-- scripts/test.sh can add up several suites.
return function(options)
  local busted = require "busted"
  local handler = require "busted.outputHandlers.gtest"(options)
  busted.subscribe({ "suite", "end" }, function()
    local passed = handler.successesCount
    local failed = handler.failuresCount + handler.errorsCount
    local skipped = handler.pendingsCount
    io.stdout:write(string.format("\n%d passed, %d failed, %d skipped\n", passed, failed, skipped))
    io.stdout:flush()
    local path = os.getenv("ARAZZO_COUNTS")
    if path then
      local f = assert(io.open(path, "a"))
      f:write(string.format("%d %d %d %s\n", passed, failed, skipped, os.getenv("ARAZZO_SUITE") or "busted"))
      f:close()
    end
    return nil, true
  end, { priority = 2 })
  return handler
end
